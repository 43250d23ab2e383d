/* br-cancel.c: cancels benchrunner tasks: a queued one is taken off the
 * queue, a running one is stopped and its cleanup command still runs. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <popt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "protocol.h"
#include "task.h"
#include "cli.h"
#include "util.h"

static int arg_all_mine;
static char *arg_socket;
static int arg_version;
static int64_t *arg_ids;   /* check() for run() */
static size_t arg_n_ids;

static const struct poptOption options[] = {
        { "all-mine", 'a', POPT_ARG_NONE, &arg_all_mine, 0,
          N_("cancel all my queued and running tasks"), NULL },
        { "socket", 0, POPT_ARG_STRING, &arg_socket, 0, N_("the daemon's socket"), N_("PATH") },
        { "version", 'V', POPT_ARG_NONE, &arg_version, 0, N_("show the version and exit"), NULL },
        POPT_AUTOHELP POPT_TABLEEND
};

/* The caller's queued and running tasks, the queued ones first: taking them
 * off the queue before stopping the running ones keeps the scheduler from
 * starting a queued one in the gap.  Tasks whose cleanup command already
 * runs are left to finish it. */
static int all_mine(Client *c, int64_t **ret, size_t *ret_n) {
        ProtoRequest req = { .op = PROTO_OP_LIST, .has_uid = true, .uid = getuid() };
        static const TaskState order[] = { TASK_QUEUED, TASK_RUNNING };
        Task **tasks = NULL;
        size_t n = 0, k = 0;
        int64_t *ids;
        int r;

        req.state_mask = 1u << TASK_QUEUED | 1u << TASK_RUNNING;
        r = client_list(c, &req, &tasks, &n);
        if (r < 0) {
                client_tasks_free(tasks, n);
                return r;
        }
        ids = calloc(n + 1, sizeof(int64_t));
        if (!ids) {
                client_tasks_free(tasks, n);
                return cli_error_errno(ENOMEM, _("out of memory"));
        }
        for (size_t o = 0; o < ELEMENTSOF(order); o++)
                for (size_t i = 0; i < n; i++)
                        if (tasks[i]->state == order[o])
                                ids[k++] = tasks[i]->id;
        client_tasks_free(tasks, n);
        *ret = ids;
        *ret_n = k;
        return 0;
}

/* Cancels ids, PROTO_IDS_MAX to a request; one line per task. Returns the
 * number that failed, or a negative errno when the daemon could not be
 * asked. */
static int cancel(Client *c, const int64_t *ids, size_t n) {
        size_t failed = 0;

        for (size_t done = 0; done < n;) {
                _cleanup_(proto_message_freep) ProtoMessage *m = NULL;
                size_t k = n - done < PROTO_IDS_MAX ? n - done : PROTO_IDS_MAX;
                ProtoRequest req = { .op = PROTO_OP_CANCEL, .ids = (int64_t *) ids + done, .n_ids = k };
                int r;

                r = client_call(c, &req, &m);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < m->n_results; i++) {
                        const ProtoCancelResult *res = &m->results[i];
                        if (res->error) {
                                (void) cli_error("%s", res->error);
                                failed++;
                        } else
                                printf(_("cancelled task %" PRId64 "\n"), res->id);
                }
                if (m->n_results != k) {
                        (void) cli_error(_("the daemon answered for %zu of %zu tasks"), m->n_results, k);
                        failed += k > m->n_results ? k - m->n_results : 0;
                }
                fflush(stdout);
                done += k;
        }
        return failed > INT32_MAX ? INT32_MAX : (int) failed;
}

static int cmp_int64(const void *a, const void *b) {
        int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
        return x < y ? -1 : x > y;
}

/* The ids of the arguments, in id order, each once: the same id twice
 * would only fail the second time. */
static int check(const char **args) {
        size_t n = 0, k = 1;

        if (arg_all_mine && args && args[0])
                return cli_error(_("give either --all-mine or task ids, not both"));
        if (!arg_all_mine && !(args && args[0]))
                return cli_error(_("no task id given; see br-cancel --help"));
        if (!args)
                return 0;
        arg_ids = calloc(strv_length((char * const *) args) + 1, sizeof(int64_t));
        if (!arg_ids)
                return cli_error_errno(ENOMEM, _("out of memory"));
        for (size_t i = 0; args[i]; i++) {
                uint64_t id;

                if (parse_uint(args[i], 1, INT64_MAX, &id) < 0)
                        return cli_error(_("not a task id: %s"), args[i]);
                arg_ids[n++] = (int64_t) id;
        }
        qsort(arg_ids, n, sizeof(int64_t), cmp_int64);
        for (size_t i = 1; i < n; i++)
                if (arg_ids[i] != arg_ids[k - 1])
                        arg_ids[k++] = arg_ids[i];
        arg_n_ids = n > 0 ? k : 0;
        return 0;
}

static int run(void) {
        _cleanup_(freep) int64_t *ids = TAKE_PTR(arg_ids);
        size_t n = arg_n_ids;
        Client c = { .fd = -1 };
        int r;

        r = client_connect(client_socket_path(arg_socket), &c);
        if (r < 0)
                return r;
        if (arg_all_mine) {
                r = all_mine(&c, &ids, &n);
                if (r < 0)
                        goto finish;
                if (n == 0) {
                        cli_info(_("you have no queued or running tasks"));
                        r = 0;
                        goto finish;
                }
        }
        r = cancel(&c, ids, n);
        if (r > 0)
                r = -EREMOTEIO;   /* refused for some tasks: said for each */
finish:
        client_close(&c);
        if (fflush(stdout) != 0 || ferror(stdout)) {
                int e = cli_error_errno(EIO, _("cannot write: %s"), strerror(errno));
                r = r < 0 ? r : e;
        }
        return r;
}

CLI_MAIN(.name = "br-cancel", .options = options, .usage = N_("[OPTION...] ID..."),
         .version = &arg_version, .check = check, .run = run)
