/* br-stats.c: prints the number of running and queued tasks every time one
 * of them changes, or once with --once; with --poll it outlives the daemon,
 * trying again until it is back. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <popt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <json-c/json.h>

#include "client.h"
#include "protocol.h"
#include "cli.h"
#include "util.h"

static int arg_once;
static int arg_json;
static int arg_short;
static bool arg_poll;
static char *arg_poll_every;
static char *arg_socket;
static int arg_version;
static uint64_t poll_usec;   /* --poll's interval, 0 without */

#define POLL_DEFAULT_USEC (10 * USEC_PER_SEC)

enum { OPT_POLL = 1 };

static const struct poptOption options[] = {
        { "once", '1', POPT_ARG_NONE, &arg_once, 0, N_("print the counts once and exit"), NULL },
        { "json", 0, POPT_ARG_NONE, &arg_json, 0, N_("print JSON lines"), NULL },
        { "short", 's', POPT_ARG_NONE, &arg_short, 0,
          N_("print \"R: RUNNING P: QUEUED\", as the prototype did"), NULL },
        { "poll", 0, POPT_ARG_STRING | POPT_ARGFLAG_OPTIONAL, NULL, OPT_POLL,
          N_("while the daemon is down, try again every DURATION (default: 10s) instead of exiting"),
          N_("DURATION") },
        { "socket", 0, POPT_ARG_STRING, &arg_socket, 0, N_("the daemon's socket"), N_("PATH") },
        { "version", 'V', POPT_ARG_NONE, &arg_version, 0, N_("show the version and exit"), NULL },
        POPT_AUTOHELP POPT_TABLEEND
};

static void print_stats(const ProtoStats *s) {
        if (arg_json) {
                struct json_object *o = json_object_new_object();
                json_object_object_add(o, "running", json_object_new_int64((int64_t) s->running));
                json_object_object_add(o, "cleanup", json_object_new_int64((int64_t) s->cleanup));
                json_object_object_add(o, "queued", json_object_new_int64((int64_t) s->queued));
                json_object_object_add(o, "threads_busy", json_object_new_int64((int64_t) s->threads_busy));
                json_object_object_add(o, "threads_total", json_object_new_int64((int64_t) s->threads_total));
                json_object_object_add(o, "memory_used", json_object_new_int64((int64_t) s->memory_used));
                json_object_object_add(o, "memory_total", json_object_new_int64((int64_t) s->memory_total));
                json_object_object_add(o, "held", json_object_new_int64((int64_t) s->held));
                json_object_object_add(o, "waiting", json_object_new_int64((int64_t) s->waiting));
                json_object_object_add(o, "draining", json_object_new_boolean(s->draining != 0));
                puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
                json_object_put(o);
        } else if (arg_short) {
                /* the prototype's line, which scripts read: tasks cleaning
                 * up still hold their CPUs, so they count as running */
                printf("R: %" PRIu64 " P: %" PRIu64 "\n", s->running + s->cleanup, s->queued);
        } else {
                char a[FORMAT_SIZE_MAX], b[FORMAT_SIZE_MAX];
                printf(_("running %" PRIu64 ", queued %" PRIu64), s->running, s->queued);
                if (s->cleanup)
                        printf(_(", cleaning up %" PRIu64), s->cleanup);
                if (s->held)
                        printf(_(", held %" PRIu64), s->held);
                if (s->waiting)
                        printf(_(", waiting %" PRIu64), s->waiting);
                printf(_(" (threads %" PRIu64 "/%" PRIu64 ", memory %s/%s)"), s->threads_busy, s->threads_total,
                       format_size(a, sizeof a, s->memory_used), format_size(b, sizeof b, s->memory_total));
                if (s->draining)
                        fputs(_(", draining: nothing new starts"), stdout);
                putchar('\n');
        }
        fflush(stdout);
}

/* One connection: the counts, then (without --once) every change until
 * the daemon goes.  -ECONNRESET when it went. */
static int watch(Client *c) {
        ProtoRequest req = { .op = PROTO_OP_STATS, .follow = !arg_once };
        ProtoMessage *m = NULL;
        int r;

        r = client_call(c, &req, &m);
        if (r < 0)
                return r;
        print_stats(&m->stats);
        proto_message_free(m);
        while (!arg_once) {
                m = NULL;
                r = client_receive(c, &m);
                if (r == -ECONNRESET)
                        return r;
                if (r < 0)
                        return cli_error_errno(-r, _("bad message from the daemon: %s"), strerror(-r));
                if (m->is_event && m->event == PROTO_EVENT_STATS && m->has_stats)
                        print_stats(&m->stats);
                proto_message_free(m);
        }
        return 0;
}

static void sleep_usec(uint64_t usec) {
        struct timespec ts = { (time_t) (usec / USEC_PER_SEC), (long) (usec % USEC_PER_SEC) * 1000 };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* --poll: no daemon, or the daemon gone, is a wait, said once each time. */
static int run_poll(const char *path) {
        char d[FORMAT_DURATION_MAX];
        bool said = false;
        int r;

        for (;;) {
                Client c = { .fd = -1 };

                r = client_connect_quiet(path, &c);
                if (r >= 0) {
                        said = false;
                        r = watch(&c);
                        client_close(&c);
                        if (r >= 0)
                                return 0;   /* --once */
                        if (r != -ECONNRESET)
                                return r;
                        cli_info(_("the daemon stopped; trying again every %s"),
                                 format_duration(d, sizeof d, poll_usec));
                        said = true;
                } else if (r != -ENOENT && r != -ECONNREFUSED)
                        return cli_error_errno(-r, _("cannot connect to %s: %s"), path, strerror(-r));
                else if (!said) {
                        cli_info(_("benchrunner is not running (no daemon at %s); trying again every %s"), path,
                                 format_duration(d, sizeof d, poll_usec));
                        said = true;
                }
                sleep_usec(poll_usec);
        }
}

static int run(void) {
        const char *path = client_socket_path(arg_socket);
        Client c = { .fd = -1 };
        int r;

        if (poll_usec)
                return run_poll(path);
        r = client_connect(path, &c);
        if (r < 0)
                return r;
        r = watch(&c);
        if (r == -ECONNRESET)
                (void) cli_error(_("the daemon stopped"));
        client_close(&c);
        return r;
}

static int check(const char **args) {
        (void) args;
        if (arg_json && arg_short)
                return cli_error(_("give either --json or --short, not both"));
        if (arg_poll) {
                if (!arg_poll_every || !arg_poll_every[0])
                        poll_usec = POLL_DEFAULT_USEC;
                else if (parse_duration(arg_poll_every, &poll_usec) < 0 || poll_usec == 0)
                        return cli_error(_("--poll: not a duration: %s (use 1s, 10s, 1m, ...)"), arg_poll_every);
        }
        return 0;
}

static int on_option(int val, const char *arg) {
        if (val == OPT_POLL) {
                arg_poll = true;
                free(arg_poll_every);
                arg_poll_every = arg ? strdup(arg) : NULL;
                if (arg && !arg_poll_every)
                        return -ENOMEM;
        }
        return 0;
}

CLI_MAIN(.name = "br-stats", .options = options, .version = &arg_version, .on_option = on_option,
         .check = check, .run = run)
