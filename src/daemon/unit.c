/* unit.c: one command of a task in its own transient systemd service, started
 * with StartTransientUnit, followed through JobRemoved and PropertiesChanged on
 * the daemon's event loop, and measured from its own slice's cgroup once it
 * has ended.  See unit.h for the layout and where each figure comes from. */
#include "config.h"

#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>

#include "cgroup.h"
#include "strv.h"
#include "unit.h"
#include "util.h"

#define SD_DEST "org.freedesktop.systemd1"
#define SD_PATH "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
#define UNIT_PATH_PREFIX "/org/freedesktop/systemd1/unit"
#define UNIT_NAME_MAX 200
#define RETRY_USEC (1 * USEC_PER_SEC)

struct UnitManager {
        sd_event *event;
        sd_bus *bus;
        bool unified;
        char *limitations;
        char *last_error;
};

/* A unit is forgotten by systemd only when its owner calls unit_release()
 * (after storing the result): until then the service stays loaded, "active
 * (exited)" (RemainAfterExit=yes) or "failed", so that a daemon that dies
 * at any moment finds it again with its result. */
typedef enum Phase {
        PHASE_RUNNING,   /* started (or attached), main process not ended yet */
        PHASE_STOPPING,  /* main ended with success: killing what it left behind */
        PHASE_ENDED,     /* measured, result handed out; the unit still loaded */
} Phase;

/* How often and how long PHASE_STOPPING looks for the leftovers to go. */
#define LEFTOVER_POLL_USEC (20 * USEC_PER_MSEC)
#define LEFTOVER_POLLS 250

#define UNIT_STATE_MAX 32

/* What we know of the service (see unit_props_map): from the values its
 * PropertiesChanged signals carry, or from a GetAll. */
typedef struct UnitProps {
        char load_state[UNIT_STATE_MAX];
        char active_state[UNIT_STATE_MAX];
        char sub_state[UNIT_STATE_MAX];
        char result[UNIT_STATE_MAX];
        uint32_t job_id;
        int32_t main_code;           /* CLD_EXITED, CLD_KILLED, CLD_DUMPED, 0 */
        int32_t main_status;
        uint64_t main_start_realtime;
        uint64_t main_exit_realtime;
        uint64_t main_start_monotonic;
        uint64_t main_exit_monotonic;
        uint64_t active_enter_monotonic;
        uint64_t runtime_max_usec;   /* UINT64_MAX: none */
} UnitProps;

struct Unit {
        UnitManager *manager;
        char *name;
        char *slice;
        char *cgroup;         /* the slice's, below each hierarchy's root */
        char *path;           /* D-Bus object path of the service */
        char *start_job;      /* NULL when attached */
        char *start_job_result;
        unit_done_t cb;
        void *userdata;

        sd_bus_slot *slot_props;
        sd_bus_slot *slot_jobs;
        sd_bus_slot *slot_getall;
        sd_event_source *retry;
        sd_event_source *leftovers;   /* PHASE_STOPPING's poll */
        unsigned polls;
        sd_event_source *oom_v1;
        sd_event_source *limit;       /* the time limit, to the millisecond */

        Phase phase;
        bool refresh_again;
        bool polling;             /* a match could not be added: looked at every RETRY_USEC */
        bool ref_held;        /* AddRef/RefUnit: systemd keeps the unit while we follow it */
        bool oom_v1_seen;
        bool limit_hit;       /* stopped by the limit timer */
        UnitProps cur;        /* the service as its signals (or the last GetAll) described it */
        UnitProps end;        /* snapshot when the main process had ended */
        TaskResult result;
};

/* The errno of a failed bus call; systemd's words are kept for
 * unit_manager_last_error(). */
static int unit_bus_error(UnitManager *m, const sd_bus_error *error, int r) {
        free(m->last_error);
        m->last_error = NULL;
        if (error && sd_bus_error_is_set(error)) {
                m->last_error = strdup(error->message ?: error->name);
                if (sd_bus_error_has_name(error, "org.freedesktop.systemd1.UnitExists"))
                        return -EEXIST;
                if (sd_bus_error_has_name(error, "org.freedesktop.systemd1.NoSuchUnit"))
                        return -ENOENT;
                if (sd_bus_error_has_name(error, "org.freedesktop.DBus.Error.InvalidArgs"))
                        return -EINVAL;
                if (sd_bus_error_get_errno(error) > 0)
                        return -sd_bus_error_get_errno(error);
        }
        return r < 0 ? r : -EIO;
}

static bool pid1_has_cap(unsigned cap) {
        char buf[4096], *p;
        unsigned long long bnd;

        if (read_small_file("/proc/1/status", buf, sizeof buf) < 0)
                return true;     /* cannot tell: do not complain */
        p = strstr(buf, "CapBnd:");
        if (!p)
                return true;
        bnd = strtoull(p + 7, NULL, 16);
        return (bnd >> cap) & 1;
}

/* ---- the manager ---- */

static void add_limitation(char *buf, size_t len, const char *what) {
        size_t n = strlen(buf);

        snprintf(buf + n, len - n, "%s%s", n > 0 ? "; " : "", what);
}

static int collect_limitations(UnitManager *m) {
        char buf[1024] = "";

        if (!m->unified)
                add_limitation(buf, sizeof buf,
                               "cgroup v1: AllowedCPUs= is not applied (tasks are pinned with "
                               "CPUAffinity= only, other processes are not kept off their CPUs), "
                               "MemorySwapMax= is not applied, and systemd does not see OOM kills "
                               "(benchrunner watches the task's memory cgroup and kills the rest "
                               "of the task itself)");
        else {
                if (cgroup_has_controller("cpuset") == 0)
                        add_limitation(buf, sizeof buf, "no cpuset controller: AllowedCPUs= is not applied");
                if (cgroup_has_controller("memory") == 0)
                        add_limitation(buf, sizeof buf, "no memory controller: memory limits are not applied");
                if (!cgroup_has_memory_peak())
                        add_limitation(buf, sizeof buf,
                                       "no memory.peak (kernel older than 5.19): peak memory is not measured");
        }
        if (!pid1_has_cap(24 /* CAP_SYS_RESOURCE */))
                add_limitation(buf, sizeof buf, "PID 1 lacks CAP_SYS_RESOURCE: a negative OOMScoreAdjust= is ignored");
        if (*buf) {
                m->limitations = strdup(buf);
                if (!m->limitations)
                        return -ENOMEM;
        }
        return 0;
}

