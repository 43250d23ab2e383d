/* br-stats.c: prints the number of running and queued tasks every time one
 * of them changes, or once with --once. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <popt.h>
#include <stdio.h>
#include <string.h>
#include <json-c/json.h>

#include "client.h"
#include "protocol.h"
#include "cli.h"
#include "util.h"

static int arg_once;
static int arg_json;
static char *arg_socket;
static int arg_version;

static const struct poptOption options[] = {
        { "once", '1', POPT_ARG_NONE, &arg_once, 0, N_("print the counts once and exit"), NULL },
        { "json", 0, POPT_ARG_NONE, &arg_json, 0, N_("print JSON lines"), NULL },
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
                puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
                json_object_put(o);
        } else {
                char a[FORMAT_SIZE_MAX], b[FORMAT_SIZE_MAX];
                printf(_("running %" PRIu64 ", queued %" PRIu64), s->running, s->queued);
                if (s->cleanup)
                        printf(_(", cleaning up %" PRIu64), s->cleanup);
                printf(_(" (threads %" PRIu64 "/%" PRIu64 ", memory %s/%s)\n"), s->threads_busy, s->threads_total,
                       format_size(a, sizeof a, s->memory_used), format_size(b, sizeof b, s->memory_total));
        }
        fflush(stdout);
}

static int run(void) {
        Client c = { .fd = -1 };
        ProtoRequest req = { .op = PROTO_OP_STATS, .follow = !arg_once };
        ProtoMessage *m = NULL;
        int r;

        r = client_connect(client_socket_path(arg_socket), &c);
        if (r < 0)
                return r;
        r = client_call(&c, &req, &m);
        if (r < 0)
                goto finish;
        print_stats(&m->stats);
        proto_message_free(m);
        while (!arg_once) {
                m = NULL;
                r = client_receive(&c, &m);
                if (r == -ECONNRESET) {
                        (void) cli_error(_("the daemon stopped"));
                        goto finish;
                }
                if (r < 0) {
                        (void) cli_error(_("bad message from the daemon: %s"), strerror(-r));
                        goto finish;
                }
                if (m->is_event && m->event == PROTO_EVENT_STATS && m->has_stats)
                        print_stats(&m->stats);
                proto_message_free(m);
        }
        r = 0;
finish:
        client_close(&c);
        return r;
}

CLI_MAIN(.name = "br-stats", .options = options, .version = &arg_version, .run = run)
