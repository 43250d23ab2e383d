/* br-retry.c: submits a finished benchrunner task again, as it was or with
 * more memory or time, as its next attempt (the daemon links the new row
 * to the first attempt), and with --wait follows it to its end. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <popt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "protocol.h"
#include "task.h"
#include "cli.h"
#include "util.h"

static int arg_threads;
static char *arg_memory;
static char *arg_time_limit;
static char *arg_cleanup_time_limit;
static char *arg_group;
static char *arg_priority;
static char *arg_name;
static int arg_wait;
static int arg_json;
static char *arg_socket;
static int arg_version;
static int64_t arg_id;      /* check() for run() */

static const struct poptOption options[] = {
        { "memory", 'm', POPT_ARG_STRING, &arg_memory, 0, N_("memory limit, as 512M or 2G (default: the task's)"),
          N_("SIZE") },
        { "time-limit", 't', POPT_ARG_STRING, &arg_time_limit, 0,
          N_("wall-time limit, as 90, 90s, 15m or 2h (default: the task's)"), N_("DURATION") },
        { "threads", 'j', POPT_ARG_INT, &arg_threads, 0, N_("CPU threads (default: the task's)"), N_("N") },
        { "group", 'g', POPT_ARG_STRING, &arg_group, 0, N_("priority group (default: the task's)"), N_("N") },
        { "priority", 'p', POPT_ARG_STRING, &arg_priority, 0, N_("priority within the group (default: the task's)"),
          N_("N") },
        { "name", 'n', POPT_ARG_STRING, &arg_name, 0, N_("name of the new task (default: the task's)"), N_("NAME") },
        { "cleanup-time-limit", 0, POPT_ARG_STRING, &arg_cleanup_time_limit, 0,
          N_("wall-time limit of the cleanup command (default: the task's)"), N_("DURATION") },
        { "wait", 'w', POPT_ARG_NONE, &arg_wait, 0, N_("follow the new task to its end and exit with its status"),
          NULL },
        { "json", 0, POPT_ARG_NONE, &arg_json, 0, N_("print the daemon's answer and events as JSON lines"), NULL },
        { "socket", 0, POPT_ARG_STRING, &arg_socket, 0, N_("the daemon's socket"), N_("PATH") },
        { "version", 'V', POPT_ARG_NONE, &arg_version, 0, N_("show the version and exit"), NULL },
        POPT_AUTOHELP POPT_TABLEEND
};

/* -g and -p: kept as strings so that "not given" keeps the task's. */
static int parse_int_option(const char *opt, const char *s, int *ret) {
        char *end = NULL;
        long long v;

        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno != 0 || !s[0] || *end || v < TASK_PRIORITY_MIN || v > TASK_PRIORITY_MAX)
                return cli_error(_("%s must be between %d and %d"), opt, TASK_PRIORITY_MIN, TASK_PRIORITY_MAX);
        *ret = (int) v;
        return 0;
}

/* The options, over what the task had: the new task's spec.  Steps of its
 * --retry-oom ladder up to the new memory are dropped: the ladder climbs
 * from there. */
static int apply_options(Task *t) {
        size_t k = 0;
        int r;

        if (arg_threads) {
                if (arg_threads < 1 || arg_threads > TASK_THREADS_MAX)
                        return cli_error(_("--threads must be between 1 and %d"), TASK_THREADS_MAX);
                t->threads = (unsigned) arg_threads;
        }
        r = client_set_limits(t, arg_memory, arg_time_limit, arg_cleanup_time_limit);
        if (r < 0)
                return r;
        if (arg_group && (r = parse_int_option("--group", arg_group, &t->group)) < 0)
                return r;
        if (arg_priority && (r = parse_int_option("--priority", arg_priority, &t->priority)) < 0)
                return r;
        if (arg_name) {
                free(t->name);
                if (!(t->name = strdup(arg_name)))
                        return -ENOMEM;
        }
        for (size_t i = 0; i < t->n_retry_oom; i++)
                if (t->retry_oom[i] > t->memory_bytes)
                        t->retry_oom[k++] = t->retry_oom[i];
        t->n_retry_oom = k;
        return 0;
}

/* What was submitted of the task, and nothing of its life: a spec. */
static int spec_of(const Task *o, Task **ret) {
        _cleanup_(task_freep) Task *t = task_new();

        if (!t)
                return -ENOMEM;
        if (strv_copy((const char * const *) o->argv, &t->argv) < 0 ||
            (o->env && strv_copy((const char * const *) o->env, &t->env) < 0) ||
            (o->cleanup_argv && strv_copy((const char * const *) o->cleanup_argv, &t->cleanup_argv) < 0) ||
            (o->name && !(t->name = strdup(o->name))) || !(t->submit_dir = strdup(o->submit_dir)))
                return -ENOMEM;
        if (o->n_retry_oom) {
                t->retry_oom = reallocarray(NULL, o->n_retry_oom, sizeof(uint64_t));
                if (!t->retry_oom)
                        return -ENOMEM;
                memcpy(t->retry_oom, o->retry_oom, o->n_retry_oom * sizeof(uint64_t));
                t->n_retry_oom = o->n_retry_oom;
        }
        t->threads = o->threads;
        t->memory_bytes = o->memory_bytes;
        t->time_limit_usec = o->time_limit_usec;
        t->cleanup_time_limit_usec = o->cleanup_time_limit_usec;
        t->group = o->group;
        t->priority = o->priority;
        t->whole_cores = o->whole_cores;
        t->requeue = o->requeue;
        t->in_submit_dir = o->in_submit_dir;
        /* its dependencies were met, and it is not held: it may start */
        t->retry_of = o->id;
        *ret = TAKE_PTR(t);
        return 0;
}

