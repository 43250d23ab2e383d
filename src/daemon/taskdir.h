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

/* Removes a task's working directory.  Its contents belong to the user, so
 * a child process running as that user removes them: a symlink planted
 * inside cannot make root delete anything else.  The top directory is
 * root's to remove.  *ret_status is 0, or the child's wait status when it
 * failed. */
int taskdir_remove(const char *workdir, uid_t uid, gid_t gid, int *ret_status);

/* Cuts output_dir's stdout and stderr to their first cap bytes.  true when
 * it cut one; false also for a NULL output_dir or a cap of 0 (no cap). */
bool taskdir_cap_output(const char *output_dir, uint64_t cap);
