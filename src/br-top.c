/* br-top.c: a full-screen view of benchrunner, redrawn on every change: the
 * counters and the queue per group, every CPU thread of the machine with
 * the task on it, and the running tasks.  One connection carries the stats
 * stream and, after each stats event, a list of the running tasks; bursts
 * of events are drawn at most ten times a second, and the screen once a
 * second for the elapsed times.  Plain ANSI sequences, no curses: the
 * screen is a list of lines (top.c) drawn from the top.  Not a terminal
 * (or --once): the same lines once, as plain text. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <langinfo.h>
#include <poll.h>
#include <popt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "client.h"
#include "escape.h"
#include "protocol.h"
#include "top.h"
#include "topology.h"
#include "util.h"

#define DRAW_MIN_USEC (100 * USEC_PER_MSEC)   /* at most 10 frames a second */
#define TICK_USEC USEC_PER_SEC                /* elapsed times move on */
#define PLAIN_WIDTH 80                        /* cores per line when not on a terminal */

static int arg_once;
static char *arg_sysfs_root;
static char *arg_socket;
static int arg_version;

static const struct poptOption options[] = {
        { "once", '1', POPT_ARG_NONE, &arg_once, 0,
          N_("print the view once as plain text and exit (the default when standard output is not a terminal)"),
          NULL },
        { "sysfs-root", 0, POPT_ARG_STRING, &arg_sysfs_root, 0, N_("read the CPU topology here (default: /sys)"),
          N_("DIR") },
        { "socket", 0, POPT_ARG_STRING, &arg_socket, 0, N_("the daemon's socket"), N_("PATH") },
        { "version", 'V', POPT_ARG_NONE, &arg_version, 0, N_("show the version and exit"), NULL },
        POPT_AUTOHELP POPT_TABLEEND
};

typedef struct Top {
        Client c;
        Topology *topo;
        ProtoStats stats;
        Task **tasks;            /* shown: running and cleaning up */
        size_t n_tasks;
        Task **pages;            /* the list being read, page by page */
        size_t n_pages;
        bool list_in_flight;
        int64_t list_after;      /* the page in flight starts after this id */
        char *error;             /* the daemon's error reply */
        bool list_wanted;        /* the stats changed since the list was asked for */
        bool dirty;              /* something to draw */
        bool resized;
        bool quit;
        uint64_t last_draw;      /* CLOCK_MONOTONIC */
        unsigned rows, cols;
        EscapeFlags escape;
        const char *cut_mark;
} Top;

/* ---- the terminal ---- */

static struct termios term_saved;
static bool term_raw;            /* term_saved is to be restored */
static bool term_screen;         /* on the alternate screen */

static void write_all(const char *s, size_t len) {
        while (len > 0) {
                ssize_t n = write(STDOUT_FILENO, s, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return;
                s += n;
                len -= (size_t) n;
        }
}

/* Back to how the terminal was: on every way out, and from atexit() for
 * any path that forgot. */
static void term_restore(void) {
        if (term_screen) {
                /* cursor shown, the main screen back */
                static const char leave[] = "\033[?25h\033[?1049l";
                write_all(leave, sizeof leave - 1);
                term_screen = false;
        }
        if (term_raw) {
                (void) tcsetattr(STDIN_FILENO, TCSAFLUSH, &term_saved);
                term_raw = false;
        }
}

static int term_setup(void) {
        static const char enter[] = "\033[?1049h\033[?25l\033[H\033[2J";

        if (atexit(term_restore) != 0)
                return -ENOMEM;
        /* keys one at a time, not echoed; Ctrl-C a key too (ISIG off), so
         * that no signal finds the terminal half set */
        if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &term_saved) == 0) {
                struct termios raw = term_saved;

                raw.c_lflag &= ~(tcflag_t) (ICANON | ECHO | ISIG);
                raw.c_cc[VMIN] = 1;
                raw.c_cc[VTIME] = 0;
                if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) == 0)
                        term_raw = true;
        }
        term_screen = true;
        write_all(enter, sizeof enter - 1);
        return 0;
}

static void term_size(Top *t) {
        struct winsize ws;

        if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0) {
                t->rows = ws.ws_row;
                t->cols = ws.ws_col;
        } else {
                t->rows = 24;
                t->cols = 80;
        }
}

/* ---- the view ---- */

static int layout(const Top *t, size_t width, char ***ret) {
        TopView v = {
                .topo = t->topo,
                .stats = &t->stats,
                .tasks = t->tasks,
                .n_tasks = t->n_tasks,
                .now_usec = now_usec(CLOCK_REALTIME),
                .width = width,
                .escape = t->escape,
                .cut_mark = t->cut_mark,
        };
        return top_layout(&v, ret);
}

/* One frame: from the top left, each line cut to the width and the rest of
 * it cleared, the screen below cleared; one write. */
