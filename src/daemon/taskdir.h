/* taskdir.h: a task's files on disk.  Each task has a private working
 * directory, STATE/work/ID, that belongs to its user, and an output
 * directory, STATE/output/ID, that stays root's, holding stdout and stderr
 * (and, for a task with a cleanup command, cleanup-stdout and
 * cleanup-stderr), which the user may read and only root may write.  Never
 * logs: functions return negative errno values. */
#pragma once

#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* "DIR/ID" (malloc'd), or NULL on ENOMEM. */
char *taskdir_path(const char *dir, int64_t id);

/* Makes directory name under parent_fd (AT_FDCWD, or a directory's
 * descriptor) with mode if it is not there, and opens it without following
 * a symlink.  -EPERM when it is not the caller's or others may write it
 * (then somebody else could swap what is in it), -ENOTDIR for a symlink or
 * a file.  The descriptor, or a negative errno. */
int taskdir_open_dir(int parent_fd, const char *name, mode_t mode);

/* Creates work_fd/ID (mode 0700, owned by uid:gid) and output_fd/ID (0755,
 * root's) with empty stdout and stderr files, root's, mode 0600 with an
 * ACL that lets uid read them: the user reads its output, and nobody but
 * root writes it (PID 1 opens them as root, for appending).  Where the file
 * system has no ACLs the files are root:gid 0640 instead, and
 * *ret_by_group says so.  Either directory already there is -EEXIST (it is
 * not this task's: never taken over); on any failure nothing made stays. */
int taskdir_prepare(int work_fd, int output_fd, int64_t id, uid_t uid, gid_t gid, bool *ret_by_group);

/* Makes output_fd/ID's cleanup-stdout and cleanup-stderr, as
 * taskdir_prepare() makes stdout and stderr, for the cleanup command,
 * just before it starts: its output is kept apart from the main
 * command's.  Regular files of root's there already (a cleanup command
 * started again after a restart) stay and are appended to; on any failure
 * nothing made here stays.  -ENOENT without the output directory. */
int taskdir_prepare_cleanup(int output_fd, int64_t id, uid_t uid, gid_t gid, bool *ret_by_group);

/* How many streams taskdir_cap_output() caps, at most, for a task with or
 * without a cleanup command: a user's share of the output room is divided
 * by it. */
#define TASKDIR_STREAMS(has_cleanup) ((has_cleanup) ? 4u : 2u)

/* Removes output_fd/ID and its streams; 0 when it is not there. */
int taskdir_remove_output(int output_fd, int64_t id);

/* Renames dir_fd/ID out of the way, to a name no id parses as
 * (".stale-ID-N"): the directory a daemon that died made for a start that
 * never reached systemd, so that the next start makes a fresh one.
 * *ret_name (malloc'd) gets the new name; -ENOENT if there is none. */
int taskdir_set_aside(int dir_fd, int64_t id, char **ret_name);

/* A directory's entries, from a descriptor the caller keeps: NULL (errno
 * set) if it cannot be read. */
DIR *taskdir_opendir(int dir_fd);
/* The task id an entry's name is ("42"), or 0 for any other name. */
int64_t taskdir_entry_id(const char *name);

/* Writes env ("VAR=VALUE" entries) as env_fd/ID, mode 0600, in
 * systemd's EnvironmentFile= syntax, replacing one that is there: PID 1
 * reads it as root when it starts the task's command, so the values never
 * show in the unit's Environment property, which every user may read. */
int taskdir_write_env(int env_fd, int64_t id, char * const *env);
void taskdir_remove_env(int env_fd, int64_t id);

/* Exit statuses of the child taskdir_remove_start() forks. */
enum {
        TASKDIR_REMOVE_DONE = 0,       /* the contents are gone */
        TASKDIR_REMOVE_NOT_USER = 1,   /* it could not become the task's user */
        TASKDIR_REMOVE_LEFT = 2,       /* something stays: a mount point, a
                                        * directory too deep, a file it could
                                        * not remove */
};

/* Removes a task's working directory's contents without waiting for it: the
 * pid of the child that does it, which the caller reaps.  The contents
 * belong to the user, so the child runs as that user: a symlink planted
 * inside cannot make root delete anything else.  It follows no symlink and
 * crosses no mount point (a FUSE mount of the user's stays untouched, and
 * with it what lies below).  It holds no descriptor of the caller's.  The
 * user can stop or kill it: the caller puts a time limit on it.  The top
 * directory is root's: taskdir_remove_top() once the child ended. */
int taskdir_remove_start(const char *workdir, uid_t uid, gid_t gid, pid_t *ret_pid);

/* Removes the top of a working directory, root's (not following a mount
 * point: -EBUSY).  -ENOTEMPTY when the user's removal left something. */
int taskdir_remove_top(const char *workdir);

/* Cuts each of output_dir's streams (stdout, stderr, cleanup-stdout,
 * cleanup-stderr: those there) to its first cap bytes (0: no cap),
 * counting the blocks they hold, not only their size.  *ret_cut (may be
 * NULL) says whether it cut one, *ret_bytes (may be NULL) what all of them
 * hold now.  0 for a NULL or missing output_dir. */
int taskdir_cap_output(const char *output_dir, uint64_t cap, bool *ret_cut, uint64_t *ret_bytes);

/* Ids are never given out twice, also when the database is lost: the
 * daemon keeps the highest id it may have given out in STATE/last-id, apart
 * from the rows, and raises the database's sequence to it at start.
 * read: 0 with *ret 0 when there is none yet; write: replaced atomically,
 * synced. */
int taskdir_read_last_id(int state_fd, int64_t *ret);
int taskdir_write_last_id(int state_fd, int64_t id);
/* The highest number among dir_fd's entries' names (0: none). */
int taskdir_max_id(int dir_fd, int64_t *ret);
