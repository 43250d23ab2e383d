/* transient-driver.c: test driver for src/daemon/unit.c.  Runs one command through
 * unit_start() (or follows one with unit_attach()) on an sd_event loop, against
 * the system bus of a real systemd (run it inside the test container or VM),
 * and prints the TaskResult as KEY=VALUE lines for the integration tests:
 *
 *   transient-driver [--name N] [--cpus LIST] [--memory SIZE] [--time-limit DUR]
 *            [--uid N] [--gid N] [--workdir DIR] [--stdout F] [--stderr F]
 *            [--env VAR=VALUE]... [--oom-score-adjust N] [--cancel-after DUR]
 *            -- COMMAND [ARG...]
 *   transient-driver --attach NAME
 *   transient-driver --limitations
 *   transient-driver --allowed-cpus UNIT=LIST      (LIST empty: all CPUs back)
 *
 * Exit status: 0 when a result was printed, 1 on an error (one line on
 * stderr), 2 on bad usage, 3 when --attach found nothing (-ENOENT). */
#include "config.h"

#include <popt.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "cpuset.h"
#include "task.h"
#include "unit.h"
#include "util.h"

typedef struct Run {
        sd_event *event;
        Unit *unit;
        bool done;
} Run;

static void print_result(const char *name, bool unified, const TaskResult *r) {
        printf("UNIT=%s\n", name);
        printf("CGROUP=%s\n", unified ? "v2" : "v1");
        printf("REASON=%s\n", task_reason_to_string(r->reason));
        if (r->has_exit_code)
                printf("EXIT_CODE=%d\n", r->exit_code);
        if (r->has_signal)
                printf("SIGNAL=%d\n", r->signal);
        printf("STARTED_USEC=%" PRIu64 "\n", r->started_usec);
        printf("FINISHED_USEC=%" PRIu64 "\n", r->finished_usec);
        printf("WALL_USEC=%" PRIu64 "\n", r->wall_usec);
        if (r->has_cpu) {
                printf("CPU_USER_USEC=%" PRIu64 "\n", r->cpu_user_usec);
                printf("CPU_SYSTEM_USEC=%" PRIu64 "\n", r->cpu_system_usec);
        }
        if (r->has_peak_memory)
                printf("PEAK_MEMORY_BYTES=%" PRIu64 "\n", r->peak_memory_bytes);
        fflush(stdout);
}

static UnitManager *manager;

static void on_done(void *userdata, const TaskResult *result) {
        Run *run = userdata;

        print_result(unit_get_name(run->unit), unit_manager_is_unified(manager), result);
        run->unit = unit_release(run->unit);
        (void) unit_manager_sync(manager);
        run->done = true;
        (void) sd_event_exit(run->event, 0);
}

static int on_cancel(sd_event_source *s, uint64_t usec, void *userdata) {
        Run *run = userdata;
        int r;

        if (!run->unit)
                return 0;
        r = unit_stop(run->unit);
        if (r < 0)
                fprintf(stderr, "transient-driver: stop failed: %s (%s)\n", strerror(-r),
                        unit_manager_last_error(manager) ?: "-");
        else
                printf("STOP_SENT=%d\n", r);
        return 0;
}

static int fail(int r, const char *what) {
        const char *bus = manager ? unit_manager_last_error(manager) : NULL;
        fprintf(stderr, "transient-driver: %s: %s%s%s\n", what, strerror(-r), bus ? ": " : "", bus ?: "");
        return 1;
}

