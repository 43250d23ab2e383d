/* br-log.c: prints a task's output, its command's or its cleanup
 * command's, stdout or stderr, and follows it while the task runs.  The
 * daemon says where the files are (show), or without a daemon the history
 * copy (histdb.h); br-log reads them itself, as its user, whom their ACL
 * lets read them: the daemon never sends output. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <popt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"
#include "histdb.h"
#include "protocol.h"
#include "task.h"
#include "cli.h"
#include "util.h"

static int arg_stderr;
static int arg_cleanup;
static int arg_follow;
static char *arg_socket;
static int arg_offline;
static char *arg_history;
static int arg_version;
static int64_t arg_id;   /* check() for run() */

static const struct poptOption options[] = {
        { "stderr", 0, POPT_ARG_NONE, &arg_stderr, 0, N_("print the standard error instead of the standard output"),
          NULL },
        { "cleanup", 0, POPT_ARG_NONE, &arg_cleanup, 0,
          N_("print the cleanup command's output instead of the command's"), NULL },
        { "follow", 'f', POPT_ARG_NONE, &arg_follow, 0,
          N_("print the output as it grows, until the task has finished"), NULL },
        { "socket", 0, POPT_ARG_STRING, &arg_socket, 0, N_("the daemon's socket"), N_("PATH") },
        { "offline", 0, POPT_ARG_NONE, &arg_offline, 0,
          N_("read the history copy of the database, not the daemon, as when the daemon is not running"), NULL },
        { "history", 0, POPT_ARG_STRING, &arg_history, 0,
          N_("the history copy read without the daemon"), N_("PATH") },
        { "version", 'V', POPT_ARG_NONE, &arg_version, 0, N_("show the version and exit"), NULL },
        POPT_AUTOHELP POPT_TABLEEND
};

/* --follow looks for new bytes every POLL_MS, and asks the daemon whether
 * the task has finished every SHOW_EVERY looks (about once a second). */
#define POLL_MS 200
#define SHOW_EVERY 5

static const char *stream_name(void) {
        if (arg_cleanup)
                return arg_stderr ? "cleanup-stderr" : "cleanup-stdout";
        return arg_stderr ? "stderr" : "stdout";
}

/* The task, from a show request.  following: a lost daemon is said in
 * br-log's own words (client_call() has its own for the first request). */
static int show(Client *c, bool following, Task **ret) {
        _cleanup_(proto_message_freep) ProtoMessage *m = NULL;
        ProtoRequest req = { .op = PROTO_OP_SHOW, .id = arg_id };
        int r;

        if (!following) {
                r = client_call(c, &req, &m);
                if (r < 0)
                        return r;
        } else {
                _cleanup_(freep) char *line = NULL;

                r = proto_request_format(&req, &line);
                if (r < 0)
                        return cli_error_errno(r, _("out of memory"));
                r = client_send(c, line);
                while (r >= 0) {
                        m = proto_message_free(m);
                        r = client_receive(c, &m);
                        if (r >= 0 && !m->is_event)
                                break;
                }
                if (r < 0)
                        return cli_error_errno(r, _("the daemon went away while following task %" PRId64), arg_id);
                if (!m->ok) {
                        (void) cli_error("%s", m->error ? m->error : _("request failed"));
                        return -EREMOTEIO;
                }
        }
        if (!m->task)
                return cli_error_errno(EBADMSG, _("the daemon sent no task for %" PRId64), arg_id);
        *ret = TAKE_PTR(m->task);
        return 0;
}

/* What stops br-log before it looks at a file: said, and < 0. */
static int refuse(const Task *t) {
        uid_t me = geteuid();

        /* the daemon shows anybody's task; its output is its owner's */
        if (me != 0 && me != t->uid)
                return cli_error_errno(EPERM, _("task %" PRId64 " is another user's: only its owner and root may "
                                                "read its output"), t->id);
        if (t->output_removed_usec)
                return cli_error_errno(ENOENT, _("the output of task %" PRId64 " was removed by the daemon's "
                                                 "retention policy"), t->id);
        if (arg_cleanup && !t->cleanup_argv)
                return cli_error_errno(ENOENT, _("task %" PRId64 " has no cleanup command"), t->id);
        return 0;
}

/* Why there is no file to read when there is none: said, and < 0. */
static int no_output(const Task *t) {
        if (!t->output_dir && t->state == TASK_FINISHED)
                return cli_error_errno(ENOENT, _("task %" PRId64 " never started: it has no output"), t->id);
        if (!t->output_dir)
                return cli_error_errno(ENOENT, _("task %" PRId64 " has not started yet: it has no output yet "
                                                 "(br-log -f waits for it)"), t->id);
        if (arg_cleanup && t->state != TASK_FINISHED && t->cleanup.started_usec == 0)
                return cli_error_errno(ENOENT, _("the cleanup command of task %" PRId64 " has not started yet: "
                                                 "it has no output yet (br-log -f waits for it)"), t->id);
        if (arg_cleanup && t->cleanup.reason == TASK_REASON_NONE && t->cleanup.started_usec == 0)
                return cli_error_errno(ENOENT, _("the cleanup command of task %" PRId64 " did not run: it has no "
                                                 "output"), t->id);
        if (arg_cleanup && t->cleanup.reason == TASK_REASON_FAILED_TO_START)
                return cli_error_errno(ENOENT, _("the cleanup command of task %" PRId64 " could not be started: "
                                                 "it has no output"), t->id);
        if (arg_cleanup)
                /* it appended the cleanup command's output to stdout and stderr */
                return cli_error_errno(ENOENT, _("task %" PRId64 " ran under an older benchrunnerd, which kept "
                                                 "no cleanup output of its own: see its stdout and stderr"), t->id);
        return cli_error_errno(ENOENT, _("the output of task %" PRId64 " is gone"), t->id);
}

