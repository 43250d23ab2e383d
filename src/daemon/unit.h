/* unit.h: runs one command of a task in its own transient systemd service
 * (StartTransientUnit over sd-bus), follows it on the daemon's sd_event loop
 * to its end, and hands back what it measured.  Only the daemon links this.
 * It never logs: functions return negative errno values, and the caller logs
 * (unit_manager_last_error() has systemd's own message for a failed call).
 *
 * Layout of what it creates, for a service NAME = "benchrunner-task-5.service":
 *
 *   benchrunner.slice/
 *     benchrunner-task_5.slice/          one slice per command (unit_slice_name())
 *       benchrunner-task-5.service       the command, Type=exec
 *
 * The slice outlives the service, so peak memory, OOM kills and CPU time are
 * read from the slice's cgroup after the service's cgroup is gone; the slice
 * is stopped afterwards.  The service keeps its result (RemainAfterExit=yes,
 * failed units are not collected; what a command left running is killed with
 * KillUnit, not StopUnit, so that the service stays "active (exited)") until
 * the owner, having stored the result, calls unit_release(): a daemon that
 * dies at any moment finds it again with unit_attach().
 *
 * Where each measurement comes from:
 *   exit code / signal   ExecMainCode, ExecMainStatus of the service
 *   started / finished   ExecMainStartTimestamp / ExecMainExitTimestamp
 *   wall time            the same, from the monotonic clock
 *   cpu user / system    v2: slice cpu.stat user_usec/system_usec
 *                        v1: the same file in the hybrid layout's cgroup2
 *                            (/sys/fs/cgroup/unified), else the slice's
 *                            cpuacct.usage_user/usage_sys
 *   peak memory          v2: slice memory.peak (kernel >= 5.19)
 *                        v1: slice memory.max_usage_in_bytes
 *   oom                  v2: Result=oom-kill, or the slice's memory.events
 *                            oom_kill > 0
 *                        v1: an OOM event on the slice's memory.oom_control
 *                            (eventfd) while followed; after a restart, main
 *                            process SIGKILLed and the slice's memory.failcnt
 *                            > 0.  (v1 counts oom_kill in the victim's own
 *                            memcg, which goes away with the service.)
 *
 * cgroup v1 (hybrid) differences, also in unit_manager_limitations():
 * AllowedCPUs= and MemorySwapMax= are not applied; MemoryMax= sits on the
 * slice (so the OOM event is raised there) instead of the service; systemd
 * does not see OOM kills, so on the OOM event the daemon kills the rest of the
 * service's control group itself (what OOMPolicy=kill does on v2). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "cpuset.h"
#include "task.h"

#define UNIT_SLICE_PARENT "benchrunner.slice"
/* Between SIGTERM (cancel, time limit) and SIGKILL. */
#define UNIT_STOP_TIMEOUT_USEC TASK_STOP_TIMEOUT_USEC

typedef struct UnitManager UnitManager;
typedef struct Unit Unit;

/* One per daemon.  The bus must be (or is then) attached to the event loop;
 * the manager subscribes to systemd's signals on it.  Detects cgroup v2 vs v1
 * from statfs("/sys/fs/cgroup") and records what cannot be enforced.  Must be
 * freed after every Unit. */
int unit_manager_new(sd_event *e, sd_bus *bus, UnitManager **ret);
UnitManager *unit_manager_free(UnitManager *m);
static inline void unit_manager_freep(UnitManager **m) {
        if (*m)
                unit_manager_free(*m);
}
bool unit_manager_is_unified(const UnitManager *m);
/* One human sentence (or several, "; "-separated) naming the limits this
 * system cannot enforce, for the caller to log once; NULL when none. */
const char *unit_manager_limitations(const UnitManager *m);
/* systemd's message for the last failed bus call of this manager, or NULL. */
const char *unit_manager_last_error(const UnitManager *m);

typedef struct UnitSpec {
        const char *name;           /* "benchrunner-task-5.service"; must end in
                                     * ".service"; letters, digits, ":-_." */
        const char *description;    /* NULL: the name */
        char **argv;                /* argv[0] an absolute path; passed byte for
                                     * byte (no $VAR, no % expansion); must be
                                     * UTF-8 (D-Bus strings) */
        char **env;                 /* "VAR=VALUE", NULL-terminated, may be NULL:
                                     * Environment=, which any user may read */
        const char *env_file;       /* EnvironmentFile=, read by PID 1 as root
                                     * when the command starts; NULL: none */
        uid_t uid;                  /* must exist in the user database; its
                                     * supplementary groups come from there */
        gid_t gid;                  /* must exist in the group database */
        const char *workdir;        /* NULL: systemd's default (/) */
        /* Appended to; created if missing.  PID 1 opens them as root before it
         * drops privileges: give paths in a directory the task's user cannot
         * write, or the user could swap in a symlink.  NULL: /dev/null. */
        const char *stdout_path;
        const char *stderr_path;
        const CpuSet *cpus;         /* CPUAffinity= and AllowedCPUs=; NULL: none */
        const CpuSet *numa_nodes;   /* NUMAPolicy=bind, NUMAMask= these nodes (the
                                     * kernel's numbers); NULL or empty: the default */
        uint64_t memory_bytes;      /* MemoryMax=, MemorySwapMax=0; 0: none */
        uint64_t runtime_max_usec;  /* RuntimeMaxSec=; 0: none */
        int oom_score_adjust;       /* OOMScoreAdjust=, -1000..1000 */
        uint64_t stop_timeout_usec; /* SIGTERM to SIGKILL; 0: UNIT_STOP_TIMEOUT_USEC */
} UnitSpec;

