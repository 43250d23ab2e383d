/* test-taskdir.c: a task's directories: made with the right owners and
 * modes, removed with what the user put in them, output cut at its cap. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <grp.h>
#include <linux/falloc.h>

#include "check.h"
#include "taskdir.h"
#include "util.h"

static char *join(const char *dir, const char *name) {
        char *p;
        if (asprintf(&p, "%s/%s", dir, name) < 0)
                abort();
        return p;
}

static void write_bytes(const char *path, size_t n) {
        _cleanup_(closep) int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        char buf[256];

        memset(buf, 'x', sizeof buf);
        CHECK(fd >= 0);
        while (n > 0) {
                size_t k = n < sizeof buf ? n : sizeof buf;
                CHECK(write(fd, buf, k) == (ssize_t) k);
                n -= k;
        }
}

static off_t size_of(const char *path) {
        struct stat st;
        return stat(path, &st) < 0 ? -1 : st.st_size;
}

static void test_path(void) {
        _cleanup_(freep) char *p = taskdir_path("/var/lib/benchrunner/work", 42);
        CHECK_STREQ(p, "/var/lib/benchrunner/work/42");
}

/* Removes work as the daemon does, waiting: the child's exit status. */
static int remove_as(const char *work, uid_t uid, gid_t gid) {
        pid_t pid = -1;
        int status;

        CHECK(taskdir_remove_start(work, uid, gid, &pid) == 0);
        CHECK(waitpid(pid, &status, 0) == pid);
        CHECK(WIFEXITED(status));
        if (WEXITSTATUS(status) == TASKDIR_REMOVE_DONE)
                CHECK(taskdir_remove_top(work) == 0);
        return WEXITSTATUS(status);
}

/* How uid may open path: 'r', 'w' (read-write), or '-' (neither). */
static char access_as(const char *path, uid_t uid, gid_t gid) {
        pid_t pid = fork();
        int status;

        if (pid == 0) {
                int fd;
                if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
                        _exit(9);
                fd = open(path, O_RDWR | O_NOFOLLOW | O_APPEND);
                if (fd >= 0)
                        _exit(2);
                fd = open(path, O_RDONLY | O_NOFOLLOW);
                _exit(fd >= 0 ? 1 : 0);
        }
        CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status));
        switch (WEXITSTATUS(status)) {
        case 2: return 'w';
        case 1: return 'r';
        case 0: return '-';
        default: return '?';
        }
}

/* Root's work, as in the daemon: the output directory and its files stay
 * root's, the working directory goes to the user (nobody's ids will do:
 * nothing runs). */
