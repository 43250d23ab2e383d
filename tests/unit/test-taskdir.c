/* test-taskdir.c: a task's directories: made with the right owners and
 * modes, removed with what the user put in them, output cut at its cap. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

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

/* Root's work, as in the daemon: the output directory goes to root, the
 * rest to the user (nobody's ids will do: nothing runs). */
static void test_prepare_remove(const char *top) {
        _cleanup_(freep) char *work = join(top, "work"), *out = join(top, "out"), *so = join(out, "stdout"),
                *se = join(out, "stderr"), *inner = join(work, "sub"), *file = join(inner, "f"),
                *link = join(inner, "to-root"), *rootfile = join(top, "root-file"), *rdir = join(work, "roots"),
                *rfile = join(rdir, "f");
        const uid_t uid = 65534;
        const gid_t gid = 65534;
        struct stat st;

        if (geteuid() != 0) {
                fprintf(stderr, "not root: taskdir_prepare() and taskdir_remove_start() not tested\n");
                return;
        }
        CHECK(taskdir_prepare(work, out, uid, gid) == 0);
        CHECK(stat(work, &st) == 0 && (st.st_mode & 07777) == 0700 && st.st_uid == uid && st.st_gid == gid);
        CHECK(stat(out, &st) == 0 && (st.st_mode & 07777) == 0755);
        CHECK(stat(so, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == uid && st.st_size == 0);
        CHECK(stat(se, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == uid);
        /* again: what exists is fine */
        CHECK(taskdir_prepare(work, out, uid, gid) == 0);

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
        CHECK(taskdir_prepare(work, out, uid, gid) == 0);
        CHECK(mkdir(rdir, 0755) == 0);
        write_bytes(rfile, 1);
        CHECK(remove_as(work, uid, gid) == TASKDIR_REMOVE_LEFT);
        CHECK(access(rfile, F_OK) == 0);
        CHECK(taskdir_remove_top(work) == -ENOTEMPTY);
        CHECK(unlink(rfile) == 0 && rmdir(rdir) == 0 && taskdir_remove_top(work) == 0);
        CHECK(unlink(rootfile) == 0);
        CHECK(unlink(so) == 0 && unlink(se) == 0 && rmdir(out) == 0);
}

static void test_cap_output(const char *top) {
        _cleanup_(freep) char *out = join(top, "cap"), *so = join(out, "stdout"), *se = join(out, "stderr");

        CHECK(mkdir(out, 0755) == 0);
        CHECK(!taskdir_cap_output(NULL, 100));
        CHECK(!taskdir_cap_output(out, 100));       /* no files yet */
        write_bytes(so, 100);
        write_bytes(se, 5000);
        CHECK(!taskdir_cap_output(out, 0));         /* 0: no cap */
        CHECK_EQ_U64(size_of(se), 5000);
        CHECK(taskdir_cap_output(out, 1000));
        CHECK_EQ_U64(size_of(so), 100);
        CHECK_EQ_U64(size_of(se), 1000);
        CHECK(!taskdir_cap_output(out, 1000));      /* nothing more to cut */
        CHECK(unlink(so) == 0 && unlink(se) == 0 && rmdir(out) == 0);
}

int main(void) {
        char top[] = "/tmp/test-taskdir-XXXXXX";

        /* searchable by the user, as the daemon's work/ is */
        if (!mkdtemp(top) || chmod(top, 0711) < 0)
                return 99;
        test_path();
        test_prepare_remove(top);
        test_cap_output(top);
        CHECK(rmdir(top) == 0);
        CHECK_DONE();
}