int main(int argc, const char **argv) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(sd_event_source_unrefp) sd_event_source *cancel = NULL;
        _cleanup_(strv_freep) char **env = NULL;
        char *name = NULL, *cpus = NULL, *memory = NULL, *time_limit = NULL, *workdir = NULL;
        char *out = NULL, *err = NULL, *cancel_after = NULL, *attach = NULL, *allowed = NULL, *envarg = NULL;
        char default_name[64];
        int uid = -1, gid = -1, oom_adj = 0, limitations = 0;
        CpuSet cpuset;
        UnitSpec spec = {};
        Run run = {};
        poptContext ctx;
        size_t n_env = 0;
        int rc, r;

        struct poptOption options[] = {
                { "name", 0, POPT_ARG_STRING, &name, 0, "unit name", "NAME.service" },
                { "cpus", 0, POPT_ARG_STRING, &cpus, 0, "CPU list", "LIST" },
                { "memory", 0, POPT_ARG_STRING, &memory, 0, "memory limit", "SIZE" },
                { "time-limit", 0, POPT_ARG_STRING, &time_limit, 0, "time limit", "DURATION" },
                { "uid", 0, POPT_ARG_INT, &uid, 0, "user id (default: own)", "UID" },
                { "gid", 0, POPT_ARG_INT, &gid, 0, "group id (default: the user's)", "GID" },
                { "workdir", 0, POPT_ARG_STRING, &workdir, 0, "working directory", "DIR" },
                { "stdout", 0, POPT_ARG_STRING, &out, 0, "stdout file", "FILE" },
                { "stderr", 0, POPT_ARG_STRING, &err, 0, "stderr file", "FILE" },
                { "env", 0, POPT_ARG_STRING, &envarg, 'e', "environment variable", "VAR=VALUE" },
                { "oom-score-adjust", 0, POPT_ARG_INT, &oom_adj, 0, "OOMScoreAdjust=", "N" },
                { "cancel-after", 0, POPT_ARG_STRING, &cancel_after, 0, "stop the unit after", "DURATION" },
                { "attach", 0, POPT_ARG_STRING, &attach, 0, "follow an existing unit", "NAME" },
                { "limitations", 0, POPT_ARG_NONE, &limitations, 0, "print what cannot be enforced", NULL },
                { "allowed-cpus", 0, POPT_ARG_STRING, &allowed, 0, "set AllowedCPUs= of a unit", "UNIT=LIST" },
                POPT_AUTOHELP
                POPT_TABLEEND
        };

        ctx = poptGetContext("transient-driver", argc, argv, options, POPT_CONTEXT_POSIXMEHARDER);
        poptSetOtherOptionHelp(ctx, "[OPTIONS] [--] COMMAND [ARG...]");
        while ((rc = poptGetNextOpt(ctx)) > 0)
                if (rc == 'e') {
                        char **n = realloc(env, (n_env + 2) * sizeof(char *));
                        if (!n) {
                                rc = fail(-ENOMEM, "options");
                                goto finish;
                        }
                        env = n;
                        env[n_env++] = envarg;
                        env[n_env] = NULL;
                        envarg = NULL;
                }
        if (rc < -1) {
                fprintf(stderr, "transient-driver: %s: %s\n", poptBadOption(ctx, 0), poptStrerror(rc));
                rc = 2;
                goto finish;
        }

        r = sd_event_default(&event);
        if (r < 0)
                { rc = fail(r, "sd_event_default"); goto finish; }
        r = sd_bus_open_system(&bus);
        if (r < 0)
                { rc = fail(r, "connect to the system bus"); goto finish; }
        r = sd_bus_attach_event(bus, event, 0);
        if (r < 0)
                { rc = fail(r, "attach the bus"); goto finish; }
        r = unit_manager_new(event, bus, &manager);
        if (r < 0)
                { rc = fail(r, "unit_manager_new"); goto finish; }
        run.event = event;

        if (limitations) {
                printf("CGROUP=%s\n", unit_manager_is_unified(manager) ? "v2" : "v1");
                printf("LIMITATIONS=%s\n", unit_manager_limitations(manager) ?: "");
                goto out;
        }
        if (allowed) {
                char *eq = strchr(allowed, '=');
                if (!eq) {
                        fprintf(stderr, "transient-driver: --allowed-cpus UNIT=LIST\n");
                        rc = 2;
                        goto finish;
                }
                *eq = 0;
                if (cpuset_parse(eq + 1, &cpuset) < 0) {
                        fprintf(stderr, "transient-driver: bad CPU list\n");
                        rc = 2;
                        goto finish;
                }
                r = unit_set_allowed_cpus(manager, allowed, &cpuset);
                if (r < 0)
                        { rc = fail(r, "unit_set_allowed_cpus"); goto finish; }
                printf("ALLOWED_CPUS_SET=%s\n", allowed);
                goto out;
        }

        if (attach) {
                r = unit_attach(manager, attach, on_done, &run, &run.unit);
                if (r == -ENOENT) {
                        printf("UNIT=%s\nREASON=%s\n", attach, task_reason_to_string(TASK_REASON_INTERRUPTED));
                        rc = 3;
                        goto finish;
                }
                if (r < 0)
                        { rc = fail(r, "unit_attach"); goto finish; }
        } else {
                const char **args = poptGetArgs(ctx);
                struct passwd *pw;
                uint64_t v;

                if (!args || !args[0]) {
                        fprintf(stderr, "transient-driver: no command given\n");
                        rc = 2;
                        goto finish;
                }
                snprintf(default_name, sizeof default_name, "benchrunner-test-%d.service", (int) getpid());
                spec.name = name ?: default_name;
                spec.argv = (char **) args;
                spec.env = env;
                spec.uid = uid >= 0 ? (uid_t) uid : getuid();
                pw = getpwuid(spec.uid);
                spec.gid = gid >= 0 ? (gid_t) gid : pw ? pw->pw_gid : getgid();
                spec.workdir = workdir;
                spec.stdout_path = out;
                spec.stderr_path = err;
                spec.oom_score_adjust = oom_adj;
                if (cpus) {
                        if (cpuset_parse(cpus, &cpuset) < 0) {
                                fprintf(stderr, "transient-driver: bad CPU list: %s\n", cpus);
                                rc = 2;
                                goto finish;
                        }
                        spec.cpus = &cpuset;
                }
                if (memory) {
                        if (parse_size(memory, &v) < 0) {
                                fprintf(stderr, "transient-driver: bad size: %s\n", memory);
                                rc = 2;
                                goto finish;
                        }
                        spec.memory_bytes = v;
                }
                if (time_limit) {
                        if (parse_duration(time_limit, &v) < 0) {
                                fprintf(stderr, "transient-driver: bad duration: %s\n", time_limit);
                                rc = 2;
                                goto finish;
                        }
                        spec.runtime_max_usec = v;
                }
                r = unit_start(manager, &spec, on_done, &run, &run.unit);
                if (r < 0)
                        { rc = fail(r, "unit_start"); goto finish; }
                printf("STARTED=%s\n", spec.name);
                fflush(stdout);
        }
        if (cancel_after) {
                uint64_t v;
                if (parse_duration(cancel_after, &v) < 0) {
                        fprintf(stderr, "transient-driver: bad duration: %s\n", cancel_after);
                        rc = 2;
                        goto finish;
                }
                r = sd_event_add_time_relative(event, &cancel, CLOCK_MONOTONIC, v, 0, on_cancel, &run);
                if (r < 0)
                        { rc = fail(r, "timer"); goto finish; }
        }
        r = sd_event_loop(event);
        if (r < 0)
                { rc = fail(r, "event loop"); goto finish; }
out:
        rc = run.done || !run.unit ? 0 : 1;
finish:
        run.unit = unit_free(run.unit);
        manager = unit_manager_free(manager);
        poptFreeContext(ctx);
        free(name); free(cpus); free(memory); free(time_limit); free(workdir);
        free(out); free(err); free(cancel_after); free(attach); free(allowed); free(envarg);
        return rc;
}