static void test_prepare_remove(const char *top) {
        _cleanup_(freep) char *workdir = join(top, "work"), *outdir = join(top, "out"), *work = join(workdir, "7"),
                *out = join(outdir, "7"), *so = join(out, "stdout"), *se = join(out, "stderr"),
                *sco = join(out, "cleanup-stdout"), *sce = join(out, "cleanup-stderr"),
                *inner = join(work, "sub"), *file = join(inner, "f"), *link = join(inner, "to-root"),
                *rootfile = join(top, "root-file"), *rdir = join(work, "roots"), *rfile = join(rdir, "f"),
                *planted = join(workdir, "8"), *planted_out = join(outdir, "9"), *groupw = join(top, "gw"),
                *out8 = join(outdir, "8"), *work9 = join(workdir, "9");
        _cleanup_(closep) int work_fd = -1, out_fd = -1;
        const uid_t uid = 65534;
        const gid_t gid = 65534;
        struct stat st;
        bool by_group = true;

        if (geteuid() != 0) {
                fprintf(stderr, "not root: taskdir_prepare() and taskdir_remove_start() not tested\n");
                return;
        }
        work_fd = taskdir_open_dir(AT_FDCWD, workdir, 0711);
        out_fd = taskdir_open_dir(AT_FDCWD, outdir, 0755);
        CHECK(work_fd >= 0 && out_fd >= 0);
        CHECK(stat(workdir, &st) == 0 && (st.st_mode & 07777) == 0711);
        CHECK(taskdir_prepare(work_fd, out_fd, 7, uid, gid, &by_group) == 0);
        CHECK(stat(work, &st) == 0 && (st.st_mode & 07777) == 0700 && st.st_uid == uid && st.st_gid == gid);
        CHECK(stat(out, &st) == 0 && (st.st_mode & 07777) == 0755 && st.st_uid == 0);
        /* root's: the user reads, never writes (issue 11) */
        CHECK(stat(so, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == 0 && st.st_size == 0);
        CHECK(stat(se, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == 0);
        CHECK(access_as(so, uid, gid) == 'r');
        CHECK(access_as(se, uid, gid) == 'r');
        /* another user: not even read (65533 shares no group with it) */
        if (!by_group)
                CHECK(access_as(so, 65533, 65533) == '-');
        else
                fprintf(stderr, "no ACLs on %s: output readable through the group\n", top);
        /* the cleanup command's pair is made when it starts, not before,
         * and alike: root's, the user reads */
        CHECK(access(sco, F_OK) < 0 && access(sce, F_OK) < 0);
        CHECK(taskdir_prepare_cleanup(out_fd, 7, uid, gid, &by_group) == 0);
        CHECK(stat(sco, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == 0 && st.st_size == 0);
        CHECK(stat(sce, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == 0);
        CHECK(access_as(sco, uid, gid) == 'r');
        CHECK(access_as(sce, uid, gid) == 'r');
        if (!by_group)
                CHECK(access_as(sce, 65533, 65533) == '-');
        /* started again (a restart): what is there stays, appended to */
        write_bytes(sco, 3);
        CHECK(taskdir_prepare_cleanup(out_fd, 7, uid, gid, &by_group) == 0);
        CHECK(size_of(sco) == 3);
        CHECK(truncate(sco, 0) == 0);
        /* no output directory: nothing made */
        CHECK(taskdir_prepare_cleanup(out_fd, 6, uid, gid, &by_group) == -ENOENT);
        /* again: what exists is not taken over */
        CHECK(taskdir_prepare(work_fd, out_fd, 7, 65533, 65533, &by_group) == -EEXIST);
        CHECK(stat(work, &st) == 0 && st.st_uid == uid);

        /* planted: a symlink where a task's directory will be made is
         * refused, and what it points to stays as it was */
        CHECK(symlink(top, planted) == 0);
        CHECK(taskdir_prepare(work_fd, out_fd, 8, uid, gid, &by_group) == -EEXIST);
        CHECK(stat(top, &st) == 0 && st.st_uid == 0 && (st.st_mode & 07777) == 0711);
        CHECK(access(out8, F_OK) < 0);
        CHECK(unlink(planted) == 0);
        /* an output directory there already: refused, and the working
         * directory made for it is gone again */
        CHECK(mkdir(planted_out, 0755) == 0);
        CHECK(taskdir_prepare(work_fd, out_fd, 9, uid, gid, &by_group) == -EEXIST);
        CHECK(access(work9, F_OK) < 0);
        CHECK(rmdir(planted_out) == 0);

        /* the state directories: a symlink or one others may write refused */
        CHECK(symlink(top, groupw) == 0);
        CHECK(taskdir_open_dir(AT_FDCWD, groupw, 0755) == -ENOTDIR);
        CHECK(unlink(groupw) == 0);
        CHECK(mkdir(groupw, 0775) == 0 && chmod(groupw, 0775) == 0);
        CHECK(taskdir_open_dir(AT_FDCWD, groupw, 0755) == -EPERM);
        CHECK(rmdir(groupw) == 0);

        /* what the task leaves behind, as the user would have made it: a
         * read-only directory, a symlink to a file of root's */
        write_bytes(rootfile, 1);
        CHECK(mkdir(inner, 0755) == 0);
        write_bytes(file, 10);
        CHECK(symlink(rootfile, link) == 0);
        CHECK(lchown(inner, uid, gid) == 0 && lchown(file, uid, gid) == 0 && lchown(link, uid, gid) == 0);
        CHECK(chmod(inner, 0500) == 0);
        CHECK(remove_as(work, uid, gid) == TASKDIR_REMOVE_DONE);
        CHECK(access(work, F_OK) < 0 && errno == ENOENT);
        CHECK(access(rootfile, F_OK) == 0);
        /* gone already: nothing to do */
        CHECK(remove_as(work, uid, gid) == TASKDIR_REMOVE_DONE);

        /* the top replaced by a symlink to root's directory: not followed */
        CHECK(symlink(top, work) == 0);
        CHECK(remove_as(work, uid, gid) == TASKDIR_REMOVE_LEFT);
        CHECK(access(rootfile, F_OK) == 0);
        CHECK(unlink(work) == 0);

        /* a file the user may not remove (in root's directory) stays */
        CHECK(taskdir_remove_output(out_fd, 7) == 0);
        CHECK(access(out, F_OK) < 0);
        CHECK(taskdir_remove_output(out_fd, 7) == 0);
        CHECK(taskdir_prepare(work_fd, out_fd, 7, uid, gid, &by_group) == 0);
        CHECK(mkdir(rdir, 0755) == 0);
        write_bytes(rfile, 1);
        CHECK(remove_as(work, uid, gid) == TASKDIR_REMOVE_LEFT);
        CHECK(access(rfile, F_OK) == 0);
        CHECK(taskdir_remove_top(work) == -ENOTEMPTY);
        CHECK(unlink(rfile) == 0 && rmdir(rdir) == 0 && taskdir_remove_top(work) == 0);
        CHECK(unlink(rootfile) == 0);
        CHECK(taskdir_remove_output(out_fd, 7) == 0);
        CHECK(rmdir(workdir) == 0 && rmdir(outdir) == 0);
}

static bool cap(const char *out, uint64_t bytes, uint64_t *held) {
        bool cut = false;
        CHECK(taskdir_cap_output(out, bytes, &cut, held) == 0);
        return cut;
}

static void test_cap_output(const char *top) {
        _cleanup_(freep) char *out = join(top, "cap"), *so = join(out, "stdout"), *se = join(out, "stderr"),
                *sco = join(out, "cleanup-stdout"), *sce = join(out, "cleanup-stderr");
        uint64_t held = 1;
        struct stat st;

        CHECK(mkdir(out, 0755) == 0);
        CHECK(!cap(NULL, 100, &held) && held == 0);
        CHECK(!cap(out, 100, &held) && held == 0);   /* no files yet */
        write_bytes(so, 100);
        write_bytes(se, 5000);
        CHECK(!cap(out, 0, &held));                   /* 0: no cap */
        CHECK(held >= 5100);
        CHECK_EQ_U64(size_of(se), 5000);
        CHECK(cap(out, 1000, NULL));
        CHECK_EQ_U64(size_of(so), 100);
        CHECK_EQ_U64(size_of(se), 1000);
        CHECK(!cap(out, 1000, NULL));                 /* nothing more to cut */
        /* the cleanup command's streams: counted and cut alike */
        write_bytes(sco, 3000);
        write_bytes(sce, 10);
        CHECK(!cap(out, 0, &held));
        CHECK(held >= 100 + 1000 + 3000 + 10);
        CHECK(cap(out, 1000, &held));
        CHECK_EQ_U64(size_of(sco), 1000);
        CHECK_EQ_U64(size_of(sce), 10);
        CHECK(unlink(sco) == 0 && unlink(sce) == 0);

        /* blocks allocated past the end count (fallocate -k): freed, the
         * size kept */
        {
                _cleanup_(closep) int fd = open(so, O_WRONLY | O_APPEND | O_CLOEXEC);
                CHECK(fd >= 0 && fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 64 << 20) == 0);
        }
        CHECK(stat(so, &st) == 0 && (uint64_t) st.st_blocks * 512 >= (64u << 20));
        CHECK(cap(out, 1 << 20, &held));
        CHECK(stat(so, &st) == 0 && st.st_size == 100 && (uint64_t) st.st_blocks * 512 <= (1u << 20));
        CHECK(held < (2u << 20));

        /* a stream that is a second name of another file (a Slurm task's
         * directory is its user's: a hard link there may name a file that
         * is not theirs): neither cut nor counted */
        {
                _cleanup_(freep) char *other = join(top, "not-the-tasks");

                write_bytes(other, 5000);
                CHECK(unlink(se) == 0 && link(other, se) == 0);
                CHECK(!cap(out, 1000, &held));
                CHECK_EQ_U64(size_of(other), 5000);
                CHECK(held < 5000);
                CHECK(unlink(other) == 0);
        }
        CHECK(unlink(so) == 0 && unlink(se) == 0 && rmdir(out) == 0);
}

/* A directory set aside gets a name no id parses as, twice over. */
static void test_set_aside(const char *top) {
        _cleanup_(freep) char *dir = join(top, "aside"), *a = NULL, *b = NULL, *pa = NULL, *pb = NULL;
        _cleanup_(closep) int fd = -1;
        int64_t max = -1;

        CHECK(mkdir(dir, 0755) == 0);
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        CHECK(fd >= 0);
        CHECK(taskdir_set_aside(fd, 12, &a) == -ENOENT);
        CHECK(mkdirat(fd, "12", 0700) == 0);
        CHECK(taskdir_set_aside(fd, 12, &a) == 0);
        CHECK_STREQ(a, ".stale-12-0");
        CHECK(mkdirat(fd, "12", 0700) == 0);
        CHECK(taskdir_set_aside(fd, 12, &b) == 0);
        CHECK_STREQ(b, ".stale-12-1");
        CHECK(faccessat(fd, "12", F_OK, 0) < 0 && errno == ENOENT);
        CHECK(taskdir_max_id(fd, &max) == 0);
        CHECK(max == 0);
        pa = join(dir, a);
        pb = join(dir, b);
        CHECK(rmdir(pa) == 0 && rmdir(pb) == 0 && rmdir(dir) == 0);
}

int main(void) {
        char top[] = "/tmp/test-taskdir-XXXXXX";

        /* searchable by the user, as the daemon's work/ is */
        if (!mkdtemp(top) || chmod(top, 0711) < 0)
                return 99;
        test_path();
        test_prepare_remove(top);
        test_cap_output(top);
        test_set_aside(top);
        CHECK(rmdir(top) == 0);
        CHECK_DONE();
}