int unit_manager_new(sd_event *e, sd_bus *bus, UnitManager **ret) {
        _cleanup_(unit_manager_freep) UnitManager *m = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        if (!e || !bus || !ret)
                return -EINVAL;
        m = calloc(1, sizeof *m);
        if (!m)
                return -ENOMEM;
        m->event = sd_event_ref(e);
        m->bus = sd_bus_ref(bus);

        r = cgroup_detect_unified(&m->unified);
        if (r < 0)
                return r;
        r = collect_limitations(m);
        if (r < 0)
                return r;

        if (!sd_bus_get_event(bus)) {
                r = sd_bus_attach_event(bus, e, SD_EVENT_PRIORITY_NORMAL);
                if (r < 0)
                        return r;
        }
        /* systemd sends JobRemoved and PropertiesChanged only to subscribers */
        r = sd_bus_call_method(bus, SD_DEST, SD_PATH, SD_MANAGER, "Subscribe", &error, NULL, NULL);
        if (r < 0)
                return unit_bus_error(m, &error, r);

        *ret = TAKE_PTR(m);
        return 0;
}

UnitManager *unit_manager_free(UnitManager *m) {
        if (!m)
                return NULL;
        sd_bus_unref(m->bus);
        sd_event_unref(m->event);
        free(m->limitations);
        free(m->last_error);
        free(m);
        return NULL;
}

bool unit_manager_is_unified(const UnitManager *m) {
        return m->unified;
}

const char *unit_manager_limitations(const UnitManager *m) {
        return m->limitations;
}

const char *unit_manager_last_error(const UnitManager *m) {
        return m->last_error;
}

/* ---- names ---- */

