/* taskdir.c: a task's working and output directories (see taskdir.h). */
#include "config.h"

#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <linux/posix_acl.h>
#include <linux/posix_acl_xattr.h>

#include "taskdir.h"
#include "util.h"

/* The main command's streams, then the cleanup command's (made when it
 * starts: taskdir_prepare_cleanup()); capped and removed alike. */
static const char * const streams[] = { "stdout", "stderr", "cleanup-stdout", "cleanup-stderr" };
#define MAIN_STREAMS 2

char *taskdir_path(const char *dir, int64_t id) {
        char *p;
        if (asprintf(&p, "%s/%" PRId64, dir, id) < 0)
                return NULL;
        return p;
}

int taskdir_open_dir(int parent_fd, const char *name, mode_t mode) {
        _cleanup_(closep) int fd = -1;
        bool made;
        struct stat st;

        made = mkdirat(parent_fd, name, mode) >= 0;
        if (!made && errno != EEXIST)
                return -errno;
        fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return errno == ELOOP || errno == ENOTDIR ? -ENOTDIR : -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (st.st_uid != geteuid() || (st.st_mode & 022))
                return -EPERM;
        if (made && fchmod(fd, mode) < 0)   /* past the umask */
                return -errno;
        return TAKE_FD(fd);
}

/* POSIX ACL entries as the kernel takes them in system.posix_acl_access
 * (<linux/posix_acl_xattr.h>, a stable ABI): owner (root) rw, the task's
 * user r, nobody else anything. */
static int grant_read(int fd, uid_t uid) {
        struct {
                struct posix_acl_xattr_header h;
                struct posix_acl_xattr_entry e[5];
        } __attribute__((packed)) acl = {
                .h = { htole32(POSIX_ACL_XATTR_VERSION) },
                .e = {
                        { htole16(ACL_USER_OBJ), htole16(ACL_READ | ACL_WRITE), htole32(ACL_UNDEFINED_ID) },
                        { htole16(ACL_USER), htole16(ACL_READ), htole32(uid) },
                        { htole16(ACL_GROUP_OBJ), 0, htole32(ACL_UNDEFINED_ID) },
                        { htole16(ACL_MASK), htole16(ACL_READ), htole32(ACL_UNDEFINED_ID) },
                        { htole16(ACL_OTHER), 0, htole32(ACL_UNDEFINED_ID) },
                },
        };

        if (fsetxattr(fd, "system.posix_acl_access", &acl, sizeof acl, 0) < 0)
                return -errno;
        return 0;
}

static int make_stream(int dfd, const char *name, uid_t uid, gid_t gid, bool *ret_by_group) {
        _cleanup_(closep) int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        int r;

        if (fd < 0)
                return -errno;
        if (uid == 0)
                return 0;
        r = grant_read(fd, uid);
        if (r != -EOPNOTSUPP)
                return r;
        /* A file system without ACLs: readable through the user's group. */
        *ret_by_group = true;
        if (fchown(fd, 0, gid) < 0 || fchmod(fd, 0640) < 0)
                return -errno;
        return 0;
}