static int draw(Top *t) {
        _cleanup_(strv_freep) char **lines = NULL;
        _cleanup_(freep) char *frame = NULL;
        size_t n, len = 0;
        FILE *f;
        int r;

        r = layout(t, t->cols, &lines);
        if (r < 0)
                return r;
        n = strv_length(lines);
        f = open_memstream(&frame, &len);
        if (!f)
                return -ENOMEM;
        fputs("\033[H", f);
        for (size_t i = 0; i < n && i < t->rows; i++) {
                _cleanup_(freep) char *more = NULL, *cut = NULL;
                const char *s = lines[i];

                /* the last row says what did not fit */
                if (i + 1 == t->rows && n > t->rows &&
                    asprintf(&more, _("(%zu more lines)"), n - i) >= 0)
                        s = more;
                cut = top_cut(s, t->cols, "");
                if (cut)
                        fputs(cut, f);
                fputs("\033[K", f);
                if (i + 1 < t->rows && i + 1 < n)
                        fputs("\r\n", f);
        }
        fputs("\033[J", f);
        if (fclose(f) != 0)
                return -ENOMEM;
        write_all(frame, len);
        t->last_draw = now_usec(CLOCK_MONOTONIC);
        t->dirty = false;
        return 0;
}

static int print_plain(Top *t) {
        _cleanup_(strv_freep) char **lines = NULL;
        unsigned width = PLAIN_WIDTH;
        int r;

        if (isatty(STDOUT_FILENO)) {
                term_size(t);
                width = t->cols;
        }
        r = layout(t, width, &lines);
        if (r < 0)
                return cli_error_errno(r, _("out of memory"));
        for (char **l = lines; *l; l++)
                puts(*l);
        if (fflush(stdout) != 0 || ferror(stdout))
                return cli_error_errno(EIO, _("cannot write the view: %s"), strerror(errno));
        return 0;
}

/* ---- the daemon ---- */

static int send_list(Top *t, int64_t after_id) {
        ProtoRequest req = {
                .op = PROTO_OP_LIST,
                .state_mask = 1u << TASK_RUNNING | 1u << TASK_CLEANUP,
                .after_id = after_id,
                .limit = PROTO_LIST_LIMIT_MAX,
        };
        _cleanup_(freep) char *line = NULL;
        int r;

        r = proto_request_format(&req, &line);
        if (r < 0)
                return r;
        r = client_send(&t->c, line);
        if (r < 0)
                return r;
        t->list_in_flight = true;
        t->list_after = after_id;
        return 0;
}

/* A page of the list: the next one asked for while the daemon says
 * "more", else the list replaces the one shown. */
static int on_list(Top *t, ProtoMessage *m) {
        Task **a = realloc(t->pages, (t->n_pages + m->n_tasks + 1) * sizeof *a);

        if (!a)
                return -ENOMEM;
        t->pages = a;
        for (size_t i = 0; i < m->n_tasks; i++)
                a[t->n_pages++] = TAKE_PTR(m->tasks[i]);
        /* ids only grow: a daemon that says "more" without moving on would
         * keep us asking forever */
        if (m->more && m->n_tasks > 0 && a[t->n_pages - 1]->id > t->list_after)
                return send_list(t, a[t->n_pages - 1]->id);
        client_tasks_free(t->tasks, t->n_tasks);
        t->tasks = TAKE_PTR(t->pages);
        t->n_tasks = t->n_pages;
        t->n_pages = 0;
        t->list_in_flight = false;
        t->dirty = true;
        return 0;
}

static int on_message(Top *t, ProtoMessage *m) {
        if (m->is_event) {
                if (m->event == PROTO_EVENT_STATS && m->has_stats) {
                        t->stats = m->stats;
                        t->list_wanted = true;
                        t->dirty = true;
                }
                return 0;
        }
        if (!m->ok) {
                /* said once the terminal is back */
                free(t->error);
                t->error = strdup(m->error ? m->error : _("request failed"));
                return -EREMOTEIO;
        }
        if (!t->list_in_flight)
                return 0;     /* nothing else was asked for */
        return on_list(t, m);
}

/* What arrived on the socket; -ECONNRESET when the daemon went. */
static int on_socket(Top *t) {
        ssize_t n = linebuf_read(&t->c.in, t->c.fd);
        int r;

        if (n == 0)
                return -ECONNRESET;
        if (n == -EINTR || n == -EAGAIN)
                return 0;
        if (n < 0)
                return (int) n;
        for (;;) {
                _cleanup_(proto_message_freep) ProtoMessage *m = NULL;
                char *line;
                size_t len;

                r = linebuf_pop(&t->c.in, &line, &len);
                if (r <= 0)
                        return r;
                if (len == 0)
                        continue;
                r = proto_parse_message(line, len, &m, NULL);
                if (r < 0)
                        return -EBADMSG;
                r = on_message(t, m);
                if (r < 0)
                        return r;
        }
}

