/* taskdir.c: a task's working and output directories (see taskdir.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "taskdir.h"
#include "util.h"

static const char * const streams[] = { "stdout", "stderr" };

char *taskdir_path(const char *dir, int64_t id) {
        char *p;
        if (asprintf(&p, "%s/%" PRId64, dir, id) < 0)
                return NULL;
        return p;
}

static int make_owned_dir(const char *path, uid_t uid, gid_t gid, mode_t mode) {
        if (mkdir(path, mode) < 0 && errno != EEXIST)
                return -errno;
        if (chown(path, uid, gid) < 0 || chmod(path, mode) < 0)
                return -errno;
        return 0;
}

static int make_owned_file(const char *path, uid_t uid, gid_t gid) {
        _cleanup_(closep) int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
        if (fd < 0)
                return -errno;
        if (fchown(fd, uid, gid) < 0)
                return -errno;
        return 0;
}

int taskdir_prepare(const char *workdir, const char *output_dir, uid_t uid, gid_t gid) {
        int r;

        r = make_owned_dir(workdir, uid, gid, 0700);
        if (r < 0)
                return r;
        r = make_owned_dir(output_dir, 0, 0, 0755);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(streams); i++) {
                _cleanup_(freep) char *p = NULL;

                if (asprintf(&p, "%s/%s", output_dir, streams[i]) < 0)
                        return -ENOMEM;
                r = make_owned_file(p, uid, gid);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) st;
        (void) ftw;
        if (flag == FTW_DP)
                (void) rmdir(path);
        else
                (void) unlink(path);
        return 0;
}

int taskdir_remove(const char *workdir, uid_t uid, gid_t gid, int *ret_status) {
        pid_t pid;
        int status;

        *ret_status = 0;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
                        _exit(1);
                /* not FTW_MOUNT: on overlayfs, files and directories report
                 * different st_dev; users cannot mount anything here anyway */
                (void) nftw(workdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
                _exit(0);
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                *ret_status = status;
        /* the top directory lives in root's work/ and is removed by root */
        if (rmdir(workdir) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

/* Streams are opened for appending, so the task's later writes land at the
 * (new) end and are cut again on the next check. */
bool taskdir_cap_output(const char *output_dir, uint64_t cap) {
        bool cut = false;

        if (!output_dir || cap == 0)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(streams); i++) {
                _cleanup_(freep) char *p = NULL;
                struct stat st;

                if (asprintf(&p, "%s/%s", output_dir, streams[i]) < 0)
                        continue;
                if (lstat(p, &st) < 0 || !S_ISREG(st.st_mode))
                        continue;
                if ((uint64_t) st.st_size > cap && truncate(p, (off_t) cap) >= 0)
                        cut = true;
        }
        return cut;
}
