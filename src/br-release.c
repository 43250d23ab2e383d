/* br-release.c: releases held benchrunner tasks (br-cancel --hold), so that
 * they may start again in their place in the queue. */
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
        { "all-mine", 'a', POPT_ARG_NONE, &arg_all_mine, 0, N_("release all my held tasks"), NULL },
        { "socket", 0, POPT_ARG_STRING, &arg_socket, 0, N_("the daemon's socket"), N_("PATH") },
        { "version", 'V', POPT_ARG_NONE, &arg_version, 0, N_("show the version and exit"), NULL },
        POPT_AUTOHELP POPT_TABLEEND
};

/* The caller's held tasks. */
static int all_held(Client *c, int64_t **ret, size_t *ret_n) {
        ProtoRequest req = { .op = PROTO_OP_LIST, .has_uid = true, .uid = getuid(),
                             .state_mask = 1u << TASK_QUEUED };
        Task **tasks = NULL;
        size_t n = 0, k = 0;
        int64_t *ids;
        int r;

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
        for (size_t i = 0; i < n; i++)
                if (tasks[i]->held)
                        ids[k++] = tasks[i]->id;
        client_tasks_free(tasks, n);
        *ret = ids;
        *ret_n = k;
        return 0;
}

static int check(const char **args) {
        if (arg_all_mine && args && args[0])
                return cli_error(_("give either --all-mine or task ids, not both"));
        if (!arg_all_mine && !(args && args[0]))
                return cli_error(_("no task id given; see br-release --help"));
        return args ? client_parse_ids(args, &arg_ids, &arg_n_ids) : 0;
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
                r = all_held(&c, &ids, &n);
                if (r < 0)
                        goto finish;
                if (n == 0) {
                        cli_info(_("you have no held tasks"));
                        r = 0;
                        goto finish;
                }
        }
        r = client_ids_request(&c, PROTO_OP_RELEASE, ids, n);
finish:
        client_close(&c);
        if (fflush(stdout) != 0 || ferror(stdout)) {
                int e = cli_error_errno(EIO, _("cannot write: %s"), strerror(errno));
                r = r < 0 ? r : e;
        }
        return r;
}

CLI_MAIN(.name = "br-release", .options = options, .usage = N_("[OPTION...] ID..."),
         .version = &arg_version, .check = check, .run = run)