/* Called once, from the event loop, when the command has ended and its
 * measurements are read.  result->reason is exited, signaled, oom,
 * time-limit or failed-to-start (never cancelled: the caller knows when it
 * asked for the stop), or interrupted when the unit vanished while followed.
 * The callback may unit_free() or unit_release() the unit. */
typedef void (*unit_done_t)(void *userdata, const TaskResult *result);

/* Starts the transient service (and its slice).  Returns 0 once systemd has
 * queued the start; -EEXIST when the unit (or its slice) already exists,
 * -EINVAL for a bad spec or one systemd refused.  A command that cannot be
 * executed (bad path, bad user, missing directory) is reported through the
 * callback as failed-to-start, with exit_code systemd's 2xx status. */
int unit_start(UnitManager *m, const UnitSpec *spec, unit_done_t cb, void *userdata, Unit **ret);

/* Cancels: StopUnit (SIGTERM, SIGKILL after the stop timeout).  The callback
 * still fires, with the real measurements.  Returns 1 when a stop was sent,
 * 0 when the command had already ended by itself. */
int unit_stop(Unit *u);

/* Restart recovery: follows a unit started by an earlier run of the daemon,
 * or reads its final result if it has ended.  -ENOENT when the service is
 * gone (the caller records "interrupted"); its slice, if left, is stopped. */
int unit_attach(UnitManager *m, const char *name, unit_done_t cb, void *userdata, Unit **ret);

/* Stops following; leaves the unit itself alone (so that a daemon that exits
 * finds it again later).  Accepts NULL. */
Unit *unit_free(Unit *u);
/* For a unit whose callback has fired, once its result is stored: lets
 * systemd forget the service and its slice (StopUnit, ResetFailedUnit,
 * UnrefUnit, StopUnit of the slice; sent without waiting), then frees it.
 * Until then the service stays loaded with its result, whatever happens to
 * the daemon.  Otherwise as unit_free().  Accepts NULL. */
Unit *unit_release(Unit *u);
static inline void unit_freep(Unit **u) {
        if (*u)
                unit_free(*u);
}
const char *unit_get_name(const Unit *u);

/* Returns once systemd has handled every call sent before (those sent
 * without waiting too): before exiting, so that nothing is left behind. */
int unit_manager_sync(UnitManager *m);
/* The names of the loaded units matching a glob ("benchrunner-task-*"). */
int unit_manager_list(UnitManager *m, const char *pattern, char ***ret);
/* Lets systemd forget a service no one follows, and its slice (StopUnit,
 * ResetFailedUnit; sent without waiting). */
void unit_forget(UnitManager *m, const char *name);
/* The same for a command's slice whose service is gone already. */
void unit_forget_slice(UnitManager *m, const char *slice);
const char *unit_get_slice(const Unit *u);

/* The per-command slice of a service name: "benchrunner-task-5.service" ->
 * "benchrunner-task_5.slice" (the "benchrunner-" prefix dropped, '-' -> '_'),
 * a child of UNIT_SLICE_PARENT. */
int unit_slice_name(const char *name, char **ret);

/* AllowedCPUs= of a unit at runtime (SetUnitProperties, runtime=true), for
 * system.slice, user.slice and init.scope.  NULL or an empty set gives all
 * CPUs back.  Also set on cgroup v1, where systemd records the property but
 * has no cpuset to apply it to (see unit_manager_limitations()). */
int unit_set_allowed_cpus(UnitManager *m, const char *unit, const CpuSet *cpus);
/* The same without waiting: systemd handles the calls of one connection in
 * order, so the last one sent wins.  cb (may be NULL) gets the outcome, with
 * systemd's message on failure, from the event loop. */
typedef void (*unit_allowed_cpus_t)(void *userdata, const char *unit, int error, const char *message);
int unit_set_allowed_cpus_async(UnitManager *m, const char *unit, const CpuSet *cpus, unit_allowed_cpus_t cb,
                                void *userdata);
