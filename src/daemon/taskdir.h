/* taskdir.h: a task's files on disk.  Each task has a private working
 * directory, STATE/work/ID, that belongs to its user, and an output
 * directory, STATE/output/ID, that stays root's, holding stdout and stderr,
 * which belong to the user.  Never logs: functions return negative errno
 * values. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* "DIR/ID" (malloc'd), or NULL on ENOMEM. */
char *taskdir_path(const char *dir, int64_t id);

/* Creates workdir (mode 0700, owned by uid:gid) and output_dir (0755,
 * root's) with empty stdout and stderr files (0640, owned by uid:gid).  The
 * output directory stays root's because PID 1 opens the files in it as root:
 * the user must not be able to swap in a symlink.  Either may exist
 * already. */
int taskdir_prepare(const char *workdir, const char *output_dir, uid_t uid, gid_t gid);

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

/* Cuts output_dir's stdout and stderr to their first cap bytes.  true when
 * it cut one; false also for a NULL output_dir or a cap of 0 (no cap). */
bool taskdir_cap_output(const char *output_dir, uint64_t cap);