/* Opens the stream, a regular file (the directory is root's, but the path
 * came over a socket): the descriptor, -ENOENT when it is not there (yet),
 * or another negative errno (said). */
static int open_stream(const Task *t, char **ret_path) {
        _cleanup_(freep) char *path = NULL;
        _cleanup_(closep) int fd = -1;
        struct stat st;

        if (asprintf(&path, "%s/%s", t->output_dir, stream_name()) < 0) {
                path = NULL;
                return cli_error_errno(ENOMEM, _("out of memory"));
        }
        fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT)
                return -ENOENT;
        if (fd < 0 && errno == ELOOP)
                return cli_error_errno(ELOOP, _("%s is a symbolic link: not read"), path);
        if (fd < 0)
                return cli_error_errno(errno, _("cannot open %s: %m"), path);
        if (fstat(fd, &st) < 0)
                return cli_error_errno(errno, _("cannot open %s: %m"), path);
        if (!S_ISREG(st.st_mode))
                return cli_error_errno(EBADF, _("%s is not a regular file: not read"), path);
        *ret_path = TAKE_PTR(path);
        return TAKE_FD(fd);
}

static int write_all(const char *p, size_t n) {
        while (n > 0) {
                ssize_t k = write(STDOUT_FILENO, p, n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0 && errno == EAGAIN) {
                        (void) poll(&(struct pollfd) { .fd = STDOUT_FILENO, .events = POLLOUT }, 1, -1);
                        continue;
                }
                if (k <= 0)
                        return k < 0 ? -errno : -EIO;
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

/* Copies what fd holds past its offset to stdout, as it is: the user's
 * own program's bytes, printed raw as cat does. */
static int copy_out(int fd, const char *path) {
        char buf[65536];
        struct stat st;
        off_t at;
        int r;

        /* cut at the output cap below what was read already: go on at
         * the new end, where the task's next bytes land */
        at = lseek(fd, 0, SEEK_CUR);
        if (at > 0 && fstat(fd, &st) == 0 && st.st_size < at)
                (void) lseek(fd, st.st_size, SEEK_SET);
        for (;;) {
                ssize_t n = read(fd, buf, sizeof buf);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return cli_error_errno(errno, _("cannot read %s: %m"), path);
                if (n == 0)
                        return 0;
                r = write_all(buf, (size_t) n);
                if (r < 0)
                        return cli_error_errno(r, _("cannot write: %m"));
        }
}

/* The task from the history copy (the daemon is not running, or
 * --offline): said when it fails. */
static int show_offline(const char *no_daemon_at, HistDb **h, Task **ret) {
        int r;

        r = histdb_open_announced(histdb_path(arg_history), no_daemon_at, h);
        if (r < 0)
                return r;
        r = histdb_get(*h, arg_id, ret);
        if (r == -ENOENT)
                return cli_error_errno(r, "%s", histdb_last_error(*h));
        if (r < 0)
                return cli_error_errno(r, _("cannot read the history copy %s: %s"), histdb_path(arg_history),
                                       histdb_last_error(*h));
        return 0;
}

static int run(void) {
        _cleanup_(histdb_closep) HistDb *h = NULL;
        _cleanup_(task_freep) Task *t = NULL;
        _cleanup_(freep) char *path = NULL;
        _cleanup_(closep) int fd = -1;
        const char *socket = client_socket_path(arg_socket);
        Client c = { .fd = -1 };
        int r = 0;

        if (!arg_offline) {
                r = client_connect_quiet(socket, &c);
                if (r < 0 && !client_no_daemon(r))
                        return client_connect_error(socket, r);
        }
        if (arg_offline || r < 0)
                r = show_offline(arg_offline ? NULL : socket, &h, &t);
        else
                r = show(&c, false, &t);
        for (unsigned looks = 1; r >= 0; looks++) {
                r = refuse(t);
                if (r < 0)
                        break;
                if (fd < 0 && t->output_dir) {
                        fd = open_stream(t, &path);
                        if (fd < 0 && fd != -ENOENT) {
                                r = fd;
                                break;
                        }
                }
                if (fd >= 0) {
                        r = copy_out(fd, path);
                        if (r < 0)
                                break;
                }
                /* what it wrote before it finished has been read now */
                if (!arg_follow || t->state == TASK_FINISHED) {
                        if (fd < 0)
                                r = no_output(t);
                        break;
                }
                if (h) {
                        /* only the daemon knows when it ends: what the
                         * file holds now is printed, and that is all */
                        r = cli_error_errno(ENOTCONN, _("task %" PRId64 " cannot be followed without the daemon "
                                                        "(the history copy has it %s)"),
                                            t->id, task_state_to_string(t->state) ?: "?");
                        break;
                }
                (void) poll(NULL, 0, POLL_MS);
                if (looks % SHOW_EVERY == 0) {
                        t = task_free(t);
                        r = show(&c, true, &t);
                }
        }
        client_close(&c);
        return r < 0 ? r : 0;
}

static int check(const char **args) {
        uint64_t id;

        if (!args || !args[0])
                return cli_error(_("no task id given; see br-log --help"));
        if (args[1])
                return cli_error(_("one task id only; see br-log --help"));
        if (parse_uint(args[0], 1, INT64_MAX, &id) < 0)
                return cli_error(_("not a task id: %s"), args[0]);
        arg_id = (int64_t) id;
        return 0;
}

CLI_MAIN(.name = "br-log", .options = options, .usage = N_("[OPTION...] ID"),
         .version = &arg_version, .check = check, .run = run)
