/* taskdir.c: a task's working and output directories (see taskdir.h). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* ---- removing a working directory ----
 *
 * The child does it with system calls only (getdents64, no opendir): it is
 * forked from a daemon with threads, and allocates nothing. */

/* Directories nested deeper stay: each level holds a descriptor and a
 * buffer on the stack. */
#define REMOVE_MAX_DEPTH 256

/* Without following a symlink or waiting for a network or FUSE file
 * system's fresh attributes. */
static int statx_at(int dfd, const char *name, int flags, struct statx *ret) {
        if (statx(dfd, name, flags | AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_STATX_DONT_SYNC,
                  STATX_TYPE | STATX_INO | STATX_MNT_ID, ret) < 0)
                return -errno;
        return 0;
}

/* The mount id where the kernel has it (Linux 5.8), else the device.  Only
 * directories are compared: on overlayfs, files report the device of their
 * layer, directories the overlay's. */
static bool same_mount(const struct statx *a, const struct statx *b) {
        if (a->stx_mask & b->stx_mask & STATX_MNT_ID)
                return a->stx_mnt_id == b->stx_mnt_id;
        return a->stx_dev_major == b->stx_dev_major && a->stx_dev_minor == b->stx_dev_minor;
}

static bool unlink_in(int dfd, const char *name, int flags) {
        if (unlinkat(dfd, name, flags) >= 0 || errno == ENOENT)
                return true;
        /* a directory the user made read-only: theirs to open up again */
        return errno == EACCES && fchmod(dfd, 0700) >= 0 && unlinkat(dfd, name, flags) >= 0;
}

static bool remove_contents(int dfd, const struct statx *top, unsigned depth);

/* true when name is gone. */
static bool remove_entry(int dfd, const char *name, unsigned char type, const struct statx *top, unsigned depth) {
        struct statx st, opened;
        bool all;
        int fd;

        if (type != DT_DIR && type != DT_UNKNOWN)
                return unlink_in(dfd, name, 0);
        if (statx_at(dfd, name, 0, &st) < 0)
                return errno == ENOENT;
        if (!S_ISDIR(st.stx_mode))
                return unlink_in(dfd, name, 0);
        if (!same_mount(&st, top) || depth >= REMOVE_MAX_DEPTH)
                return false;
        fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
        if (fd < 0 && errno == EACCES && fchmodat(dfd, name, 0700, AT_SYMLINK_NOFOLLOW) >= 0)
                fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return errno == ENOENT;
        /* again on what was opened: the user may have swapped it */
        if (statx_at(fd, "", AT_EMPTY_PATH, &opened) < 0 || !same_mount(&opened, top)) {
                (void) close(fd);
                return false;
        }
        all = remove_contents(fd, top, depth + 1);
        (void) close(fd);
        return all && unlink_in(dfd, name, AT_REMOVEDIR);
}

/* Reads the directory again while a pass removed something and left
 * something: entries removed while it is read may hide others. */
static bool remove_contents(int dfd, const struct statx *top, unsigned depth) {
        char buf[4096] __attribute__((aligned(8)));
        bool removed, left;

        do {
                removed = left = false;
                if (lseek(dfd, 0, SEEK_SET) < 0)
                        return false;
                for (;;) {
                        ssize_t n = getdents64(dfd, buf, sizeof buf);

                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n < 0)
                                return false;
                        if (n == 0)
                                break;
                        for (ssize_t off = 0; off < n;) {
                                struct dirent64 *de = (struct dirent64 *) (buf + off);

                                off += de->d_reclen;
                                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                                        continue;
                                if (remove_entry(dfd, de->d_name, de->d_type, top, depth))
                                        removed = true;
                                else
                                        left = true;
                        }
                }
        } while (left && removed);
        return !left;
}

/* The child: parent_fd is the work directory that holds name. */
static _Noreturn void remove_child(int parent_fd, const char *name, uid_t uid, gid_t gid) {
        struct statx parent, top, opened;
        sigset_t none;
        int fd;

        /* nothing of the daemon's: a child the user stopped must not keep
         * the daemon's socket listening after the daemon is gone */
        if (parent_fd != 3 && dup2(parent_fd, 3) < 0)
                _exit(TASKDIR_REMOVE_LEFT);
        (void) close_range(4, ~0U, 0);
        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
        if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
                _exit(TASKDIR_REMOVE_NOT_USER);

        if (statx_at(3, "", AT_EMPTY_PATH, &parent) < 0)
                _exit(TASKDIR_REMOVE_LEFT);
        if (statx_at(3, name, 0, &top) < 0)
                _exit(errno == ENOENT ? TASKDIR_REMOVE_DONE : TASKDIR_REMOVE_LEFT);
        /* a mount on the top itself stays as it is */
        if (!S_ISDIR(top.stx_mode) || !same_mount(&top, &parent))
                _exit(TASKDIR_REMOVE_LEFT);
        fd = openat(3, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                _exit(errno == ENOENT ? TASKDIR_REMOVE_DONE : TASKDIR_REMOVE_LEFT);
        if (statx_at(fd, "", AT_EMPTY_PATH, &opened) < 0 || !same_mount(&opened, &parent) ||
            opened.stx_ino != top.stx_ino)
                _exit(TASKDIR_REMOVE_LEFT);
        _exit(remove_contents(fd, &top, 0) ? TASKDIR_REMOVE_DONE : TASKDIR_REMOVE_LEFT);
}

/* "DIR/NAME" into an O_PATH descriptor of DIR and a pointer to NAME. */
static int open_parent(const char *path, const char **ret_name) {
        _cleanup_(freep) char *dir = strdup(path);
        char *slash;
        int fd;

        if (!dir)
                return -ENOMEM;
        slash = strrchr(dir, '/');
        if (!slash || !slash[1])
                return -EINVAL;
        *ret_name = path + (slash - dir) + 1;
        if (slash == dir)
                slash[1] = 0;
        else
                *slash = 0;
        fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

int taskdir_remove_start(const char *workdir, uid_t uid, gid_t gid, pid_t *ret_pid) {
        _cleanup_(closep) int parent_fd = -1;
        const char *name;
        pid_t pid;

        parent_fd = open_parent(workdir, &name);
        if (parent_fd < 0)
                return parent_fd;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0)
                remove_child(parent_fd, name, uid, gid);
        *ret_pid = pid;
        return 0;
}

int taskdir_remove_top(const char *workdir) {
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