int taskdir_prepare(int work_fd, int output_fd, int64_t id, uid_t uid, gid_t gid, bool *ret_by_group) {
        _cleanup_(closep) int wfd = -1, ofd = -1;
        char name[32];
        int r;

        *ret_by_group = false;
        (void) snprintf(name, sizeof name, "%" PRId64, id);
        /* Made here or not at all: one that is there is somebody's (a
         * database that lost its rows, a planted one), not this task's. */
        if (mkdirat(work_fd, name, 0700) < 0)
                return -errno;
        wfd = openat(work_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (wfd < 0 || fchown(wfd, uid, gid) < 0 || fchmod(wfd, 0700) < 0) {
                r = -errno;
                goto fail_work;
        }
        if (mkdirat(output_fd, name, 0755) < 0) {
                r = -errno;
                goto fail_work;
        }
        ofd = openat(output_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (ofd < 0 || fchmod(ofd, 0755) < 0) {
                r = -errno;
                goto fail_output;
        }
        for (size_t i = 0; i < MAIN_STREAMS; i++) {
                r = make_stream(ofd, streams[i], uid, gid, ret_by_group);
                if (r < 0)
                        goto fail_output;
        }
        return 0;

fail_output:
        for (size_t i = 0; i < MAIN_STREAMS; i++)
                if (ofd >= 0)
                        (void) unlinkat(ofd, streams[i], 0);
        (void) unlinkat(output_fd, name, AT_REMOVEDIR);
fail_work:
        (void) unlinkat(work_fd, name, AT_REMOVEDIR);
        return r;
}

int taskdir_prepare_cleanup(int output_fd, int64_t id, uid_t uid, gid_t gid, bool *ret_by_group) {
        _cleanup_(closep) int ofd = -1;
        bool made[ELEMENTSOF(streams)] = {};
        char name[32];
        int r = 0;

        *ret_by_group = false;
        (void) snprintf(name, sizeof name, "%" PRId64, id);
        ofd = openat(output_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (ofd < 0)
                return -errno;
        for (size_t i = MAIN_STREAMS; i < ELEMENTSOF(streams); i++) {
                struct stat st;

                r = make_stream(ofd, streams[i], uid, gid, ret_by_group);
                if (r >= 0) {
                        made[i] = true;
                        continue;
                }
                if (r != -EEXIST) {
                        /* not there before (O_EXCL): made here, if at all */
                        (void) unlinkat(ofd, streams[i], 0);
                        break;
                }
                /* an earlier start's (the daemon restarted before the
                 * cleanup command's start was recorded): appended to */
                if (fstatat(ofd, streams[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        r = -errno;
                        break;
                }
                if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
                        r = -EEXIST;
                        break;
                }
                r = 0;
        }
        if (r < 0)
                for (size_t i = MAIN_STREAMS; i < ELEMENTSOF(streams); i++)
                        if (made[i])
                                (void) unlinkat(ofd, streams[i], 0);
        return r;
}

int taskdir_remove_output(int output_fd, int64_t id) {
        _cleanup_(closep) int ofd = -1;
        char name[32];

        (void) snprintf(name, sizeof name, "%" PRId64, id);
        ofd = openat(output_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (ofd < 0)
                return errno == ENOENT ? 0 : -errno;
        for (size_t i = 0; i < ELEMENTSOF(streams); i++)
                if (unlinkat(ofd, streams[i], 0) < 0 && errno != ENOENT)
                        return -errno;
        if (unlinkat(output_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

/* systemd's EnvironmentFile= syntax: in double quotes, a backslash keeps
 * " \ ` $ as they are, and a newline stays a newline. */
static char *env_file_text(char * const *env, size_t *ret_len) {
        char *text = NULL;
        FILE *f = open_memstream(&text, ret_len);

        if (!f)
                return NULL;
        for (size_t i = 0; env && env[i]; i++) {
                const char *eq = strchr(env[i], '=');

                if (!eq)
                        continue;
                fprintf(f, "%.*s=\"", (int) (eq - env[i]), env[i]);
                for (const char *p = eq + 1; *p; p++) {
                        if (strchr("\"\\`$", *p))
                                fputc('\\', f);
                        fputc(*p, f);
                }
                fputs("\"\n", f);
        }
        if (fclose(f) != 0) {
                free(text);
                return NULL;
        }
        return text;
}

int taskdir_write_env(int env_fd, int64_t id, char * const *env) {
        _cleanup_(freep) char *text = NULL;
        _cleanup_(closep) int fd = -1;
        char name[32], tmp[40];
        size_t len = 0, done = 0;

        text = env_file_text(env, &len);
        if (!text)
                return -ENOMEM;
        (void) snprintf(name, sizeof name, "%" PRId64, id);
        (void) snprintf(tmp, sizeof tmp, "%" PRId64 ".new", id);
        (void) unlinkat(env_fd, tmp, 0);
        fd = openat(env_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        while (done < len) {
                ssize_t n = write(fd, text + done, len - done);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        int r = n < 0 ? -errno : -EIO;
                        (void) unlinkat(env_fd, tmp, 0);
                        return r;
                }
                done += (size_t) n;
        }
        if (renameat(env_fd, tmp, env_fd, name) < 0) {
                int r = -errno;
                (void) unlinkat(env_fd, tmp, 0);
                return r;
        }
        return 0;
}

void taskdir_remove_env(int env_fd, int64_t id) {
        char name[32];

        (void) snprintf(name, sizeof name, "%" PRId64, id);
        (void) unlinkat(env_fd, name, 0);
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
 * (new) end and are cut again on the next check.  Blocks count, not the
 * size: fallocate(FALLOC_FL_KEEP_SIZE) allocates past the end.  A little
 * slack above the cap for the file system's own blocks of a file that
 * size. */
#define CAP_SLACK(cap) ((cap) / 256 + 65536)

static uint64_t allocated(const struct stat *st) {
        uint64_t b = (uint64_t) st->st_blocks * 512;
        return b > (uint64_t) st->st_size ? b : (uint64_t) st->st_size;
}

int taskdir_cap_output(const char *output_dir, uint64_t cap, bool *ret_cut, uint64_t *ret_bytes) {
        _cleanup_(closep) int dfd = -1;
        uint64_t total = 0;
        bool cut = false;

        if (ret_cut)
                *ret_cut = false;
        if (ret_bytes)
                *ret_bytes = 0;
        if (!output_dir)
                return 0;
        dfd = open(output_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
                return errno == ENOENT ? 0 : -errno;
        for (size_t i = 0; i < ELEMENTSOF(streams); i++) {
                _cleanup_(closep) int fd = openat(dfd, streams[i], O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
                struct stat st;

                /* a second link is nothing this daemon made: a Slurm task's
                 * directory is its user's, and a hard link there may name
                 * a file that is not theirs */
                if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1)
                        continue;
                if (cap > 0 && ((uint64_t) st.st_size > cap || allocated(&st) > cap + CAP_SLACK(cap))) {
                        off_t keep = (uint64_t) st.st_size > cap ? (off_t) cap : st.st_size;

                        /* a shrink frees what lies past the new end, also
                         * what was allocated past the old one; to the same
                         * size is no shrink, so first one byte more */
                        if (keep == st.st_size)
                                (void) ftruncate(fd, keep + 1);
                        if (ftruncate(fd, keep) >= 0)
                                cut = true;
                        if (fstat(fd, &st) < 0)
                                continue;
                }
                total += allocated(&st);
        }
        if (ret_cut)
                *ret_cut = cut;
        if (ret_bytes)
                *ret_bytes = total;
        return 0;
}

/* ---- ids given out ---- */

#define ID_FILE "last-id"

int taskdir_read_last_id(int state_fd, int64_t *ret) {
        _cleanup_(closep) int fd = openat(state_fd, ID_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        char buf[32];
        ssize_t n;
        char *end;
        long long v;

        *ret = 0;
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        n = read(fd, buf, sizeof buf - 1);
        if (n < 0)
                return -errno;
        buf[n] = 0;
        errno = 0;
        v = strtoll(buf, &end, 10);
        if (errno || end == buf || (*end && *end != '\n') || v < 0)
                return -EBADMSG;
        *ret = v;
        return 0;
}

int taskdir_write_last_id(int state_fd, int64_t id) {
        _cleanup_(closep) int fd = -1;
        char buf[32];
        int len = snprintf(buf, sizeof buf, "%" PRId64 "\n", id);

        (void) unlinkat(state_fd, ID_FILE ".new", 0);
        fd = openat(state_fd, ID_FILE ".new", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        if (write(fd, buf, (size_t) len) != len || fsync(fd) < 0 ||
            renameat(state_fd, ID_FILE ".new", state_fd, ID_FILE) < 0) {
                int r = errno ? -errno : -EIO;
                (void) unlinkat(state_fd, ID_FILE ".new", 0);
                return r;
        }
        return 0;
}

int taskdir_set_aside(int dir_fd, int64_t id, char **ret_name) {
        char name[32], *aside;

        (void) snprintf(name, sizeof name, "%" PRId64, id);
        for (unsigned n = 0;; n++) {
                if (asprintf(&aside, ".stale-%" PRId64 "-%u", id, n) < 0)
                        return -ENOMEM;
                if (renameat2(dir_fd, name, dir_fd, aside, RENAME_NOREPLACE) >= 0) {
                        *ret_name = aside;
                        return 0;
                }
                free(aside);
                if (errno != EEXIST || n >= 1000)
                        return -errno;
        }
}

DIR *taskdir_opendir(int dir_fd) {
        int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *d;

        if (fd < 0)
                return NULL;
        d = fdopendir(fd);
        if (!d) {
                int e = errno;
                (void) close(fd);
                errno = e;
        }
        return d;
}

int64_t taskdir_entry_id(const char *name) {
        char *end;
        long long v;

        if (name[0] < '1' || name[0] > '9')
                return 0;
        errno = 0;
        v = strtoll(name, &end, 10);
        return errno || *end || v <= 0 ? 0 : (int64_t) v;
}

int taskdir_max_id(int dir_fd, int64_t *ret) {
        DIR *d = taskdir_opendir(dir_fd);
        struct dirent *de;

        *ret = 0;
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                int64_t v = taskdir_entry_id(de->d_name);
                if (v > *ret)
                        *ret = v;
        }
        (void) closedir(d);
        return 0;
}