static bool unit_name_valid(const char *name) {
        size_t n;

        if (!name)
                return false;
        n = strlen(name);
        if (n <= strlen(".service") || n > UNIT_NAME_MAX ||
            strcmp(name + n - strlen(".service"), ".service") != 0 || name[0] == '-')
                return false;
        for (const char *p = name; *p; p++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:-_.", *p))
                        return false;
        return true;
}

int unit_slice_name(const char *name, char **ret) {
        const char *stem = name;
        char *s;
        size_t n;

        if (!unit_name_valid(name) || !ret)
                return -EINVAL;
        if (strncmp(stem, "benchrunner-", strlen("benchrunner-")) == 0)
                stem += strlen("benchrunner-");
        n = strlen(stem) - strlen(".service");
        if (n == 0)
                return -EINVAL;
        if (asprintf(&s, "benchrunner-%.*s.slice", (int) n, stem) < 0)
                return -ENOMEM;
        /* a '-' would make another level of slices */
        for (char *p = s + strlen("benchrunner-"); *p; p++)
                if (*p == '-')
                        *p = '_';
        *ret = s;
        return 0;
}

/* ---- properties of StartTransientUnit, one helper per group ---- */

static int close_containers(sd_bus_message *msg, unsigned n) {
        int r;

        for (unsigned i = 0; i < n; i++) {
                r = sd_bus_message_close_container(msg);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Opens a struct of signature, a name and then a container (type, contents)
 * that the caller fills; close_containers(msg, 2) ends it.  A property
 * ("sv", 'v') whose value one sd_bus_message_append() cannot take (an array
 * of run-time length), or an auxiliary unit ("sa(sv)", 'a', "(sv)"). */
static int open_named(sd_bus_message *msg, const char *signature, const char *name, char type,
                      const char *contents) {
        int r;

        r = sd_bus_message_open_container(msg, 'r', signature);
        if (r < 0)
                return r;
        r = sd_bus_message_append(msg, "s", name);
        if (r < 0)
                return r;
        return sd_bus_message_open_container(msg, type, contents);
}

static int append_cpus(sd_bus_message *msg, const char *property, const CpuSet *cpus) {
        _cleanup_(freep) uint8_t *mask = NULL;
        size_t len = 0;
        int r;

        if (cpus && !cpuset_empty(cpus)) {
                r = cpuset_to_mask(cpus, &mask, &len);
                if (r < 0)
                        return r;
        }
        r = open_named(msg, "sv", property, 'v', "ay");
        if (r < 0)
                return r;
        r = sd_bus_message_append_array(msg, 'y', mask, len);
        if (r < 0)
                return r;
        return close_containers(msg, 2);
}

/* ExecStartEx with "no-env-expand": the arguments reach the program byte for
 * byte ($VAR is not expanded; D-Bus-set commands get no % specifiers). */
static int append_exec_start(sd_bus_message *msg, char **argv) {
        char *flags[] = { (char *) "no-env-expand", NULL };
        int r;

        r = open_named(msg, "sv", "ExecStartEx", 'v', "a(sasas)");
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(msg, 'a', "(sasas)");
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(msg, 'r', "sasas");
        if (r < 0)
                return r;
        r = sd_bus_message_append(msg, "s", argv[0]);
        if (r < 0)
                return r;
        r = sd_bus_message_append_strv(msg, argv);
        if (r < 0)
                return r;
        r = sd_bus_message_append_strv(msg, flags);
        if (r < 0)
                return r;
        return close_containers(msg, 4);
}

/* stdout or stderr: appended to path, or to nowhere without one */
static int append_output(sd_bus_message *msg, const char *property, const char *file_property, const char *path) {
        if (path)
                return sd_bus_message_append(msg, "(sv)", file_property, "s", path);
        return sd_bus_message_append(msg, "(sv)", property, "s", "null");
}

static int transient_service_set_properties(sd_bus_message *msg, const UnitSpec *spec, const char *slice) {
        uint64_t stop = spec->stop_timeout_usec ?: UNIT_STOP_TIMEOUT_USEC;
        int r;

        r = sd_bus_message_append(msg, "(sv)(sv)(sv)(sv)(sv)",
                                  "Description", "s", spec->description ?: spec->name,
                                  "Type", "s", "exec",
                                  "Slice", "s", slice,
                                  /* a successful unit stays until we read it, also
                                   * across a restart of the daemon (failed ones
                                   * stay anyway) */
                                  "RemainAfterExit", "b", 1,
                                  /* and while we follow it, even once stopped */
                                  "AddRef", "b", 1);
        if (r < 0)
                return r;
        r = append_exec_start(msg, spec->argv);
        if (r < 0)
                return r;
        if (spec->runtime_max_usec > 0) {
                r = sd_bus_message_append(msg, "(sv)", "RuntimeMaxUSec", "t", spec->runtime_max_usec);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_append(msg, "(sv)(sv)(sv)(sv)",
                                     "TimeoutStopUSec", "t", stop,
                                     "KillMode", "s", "control-group",
                                     "SendSIGKILL", "b", 1,
                                     "OOMPolicy", "s", "kill");
}

static int transient_exec_set_properties(sd_bus_message *msg, const UnitSpec *spec) {
        char user[32], group[32];
        int r;

        snprintf(user, sizeof user, "%" PRIu32, (uint32_t) spec->uid);
        snprintf(group, sizeof group, "%" PRIu32, (uint32_t) spec->gid);
        /* numeric, so no name lookup can pick another user; systemd still
         * finds the name and sets the supplementary groups from the database */
        r = sd_bus_message_append(msg, "(sv)(sv)(sv)(sv)",
                                  "User", "s", user,
                                  "Group", "s", group,
                                  "OOMScoreAdjust", "i", (int32_t) spec->oom_score_adjust,
                                  /* behave like a shell would: SIGPIPE kills */
                                  "IgnoreSIGPIPE", "b", 0);
        if (r < 0)
                return r;
        /* a private tmpfs: memory, so it counts toward the memory limit, and it
         * goes away with the service's mount namespace */
        r = sd_bus_message_append(msg, "(sv)", "TemporaryFileSystem", "a(ss)", 1,
                                  "/tmp", "mode=1777,nosuid,nodev");
        if (r < 0)
                return r;
        if (spec->workdir) {
                r = sd_bus_message_append(msg, "(sv)", "WorkingDirectory", "s", spec->workdir);
                if (r < 0)
                        return r;
        }
        if (spec->env) {
                r = open_named(msg, "sv", "Environment", 'v', "as");
                if (r < 0)
                        return r;
                r = sd_bus_message_append_strv(msg, spec->env);
                if (r < 0)
                        return r;
                r = close_containers(msg, 2);
                if (r < 0)
                        return r;
        }
        if (spec->env_file) {
                r = sd_bus_message_append(msg, "(sv)", "EnvironmentFiles", "a(sb)", 1, spec->env_file, 0);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_append(msg, "(sv)", "StandardInput", "s", "null");
        if (r < 0)
                return r;
        r = append_output(msg, "StandardOutput", "StandardOutputFileToAppend", spec->stdout_path);
        if (r < 0)
                return r;
        r = append_output(msg, "StandardError", "StandardErrorFileToAppend", spec->stderr_path);
        if (r < 0)
                return r;
        if (spec->cpus && !cpuset_empty(spec->cpus)) {
                r = append_cpus(msg, "CPUAffinity", spec->cpus);
                if (r < 0)
                        return r;
        }
        if (spec->numa_nodes && !cpuset_empty(spec->numa_nodes)) {
                /* the task's memory where its CPUs are (MPOL_BIND, 2) */
                r = sd_bus_message_append(msg, "(sv)", "NUMAPolicy", "i", 2);
                if (r < 0)
                        return r;
                r = append_cpus(msg, "NUMAMask", spec->numa_nodes);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int transient_cgroup_set_properties(sd_bus_message *msg, const UnitManager *m, const UnitSpec *spec) {
        int r;

        r = sd_bus_message_append(msg, "(sv)(sv)",
                                  "MemoryAccounting", "b", 1,
                                  "CPUAccounting", "b", 1);
        if (r < 0)
                return r;
        if (spec->cpus && !cpuset_empty(spec->cpus)) {
                /* accepted but without effect on v1; recorded all the same */
                r = append_cpus(msg, "AllowedCPUs", spec->cpus);
                if (r < 0)
                        return r;
        }
        /* v2: the limit on the service itself, so that systemd sees the OOM
         * kill (Result=oom-kill) and OOMPolicy=kill takes the whole group.
         * v1: on the slice instead (see transient_slice_set_properties()). */
        if (spec->memory_bytes > 0 && m->unified) {
                r = sd_bus_message_append(msg, "(sv)(sv)",
                                          "MemoryMax", "t", spec->memory_bytes,
                                          "MemorySwapMax", "t", UINT64_C(0));
                if (r < 0)
                        return r;
        }
        return 0;
}

static int transient_slice_set_properties(sd_bus_message *msg, const UnitManager *m, const UnitSpec *spec) {
        char desc[UNIT_NAME_MAX + 32];
        int r;

        snprintf(desc, sizeof desc, "benchrunner: measurements of %s", spec->name);
        r = sd_bus_message_append(msg, "(sv)(sv)(sv)",
                                  "Description", "s", desc,
                                  "MemoryAccounting", "b", 1,
                                  "CPUAccounting", "b", 1);
        if (r < 0)
                return r;
        /* v1 raises the OOM event (and counts failcnt) on the memcg whose
         * limit was hit: that must be one that outlives the service */
        if (spec->memory_bytes > 0 && !m->unified) {
                r = sd_bus_message_append(msg, "(sv)", "MemoryMax", "t", spec->memory_bytes);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int spec_valid(const UnitSpec *spec) {
        size_t n;

        if (!spec || !unit_name_valid(spec->name) || !spec->argv || !spec->argv[0] || spec->argv[0][0] != '/')
                return -EINVAL;
        n = strv_length(spec->argv);
        if (n > TASK_ARGV_MAX || strv_length(spec->env) > TASK_ENV_MAX)
                return -E2BIG;
        if (spec->oom_score_adjust < -1000 || spec->oom_score_adjust > 1000)
                return -EINVAL;
        if (spec->workdir && spec->workdir[0] != '/')
                return -EINVAL;
        if ((spec->stdout_path && spec->stdout_path[0] != '/') ||
            (spec->stderr_path && spec->stderr_path[0] != '/'))
                return -EINVAL;
        return 0;
}

/* ---- following a unit ---- */

static void unit_process(Unit *u, const UnitProps *p);
static int unit_refresh(Unit *u);

static void unit_drop_slots(Unit *u) {
        u->slot_props = sd_bus_slot_unref(u->slot_props);
        u->slot_jobs = sd_bus_slot_unref(u->slot_jobs);
        u->slot_getall = sd_bus_slot_unref(u->slot_getall);
        u->retry = sd_event_source_disable_unref(u->retry);
        u->leftovers = sd_event_source_disable_unref(u->leftovers);
        u->oom_v1 = sd_event_source_disable_unref(u->oom_v1);
        u->limit = sd_event_source_disable_unref(u->limit);
}

/* A call of systemd's manager method, with its first arguments (types, ...)
 * appended. */
static int method_call_newv(UnitManager *m, const char *method, sd_bus_message **ret, const char *types,
                            va_list ap) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        int r;

        r = sd_bus_message_new_method_call(m->bus, &msg, SD_DEST, SD_PATH, SD_MANAGER, method);
        if (r < 0)
                return r;
        r = sd_bus_message_appendv(msg, types, ap);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(msg);
        return 0;
}

static int method_call_new(UnitManager *m, const char *method, sd_bus_message **ret, const char *types, ...) {
        va_list ap;
        int r;

        va_start(ap, types);
        r = method_call_newv(m, method, ret, types, ap);
        va_end(ap);
        return r;
}

/* Fire and forget: the reply does not matter (the unit may be gone).  Only
 * for a connection that stays: systemd checks the sender's credentials with
 * the bus, which fails once the sender has gone. */
static void unit_call_ignore(UnitManager *m, const char *method, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        va_list ap;
        int r;

        va_start(ap, types);
        r = method_call_newv(m, method, &msg, types, ap);
        va_end(ap);
        if (r < 0)
                return;
        (void) sd_bus_message_set_expect_reply(msg, false);
        (void) sd_bus_send(m->bus, msg, NULL);
}

static Unit *unit_new(UnitManager *m, const char *name, unit_done_t cb, void *userdata) {
        _cleanup_(unit_freep) Unit *u = NULL;

        u = calloc(1, sizeof *u);
        if (!u)
                return NULL;
        u->manager = m;
        u->cb = cb;
        u->userdata = userdata;
        u->name = strdup(name);
        if (!u->name || unit_slice_name(name, &u->slice) < 0 ||
            asprintf(&u->cgroup, UNIT_SLICE_PARENT "/%s", u->slice) < 0 ||
            sd_bus_path_encode(UNIT_PATH_PREFIX, name, &u->path) < 0)
                return NULL;
        return TAKE_PTR(u);
}

Unit *unit_free(Unit *u) {
        if (!u)
                return NULL;
        unit_drop_slots(u);
        if (u->ref_held)
                unit_call_ignore(u->manager, "UnrefUnit", "s", u->name);
        free(u->name);
        free(u->slice);
        free(u->cgroup);
        free(u->path);
        free(u->start_job);
        free(u->start_job_result);
        free(u);
        return NULL;
}

Unit *unit_release(Unit *u) {
        if (!u)
                return NULL;
        if (u->phase == PHASE_ENDED) {
                /* in the order systemd handles them: the service goes, a
                 * failed one is reset, then its slice */
                unit_call_ignore(u->manager, "StopUnit", "ss", u->name, "replace");
                unit_call_ignore(u->manager, "ResetFailedUnit", "s", u->name);
                if (u->ref_held)
                        unit_call_ignore(u->manager, "UnrefUnit", "s", u->name);
                u->ref_held = false;
                unit_call_ignore(u->manager, "StopUnit", "ss", u->slice, "replace");
        }
        return unit_free(u);
}

int unit_manager_sync(UnitManager *m) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        /* systemd answers calls of one connection in order */
        r = sd_bus_call_method(m->bus, SD_DEST, SD_PATH, "org.freedesktop.DBus.Peer", "Ping", &error, NULL, "");
        return r < 0 ? unit_bus_error(m, &error, r) : 0;
}

void unit_forget(UnitManager *m, const char *name) {
        _cleanup_(freep) char *slice = NULL;

        if (!unit_name_valid(name) || unit_slice_name(name, &slice) < 0)
                return;
        unit_call_ignore(m, "StopUnit", "ss", name, "replace");
        unit_call_ignore(m, "ResetFailedUnit", "s", name);
        unit_call_ignore(m, "StopUnit", "ss", slice, "replace");
}

void unit_forget_slice(UnitManager *m, const char *slice) {
        size_t n = strlen(slice);

        if (strncmp(slice, "benchrunner-", 12) != 0 || n < 7 || strcmp(slice + n - 6, ".slice") != 0)
                return;
        unit_call_ignore(m, "StopUnit", "ss", slice, "replace");
}

const char *unit_get_slice(const Unit *u) {
        return u->slice;
}

int unit_manager_list(UnitManager *m, const char *pattern, char ***ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(strv_freep) char **l = NULL;
        size_t n = 0;
        const char *name;
        int r;

        r = sd_bus_call_method(m->bus, SD_DEST, SD_PATH, SD_MANAGER, "ListUnitsByPatterns", &error, &reply,
                               "asas", 0, 1, pattern);
        if (r < 0)
                return unit_bus_error(m, &error, r);
        r = sd_bus_message_enter_container(reply, 'a', "(ssssssouso)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(reply, "(ssssssouso)", &name, NULL, NULL, NULL, NULL, NULL, NULL,
                                        NULL, NULL, NULL)) > 0)
                if ((r = strv_push_printf(&l, &n, "%s", name)) < 0)
                        return r;
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}

const char *unit_get_name(const Unit *u) {
        return u->name;
}

static int read_prop(sd_bus_message *msg, const char *type, void *field);
static ssize_t prop_index(const char *name);
static int merge_props(sd_bus_message *msg, UnitProps *p);

/* systemd sends a service's changes as two signals, the Service
 * interface's first and then the Unit interface's ("clients may rely on
 * this order to get atomic behavior", src/core/dbus-unit.c), each with the
 * values of every property it marks as emitting changes: everything read
 * here but RuntimeMaxUSec, which never changes.  So the values are merged
 * as they come and the state looked at after the Unit signal; a GetAll
 * (some 14 KB that systemd builds at a cost of 0.7 ms or more each time)
 * only when a property of ours comes as invalidated, or a signal cannot be
 * read. */
static int on_properties_changed(sd_bus_message *msg, void *userdata, sd_bus_error *reterr) {
        Unit *u = userdata;
        const char *interface = NULL, *name;
        bool unit_iface, invalidated = false;
        int r;

        if (u->phase >= PHASE_ENDED)
                return 0;
        r = sd_bus_message_read(msg, "s", &interface);
        if (r < 0 || !interface)
                goto refresh;
        unit_iface = streq(interface, "org.freedesktop.systemd1.Unit");
        if (!unit_iface && !streq(interface, "org.freedesktop.systemd1.Service"))
                return 0;
        r = merge_props(msg, &u->cur);
        if (r < 0)
                goto refresh;
        r = sd_bus_message_enter_container(msg, 'a', "s");
        if (r < 0)
                goto refresh;
        while ((r = sd_bus_message_read(msg, "s", &name)) > 0)
                if (prop_index(name) >= 0)
                        invalidated = true;
        if (r < 0 || invalidated)
                goto refresh;
        if (!unit_iface || u->slot_getall)
                return 0;   /* the Unit signal follows; a GetAll's answer follows */
        unit_process(u, &u->cur);   /* may free u */
        return 0;
refresh:
        (void) unit_refresh(u);
        return 0;
}

static int on_job_removed(sd_bus_message *msg, void *userdata, sd_bus_error *reterr) {
        Unit *u = userdata;
        const char *job, *unit, *result;
        uint32_t id;

        if (sd_bus_message_read(msg, "uoss", &id, &job, &unit, &result) < 0)
                return 0;
        if (streq(job, u->start_job) && !u->start_job_result)
                u->start_job_result = strdup(result);
        /* the Unit signal that says Job=0 may come before or after this */
        if (u->cur.job_id == id)
                return 0;
        if (u->cur.job_id != 0 || u->slot_getall)
                (void) unit_refresh(u);
        else
                unit_process(u, &u->cur);   /* may free u */
        return 0;
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        Unit *u = userdata;

        u->retry = sd_event_source_disable_unref(u->retry);
        (void) unit_refresh(u);
        return 0;
}

/* Transient trouble on the bus: look again a little later. */
static void unit_retry_later(Unit *u) {
        uint64_t now;

        if (u->retry || sd_event_now(u->manager->event, CLOCK_MONOTONIC, &now) < 0)
                return;
        (void) sd_event_add_time(u->manager->event, &u->retry, CLOCK_MONOTONIC, now + RETRY_USEC, 0, on_retry, u);
}

/* The properties we need from GetAll's a{sv}, by name, D-Bus type and place
 * in UnitProps, as systemd's bus_map_all_properties() maps them. */
static const struct {
        const char *name;
        const char *type;    /* "s": a char[UNIT_STATE_MAX]; "(uo)": the job id */
        size_t offset;
} unit_props_map[] = {
        { "Job",                             "(uo)", offsetof(UnitProps, job_id) },
        { "LoadState",                       "s",    offsetof(UnitProps, load_state) },
        { "ActiveState",                     "s",    offsetof(UnitProps, active_state) },
        { "SubState",                        "s",    offsetof(UnitProps, sub_state) },
        { "Result",                          "s",    offsetof(UnitProps, result) },
        { "ExecMainCode",                    "i",    offsetof(UnitProps, main_code) },
        { "ExecMainStatus",                  "i",    offsetof(UnitProps, main_status) },
        { "ExecMainStartTimestamp",          "t",    offsetof(UnitProps, main_start_realtime) },
        { "ExecMainExitTimestamp",           "t",    offsetof(UnitProps, main_exit_realtime) },
        { "ExecMainStartTimestampMonotonic", "t",    offsetof(UnitProps, main_start_monotonic) },
        { "ExecMainExitTimestampMonotonic",  "t",    offsetof(UnitProps, main_exit_monotonic) },
        { "ActiveEnterTimestampMonotonic",   "t",    offsetof(UnitProps, active_enter_monotonic) },
        { "RuntimeMaxUSec",                  "t",    offsetof(UnitProps, runtime_max_usec) },
};

/* One property's variant into its field. */
static int read_prop(sd_bus_message *msg, const char *type, void *field) {
        const char *s, *job_path;
        int r;

        switch (type[0]) {
        case 's':
                r = sd_bus_message_read(msg, "v", "s", &s);
                if (r < 0)
                        return r;
                snprintf(field, UNIT_STATE_MAX, "%s", s);
                return 0;
        case '(':
                return sd_bus_message_read(msg, "v", "(uo)", field, &job_path);
        default:    /* "i", "t": read in place */
                return sd_bus_message_read(msg, "v", type, field);
        }
}

static ssize_t prop_index(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(unit_props_map); i++)
                if (streq(name, unit_props_map[i].name))
                        return (ssize_t) i;
        return -1;
}

/* An a{sv} of properties into p: those of unit_props_map, the rest
 * skipped. */
static int merge_props(sd_bus_message *msg, UnitProps *p) {
        int r;

        r = sd_bus_message_enter_container(msg, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(msg, 'e', "sv")) > 0) {
                const char *key;
                ssize_t i;

                r = sd_bus_message_read(msg, "s", &key);
                if (r < 0)
                        return r;
                i = prop_index(key);
                if (i >= 0)
                        r = read_prop(msg, unit_props_map[i].type, (uint8_t *) p + unit_props_map[i].offset);
                else
                        r = sd_bus_message_skip(msg, "v");
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(msg);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(msg);
}

static int read_props(sd_bus_message *msg, UnitProps *p) {
        *p = (UnitProps) { .runtime_max_usec = UINT64_MAX };
        return merge_props(msg, p);
}

static int on_getall(sd_bus_message *msg, void *userdata, sd_bus_error *reterr) {
        Unit *u = userdata;
        UnitProps p;
        int r;

        u->slot_getall = sd_bus_slot_unref(u->slot_getall);
        if (sd_bus_message_is_method_error(msg, NULL)) {
                unit_retry_later(u);
                return 0;
        }
        r = read_props(msg, &p);
        if (r < 0) {
                unit_retry_later(u);
                return 0;
        }
        u->cur = p;
        if (u->refresh_again) {
                /* something changed since this was sent: look again (a
                 * finish below cancels that) */
                u->refresh_again = false;
                (void) unit_refresh(u);
        } else if (u->polling)
                unit_retry_later(u);
        unit_process(u, &p);    /* may free u (through the callback) */
        return 0;
}

static int unit_refresh(Unit *u) {
        int r;

        if (u->phase >= PHASE_ENDED)
                return 0;
        if (u->slot_getall) {
                u->refresh_again = true;
                return 0;
        }
        r = sd_bus_call_method_async(u->manager->bus, &u->slot_getall, SD_DEST, u->path,
                                     "org.freedesktop.DBus.Properties", "GetAll",
                                     on_getall, u, "s", "");
        if (r < 0)
                unit_retry_later(u);
        return r;
}

/* v1: the kernel raises an OOM event on the memcg whose limit was hit (the
 * slice) through an eventfd registered with cgroup.event_control.  It also
 * fires when the cgroup is removed, hence the check that it still exists. */
static int on_oom_v1(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Unit *u = userdata;
        uint64_t v;

        if (read(fd, &v, sizeof v) < 0 && errno == EAGAIN)
                return 0;
        if (!cgroup_exists("memory", u->cgroup)) {
                u->oom_v1 = sd_event_source_disable_unref(u->oom_v1);
                return 0;
        }
        if (!u->oom_v1_seen) {
                u->oom_v1_seen = true;
                /* the kernel kills one process; take the whole group, as
                 * OOMPolicy=kill does on v2 */
                unit_call_ignore(u->manager, "KillUnit", "ssi", u->name, "all", (int32_t) SIGKILL);
        }
        return 0;
}

static int unit_watch_oom_v1(Unit *u) {
        _cleanup_(closep) int efd = -1;
        int r;

        if (u->manager->unified || u->oom_v1)
                return 0;
        efd = cgroup_oom_eventfd_v1(u->cgroup);
        if (efd < 0)
                return efd;
        r = sd_event_add_io(u->manager->event, &u->oom_v1, efd, EPOLLIN, on_oom_v1, u);
        if (r < 0)
                return r;
        (void) sd_event_source_set_io_fd_own(u->oom_v1, true);
        TAKE_FD(efd);
        return 0;
}

static bool state_is(const UnitProps *p, const char *s) {
        return strcmp(p->active_state, s) == 0;
}

/* RuntimeMaxSec= is systemd's, on a timer of its event loop's default
 * accuracy (250 ms: bench/limits saw 0.22 s past a 2 s limit).  It stays as
 * the backstop for a daemon that is not there; the daemon's own timer, of
 * 1 ms, stops the service at the limit, counted as systemd counts it (from
 * the service's becoming active). */
#define LIMIT_ACCURACY_USEC 1000

static int on_limit(sd_event_source *s, uint64_t usec, void *userdata) {
        Unit *u = userdata;

        u->limit = sd_event_source_disable_unref(u->limit);
        if (u->phase != PHASE_RUNNING)
                return 0;
        u->limit_hit = true;
        unit_call_ignore(u->manager, "StopUnit", "ss", u->name, "replace");
        return 0;
}

static void unit_arm_limit(Unit *u, const UnitProps *p) {
        if (u->limit || u->limit_hit || u->phase != PHASE_RUNNING || p->active_enter_monotonic == 0 ||
            p->runtime_max_usec == 0 || p->runtime_max_usec == UINT64_MAX ||
            p->runtime_max_usec > UINT64_MAX - p->active_enter_monotonic)
                return;
        (void) sd_event_add_time(u->manager->event, &u->limit, CLOCK_MONOTONIC,
                                 p->active_enter_monotonic + p->runtime_max_usec, LIMIT_ACCURACY_USEC, on_limit, u);
}

/* The reason, from what systemd recorded and what the slice saw. */
static TaskReason unit_reason(const Unit *u, const UnitProps *p, bool oom) {
        const char *r = p->result;

        /* Type=exec: the unit becomes active only once execve() succeeded */
        if (p->active_enter_monotonic == 0 ||
            (u->start_job_result && !streq(u->start_job_result, "done")))
                return TASK_REASON_FAILED_TO_START;
        if (streq(r, "oom-kill") || oom)
                return TASK_REASON_OOM;
        if (streq(r, "timeout") || u->limit_hit) {
                /* a newer systemd may apply RuntimeMaxSec= to the "exited"
                 * state too: a main process that ended before the limit did
                 * not hit it */
                bool ended_before = p->runtime_max_usec != UINT64_MAX && p->main_exit_monotonic != 0 &&
                        p->main_exit_monotonic < p->active_enter_monotonic + p->runtime_max_usec;
                if (!ended_before)
                        return TASK_REASON_TIME_LIMIT;
        }
        switch (p->main_code) {
        case CLD_EXITED:
                return TASK_REASON_EXITED;
        case CLD_KILLED:
        case CLD_DUMPED:
                return TASK_REASON_SIGNALED;
        default:
                return TASK_REASON_FAILED_TO_START;
        }
}

static void unit_measure(Unit *u, const UnitProps *p, TaskResult *res) {
        CgroupUsage cg;
        bool oom = u->oom_v1_seen;

        *res = (TaskResult) {};
        if (p->main_code == CLD_EXITED) {
                res->has_exit_code = true;
                res->exit_code = p->main_status;
        } else if (p->main_code == CLD_KILLED || p->main_code == CLD_DUMPED) {
                res->has_signal = true;
                res->signal = p->main_status;
        }
        res->started_usec = p->main_start_realtime;
        res->finished_usec = p->main_exit_realtime;
        if (p->main_start_monotonic > 0 && p->main_exit_monotonic >= p->main_start_monotonic)
                res->wall_usec = p->main_exit_monotonic - p->main_start_monotonic;

        cgroup_read_usage(u->manager->unified, u->cgroup, &cg);
        res->has_cpu = cg.has_cpu;
        res->cpu_user_usec = cg.cpu_user_usec;
        res->cpu_system_usec = cg.cpu_system_usec;
        res->has_peak_memory = cg.has_peak_memory;
        res->peak_memory_bytes = cg.peak_memory_bytes;
        for (int k = 0; k < _TASK_PRESSURE_MAX && k < _CGROUP_PRESSURE_MAX; k++)
                res->pressure[k] = (TaskPressure) {
                        .has_some = cg.pressure[k].has_some,
                        .has_full = cg.pressure[k].has_full,
                        .some_usec = cg.pressure[k].some_usec,
                        .full_usec = cg.pressure[k].full_usec,
                };
        res->has_throttled = cg.has_throttled;
        res->nr_throttled = cg.nr_throttled;
        res->throttled_usec = cg.throttled_usec;
        if (u->manager->unified)
                oom = oom || cg.oom_kills > 0;
        /* v1 without the event (the daemon was not running then): the main
         * process ended first by SIGKILL, in a slice that hit its limit */
        else if (cg.failcnt > 0 && streq(p->result, "signal") && p->main_code == CLD_KILLED &&
                 p->main_status == SIGKILL)
                oom = true;
        res->reason = unit_reason(u, p, oom);
}

/* Measures and hands the result out.  The unit stays loaded until
 * unit_release(). */
static void unit_finish(Unit *u, const UnitProps *p, bool vanished) {
        if (vanished)
                u->result = (TaskResult) { .reason = TASK_REASON_INTERRUPTED };
        else
                unit_measure(u, p, &u->result);
        unit_drop_slots(u);
        u->phase = PHASE_ENDED;
        u->cb(u->userdata, &u->result);   /* may free u */
}

static int service_populated(Unit *u) {
        char group[PATH_MAX];

        if (snprintf(group, sizeof group, "%s/%s", u->cgroup, u->name) >= (int) sizeof group)
                return -ENAMETOOLONG;
        return cgroup_populated(u->manager->unified, group);
}

static int on_leftovers_poll(sd_event_source *s, uint64_t usec, void *userdata) {
        Unit *u = userdata;

        if (service_populated(u) > 0 && ++u->polls < LEFTOVER_POLLS)
                return sd_event_source_set_time_relative(s, LEFTOVER_POLL_USEC) < 0 ? 0 :
                       sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        unit_finish(u, &u->end, false);
        return 0;
}

/* The main process ended well, but what it started may still run: kill it
 * (KillUnit, SIGKILL to the whole group) and wait for the group to empty,
 * so that the measurements are final.  The service itself stays "active
 * (exited)", so that a daemon that dies meanwhile finds it again. */
static void unit_kill_leftovers(Unit *u, const UnitProps *p) {
        u->end = *p;
        if (service_populated(u) <= 0) {
                unit_finish(u, &u->end, false);
                return;
        }
        u->phase = PHASE_STOPPING;
        unit_call_ignore(u->manager, "KillUnit", "ssi", u->name, "all", SIGKILL);
        if (sd_event_add_time_relative(u->manager->event, &u->leftovers, CLOCK_MONOTONIC, LEFTOVER_POLL_USEC, 0,
                                       on_leftovers_poll, u) < 0)
                unit_finish(u, &u->end, false);
}

static void unit_process(Unit *u, const UnitProps *p) {
        bool ended;

        if (u->phase >= PHASE_ENDED)
                return;
        if (streq(p->load_state, "not-found")) {
                /* collected behind our back (should not happen while we
                 * hold a reference) */
                unit_finish(u, u->phase == PHASE_STOPPING ? &u->end : p, u->phase != PHASE_STOPPING);
                return;
        }
        if (u->phase == PHASE_RUNNING && !u->manager->unified && !u->oom_v1 &&
            (state_is(p, "active") || state_is(p, "activating")))
                (void) unit_watch_oom_v1(u);   /* best effort; failcnt is the fallback */
        if (state_is(p, "active"))
                unit_arm_limit(u, p);
        if (p->job_id != 0)
                return;     /* in transition */

        ended = state_is(p, "inactive") || state_is(p, "failed");
        switch (u->phase) {
        case PHASE_RUNNING:
                if (ended) {
                        u->end = *p;
                        unit_finish(u, p, false);
                } else if (state_is(p, "active") && streq(p->sub_state, "exited"))
                        unit_kill_leftovers(u, p);
                break;
        case PHASE_STOPPING:
                if (ended)
                        unit_finish(u, &u->end, false);
                break;
        case PHASE_ENDED:
                break;
        }
}

/* Signals first, then the call: systemd emits them right after it acts.
 * The matches go out without waiting for the bus daemon's answer: it
 * handles a connection's messages in order, so they hold before the
 * StartTransientUnit that follows reaches systemd (two round trips less
 * per start). */
static int on_match_added(sd_bus_message *msg, void *userdata, sd_bus_error *reterr) {
        Unit *u = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(msg);

        if (!e)
                return 0;
        /* the bus daemon's limit of matches per connection, say: then
         * this unit is looked at every RETRY_USEC instead (its end is
         * noticed up to that much later) */
        u->polling = true;
        unit_retry_later(u);
        return 0;
}

static int unit_add_matches(Unit *u) {
        char match[512 + UNIT_NAME_MAX];
        int r;

        r = sd_bus_match_signal_async(u->manager->bus, &u->slot_props, SD_DEST, u->path,
                                      "org.freedesktop.DBus.Properties", "PropertiesChanged",
                                      on_properties_changed, on_match_added, u);
        if (r < 0)
                return r;
        snprintf(match, sizeof match,
                 "type='signal',sender='" SD_DEST "',path='" SD_PATH "',interface='" SD_MANAGER "',"
                 "member='JobRemoved',arg2='%s'", u->name);
        return sd_bus_add_match_async(u->manager->bus, &u->slot_jobs, match, on_job_removed, on_match_added, u);
}

/* The number at the end of a job's object path; 1 (a job, of unknown
 * number) if there is none. */
static uint32_t job_id_of(const char *path) {
        const char *p = strrchr(path, '/');
        unsigned long v;
        char *end;

        if (!p)
                return 1;
        errno = 0;
        v = strtoul(p + 1, &end, 10);
        return errno == 0 && *end == 0 && end != p + 1 && v > 0 && v <= UINT32_MAX ? (uint32_t) v : 1;
}

/* StartTransientUnit of the service, with the command's own slice as an
 * auxiliary unit, created with it. */
static int transient_unit_message(UnitManager *m, const UnitSpec *spec, const char *slice, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        int r;

        r = method_call_new(m, "StartTransientUnit", &msg, "ss", spec->name, "fail");
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(msg, 'a', "(sv)");
        if (r < 0)
                return r;
        r = transient_service_set_properties(msg, spec, slice);
        if (r < 0)
                return r;
        r = transient_exec_set_properties(msg, spec);
        if (r < 0)
                return r;
        r = transient_cgroup_set_properties(msg, m, spec);
        if (r < 0)
                return r;
        r = sd_bus_message_close_container(msg);
        if (r < 0)
                return r;

        r = sd_bus_message_open_container(msg, 'a', "(sa(sv))");
        if (r < 0)
                return r;
        r = open_named(msg, "sa(sv)", slice, 'a', "(sv)");
        if (r < 0)
                return r;
        r = transient_slice_set_properties(msg, m, spec);
        if (r < 0)
                return r;
        r = close_containers(msg, 3);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(msg);
        return 0;
}

int unit_start(UnitManager *m, const UnitSpec *spec, unit_done_t cb, void *userdata, Unit **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(unit_freep) Unit *u = NULL;
        const char *job;
        int r;

        if (!m || !cb || !ret)
                return -EINVAL;
        r = spec_valid(spec);
        if (r < 0)
                return r;
        u = unit_new(m, spec->name, cb, userdata);
        if (!u)
                return -ENOMEM;
        r = unit_add_matches(u);
        if (r < 0)
                return r;
        r = transient_unit_message(m, spec, u->slice, &msg);
        if (r < 0)
                return r;

        r = sd_bus_call(m->bus, msg, 0, &error, &reply);
        if (r < 0)
                return unit_bus_error(m, &error, r);
        u->ref_held = true;
        r = sd_bus_message_read(reply, "o", &job);
        if (r < 0)
                return r;
        u->start_job = strdup(job);
        if (!u->start_job)
                return -ENOMEM;

        /* A new unit with its start job: the signals tell the rest (one
         * GetAll a second later stands in for a signal that did not come) */
        u->cur = (UnitProps) {
                .load_state = "loaded",
                .active_state = "inactive",
                .sub_state = "dead",
                .job_id = job_id_of(job),
                .runtime_max_usec = spec->runtime_max_usec > 0 ? spec->runtime_max_usec : UINT64_MAX,
        };
        unit_retry_later(u);
        *ret = TAKE_PTR(u);
        return 0;
}

int unit_stop(Unit *u) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        if (!u)
                return -EINVAL;
        if (u->phase != PHASE_RUNNING)
                return 0;
        r = sd_bus_call_method(u->manager->bus, SD_DEST, SD_PATH, SD_MANAGER, "StopUnit", &error, NULL,
                               "ss", u->name, "replace");
        if (r < 0)
                return unit_bus_error(u->manager, &error, r);
        return 1;
}

int unit_attach(UnitManager *m, const char *name, unit_done_t cb, void *userdata, Unit **ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(unit_freep) Unit *u = NULL;
        int r;

        if (!m || !cb || !ret || !unit_name_valid(name))
                return -EINVAL;
        u = unit_new(m, name, cb, userdata);
        if (!u)
                return -ENOMEM;
        r = unit_add_matches(u);
        if (r < 0)
                return r;
        /* GetUnit, unlike the unit's object path, does not load a unit that
         * is gone; RefUnit keeps it from being collected while we read it */
        r = sd_bus_call_method(m->bus, SD_DEST, SD_PATH, SD_MANAGER, "GetUnit", &error, NULL, "s", name);
        if (r >= 0) {
                sd_bus_error_free(&error);
                r = sd_bus_call_method(m->bus, SD_DEST, SD_PATH, SD_MANAGER, "RefUnit", &error, NULL, "s", name);
        }
        if (r < 0) {
                r = unit_bus_error(m, &error, r);
                if (r == -ENOENT)
                        /* whatever it left behind; NoSuchUnit is fine */
                        (void) sd_bus_call_method(m->bus, SD_DEST, SD_PATH, SD_MANAGER, "StopUnit",
                                                  NULL, NULL, "ss", u->slice, "replace");
                return r;
        }
        u->ref_held = true;
        (void) unit_refresh(u);
        *ret = TAKE_PTR(u);
        return 0;
}

static int allowed_cpus_message(UnitManager *m, const char *unit, const CpuSet *cpus, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        int r;

        if (!m || !unit)
                return -EINVAL;
        /* Set on cgroup v1 as well: systemd records it (and shows it) but
         * applies no cpuset there; unit_manager_limitations() says so. */
        r = method_call_new(m, "SetUnitProperties", &msg, "sb", unit, 1);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(msg, 'a', "(sv)");
        if (r < 0)
                return r;
        r = append_cpus(msg, "AllowedCPUs", cpus);
        if (r < 0)
                return r;
        r = sd_bus_message_close_container(msg);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(msg);
        return 0;
}

int unit_set_allowed_cpus(UnitManager *m, const char *unit, const CpuSet *cpus) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = allowed_cpus_message(m, unit, cpus, &msg);
        if (r < 0)
                return r;
        r = sd_bus_call(m->bus, msg, 0, &error, NULL);
        if (r < 0)
                return unit_bus_error(m, &error, r);
        return 0;
}

typedef struct AllowedCpusCall {
        unit_allowed_cpus_t cb;
        void *userdata;
        char *unit;
} AllowedCpusCall;

static int on_allowed_cpus_reply(sd_bus_message *reply, void *userdata, sd_bus_error *reterr) {
        AllowedCpusCall *c = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (c->cb)
                c->cb(c->userdata, c->unit, e ? -sd_bus_message_get_errno(reply) : 0, e ? e->message : NULL);
        free(c->unit);
        free(c);
        return 0;
}

int unit_set_allowed_cpus_async(UnitManager *m, const char *unit, const CpuSet *cpus, unit_allowed_cpus_t cb,
                                void *userdata) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        AllowedCpusCall *c;
        int r;

        r = allowed_cpus_message(m, unit, cpus, &msg);
        if (r < 0)
                return r;
        c = calloc(1, sizeof(AllowedCpusCall));
        if (!c || !(c->unit = strdup(unit))) {
                free(c);
                return -ENOMEM;
        }
        c->cb = cb;
        c->userdata = userdata;
        /* floating slot: the reply (or the bus going away) frees c */
        r = sd_bus_call_async(m->bus, NULL, msg, on_allowed_cpus_reply, c, 0);
        if (r < 0) {
                free(c->unit);
                free(c);
                return r;
        }
        return 0;
}