static void on_keys(Top *t) {
        char buf[64];
        ssize_t n = read(STDIN_FILENO, buf, sizeof buf);

        if (n == 0)
                t->quit = true;   /* no more keys: the terminal is gone */
        for (ssize_t i = 0; i < n; i++)
                switch (buf[i]) {
                case 'q':
                case 'Q':
                case 3:           /* Ctrl-C */
                        t->quit = true;
                        break;
                case 12:          /* Ctrl-L: draw everything again */
                        write_all("\033[2J", 4);
                        t->dirty = true;
                        t->last_draw = 0;
                        break;
                }
}

static void on_signal(Top *t, int fd) {
        struct signalfd_siginfo si;

        while (read(fd, &si, sizeof si) == (ssize_t) sizeof si) {
                if (si.ssi_signo == SIGWINCH)
                        t->resized = true;
                else
                        t->quit = true;
        }
}

static int watch(Top *t) {
        _cleanup_(closep) int sfd = -1;
        sigset_t mask;
        int r = 0;

        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGWINCH);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ||
            (sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
                return cli_error_errno(errno, _("cannot watch signals: %s"), strerror(errno));
        r = term_setup();
        if (r < 0)
                return cli_error_errno(r, _("out of memory"));
        term_size(t);
        /* the first frame waits for the list (up to the tick) */
        t->list_wanted = true;
        t->dirty = true;
        t->last_draw = now_usec(CLOCK_MONOTONIC);

        while (!t->quit) {
                struct pollfd p[3] = {
                        { .fd = t->c.fd, .events = POLLIN },
                        { .fd = sfd, .events = POLLIN },
                        { .fd = term_raw ? STDIN_FILENO : -1, .events = POLLIN },
                };
                uint64_t now, due;
                int timeout;

                if (t->list_wanted && !t->list_in_flight) {
                        t->list_wanted = false;
                        r = send_list(t, 0);
                        if (r < 0)
                                break;
                }
                if (t->resized) {
                        t->resized = false;
                        term_size(t);
                        t->dirty = true;
                        t->last_draw = 0;
                }
                now = now_usec(CLOCK_MONOTONIC);
                /* a change is drawn once the list that goes with it is here,
                 * and no sooner than DRAW_MIN_USEC after the last frame; the
                 * tick draws whatever there is */
                due = t->last_draw + TICK_USEC;
                if (t->dirty && !t->list_in_flight && !t->list_wanted && t->last_draw + DRAW_MIN_USEC < due)
                        due = t->last_draw + DRAW_MIN_USEC;
                if (now >= due) {
                        r = draw(t);
                        if (r < 0)
                                break;
                        continue;
                }
                timeout = (int) ((due - now + USEC_PER_MSEC - 1) / USEC_PER_MSEC);
                if (poll(p, ELEMENTSOF(p), timeout) < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        break;
                }
                if (p[1].revents)
                        on_signal(t, sfd);
                if (p[2].revents & (POLLIN | POLLHUP | POLLERR))
                        on_keys(t);
                if (p[0].revents) {
                        r = on_socket(t);
                        if (r < 0)
                                break;
                }
        }
        term_restore();
        if (t->quit)
                return 0;
        if (r == -ECONNRESET)
                return cli_error_errno(r, _("the daemon stopped"));
        if (r == -EREMOTEIO)
                return cli_error_errno(r, "%s", t->error ? t->error : _("request failed"));
        if (r == -EBADMSG)
                return cli_error_errno(r, _("bad message from the daemon"));
        return cli_error_errno(r, _("lost the daemon: %s"), strerror(-r));
}

static int run(void) {
        const char *sysfs = arg_sysfs_root ? arg_sysfs_root : "/sys";
        bool plain = arg_once || !isatty(STDOUT_FILENO);
        ProtoRequest req = { .op = PROTO_OP_STATS, .follow = !plain };
        ProtoRequest list = { .op = PROTO_OP_LIST, .state_mask = 1u << TASK_RUNNING | 1u << TASK_CLEANUP };
        Top t = { .c = { .fd = -1 } };
        ProtoMessage *m = NULL;
        int r;

        t.escape = escape_flags_for_locale();
        t.cut_mark = strcmp(nl_langinfo(CODESET), "UTF-8") == 0 ? "\u2026" : "~";
        r = topology_load(sysfs, &t.topo);
        if (r < 0)
                return cli_error_errno(r, _("cannot read the CPU topology under %s: %s"), sysfs, strerror(-r));
        r = client_connect(client_socket_path(arg_socket), &t.c);
        if (r < 0)
                goto finish;
        /* no event comes before the reply to the request that asks for them */
        r = client_call(&t.c, &req, &m);
        if (r < 0)
                goto finish;
        t.stats = m->stats;
        proto_message_free(m);
        if (plain) {
                r = client_list(&t.c, &list, &t.tasks, &t.n_tasks);
                if (r >= 0)
                        r = print_plain(&t);
        } else
                r = watch(&t);
finish:
        client_close(&t.c);
        client_tasks_free(t.tasks, t.n_tasks);
        client_tasks_free(t.pages, t.n_pages);
        topology_free(t.topo);
        free(t.error);
        return r;
}

CLI_MAIN(.name = "br-top", .options = options, .version = &arg_version, .run = run)