static void print_event(const ProtoMessage *m) {
        _cleanup_(proto_json_unrefp) struct json_object *o = json_object_new_object();
        struct json_object *task = proto_task_to_json(m->task, false);

        if (!o || !task || json_object_object_add(o, "event", json_object_new_string(proto_event_to_string(m->event))) < 0 ||
            json_object_object_add(o, "task", task) < 0 || client_print_json(o) < 0) {
                (void) cli_error(_("out of memory"));
                return;
        }
        fflush(stdout);
}

/* Follows task id (and the attempts the daemon queues after it) to its end:
 * its exit status. */
static int follow(Client *c, int64_t id) {
        for (;;) {
                _cleanup_(proto_message_freep) ProtoMessage *m = NULL;
                int r = client_receive(c, &m);

                if (r < 0)
                        return cli_error_errno(r, _("lost the daemon while waiting: %s"),
                                               r == -ECONNRESET ? _("connection closed") : strerror(-r));
                if (!m->is_event || !m->task || m->task->id != id)
                        continue;
                if (arg_json)
                        print_event(m);
                if (m->task->state != TASK_FINISHED)
                        continue;
                if (m->task->next_attempt > 0) {
                        client_say_next_attempt(m->task);
                        id = m->task->next_attempt;
                        continue;
                }
                if (!arg_json)
                        client_say_end(m->task);
                return client_exit_status(m->task);
        }
}

static int run(void) {
        _cleanup_(proto_message_freep) ProtoMessage *shown = NULL, *reply = NULL;
        _cleanup_(task_freep) Task *spec = NULL;
        _cleanup_(freep) char *line = NULL;
        ProtoRequest show = { .op = PROTO_OP_SHOW, .id = arg_id };
        Client c = { .fd = -1 };
        int r, status = 0;

        r = client_connect(client_socket_path(arg_socket), &c);
        if (r < 0)
                return r;
        r = client_call(&c, &show, &shown);
        if (r < 0)
                goto finish;
        if (!shown->task) {
                r = cli_error_errno(EREMOTEIO, _("the daemon sent no task for %" PRId64), arg_id);
                goto finish;
        }
        if (shown->task->env_hidden) {
                /* its values are not ours to copy (the daemon says the same) */
                r = cli_error_errno(EPERM, _("task %" PRId64 " belongs to another user: only its owner and root may "
                                             "retry it"), arg_id);
                goto finish;
        }
        r = spec_of(shown->task, &spec);
        if (r >= 0)
                r = apply_options(spec);
        if (r == -ENOMEM)
                r = cli_error_errno(ENOMEM, _("out of memory"));
        if (r < 0)
                goto finish;

        ProtoRequest submit = { .op = PROTO_OP_SUBMIT, .tasks = &spec, .n_tasks = 1, .follow = arg_wait };
        r = client_call(&c, &submit, &reply);
        if (r < 0)
                goto finish;
        if (reply->n_ids != 1) {
                r = cli_error_errno(EREMOTEIO, _("the daemon did not say the new task's id"));
                goto finish;
        }
        if (arg_json) {
                _cleanup_(proto_json_unrefp) struct json_object *o = json_object_new_object();
                struct json_object *a = json_object_new_array();
                if (!o || !a || json_object_object_add(o, "ids", a) < 0 ||
                    json_object_array_add(a, json_object_new_int64(reply->ids[0])) < 0 || client_print_json(o) < 0) {
                        r = cli_error_errno(ENOMEM, _("out of memory"));
                        goto finish;
                }
        } else
                printf("%" PRId64 "\n", reply->ids[0]);
        fflush(stdout);
        if (arg_wait) {
                r = follow(&c, reply->ids[0]);
                if (r >= 0)
                        status = r;
        }
finish:
        client_close(&c);
        return r < 0 ? r : status;
}

static int check(const char **args) {
        uint64_t id;

        if (!args || !args[0])
                return cli_error(_("no task id given; see br-retry --help"));
        if (args[1])
                return cli_error(_("one task id at a time"));
        if (parse_uint(args[0], 1, INT64_MAX, &id) < 0)
                return cli_error(_("not a task id: %s"), args[0]);
        arg_id = (int64_t) id;
        return 0;
}

CLI_MAIN(.name = "br-retry", .options = options, .usage = N_("[OPTION...] ID"),
         .version = &arg_version, .check = check, .run = run)
