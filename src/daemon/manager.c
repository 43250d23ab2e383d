/* manager.c: the life of a task inside the daemon.
 *
 *   submit -> queued --sched--> running (main unit) -> cleanup (cleanup unit)
 *                                                   -> finished
 *
 * Every transition is written to the database before it is announced, so a
 * client never hears of a state the database does not hold.  The CPUs and
 * memory of a task are given back only after its cleanup ended. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-id128.h>
#include <systemd/sd-journal.h>
#include <time.h>

#include "db.h"
#include "idmap.h"
#include "log.h"
#include "machine.h"
#include "manager.h"
#include "remover.h"
#include "retention.h"
#include "sbatch.h"
#include "sched.h"
#include "slurm.h"
#include "strv.h"
#include "taskdir.h"
#include "topology.h"
#include "unit.h"
#include "util.h"

/* A task that runs (its command or its cleanup command), with what the
 * daemon holds for it.  A queued task is only its record in the scheduler
 * (SchedTask) and its row in the database, read when it starts. */
typedef struct Live {
        Manager *manager;
        Task *task;
        Unit *unit;               /* main or cleanup unit while it runs */
        bool cancel;              /* a cancel was asked for the running unit */
        bool unsaved;             /* the database does not hold the task as it is */
        bool had_cleanup;         /* finished after a cleanup command */
        bool prepared;            /* its working directory may exist */
        MachineCounters counters; /* swap, throttling, clocks at its start */
        bool has_counters;
        SlurmJob *job;            /* the Slurm backend: its job (main and cleanup command) */
        struct Live *prev, *next;
} Live;

struct Manager {
        sd_event *event;
        sd_bus *bus;
        ManagerConfig config;
        char *db_path;
        char *state_dir;
        char *work_dir;
        char *output_dir;
        int state_fd, work_fd, output_fd, env_fd;  /* opened once, never followed through a link */
        bool acl_warned;
        int64_t last_id;          /* the highest id given out */
        int64_t id_reserved;      /* what STATE/last-id says: ids up to it may be given out */
        Db *db;
        Topology *topology;
        Sched *sched;
        UnitManager *units;
        Remover *remover;         /* working directories being removed */
        manager_listener_t listener;
        void *listener_userdata;
        sd_event_source *output_timer;
        sd_event_source *retention_timer;
        Retention *retention;
        Live *live;               /* running tasks (main or cleanup command) */
        IdMap live_by_id;         /* the same, by id */
        bool live_by_id_partial;  /* out of memory once: live_find() falls back to a scan */
        struct Share {            /* per user: what their queued tasks take */
                uid_t uid;
                unsigned tasks;
                uint64_t bytes;
        } *shares;
        size_t n_shares;
        Live *parked;             /* finished, but not stored yet: kept with their units */
        sd_event_source *retry_timer;
        sd_event_source *trim_timer;  /* gives the memory of a burst of requests back */
        uint64_t retry_usec;      /* the next retry's delay */
        bool db_failing;          /* a write failed: no starts until the retry stored everything */
        bool dispatching, dispatch_again;
        sd_event_source *dispatch_later;  /* the rest of a long dispatch, when the loop is idle */
        unsigned n_running, n_cleanup;
        unsigned n_cpus;          /* cpuset_count(&config.cpus) */
        bool shutting_down;
        bool recovering;      /* manager_recover(): no dispatch until every task is placed */
        CpuSet system_busy;       /* task CPUs the system slices are kept off */
        bool system_known;        /* system_busy is what the slices have */
        sd_event_source *system_return;  /* gives freed CPUs back (system_cpus_update()) */
        bool system_warned;
        SchedTask *held;          /* held tasks' records, by id: counted in their shares, not queued */
        size_t n_held, n_held_allocated;
        IdMap waiters;            /* task id -> Waiter: queued, waiting for dependencies (not in the queue) */
        IdMap dependents;         /* dependency id -> Dependents: the waiters that wait for it */
        struct Wake {             /* finished tasks whose dependents are still to be told */
                int64_t id, next;
                bool ok;
        } *wakes;
        size_t n_wakes, n_wakes_allocated;
        bool waking;
        bool draining;            /* start nothing new (STATE/draining, kept across restarts) */
        /* the environment tasks start in (machine.h): read before each start,
         * stored as a row of its own when it changed */
        Machine *machine;
        char *machine_record;
        int64_t environment_id;
        char *systemd_version;
        /* the Slurm backend (docs/slurm.md) */
        Slurm *slurm;
        char *slurm_dir;
        int slurm_fd;
        char *slurm_comment;      /* --comment of our jobs: benchrunner-MACHINE */
};

/* The rest of the system (system.slice, user.slice, init.scope) runs on
 * every CPU that no task holds.  Updated when tasks start and end, put right
 * at start-up (a crashed daemon may have left a restriction behind) and
 * lifted when the daemon stops. */
static const char * const system_units[] = { "system.slice", "user.slice", "init.scope" };

static void on_system_cpus_set(void *userdata, const char *unit, int error, const char *message) {
        Manager *m = userdata;

        if (error < 0 && !m->system_warned) {
                log_warning_errno(error, "Failed to set AllowedCPUs= of %s: %s", unit, message ?: strerror(-error));
                m->system_warned = true;
        }
}

/* wait: at start-up and shutdown; on the way, the calls go out without
 * waiting (systemd handles them in order), as they cost a round trip each. */
static void system_cpus_apply(Manager *m, const CpuSet *busy, bool wait) {
        CpuSet allowed = *topology_online(m->topology);
        const CpuSet *set = &allowed;
        int r;

        cpuset_and_not(&allowed, busy);
        if (cpuset_empty(busy))
                set = NULL; /* all CPUs */
        else if (cpuset_empty(&allowed)) {
                if (!m->system_warned)
                        log_warning("Tasks hold every CPU: the system cannot be kept off them");
                m->system_warned = true;
                set = NULL;
        }
        for (size_t i = 0; i < ELEMENTSOF(system_units); i++) {
                if (wait) {
                        r = unit_set_allowed_cpus(m->units, system_units[i], set);
                        if (r < 0)
                                on_system_cpus_set(m, system_units[i], r, unit_manager_last_error(m->units));
                } else {
                        r = unit_set_allowed_cpus_async(m->units, system_units[i], set, on_system_cpus_set, m);
                        if (r < 0)
                                on_system_cpus_set(m, system_units[i], r, NULL);
                }
        }
        m->system_busy = *busy;
        m->system_known = true;
        {
                _cleanup_(freep) char *f = set ? cpuset_format(set) : NULL;
                log_debug("System slices may use CPUs %s", f ? f : "all");
        }
}

/* CPUs a task gave up go back to the system SYSTEM_RETURN_USEC later if no
 * task took them meanwhile: with a queue of short tasks, or one br-run -w
 * after another, the slices' properties (a drop-in file each, rewritten by
 * systemd) are not set twice per task.  CPUs a task takes are taken from
 * the system at once. */
#define SYSTEM_RETURN_USEC (250 * USEC_PER_MSEC)

static int on_system_return(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        CpuSet busy;

        if (m->shutting_down)
                return 0;
        sched_usage(m->sched, &busy, NULL);
        if (!cpuset_equal(&busy, &m->system_busy))
                system_cpus_apply(m, &busy, false);
        return 0;
}

static void system_cpus_update(Manager *m) {
        CpuSet busy, keep;

        if (m->shutting_down)
                return;
        sched_usage(m->sched, &busy, NULL);
        if (!m->system_known || !m->system_return) {
                if (!m->system_known || !cpuset_equal(&busy, &m->system_busy))
                        system_cpus_apply(m, &busy, !m->system_known);
                return;
        }
        keep = busy;
        cpuset_or(&keep, &m->system_busy);
        if (!cpuset_equal(&keep, &m->system_busy))
                system_cpus_apply(m, &keep, false);
        if (!cpuset_equal(&busy, &keep)) {
                int enabled = SD_EVENT_OFF;
                if (sd_event_source_get_enabled(m->system_return, &enabled) >= 0 && enabled == SD_EVENT_OFF) {
                        (void) sd_event_source_set_time_relative(m->system_return, SYSTEM_RETURN_USEC);
                        (void) sd_event_source_set_enabled(m->system_return, SD_EVENT_ONESHOT);
                }
        }
}

static void live_free(Live *l) {
        if (l)
                machine_counters_done(&l->counters);
        if (!l)
                return;
        unit_free(l->unit);
        slurm_job_free(l->job);
        task_free(l->task);
        free(l);
}

static void live_link(Manager *m, Live *l) {
        l->manager = m;
        l->next = m->live;
        if (m->live)
                m->live->prev = l;
        m->live = l;
        if (idmap_put(&m->live_by_id, l->task->id, l) < 0) {
                log_oom();
                m->live_by_id_partial = true;
        }
}

static void live_unlink(Manager *m, Live *l) {
        if (l->prev)
                l->prev->next = l->next;
        else
                m->live = l->next;
        if (l->next)
                l->next->prev = l->prev;
        l->prev = l->next = NULL;
        (void) idmap_remove(&m->live_by_id, l->task->id);
}

static Live *live_find(Manager *m, int64_t id) {
        Live *l = idmap_get(&m->live_by_id, id);

        if (l || !m->live_by_id_partial)
                return l;
        for (l = m->live; l; l = l->next)
                if (l->task->id == id)
                        return l;
        return NULL;
}

/* ---- fair shares: what each user's queued tasks hold ---- */

static uint64_t strv_bytes(char * const *v) {
        uint64_t b = 0;
        for (; v && *v; v++)
                b += strlen(*v) + 1;
        return b;
}

/* What a queued task costs the daemon's memory, roughly: its strings. */
static uint64_t task_bytes(const Task *t) {
        return strv_bytes(t->argv) + strv_bytes(t->cleanup_argv) + strv_bytes(t->env) +
               (t->name ? strlen(t->name) + 1 : 0) + (t->submit_dir ? strlen(t->submit_dir) + 1 : 0) +
               sizeof(Task) + sizeof(Live);
}

static struct Share *share_of(Manager *m, uid_t uid, bool create) {
        struct Share *p;

        for (size_t i = 0; i < m->n_shares; i++)
                if (m->shares[i].uid == uid)
                        return &m->shares[i];
        if (!create)
                return NULL;
        p = realloc(m->shares, (m->n_shares + 1) * sizeof *p);
        if (!p)
                return NULL;
        m->shares = p;
        p[m->n_shares] = (struct Share) { .uid = uid };
        return &p[m->n_shares++];
}

/* A task entered (+1) or left (-1) the queue; b is its task_bytes(), as
 * its scheduling record carries it. */
static void share_count(Manager *m, uid_t uid, uint64_t b, int sign) {
        struct Share *sh = share_of(m, uid, sign > 0);

        if (!sh)
                return;
        if (sign > 0) {
                sh->tasks++;
                sh->bytes += b;
        } else {
                sh->tasks = sh->tasks ? sh->tasks - 1 : 0;
                sh->bytes = sh->bytes > b ? sh->bytes - b : 0;
        }
}

static uint32_t task_cost(const Task *t) {
        uint64_t b = task_bytes(t);
        return b > UINT32_MAX ? UINT32_MAX : (uint32_t) b;
}

/* ---- held tasks: counted as queued, never given to the scheduler ---- */

static size_t held_index(const Manager *m, int64_t id, bool *ret_found) {
        size_t lo = 0, hi = m->n_held;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (m->held[mid].id == id) {
                        *ret_found = true;
                        return mid;
                }
                if (m->held[mid].id < id)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        *ret_found = false;
        return lo;
}

static int held_add(Manager *m, const SchedTask *st) {
        bool found;
        size_t i = held_index(m, st->id, &found);

        if (found)
                return -EEXIST;
        if (m->n_held == m->n_held_allocated) {
                size_t a = m->n_held_allocated ? 2 * m->n_held_allocated : 64;
                SchedTask *v = reallocarray(m->held, a, sizeof *v);
                if (!v)
                        return -ENOMEM;
                m->held = v;
                m->n_held_allocated = a;
        }
        memmove(m->held + i + 1, m->held + i, (m->n_held - i) * sizeof *m->held);
        m->held[i] = *st;
        m->held[i].held = true;
        m->n_held++;
        return 0;
}

/* Takes id's record out of the held ones into *ret; -ENOENT if not held. */
static int held_take(Manager *m, int64_t id, SchedTask *ret) {
        bool found;
        size_t i = held_index(m, id, &found);

        if (!found)
                return -ENOENT;
        *ret = m->held[i];
        memmove(m->held + i, m->held + i + 1, (m->n_held - i - 1) * sizeof *m->held);
        m->n_held--;
        return 0;
}

/* Into the queue (or, held, among the held); its share is counted. */
static int queue_place(Manager *m, const SchedTask *st) {
        return st->held ? held_add(m, st) : sched_enqueue(m->sched, st);
}

/* Into the queue (or, held, among the held), and counted. */
static int queue_record(Manager *m, const SchedTask *st) {
        int r = queue_place(m, st);
        if (r >= 0)
                share_count(m, st->uid, st->cost, +1);
        return r;
}

/* ---- dependencies: waiting tasks, counted as queued, never given to the
 * scheduler until every task they wait for finished ----
 *
 * A waiter is known by its id (waiters) and listed under each task it
 * waits for (dependents), so that a task that finishes tells its own
 * dependents only.  A cancelled waiter leaves its ids in the lists of the
 * others: they are skipped when those finish. */
typedef struct Waiter {
        SchedTask st;
        unsigned left;            /* dependencies not finished */
        bool after_ok;
} Waiter;

typedef struct Dependents {
        size_t n, allocated;
        int64_t ids[];
} Dependents;

/* Attempts followed from a dependency to the one that counts, at most:
 * more than any chain of attempts gets (MAX_ATTEMPTS, TASK_RETRY_OOM_MAX). */
#define DEP_CHAIN_MAX 64

static int dependents_add(Manager *m, int64_t dep, int64_t id) {
        Dependents *d = idmap_get(&m->dependents, dep);

        if (!d || d->n == d->allocated) {
                size_t a = d ? 2 * d->allocated : 4;
                Dependents *nd;

                /* the map makes its room first (with d, where it is): so
                 * that putting nd in place below cannot fail */
                if (d && idmap_put(&m->dependents, dep, d) < 0)
                        return -ENOMEM;
                nd = realloc(d, sizeof *nd + a * sizeof(int64_t));
                if (!nd)
                        return -ENOMEM;
                if (!d)
                        nd->n = 0;
                nd->allocated = a;
                if (idmap_put(&m->dependents, dep, nd) < 0) {
                        free(nd);   /* a new one: d was NULL */
                        return -ENOMEM;
                }
                d = nd;
        }
        d->ids[d->n++] = id;
        return 0;
}

static bool end_ok(TaskReason reason, bool has_exit_code, int exit_code) {
        return reason == TASK_REASON_EXITED && has_exit_code && exit_code == 0;
}

/* Where dependency id stands, following the attempts queued after it
 * (an oom with a ladder, an interruption): 1 finished (*ret_ok: exited 0),
 * 0 not yet (*ret_id: the attempt to wait for), or a negative errno
 * (-ENOENT: no such task).  The database says: a task that ended is
 * stored finished before its dependents are told (finish_stored()). */
static int dep_resolve(Manager *m, int64_t id, int64_t *ret_id, bool *ret_ok) {
        for (unsigned hop = 0; hop < DEP_CHAIN_MAX; hop++) {
                DbEnd e;
                int r = db_get_end(m->db, id, &e);

                if (r < 0)
                        return r;
                if (e.state != TASK_FINISHED) {
                        *ret_id = id;
                        return 0;
                }
                if (e.next_attempt <= 0) {
                        *ret_ok = end_ok(e.reason, e.has_exit_code, e.exit_code);
                        return 1;
                }
                id = e.next_attempt;
        }
        *ret_ok = false;
        return 1;
}

#define QUEUED_WAITING 1
#define QUEUED_DEP_FAILED 2

/* A task with dependencies enters the queue: among the waiters while one
 * of them has not finished, else as queue_record() puts it.  Returns 0
 * (queued), QUEUED_WAITING, QUEUED_DEP_FAILED (with after_ok, one did not
 * exit 0: the caller ends the task, which is not counted), or a negative
 * errno (nothing done). */
static int queue_after(Manager *m, const SchedTask *st, const int64_t *after, size_t n, bool after_ok) {
        int64_t pending[TASK_AFTER_MAX];
        size_t n_pending = 0;
        Waiter *w;
        int r;

        for (size_t i = 0; i < n && i < TASK_AFTER_MAX; i++) {
                bool ok = false;
                int64_t id;

                r = dep_resolve(m, after[i], &id, &ok);
                if (r == -ENOENT) {
                        /* removed by the retention of old rows: it had finished, how is not known */
                        r = 1;
                        ok = false;
                }
                if (r < 0)
                        return r;
                if (r == 0)
                        pending[n_pending++] = id;
                else if (after_ok && !ok)
                        return QUEUED_DEP_FAILED;
        }
        if (n_pending == 0)
                return queue_record(m, st);
        w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        *w = (Waiter) { .st = *st, .left = (unsigned) n_pending, .after_ok = after_ok };
        r = idmap_put(&m->waiters, st->id, w);
        if (r < 0) {
                free(w);
                return r;
        }
        for (size_t i = 0; i < n_pending; i++) {
                r = dependents_add(m, pending[i], st->id);
                if (r < 0) {
                        /* the lists that have it skip it: there is no waiter */
                        free(idmap_remove(&m->waiters, st->id));
                        return r;
                }
        }
        share_count(m, st->uid, st->cost, +1);
        return QUEUED_WAITING;
}

static int queue_task(Manager *m, const Task *t) {
        SchedTask st = sched_task(t, task_cost(t));

        if (t->n_after > 0)
                return queue_after(m, &st, t->after, t->n_after, t->after_ok);
        return queue_record(m, &st);
}

static void announce(Manager *m, ProtoEvent e, const Task *t) {
        ProtoStats st;

        if (!m->listener)
                return;
        manager_stats(m, &st);
        m->listener(m->listener_userdata, e, t, &st);
}

static Live *live_find(Manager *m, int64_t id);
static void db_trouble(Manager *m);

static char *mfree_str(char *p) {
        free(p);
        return NULL;
}

#define RETRY_FIRST_USEC (100 * USEC_PER_MSEC)
#define RETRY_MAX_USEC (5 * USEC_PER_SEC)

/* A write that cannot be done now (a full disk, the database's busy
 * timeout) is kept: the task stays marked unsaved in memory, nothing new
 * starts, and the retry timer writes every unsaved task again. */
static int save(Manager *m, const Task *t) {
        int r = db_update_task(m->db, t);
        Live *l;

        if (r >= 0)
                return 0;
        if (!m->db_failing)
                log_error_errno(r, "Failed to record task %" PRId64 ", keeping it to write again: %s", t->id,
                                db_last_error(m->db));
        l = live_find(m, t->id);
        if (!l)
                for (l = m->parked; l && l->task != t; l = l->next)
                        ;
        if (l)
                l->unsaved = true;
        db_trouble(m);
        return r;
}

/* ---- ids ----
 *
 * STATE/last-id is written before ids past it are given out, in steps of
 * ID_STEP so that few submits pay for a synced write: after a lost
 * database the next daemon starts above every id that was given out. */
#define ID_STEP 1024

static int reserve_ids(Manager *m, size_t n) {
        int64_t want = m->last_id + (int64_t) n;
        int r;

        if (want <= m->id_reserved)
                return 0;
        r = taskdir_write_last_id(m->state_fd, want + ID_STEP);
        if (r < 0)
                return log_error_errno(r, "Failed to write %s/last-id: %m", m->state_dir);
        m->id_reserved = want + ID_STEP;
        return 0;
}

static void ids_given(Manager *m, Task * const *tasks, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (tasks[i]->id > m->last_id)
                        m->last_id = tasks[i]->id;
}

/* At start: the highest id any earlier database, output or working
 * directory had, and the database's sequence raised to it. */
static int ids_init(Manager *m) {
        int64_t file_id = 0, out_id = 0, work_id = 0, db_id = 0, top;
        int r;

        r = taskdir_read_last_id(m->state_fd, &file_id);
        if (r < 0)
                log_warning_errno(r, "Failed to read %s/last-id, going by the directories: %m", m->state_dir);
        (void) taskdir_max_id(m->output_fd, &out_id);
        (void) taskdir_max_id(m->work_fd, &work_id);
        r = db_last_id(m->db, &db_id);
        if (r < 0)
                return log_error_errno(r, "Failed to read the last task id: %s", db_last_error(m->db));
        top = file_id;
        if (out_id > top)
                top = out_id;
        if (work_id > top)
                top = work_id;
        if (top > db_id) {
                log_info("The database's last task id is %" PRId64 ", but ids up to %" PRId64 " were given out "
                         "before: new tasks get higher ones", db_id, top);
                r = db_raise_last_id(m->db, top);
                if (r < 0)
                        return log_error_errno(r, "Failed to raise the task id sequence: %s", db_last_error(m->db));
        }
        m->last_id = top > db_id ? top : db_id;
        m->id_reserved = file_id;
        return reserve_ids(m, 0);
}

/* ---- output ---- */

/* Keeps the first output_cap bytes of each stream (checked every 2 s while
 * the task runs, and at its end). */
static uint64_t cap_output_at(Manager *m, Task *t, uint64_t cap) {
        uint64_t bytes = 0;
        bool cut = false;

        (void) taskdir_cap_output(t->output_dir, cap, &cut, &bytes);
        if (cut && !t->output_truncated) {
                t->output_truncated = true;
                log_info("Task %" PRId64 ": output cut at %" PRIu64 " bytes", t->id, cap);
                save(m, t);
        }
        return bytes;
}

/* What all its streams hold now. */
static uint64_t cap_output(Manager *m, Task *t) {
        return cap_output_at(m, t, m->config.output_cap_bytes);
}

static void log_retention(const RetentionReport *rep, const char *why) {
        char size[32];

        if (rep->outputs_removed > 0 || rep->rows_deleted > 0)
                log_info("Retention (%s): removed the output of %zu finished task(s), %s, and %zu row(s)", why,
                         rep->outputs_removed, format_size(size, sizeof size, rep->output_bytes_freed),
                         rep->rows_deleted);
        if (rep->remove_failures > 0)
                log_warning_errno(rep->error, "Retention: %zu output directories could not be removed: %m",
                                  rep->remove_failures);
        else if (rep->error < 0)
                log_warning_errno(rep->error, "Retention (%s) stopped: %m", why);
}

/* Each user's output, kept and running, within --max-user-output: their
 * oldest kept output goes first; when their running tasks alone hold more,
 * those are cut, each stream they may have (TASKDIR_STREAMS) to an equal
 * share. */
static void limit_user_output(Manager *m) {
        struct { uid_t uid; uint64_t bytes; unsigned streams; } users[64];
        size_t n = 0;
        uint64_t now = now_usec(CLOCK_REALTIME);

        for (Live *l = m->live; l; l = l->next) {
                Task *t = l->task;
                uint64_t bytes;
                size_t i;

                if (t->state != TASK_RUNNING && t->state != TASK_CLEANUP)
                        continue;
                bytes = cap_output(m, t);
                if (t->backend)
                        continue;   /* the user's directory, not counted */
                for (i = 0; i < n && users[i].uid != t->uid; i++)
                        ;
                if (i == n) {
                        if (n == ELEMENTSOF(users))
                                continue;   /* the rest on a later round */
                        users[n++] = (typeof(users[0])) { .uid = t->uid };
                }
                users[i].bytes += bytes;
                users[i].streams += TASKDIR_STREAMS(t->cleanup_argv != NULL);
        }
        if (!m->retention || m->config.retention.max_user_output == 0)
                return;
        for (size_t i = 0; i < n; i++) {
                RetentionReport rep = {};
                uint64_t room = retention_make_room(m->retention, users[i].uid, users[i].bytes, now, &rep);

                log_retention(&rep, "a user's total");
                if (room >= users[i].bytes)
                        continue;
                log_info("uid " UID_FMT ": running tasks hold %" PRIu64 " bytes of output, past the total of "
                         "%" PRIu64 " each user may keep: cut", users[i].uid, users[i].bytes,
                         m->config.retention.max_user_output);
                for (Live *l = m->live; l; l = l->next)
                        if (l->task->uid == users[i].uid && !l->task->backend &&
                            (l->task->state == TASK_RUNNING || l->task->state == TASK_CLEANUP))
                                (void) cap_output_at(m, l->task, room / users[i].streams ?: 1);
        }
}

/* RETENTION_BUDGET removals per turn of the loop, then again soon. */
#define RETENTION_INTERVAL_USEC (60 * USEC_PER_SEC)
#define RETENTION_BUDGET 1024

static void retention_round(Manager *m) {
        RetentionReport rep = {};
        int r;

        if (!m->retention || m->shutting_down)
                return;
        r = retention_prune(m->retention, now_usec(CLOCK_REALTIME), RETENTION_BUDGET, &rep);
        if (r < 0)
                rep.error = r;
        log_retention(&rep, "age and size");
        (void) sd_event_source_set_time_relative(m->retention_timer,
                                                 r > 0 ? 100 * USEC_PER_MSEC : RETENTION_INTERVAL_USEC);
        (void) sd_event_source_set_enabled(m->retention_timer, SD_EVENT_ONESHOT);
}

static int on_retention_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        retention_round(userdata);
        return 0;
}

/* The database's size is looked at often (two PRAGMAs): a loop of
 * submits and cancels can grow it fast. */
static void check_db_size(Manager *m) {
        uint64_t used;

        if (m->config.retention.keep_tasks_bytes == 0 || db_used_bytes(m->db, &used) < 0 ||
            used <= m->config.retention.keep_tasks_bytes)
                return;
        retention_round(m);
}

static int on_output_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        limit_user_output(m);
        check_db_size(m);
        (void) sd_event_source_set_time_relative(s, 2 * USEC_PER_SEC);
        return 0;
}

/* ---- environment ---- */

static const char *status_word(const TaskResult *r, char *buf, size_t len) {
        switch (r->reason) {
        case TASK_REASON_EXITED:
                snprintf(buf, len, "exited %d", r->exit_code);
                break;
        case TASK_REASON_SIGNALED:
                snprintf(buf, len, "signaled %s", sigabbrev_np(r->signal) ? sigabbrev_np(r->signal) : "?");
                break;
        default:
                snprintf(buf, len, "%s", task_reason_to_string(r->reason));
        }
        return buf;
}

static char **task_env(const Task *t, const char *workdir, bool cleanup) {
        _cleanup_(strv_freep) char **env = NULL;
        char namebuf[64], status[64];
        size_t n = 0;

        if (strv_push_printf(&env, &n, "BENCHRUNNER_TASK=%" PRId64, t->id) < 0 ||
            strv_push_printf(&env, &n, "BENCHRUNNER_NAME=%s", task_display_name(t, namebuf, sizeof namebuf)) < 0 ||
            strv_push_printf(&env, &n, "BENCHRUNNER_CPUS=%s", t->cpus ? t->cpus : "") < 0 ||
            strv_push_printf(&env, &n, "BENCHRUNNER_THREADS=%u", t->threads) < 0 ||
            strv_push_printf(&env, &n, "BENCHRUNNER_SUBMIT_DIR=%s", t->submit_dir) < 0 ||
            strv_push_printf(&env, &n, "BENCHRUNNER_WORKDIR=%s", workdir) < 0)
                return NULL;
        if (cleanup &&
            (strv_push_printf(&env, &n, "BENCHRUNNER_CLEANUP=1") < 0 ||
             strv_push_printf(&env, &n, "BENCHRUNNER_STATUS=%s", status_word(&t->main, status, sizeof status)) < 0))
                return NULL;
        for (char **e = t->env; e && *e; e++)
                if (strv_push_printf(&env, &n, "%s", *e) < 0)
                        return NULL;
        return TAKE_PTR(env);
}

/* ---- the life of a task ---- */

static void finish_task(Live *l);
static void start_cleanup(Live *l);

/* With Type=exec, a command that exits before systemd has seen its
 * execve() succeed fails its start job, although it ran.  systemd's own
 * failures to execute end with statuses 200 and up (EXIT_CHDIR, EXIT_EXEC,
 * ...); anything else is the command's own ending. */
static void fix_quick_exit(TaskResult *r) {
        if (r->reason != TASK_REASON_FAILED_TO_START)
                return;
        if (r->has_exit_code && r->exit_code >= 0 && r->exit_code < 200)
                r->reason = TASK_REASON_EXITED;
        else if (r->has_signal)
                r->reason = TASK_REASON_SIGNALED;
}

/* What the main command's end adds to the record: its group's pressure
 * and throttling, and the warnings (the machine at its start, the
 * counters then and now). */
static void record_end(Manager *m, Live *l) {
        Task *t = l->task;
        MachineCounters end = {};
        CpuSet cpus;
        char **w = NULL;

        memcpy(t->pressure, t->main.pressure, sizeof t->pressure);
        t->has_throttled = t->main.has_throttled;
        t->nr_throttled = t->main.nr_throttled;
        t->throttled_usec = t->main.throttled_usec;
        if (!m->machine || !t->cpus || cpuset_parse(t->cpus, &cpus) < 0)
                return;
        if (l->has_counters && machine_counters_read(m->config.sysfs_root, "/proc", &cpus, &end) < 0)
                return;
        if (machine_warnings(m->machine, &cpus, l->has_counters ? &l->counters : NULL, l->has_counters ? &end : NULL,
                             !unit_manager_is_unified(m->units), &w) >= 0) {
                strv_free(t->warnings);
                t->warnings = w;
        }
        machine_counters_done(&end);
}

static void main_done(void *userdata, const TaskResult *result) {
        Live *l = userdata;
        Manager *m = l->manager;
        Task *t = l->task;

        t->main = *result;
        fix_quick_exit(&t->main);
        record_end(m, l);
        /* Stopped on request: cancelled, however the command took the
         * SIGTERM (its exit code or signal stays recorded). */
        if (l->cancel)
                t->main.reason = TASK_REASON_CANCELLED;
        l->cancel = false;
        m->n_running--;
        (void) cap_output(m, t);
        log_info("Task %" PRId64 " ended: %s", t->id, task_reason_to_string(t->main.reason));

        if (t->cleanup_argv && !m->shutting_down) {
                /* The main result is stored before systemd may forget the
                 * unit, and the cleanup command not yet started (no
                 * cleanup start time): a restart in between starts it. */
                t->state = TASK_CLEANUP;
                t->cleanup = (TaskResult) {};
                save(m, t);
                l->unit = unit_release(l->unit);
                start_cleanup(l);
                return;
        }
        finish_task(l);
}

static void cleanup_done(void *userdata, const TaskResult *result) {
        Live *l = userdata;
        Task *t = l->task;

        t->cleanup = *result;
        fix_quick_exit(&t->cleanup);
        if (l->cancel)
                t->cleanup.reason = TASK_REASON_CANCELLED;
        l->cancel = false;
        l->manager->n_cleanup--;
        finish_task(l);
}

static char *unit_name(int64_t id, bool cleanup) {
        char *n;
        if (asprintf(&n, "benchrunner-task-%" PRId64 "%s.service", id, cleanup ? "-cleanup" : "") < 0)
                return NULL;
        return n;
}

static void warn_by_group(Manager *m, bool by_group) {
        if (by_group && !m->acl_warned) {
                log_warning("%s has no ACLs: output files are readable by their user's group", m->output_dir);
                m->acl_warned = true;
        }
}

static int start_unit(Live *l, bool cleanup) {
        Manager *m = l->manager;
        Task *t = l->task;
        _cleanup_(strv_freep) char **env = NULL;
        _cleanup_(freep) char *name = NULL, *workdir = NULL, *out = NULL, *err = NULL, *env_file = NULL;
        CpuSet cpus, nodes;
        bool numa;
        int r;

        r = cpuset_parse(t->cpus, &cpus);
        if (r < 0)
                return r;
        /* on a machine of several NUMA nodes the task's memory is bound to
         * the nodes of its CPUs (placement keeps them to one where it can) */
        numa = topology_n_nodes(m->topology) > 1;
        if (numa) {
                topology_nodes_of(m->topology, &cpus, &nodes);
                free(t->numa_nodes);
                t->numa_nodes = cpuset_format(&nodes);
        }
        workdir = taskdir_path(m->work_dir, t->id);
        if (!workdir)
                return -ENOMEM;
        env = task_env(t, workdir, cleanup);
        name = unit_name(t->id, cleanup);
        if (!env)
                return -ENOMEM;
        /* the user's variables through a file only root reads: a unit's
         * Environment property is anybody's to read over D-Bus */
        r = taskdir_write_env(m->env_fd, t->id, env);
        if (r < 0)
                return log_error_errno(r, "Task %" PRId64 ": failed to write its environment file: %m", t->id);
        if (asprintf(&env_file, "%s/env/%" PRId64, m->state_dir, t->id) < 0)
                return -ENOMEM;
        /* the cleanup command's output apart from the main command's, so
         * that each can be read as it was (br-log --cleanup) */
        if (!name || asprintf(&out, "%s/%sstdout", t->output_dir, cleanup ? "cleanup-" : "") < 0 ||
            asprintf(&err, "%s/%sstderr", t->output_dir, cleanup ? "cleanup-" : "") < 0)
                return -ENOMEM;
        if (cleanup) {
                bool by_group;

                /* made by us, like stdout and stderr: PID 1 would make
                 * a missing one with its own umask, readable by all */
                r = taskdir_prepare_cleanup(m->output_fd, t->id, t->uid, t->gid, &by_group);
                if (r < 0)
                        return log_error_errno(r, "Task %" PRId64 ": failed to make its cleanup output files: %m",
                                               t->id);
                warn_by_group(m, by_group);
        }

        UnitSpec spec = {
                .name = name,
                .argv = cleanup ? t->cleanup_argv : t->argv,
                .env_file = env_file,
                .uid = t->uid,
                .gid = t->gid,
                /* --in-submit-dir: where the user's relative paths point;
                 * systemd enters it as the user, so it is theirs to enter,
                 * and a directory that is gone fails the start */
                .workdir = t->in_submit_dir ? t->submit_dir : workdir,
                .stdout_path = out,
                .stderr_path = err,
                .cpus = &cpus,
                .numa_nodes = numa ? &nodes : NULL,
                .memory_bytes = t->memory_bytes,
                .runtime_max_usec = cleanup ? t->cleanup_time_limit_usec : t->time_limit_usec,
                .oom_score_adjust = -500,
        };
        return unit_start(m->units, &spec, cleanup ? cleanup_done : main_done, l, &l->unit);
}

static void start_cleanup(Live *l) {
        Manager *m = l->manager;
        Task *t = l->task;
        int r;

        t->state = TASK_CLEANUP;
        t->cleanup = (TaskResult) { .started_usec = now_usec(CLOCK_REALTIME) };
        r = start_unit(l, true);
        if (r < 0) {
                log_error_errno(r, "Task %" PRId64 ": failed to start the cleanup command: %m", t->id);
                t->cleanup.reason = TASK_REASON_FAILED_TO_START;
                t->cleanup.finished_usec = t->cleanup.started_usec;
                save(m, t);
                announce(m, PROTO_EVENT_FINISHED, t);
                finish_task(l);
                return;
        }
        m->n_cleanup++;
        save(m, t);
        announce(m, PROTO_EVENT_FINISHED, t);
}

static void enqueue_stored(Manager *m, Task **tasks, size_t n, int64_t *ret_ids);

/* Attempts of one task at most: a task that a reboot interrupts every time
 * stops coming back. */
#define MAX_ATTEMPTS 5

/* The next attempt of a task that ended, once it is stored: one that ran
 * out of memory with steps of its --retry-oom ladder left gets the first
 * of them (and the rest); one interrupted (its unit gone: a reboot) that
 * asked for it, or every one with --requeue-interrupted, the same again.
 * A new row, attempt + 1, retry_of the first attempt's id; t's
 * next_attempt names it (both stored in one transaction).  Returns the new
 * task, queued but not announced yet (the caller's), or NULL. */
static Task *queue_attempt(Manager *m, Task *t) {
        _cleanup_(task_freep) Task *n = NULL;
        bool oom = t->main.reason == TASK_REASON_OOM && t->n_retry_oom > 0;
        int64_t id;

        if (!oom && (t->main.reason != TASK_REASON_INTERRUPTED || !(t->requeue || m->config.requeue_interrupted)))
                return NULL;
        if (t->next_attempt > 0)
                return NULL;   /* queued already (a second write of the same end) */
        if (!oom && t->attempt >= MAX_ATTEMPTS) {
                log_warning("Task %" PRId64 " was interrupted in its attempt %u: not queued again", t->id, t->attempt);
                return NULL;
        }
        n = task_new();
        if (!n || (t->name && !(n->name = strdup(t->name))) || (t->user && !(n->user = strdup(t->user))) ||
            strv_copy((const char * const *) t->argv, &n->argv) < 0 ||
            (t->env && strv_copy((const char * const *) t->env, &n->env) < 0) ||
            (t->cleanup_argv && strv_copy((const char * const *) t->cleanup_argv, &n->cleanup_argv) < 0) ||
            !(n->submit_dir = strdup(t->submit_dir))) {
                log_oom();
                return NULL;
        }
        n->uid = t->uid;
        n->gid = t->gid;
        n->threads = t->threads;
        n->memory_bytes = t->memory_bytes;
        n->time_limit_usec = t->time_limit_usec;
        n->cleanup_time_limit_usec = t->cleanup_time_limit_usec;
        n->group = t->group;
        n->priority = t->priority;
        n->whole_cores = t->whole_cores;
        n->requeue = t->requeue;
        n->in_submit_dir = t->in_submit_dir;
        /* the dependencies were met: the next attempt does not wait again */
        {
                size_t skip = oom ? 1 : 0;

                if (t->n_retry_oom > skip) {
                        n->retry_oom = reallocarray(NULL, t->n_retry_oom - skip, sizeof(uint64_t));
                        if (n->retry_oom)
                                memcpy(n->retry_oom, t->retry_oom + skip, (t->n_retry_oom - skip) * sizeof(uint64_t));
                        else {
                                log_oom();
                                return NULL;
                        }
                        n->n_retry_oom = t->n_retry_oom - skip;
                }
                if (oom)
                        n->memory_bytes = t->retry_oom[0];
        }
        n->attempt = (t->attempt ? t->attempt : 1) + 1;
        n->retry_of = t->retry_of ? t->retry_of : t->id;
        n->state = TASK_QUEUED;
        if (reserve_ids(m, 1) < 0 || db_insert_attempt(m->db, n, t) < 0) {
                log_error("Task %" PRId64 ": failed to queue attempt %u: %s", t->id, n->attempt, db_last_error(m->db));
                return NULL;
        }
        ids_given(m, &n, 1);
        if (oom) {
                char a[FORMAT_SIZE_MAX], b[FORMAT_SIZE_MAX];
                log_info("Task %" PRId64 " ran out of memory (%s): queued again as task %" PRId64 " with %s "
                         "(attempt %u)", t->id, format_size(a, sizeof a, t->memory_bytes), n->id,
                         format_size(b, sizeof b, n->memory_bytes), n->attempt);
        } else
                log_info("Task %" PRId64 " was interrupted: queued again as task %" PRId64 " (attempt %u)", t->id,
                         n->id, n->attempt);
        enqueue_stored(m, &n, 1, &id);
        return TAKE_PTR(n);
}

static void dependents_wake(Manager *m, const Task *t);

/* The rest of a task's end, once the database holds it finished; l is
 * unlinked and freed.  Returns its unit, which systemd may forget now: the
 * caller releases it (unit_release()) after it started what the freed CPUs
 * let start, since systemd handles a connection's calls in order and
 * stopping a service and its slice costs it a few milliseconds. */
static Unit *finish_stored(Live *l) {
        Manager *m = l->manager;
        Task *t = l->task;
        Unit *u = TAKE_PTR(l->unit);
        Task *next = queue_attempt(m, t);

        sched_release(m->sched, t->id);
        /* its end first, naming the next attempt: a client that follows
         * it follows that one from here on (server.c), and hears it queued */
        announce(m, l->had_cleanup ? PROTO_EVENT_CLEANUP_FINISHED : PROTO_EVENT_FINISHED, t);
        if (next) {
                announce(m, PROTO_EVENT_QUEUED, next);
                task_free(next);
        }
        dependents_wake(m, t);
        live_free(l);
        return u;
}

/* A finished task the database does not hold yet (l is unlinked): kept
 * with its unit and its CPUs until the retry stored it. */
static void park(Manager *m, Live *l) {
        l->next = m->parked;
        if (m->parked)
                m->parked->prev = l;
        m->parked = l;
        l->unsaved = true;
}

/* A task that never ran ends as t->main.reason says (dependency-failed,
 * cancelled): stored and announced, or parked until it can be stored.
 * Takes t. */
static void end_unstarted(Manager *m, Task *t) {
        t->held = false;
        t->main.finished_usec = now_usec(CLOCK_REALTIME);
        t->state = TASK_FINISHED;
        if (save(m, t) < 0) {
                /* announced once stored (write_unsaved()) */
                Live *l = calloc(1, sizeof *l);
                if (!l) {
                        log_oom();
                        task_free(t);
                        return;
                }
                l->manager = m;
                l->task = t;
                park(m, l);
                return;
        }
        announce(m, PROTO_EVENT_FINISHED, t);
        dependents_wake(m, t);
        task_free(t);
}

/* A waiter, or a task about to wait, whose dependency dep did not exit 0
 * (after_ok): it ends as dependency-failed without running.  Takes t. */
static void fail_dependent(Manager *m, Task *t, int64_t dep) {
        if (dep > 0)
                log_info("Task %" PRId64 ": task %" PRId64 " did not exit 0: not run (dependency-failed)", t->id, dep);
        else
                log_info("Task %" PRId64 ": a task it waits for did not exit 0: not run (dependency-failed)", t->id);
        t->main.reason = TASK_REASON_DEPENDENCY_FAILED;
        end_unstarted(m, t);
}

static void fail_dependent_id(Manager *m, int64_t id, int64_t dep) {
        Task *t = NULL;
        int r = db_get_task(m->db, id, &t);

        if (r < 0) {
                /* it stays queued in the database: the next start sees it */
                log_error_errno(r, "Task %" PRId64 ": failed to read it to record its dependency as failed: %s", id,
                                db_last_error(m->db));
                return;
        }
        fail_dependent(m, t, dep);
}

/* A waiter whose last dependency finished: queued, in the place its order
 * gives it, and announced (no longer waiting). */
static void waiter_ready(Manager *m, Waiter *w) {
        _cleanup_(task_freep) Task *t = NULL;
        int r = queue_place(m, &w->st);

        if (r < 0) {
                share_count(m, w->st.uid, w->st.cost, -1);
                log_error_errno(r, "Task %" PRId64 ": its dependencies finished, but it could not be queued: "
                                "it waits for the next start: %m", w->st.id);
                return;
        }
        log_info("Task %" PRId64 ": the tasks it waits for finished: queued", w->st.id);
        if (m->listener && db_get_task(m->db, w->st.id, &t) >= 0)
                announce(m, PROTO_EVENT_QUEUED, t);
        (void) sd_event_source_set_enabled(m->dispatch_later, SD_EVENT_ONESHOT);
}

/* t finished and is stored: the tasks that wait for it are told, those
 * that wait for nothing else are queued, those with after_ok fail if t did
 * not exit 0, and so on down the line (iteratively: a chain of 10 000 that
 * fail one after another must not need a deep stack).  A task with a next
 * attempt hands its dependents on to it. */
static void dependents_wake(Manager *m, const Task *t) {
        if (m->dependents.n == 0)
                return;
        if (m->n_wakes == m->n_wakes_allocated) {
                size_t a = m->n_wakes_allocated ? 2 * m->n_wakes_allocated : 16;
                struct Wake *v = reallocarray(m->wakes, a, sizeof *v);
                if (!v) {
                        log_oom();
                        return;
                }
                m->wakes = v;
                m->n_wakes_allocated = a;
        }
        m->wakes[m->n_wakes++] = (struct Wake) {
                .id = t->id,
                .next = t->next_attempt,
                .ok = end_ok(t->main.reason, t->main.has_exit_code, t->main.exit_code),
        };
        if (m->waking)
                return;
        m->waking = true;
        while (m->n_wakes > 0) {
                struct Wake k = m->wakes[--m->n_wakes];
                _cleanup_(freep) Dependents *d = idmap_remove(&m->dependents, k.id);

                for (size_t i = 0; d && i < d->n; i++) {
                        Waiter *w = idmap_get(&m->waiters, d->ids[i]);

                        if (!w)
                                continue;   /* cancelled meanwhile */
                        if (k.next > 0) {
                                if (dependents_add(m, k.next, d->ids[i]) < 0) {
                                        log_oom();
                                        k.next = 0;   /* then it counts as finished as it is */
                                } else
                                        continue;
                        }
                        if (w->after_ok && !k.ok) {
                                (void) idmap_remove(&m->waiters, d->ids[i]);
                                share_count(m, w->st.uid, w->st.cost, -1);
                                free(w);
                                fail_dependent_id(m, d->ids[i], k.id);
                                continue;
                        }
                        if (w->left > 1) {
                                w->left--;
                                continue;
                        }
                        (void) idmap_remove(&m->waiters, d->ids[i]);
                        waiter_ready(m, w);
                        free(w);
                }
        }
        m->waking = false;
}

static void on_removed(void *userdata, const RemoverReport *rep) {
        char d[FORMAT_DURATION_MAX];

        (void) userdata;
        (void) format_duration(d, sizeof d, rep->usec);
        if (rep->event == REMOVER_KILLED)
                log_warning("Removing %s as uid " UID_FMT " (pid %d) takes more than %s: killed", rep->workdir,
                            rep->uid, (int) rep->pid, d);
        else if (rep->code != CLD_EXITED)
                log_warning("Removing %s as uid " UID_FMT " ended by %s SIG%s after %s: what is left stays",
                            rep->workdir, rep->uid, rep->killed ? "our" : "a", sigabbrev_np(rep->status) ?: "?", d);
        else if (rep->status == TASKDIR_REMOVE_LEFT)
                log_warning("Removing %s as uid " UID_FMT " left what it may not remove (a mount point, "
                            "directories nested too deep, files not the user's) after %s: it stays",
                            rep->workdir, rep->uid, d);
        else if (rep->status != TASKDIR_REMOVE_DONE)
                log_warning("Removing %s as uid " UID_FMT " failed (exit status %d)", rep->workdir, rep->uid,
                            rep->status);
        else if (rep->top_error < 0)
                log_warning_errno(rep->top_error, "Failed to remove %s: %m", rep->workdir);
        else
                log_debug("Removed %s in %s", rep->workdir, d);
}

static void finish_task(Live *l) {
        Manager *m = l->manager;
        Task *t = l->task;
        _cleanup_(freep) char *workdir = taskdir_path(m->work_dir, t->id);
        bool had_cleanup = t->state == TASK_CLEANUP;
        int r;

        if (m->shutting_down) {
                /* Leave the task as it is in the database; the next daemon
                 * finds its unit gone and records what it can. */
                return;
        }
        if (l->prepared) {
                /* in the background: the user's child may be stopped, or slow */
                r = workdir ? remover_start(m->remover, workdir, t->uid, t->gid) : -ENOMEM;
                if (r < 0)
                        log_warning_errno(r, "Task %" PRId64 ": failed to start removing %s: %m", t->id,
                                          workdir ? workdir : "its working directory");
        }
        if (t->output_dir) {
                t->output_bytes = cap_output(m, t);
                t->has_output_bytes = true;
                /* a Slurm task's directory is its user's: retention
                 * neither counts nor removes it (db.c OUTPUT_KEPT) */
                if (m->retention && !t->backend) {
                        RetentionReport rep = {};

                        retention_added(m->retention, t->uid, t->output_bytes);
                        /* its running tasks are looked at on the next round */
                        (void) retention_make_room(m->retention, t->uid, 0, now_usec(CLOCK_REALTIME), &rep);
                        log_retention(&rep, "a user's total");
                }
        }
        taskdir_remove_env(m->env_fd, t->id);
        t->state = TASK_FINISHED;
        l->had_cleanup = had_cleanup;
        live_unlink(m, l);
        if (save(m, t) < 0) {
                park(m, l);
                return;
        }
        Unit *u = finish_stored(l);
        manager_dispatch(m);
        (void) unit_release(u);
}

static bool strv_utf8(char * const *v) {
        for (; v && *v; v++)
                if (!utf8_valid(*v, NULL))
                        return false;
        return true;
}

/* What systemd's D-Bus API can carry: submits are checked so
 * (protocol.c), rows of older daemons may not be. */
static bool startable(const Task *t) {
        return strv_utf8(t->argv) && strv_utf8(t->cleanup_argv) && strv_utf8(t->env) &&
               utf8_valid(t->submit_dir, NULL);
}

/* ---- the environment a task starts in ---- */

/* systemd's version, for the record: asked once. */
static void read_systemd_version(Manager *m) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        char *v = NULL;

        if (m->systemd_version || !m->bus)
                return;
        if (sd_bus_get_property_string(m->bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                       "org.freedesktop.systemd1.Manager", "Version", &error, &v) >= 0)
                m->systemd_version = v;
}

/* Reads the machine (cheap: a few small files) and gives the row of its
 * record, stored when it is new; 0 when it cannot be stored (the task
 * then has no environment, said in the log). */
static int64_t environment_now(Manager *m) {
        _cleanup_(machine_freep) Machine *now = NULL;
        _cleanup_(freep) char *record = NULL;
        int64_t id;
        int r;

        r = machine_read(m->config.sysfs_root, "/proc", &m->config.cpus, &now);
        if (r < 0)
                return 0;
        read_systemd_version(m);
        now->systemd_version = m->systemd_version ? strdup(m->systemd_version) : NULL;
        now->benchrunner_version = strdup(PACKAGE_VERSION);
        now->cgroup_version = unit_manager_is_unified(m->units) ? 2 : 1;
        record = machine_to_json(now);
        if (!record)
                return 0;
        if (m->machine_record && strcmp(record, m->machine_record) == 0 && m->environment_id > 0) {
                machine_free(m->machine);
                m->machine = TAKE_PTR(now);
                return m->environment_id;
        }
        r = db_environment(m->db, record, now_usec(CLOCK_REALTIME), &id);
        if (r < 0) {
                log_warning("Failed to store the environment: %s", db_last_error(m->db));
                return 0;
        }
        if (r > 0)
                log_info("Environment %" PRId64 ": %s", id, record);
        free(m->machine_record);
        m->machine_record = TAKE_PTR(record);
        machine_free(m->machine);
        m->machine = TAKE_PTR(now);
        m->environment_id = id;
        return id;
}

/* Start failures end the task at once, as failed-to-start. */
/* ---- the Slurm backend (docs/slurm.md) ----
 *
 * A task is one job: its script (sbatch.h) runs the command and then the
 * cleanup command in the same allocation, and leaves a record in the
 * task's directory below slurm_dir, which is the user's (the job writes
 * there as the user).  The task is "running" from sbatch on: in Slurm's
 * hands, pending or running there; its results come from the record and
 * from Slurm's final state of the job. */

static void job_submitted(void *userdata, int error, const char *job_id, const char *message);
static void job_changed(void *userdata, const char *state, const char *node);
static void job_ended(void *userdata, const char *state, const char *node);

static const SlurmJobCallbacks job_callbacks = {
        .submitted = job_submitted,
        .changed = job_changed,
        .ended = job_ended,
};

static char *slurm_job_name(int64_t id) {
        char *n;
        if (asprintf(&n, "benchrunner-%" PRId64, id) < 0)
                return NULL;
        return n;
}

static int strdup_to(char **field, const char *v) {
        char *c = v ? strdup(v) : NULL;
        if (v && !c)
                return -ENOMEM;
        free(*field);
        *field = c;
        return 0;
}

/* The task's directory: made by root, then given to the user (the job
 * writes its output and record there as the user), in slurm_dir, which is
 * root's: the user cannot swap the directory itself. */
static int slurm_task_dir(Manager *m, const Task *t) {
        char name[32];

        (void) snprintf(name, sizeof name, "%" PRId64, t->id);
        if (mkdirat(m->slurm_fd, name, 0700) < 0)
                return -errno;
        if (fchownat(m->slurm_fd, name, t->uid, t->gid, AT_SYMLINK_NOFOLLOW) < 0) {
                int e = -errno;
                (void) unlinkat(m->slurm_fd, name, AT_REMOVEDIR);
                return e;
        }
        return 0;
}

/* The record the job left, read as root from the user's directory: never
 * through a symlink, only a regular file of the task's user, of bounded
 * size, without blocking on a FIFO.  0 and *ret, or a negative errno. */
static int slurm_read_record(Manager *m, const Task *t, SbatchRecord *ret) {
        _cleanup_(closep) int dfd = -1, fd = -1;
        _cleanup_(freep) char *buf = NULL;
        char name[32];
        struct stat st;
        size_t n = 0;

        (void) snprintf(name, sizeof name, "%" PRId64, t->id);
        dfd = openat(m->slurm_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        fd = openat(dfd, "record", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode) || st.st_uid != t->uid || st.st_size > SBATCH_RECORD_MAX)
                return -EPERM;
        buf = malloc(SBATCH_RECORD_MAX + 1);
        if (!buf)
                return -ENOMEM;
        while (n < SBATCH_RECORD_MAX) {
                ssize_t k = read(fd, buf + n, SBATCH_RECORD_MAX - n);
                if (k < 0)
                        return -errno;
                if (k == 0)
                        break;
                n += (size_t) k;
        }
        return sbatch_record_parse(buf, n, ret);
}

/* The command that was running when the job ended the way Slurm says:
 * the main command unless it ended and the cleanup command had started. */
static TaskResult *running_part(Task *t, const SbatchRecord *rec) {
        if (rec && rec->main_ended && rec->cleanup_started && !rec->cleanup_ended)
                return &t->cleanup;
        if (rec && rec->main_ended && rec->cleanup_started && rec->cleanup_ended)
                return NULL;
        return rec && rec->main_ended ? NULL : &t->main;
}

/* The results: the record's figures, with Slurm's final state for what
 * a record cannot know (docs/slurm.md has the table). */
static void slurm_results(Manager *m, Live *l, const char *state, const SbatchRecord *rec) {
        Task *t = l->task;
        uint64_t now = now_usec(CLOCK_REALTIME);
        uint64_t submitted = t->main.started_usec;
        TaskResult *part;

        (void) m;
        t->main = (TaskResult) { .started_usec = submitted };
        t->cleanup = (TaskResult) {};
        if (rec && rec->main_started)
                t->main = rec->main;
        if (rec && rec->cleanup_started)
                t->cleanup = rec->cleanup;
        if (!rec || !rec->main_started) {
                /* never ran: refused by the node (a directory it cannot
                 * write), or cancelled, or lost, while pending */
                t->main.reason = TASK_REASON_FAILED_TO_START;
                t->main.finished_usec = now;
        } else if (!rec->main_ended) {
                /* the job died under it */
                t->main.reason = TASK_REASON_INTERRUPTED;
                t->main.finished_usec = now;
        }
        if (rec && rec->cleanup_started && !rec->cleanup_ended) {
                t->cleanup.reason = TASK_REASON_INTERRUPTED;
                t->cleanup.finished_usec = now;
        }
        part = running_part(t, rec);
        if (state && streq(state, "OUT_OF_MEMORY")) {
                /* the cgroup's OOM kill: the command it hit, which the
                 * script then saw end by SIGKILL */
                if (rec && rec->cleanup_started && t->main.reason == TASK_REASON_EXITED && t->main.exit_code == 0)
                        t->cleanup.reason = TASK_REASON_OOM;
                else
                        t->main.reason = TASK_REASON_OOM;
        } else if (state && streq(state, "TIMEOUT")) {
                if (part)
                        part->reason = TASK_REASON_TIME_LIMIT;
        } else if (l->cancel || (state && streq(state, "CANCELLED"))) {
                /* scancel sends SIGTERM to every process of the job: the
                 * command it stopped ended by a signal, or not at all */
                if (part)
                        part->reason = TASK_REASON_CANCELLED;
                else if (t->main.reason == TASK_REASON_SIGNALED)
                        t->main.reason = TASK_REASON_CANCELLED;
                else if (t->cleanup.reason == TASK_REASON_SIGNALED)
                        t->cleanup.reason = TASK_REASON_CANCELLED;
        } else if (state && (streq(state, "NODE_FAIL") || streq(state, "PREEMPTED") || streq(state, "BOOT_FAIL") ||
                             streq(state, "DEADLINE"))) {
                if (part)
                        part->reason = TASK_REASON_INTERRUPTED;
        }
        if (t->main.finished_usec == 0)
                t->main.finished_usec = now;
        if (rec) {
                if (rec->node && !t->node)
                        (void) strdup_to(&t->node, rec->node);
                if (rec->cpus)
                        (void) strdup_to(&t->cpus, rec->cpus);
        }
        /* finish_task() counts it as having had a cleanup */
        if (t->cleanup_argv && rec && rec->cleanup_started)
                t->state = TASK_CLEANUP;
}

static void job_ended(void *userdata, const char *state, const char *node) {
        Live *l = userdata;
        Manager *m = l->manager;
        Task *t = l->task;
        SbatchRecord rec = {};
        int r;

        if (node && !t->node)
                (void) strdup_to(&t->node, node);
        r = slurm_read_record(m, t, &rec);
        if (r < 0 && r != -ENOENT)
                log_warning_errno(r, "Task %" PRId64 ": its job's record is not readable: %m", t->id);
        slurm_results(m, l, state, r >= 0 ? &rec : NULL);
        sbatch_record_done(&rec);
        l->cancel = false;
        m->n_running--;
        log_info("Task %" PRId64 " ended: %s (Slurm job %s: %s)", t->id, task_reason_to_string(t->main.reason),
                 t->job_id ? t->job_id : "?", state ? state : "no longer known to slurmctld");
        finish_task(l);
}

static void job_changed(void *userdata, const char *state, const char *node) {
        Live *l = userdata;
        Task *t = l->task;

        if (node && (!t->node || !streq(t->node, node))) {
                (void) strdup_to(&t->node, node);
                save(l->manager, t);
        }
        log_debug("Task %" PRId64 ": Slurm job %s is %s", t->id, t->job_id ? t->job_id : "?", state);
}

static void job_submitted(void *userdata, int error, const char *job_id, const char *message) {
        Live *l = userdata;
        Manager *m = l->manager;
        Task *t = l->task;

        if (error < 0) {
                size_t n = 0;

                log_error("Task %" PRId64 ": sbatch refused it: %s", t->id, message);
                l->job = slurm_job_free(l->job);
                t->main.reason = TASK_REASON_FAILED_TO_START;
                t->main.finished_usec = now_usec(CLOCK_REALTIME);
                (void) strv_push_printf(&t->warnings, &n, "sbatch: %s", message);
                m->n_running--;
                finish_task(l);
                return;
        }
        (void) strdup_to(&t->job_id, job_id);
        save(m, t);
        log_info("Task %" PRId64 " is Slurm job %s", t->id, job_id);
}

/* A task whose start is undone: queued, as before it. */
static void unstart(Task *t) {
        t->state = TASK_QUEUED;
        t->main = (TaskResult) {};
        t->cpus = mfree_str(t->cpus);
        t->output_dir = mfree_str(t->output_dir);
}

/* A task found at recovery to have never started: queued again and
 * stored so (a queue that cannot take it ends it as failed to start); l
 * is freed. */
static void queue_again(Manager *m, Live *l) {
        Task *t = l->task;

        unstart(t);
        if (queue_task(m, t) < 0) {
                t->main.reason = TASK_REASON_FAILED_TO_START;
                t->main.finished_usec = now_usec(CLOCK_REALTIME);
                t->state = TASK_FINISHED;
        }
        save(m, t);
        l->unsaved = false;
        live_unlink(m, l);
        live_free(l);
}

/* A start that could not store the task's start: the database still
 * says queued, and so does the task again. */
static void back_to_queue(Manager *m, Live *l) {
        Task *t = l->task;

        unstart(t);
        m->n_running--;
        sched_release(m->sched, t->id);
        if (queue_task(m, t) < 0)
                log_error("Task %" PRId64 " could not be queued again", t->id);
        live_unlink(m, l);
        live_free(l);
}

/* A start that failed: recorded and announced; the caller ends the task
 * or runs its cleanup. */
static void start_failed(Manager *m, Task *t) {
        t->main.reason = TASK_REASON_FAILED_TO_START;
        t->main.finished_usec = now_usec(CLOCK_REALTIME);
        m->n_running--;
        save(m, t);
        announce(m, PROTO_EVENT_STARTED, t);
}

static void start_slurm_task(Manager *m, Live *l) {
        Task *t = l->task;
        _cleanup_(freep) char *script = NULL, *why = NULL;
        int r;

        t->state = TASK_RUNNING;
        t->main = (TaskResult) { .started_usec = now_usec(CLOCK_REALTIME) };
        m->n_running++;
        if (strdup_to(&t->backend, "slurm") < 0 || strdup_to(&t->cluster, slurm_cluster(m->slurm)) < 0 ||
            strdup_to(&t->job_id, NULL) < 0 || strdup_to(&t->node, NULL) < 0 || strdup_to(&t->cpus, NULL) < 0 ||
            strdup_to(&t->unit, NULL) < 0) {
                r = -ENOMEM;
                goto fail;
        }
        strv_free(t->warnings);
        t->warnings = NULL;
        if (!slurm_private_tmp(m->slurm)) {
                size_t nw = 0;
                if (strv_push_printf(&t->warnings, &nw, "the cluster has no job_container/tmpfs: /tmp was the "
                                     "node's own, shared with other jobs") < 0) {
                        r = -ENOMEM;
                        goto fail;
                }
        }
        free(t->output_dir);
        t->output_dir = taskdir_path(m->slurm_dir, t->id);
        if (!t->output_dir) {
                r = -ENOMEM;
                goto fail;
        }
        SbatchOptions o = {
                .dir = t->output_dir,
                .partition = m->config.slurm_config.partition,
                .comment = m->slurm_comment,
                .stop_timeout_usec = TASK_STOP_TIMEOUT_USEC,
        };
        r = sbatch_script(t, &o, &script, &why);
        if (r < 0) {
                log_error("Task %" PRId64 ": cannot be written as a batch script: %s", t->id,
                          why ? why : strerror(-r));
                goto fail;
        }
        r = slurm_task_dir(m, t);
        if (r < 0) {
                log_error_errno(r, "Task %" PRId64 ": failed to make %s: %m", t->id, t->output_dir);
                t->output_dir = mfree_str(t->output_dir);
                goto fail;
        }
        /* stored before sbatch runs: a restart in between looks for the
         * job by its name (recover_slurm()) */
        if (save(m, t) < 0) {
                char name[32];

                (void) snprintf(name, sizeof name, "%" PRId64, t->id);
                (void) unlinkat(m->slurm_fd, name, AT_REMOVEDIR);
                back_to_queue(m, l);
                return;
        }
        r = slurm_submit(m->slurm, script, t->uid, t->gid, &job_callbacks, l, &l->job);
        if (r < 0) {
                log_error_errno(r, "Task %" PRId64 ": failed to submit it to Slurm: %m", t->id);
                goto fail;
        }
        announce(m, PROTO_EVENT_STARTED, t);
        return;

fail:
        start_failed(m, t);
        finish_task(l);
}

/* After a restart: the job again by its id; a task stored just before
 * its sbatch ran is looked for by its job's name and comment, and queued
 * again when Slurm never got it. */
static void recover_slurm(Manager *m, Live *l) {
        Task *t = l->task;
        _cleanup_(freep) char *id = NULL, *name = NULL;
        int r;

        m->n_running++;
        if (!m->slurm) {
                log_error("Task %" PRId64 " is Slurm job %s, but this daemon runs without --backend=slurm: "
                          "recorded as interrupted", t->id, t->job_id ? t->job_id : "?");
                slurm_results(m, l, "NODE_FAIL", NULL);
                t->main.reason = TASK_REASON_INTERRUPTED;
                m->n_running--;
                finish_task(l);
                return;
        }
        if (!t->job_id) {
                name = slurm_job_name(t->id);
                r = name ? slurm_find(m->slurm, name, m->slurm_comment, t->uid, &id) : -ENOMEM;
                if (r < 0)
                        log_warning_errno(r, "Task %" PRId64 ": could not ask Slurm for its job: %m", t->id);
                if (r <= 0) {
                        char dir[32];

                        log_info("Task %" PRId64 ": Slurm has no job of it: queued again", t->id);
                        (void) snprintf(dir, sizeof dir, "%" PRId64, t->id);
                        (void) unlinkat(m->slurm_fd, dir, AT_REMOVEDIR);
                        m->n_running--;
                        queue_again(m, l);
                        return;
                }
                t->job_id = TAKE_PTR(id);
                save(m, t);
        }
        r = slurm_follow(m->slurm, t->job_id, &job_callbacks, l, &l->job);
        if (r < 0) {
                log_oom();
                return;
        }
        log_info("Task %" PRId64 ": following Slurm job %s again", t->id, t->job_id);
}

static void start_task(Manager *m, Live *l, const CpuSet *cpus) {
        Task *t = l->task;
        _cleanup_(freep) char *workdir = NULL;
        int r;

        if (m->slurm) {
                start_slurm_task(m, l);
                return;
        }

        _cleanup_(freep) char *name = unit_name(t->id, false);

        free(t->cpus);
        t->cpus = cpuset_format(cpus);
        /* No unit in the row until systemd has it: a restart in between
         * looks for the unit, and queues the task again if it is not
         * there (the command never ran). */
        free(t->unit);
        t->unit = NULL;
        free(t->output_dir);
        t->output_dir = taskdir_path(m->output_dir, t->id);
        workdir = taskdir_path(m->work_dir, t->id);
        t->state = TASK_RUNNING;
        t->environment_id = environment_now(m);
        l->has_counters = machine_counters_read(m->config.sysfs_root, "/proc", cpus, &l->counters) >= 0;
        /* those running now run beside it, and it beside each of them */
        t->tasks_beside = 0;
        t->has_beside = true;
        for (Live *o = m->live; o; o = o->next)
                if (o != l && o->task->state == TASK_RUNNING) {
                        t->tasks_beside++;
                        o->task->tasks_beside++;
                }
        t->main.started_usec = now_usec(CLOCK_REALTIME);
        m->n_running++;
        if (!t->cpus || !name || !t->output_dir || !workdir) {
                r = -ENOMEM;
                goto fail;
        }

        if (!startable(t)) {
                /* an older daemon's row: systemd would refuse it */
                log_error("Task %" PRId64 ": its command, environment or directory is not UTF-8: "
                          "systemd cannot start it", t->id);
                r = -EINVAL;
                goto fail;
        }
        {
                bool by_group;

                r = taskdir_prepare(m->work_fd, m->output_fd, t->id, t->uid, t->gid, &by_group);
                if (r == -EEXIST) {
                        /* not this task's: never handed to its user */
                        log_error("Task %" PRId64 ": %s or %s is there already; it stays as it is, "
                                  "and the task does not start", t->id, workdir, t->output_dir);
                        t->output_dir = mfree_str(t->output_dir);
                        goto fail;
                }
                if (r < 0) {
                        log_error_errno(r, "Task %" PRId64 ": failed to prepare its directories: %m", t->id);
                        t->output_dir = mfree_str(t->output_dir);
                        goto fail;
                }
                warn_by_group(m, by_group);
        }
        l->prepared = true;

        if (save(m, t) < 0) {
                /* Not started: the database still says queued, and so
                 * does the task again. */
                back_to_queue(m, l);
                return;
        }
        r = start_unit(l, false);
        if (r < 0) {
                log_error_errno(r, "Task %" PRId64 ": failed to start %s: %m", t->id, name);
                goto fail;
        }
        t->unit = TAKE_PTR(name);
        save(m, t);
        log_info("Task %" PRId64 " started as %s on CPUs %s", t->id, t->unit, t->cpus);
        announce(m, PROTO_EVENT_STARTED, t);
        return;

fail:
        start_failed(m, t);
        if (t->cleanup_argv && t->cpus && t->output_dir && l->prepared)
                start_cleanup(l);
        else
                finish_task(l);
}

/* Iterative: a start that fails ends its task, and the end of a task asks
 * for a dispatch again; from inside a dispatch that only notes it (a chain
 * of 25 000 failing tasks once overflowed the stack this way). */
/* Starts per turn of the event loop: a long run of starts (or of start
 * failures) goes on when the loop has nothing else to do. */
#define DISPATCH_BATCH 64

static int on_dispatch_later(sd_event_source *s, void *userdata) {
        manager_dispatch(userdata);
        return 0;
}

/* The database could not be read or written: nothing starts until the
 * retry timer got through. */
static void db_trouble(Manager *m) {
        if (m->db_failing)
                return;
        m->db_failing = true;
        m->retry_usec = RETRY_FIRST_USEC;
        (void) sd_event_source_set_time_relative(m->retry_timer, m->retry_usec);
        (void) sd_event_source_set_enabled(m->retry_timer, SD_EVENT_ONESHOT);
}

/* A queued task about to start, read whole from the database. */
static int live_load(Manager *m, const SchedTask *st, Live **ret) {
        _cleanup_(task_freep) Task *t = NULL;
        Live *l;
        int r;

        r = db_get_task(m->db, st->id, &t);
        if (r < 0)
                return r;
        l = calloc(1, sizeof *l);
        if (!l)
                return -ENOMEM;
        l->task = TAKE_PTR(t);
        live_link(m, l);
        *ret = l;
        return 0;
}

void manager_dispatch(Manager *m) {
        SchedTask st;
        CpuSet cpus;
        unsigned started = 0;

        if (m->shutting_down || m->recovering || m->draining)
                return;
        if (m->dispatching) {
                m->dispatch_again = true;
                return;
        }
        m->dispatching = true;
        do {
                m->dispatch_again = false;
                while (!m->db_failing && started < DISPATCH_BATCH &&
                       (!m->slurm || slurm_n_jobs(m->slurm) < m->config.slurm_max_jobs) &&
                       sched_next(m->sched, now_usec(CLOCK_REALTIME), &st, &cpus) > 0) {
                        Live *l = NULL;
                        int r;

                        share_count(m, st.uid, st.cost, -1);
                        r = live_load(m, &st, &l);
                        if (r < 0) {
                                sched_release(m->sched, st.id);
                                if (r == -ENOENT) {
                                        /* cannot happen: queued rows are never deleted */
                                        log_error("Task %" PRId64 " was queued, but its row is gone", st.id);
                                        continue;
                                }
                                log_error_errno(r, "Task %" PRId64 ": failed to read it to start it, "
                                                "trying again later: %s", st.id, db_last_error(m->db));
                                (void) queue_record(m, &st);
                                db_trouble(m);
                                break;
                        }
                        /* Slurm places it: the scheduler only gave the order */
                        if (m->slurm)
                                sched_release(m->sched, st.id);
                        start_task(m, l, &cpus);
                        started++;
                }
        } while (m->dispatch_again && !m->db_failing && started < DISPATCH_BATCH);
        m->dispatching = false;
        if (started >= DISPATCH_BATCH && m->dispatch_later)
                (void) sd_event_source_set_enabled(m->dispatch_later, SD_EVENT_ONESHOT);
        if (!m->slurm)
                system_cpus_update(m);
}

/* ---- requests ---- */

/* A burst of large requests (a batch of 100 000 tasks, a list of all of
 * them) leaves the heap full of freed pages that malloc keeps: given back
 * a second after the burst, so that the daemon stays small with a long
 * queue (bench/submit measures it). */
#define TRIM_DELAY_USEC USEC_PER_SEC

static int on_trim_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        (void) malloc_trim(0);
        return 0;
}

static void trim_later(Manager *m) {
        int enabled = SD_EVENT_OFF;

        if (!m->trim_timer || (sd_event_source_get_enabled(m->trim_timer, &enabled) >= 0 && enabled != SD_EVENT_OFF))
                return;
        (void) sd_event_source_set_time_relative(m->trim_timer, TRIM_DELAY_USEC);
        (void) sd_event_source_set_enabled(m->trim_timer, SD_EVENT_ONESHOT);
}

bool manager_may_submit(Manager *m, uid_t uid, const gid_t *groups, size_t n_groups) {
        if (uid == 0 || uid == m->config.owner)
                return true;
        if (!m->config.has_group)
                return false;
        for (size_t i = 0; i < n_groups; i++)
                if (groups[i] == m->config.group)
                        return true;
        return false;
}

/* A spec's retry_of names the task it retries (br-retry): a finished one
 * of the submitter's (root: anybody's, whose environment it sees anyway).
 * The new task becomes the next attempt of that one's first. */
static int admit_retry(Manager *m, Task *t, uid_t uid, char **ret_why) {
        _cleanup_(task_freep) Task *o = NULL;
        int r;

        if (t->retry_of <= 0)
                return 0;
        r = db_get_task(m->db, t->retry_of, &o);
        if (r == -ENOENT) {
                (void) asprintf(ret_why, "retry_of: no task %" PRId64, t->retry_of);
                return r;
        }
        if (r < 0) {
                (void) asprintf(ret_why, "could not read task %" PRId64 ": %s", t->retry_of, db_last_error(m->db));
                return r;
        }
        if (uid != 0 && uid != o->uid) {
                (void) asprintf(ret_why, "task %" PRId64 " belongs to another user: only its owner and root may "
                                "retry it", o->id);
                return -EPERM;
        }
        if (o->state != TASK_FINISHED) {
                (void) asprintf(ret_why, "task %" PRId64 " is %s: only finished tasks are retried", o->id,
                                task_state_to_string(o->state));
                return -EBUSY;
        }
        t->attempt = (o->attempt ? o->attempt : 1) + 1;
        t->retry_of = o->retry_of ? o->retry_of : o->id;
        return 0;
}

/* Dependencies must be tasks there are (anybody's: waiting for another
 * user's task tells nothing of it but when it ended); ids not given out
 * yet cannot be named, so no cycle can be made. */
static int admit_after(Manager *m, Task *t, char **ret_why) {
        for (size_t i = 0; i < t->n_after; i++) {
                DbEnd e;
                int r = db_get_end(m->db, t->after[i], &e);

                if (r == -ENOENT) {
                        (void) asprintf(ret_why, "after: no task %" PRId64, t->after[i]);
                        return r;
                }
                if (r < 0) {
                        (void) asprintf(ret_why, "could not read task %" PRId64 ": %s", t->after[i],
                                        db_last_error(m->db));
                        return r;
                }
        }
        return 0;
}

/* Fills in who submitted t and the daemon's defaults, and checks that it
 * can run here; *ret_why (may stay NULL) says why not. */
static int admit(Manager *m, Task *t, uid_t uid, gid_t gid, const char *user, char **ret_why) {
        unsigned ncpus = m->n_cpus;
        int r;

        t->uid = uid;
        t->gid = gid;
        free(t->user);
        t->user = user ? strdup(user) : NULL;
        t->state = TASK_QUEUED;
        if (t->memory_bytes == 0) {
                /* the task's share: threads x memory / threads given */
                t->memory_bytes = m->config.memory_bytes / ncpus * t->threads;
                if (t->memory_bytes > m->config.memory_bytes)
                        t->memory_bytes = m->config.memory_bytes;
        }
        if (t->cleanup_argv && t->cleanup_time_limit_usec == 0)
                t->cleanup_time_limit_usec = m->config.cleanup_time_limit_usec;
        SchedTask st = sched_task(t, 0);
        r = sched_check(m->sched, &st, ret_why);
        if (r < 0)
                return r;
        /* every step of the ladder must fit here too: an attempt that
         * could never run would fail only when its turn comes */
        for (size_t i = 0; i < t->n_retry_oom; i++) {
                _cleanup_(freep) char *why = NULL;
                char a[FORMAT_SIZE_MAX], b[FORMAT_SIZE_MAX];

                if (t->retry_oom[i] <= (i > 0 ? t->retry_oom[i - 1] : t->memory_bytes)) {
                        (void) asprintf(ret_why, "retry_oom[%zu]: %s is not more than %s", i,
                                        format_size(a, sizeof a, t->retry_oom[i]),
                                        format_size(b, sizeof b, i > 0 ? t->retry_oom[i - 1] : t->memory_bytes));
                        return -EINVAL;
                }
                st.memory_bytes = t->retry_oom[i];
                r = sched_check(m->sched, &st, &why);
                if (r < 0) {
                        (void) asprintf(ret_why, "retry_oom[%zu]: %s", i, why ? why : "cannot run here");
                        return r;
                }
        }
        r = admit_retry(m, t, uid, ret_why);
        if (r < 0)
                return r;
        return admit_after(m, t, ret_why);
}

/* Takes stored tasks into the queue (their scheduling records; the tasks
 * stay the caller's), or among the waiters: from here on nothing may fail.
 * A task whose dependency failed already (after_ok) ends at once: it is
 * taken (tasks[i] set to NULL). */
static void enqueue_stored(Manager *m, Task **tasks, size_t n, int64_t *ret_ids) {
        for (size_t i = 0; i < n; i++) {
                int r = queue_task(m, tasks[i]);

                ret_ids[i] = tasks[i]->id;
                if (r == QUEUED_DEP_FAILED)
                        fail_dependent(m, TAKE_PTR(tasks[i]), 0);
                else if (r < 0)
                        /* Stored but not scheduled: the next start picks it up. */
                        log_error_errno(r, "Task %" PRId64 " is stored, but could not be queued: it waits "
                                        "for the next start: %m", tasks[i]->id);
        }
}

/* A request sent again under the same token (the client lost the
 * connection before the answer): 1 with the ids stored the first time, and
 * the tasks freed; 0 when the token is new. */
static int resubmitted(Manager *m, uid_t uid, Task **tasks, size_t n, int64_t *ret_ids, char **ret_error) {
        _cleanup_(freep) int64_t *ids = NULL;
        size_t found;
        int r;

        r = db_find_submission(m->db, uid, tasks[0]->submit_token, &ids, &found);
        if (r < 0) {
                (void) asprintf(ret_error, "could not look up the submit token: %s", db_last_error(m->db));
                return r;
        }
        if (found == 0)
                return 0;
        if (found != n) {
                (void) asprintf(ret_error, "token %s was used for a request of %zu task(s), not %zu",
                                tasks[0]->submit_token, found, n);
                return -EEXIST;
        }
        log_info("Request %s from uid " UID_FMT " came again: answered with the %zu task(s) stored",
                 tasks[0]->submit_token, uid, n);
        for (size_t i = 0; i < n; i++) {
                ret_ids[i] = ids[i];
                tasks[i] = task_free(tasks[i]);
        }
        return 1;
}

/* A user's queued tasks may hold so many tasks and so many bytes; priority
 * groups above --max-user-group are for root and the daemon's owner. */
static int check_share(Manager *m, uid_t uid, Task **tasks, size_t n, char **ret_error) {
        struct Share *sh = share_of(m, uid, false);
        uint64_t bytes = 0;
        bool trusted = uid == 0 || uid == m->config.owner;

        for (size_t i = 0; i < n; i++) {
                if (!trusted && tasks[i]->group > m->config.max_user_group) {
                        (void) asprintf(ret_error, "priority group %d is above %d, the highest for users other "
                                        "than root and the daemon's owner (benchrunnerd --max-user-group)",
                                        tasks[i]->group, m->config.max_user_group);
                        return -EPERM;
                }
                bytes += task_bytes(tasks[i]);
        }
        if ((sh ? sh->tasks : 0) + n > m->config.max_queued_per_user) {
                (void) asprintf(ret_error, "too many queued tasks: at most %u per user",
                                m->config.max_queued_per_user);
                return -EDQUOT;
        }
        if (m->config.max_queued_bytes_per_user && (sh ? sh->bytes : 0) + bytes > m->config.max_queued_bytes_per_user) {
                char a[FORMAT_SIZE_MAX], b[FORMAT_SIZE_MAX];
                (void) asprintf(ret_error, "queued tasks too large: yours would take %s, at most %s per user "
                                "(their commands, environments and directories)",
                                format_size(a, sizeof a, (sh ? sh->bytes : 0) + bytes),
                                format_size(b, sizeof b, m->config.max_queued_bytes_per_user));
                return -EDQUOT;
        }
        return 0;
}

/* What a submit and an import check first. 1: the same token's tasks
 * were stored already, and ret_ids has their ids. */
static int may_add(Manager *m, uid_t uid, Task **tasks, size_t n, int64_t *ret_ids, char **ret_error) {
        if (m->shutting_down) {
                *ret_error = strdup("the daemon is shutting down");
                return -ESHUTDOWN;
        }
        if (n > 0 && tasks[0]->submit_token)
                return resubmitted(m, uid, tasks, n, ret_ids, ret_error);
        return 0;
}

/* New tasks into the database, with their ids, in one transaction. */
static int store_new(Manager *m, Task **tasks, size_t n, char **ret_error) {
        int r;

        r = reserve_ids(m, n);
        if (r < 0) {
                (void) asprintf(ret_error, "could not store the task%s: cannot record %s: %s", n > 1 ? "s" : "",
                                n > 1 ? "their ids" : "its id", strerror(-r));
                return r;
        }
        r = db_insert_tasks(m->db, tasks, n);
        if (r < 0) {
                log_error_errno(r, "Failed to store %zu task(s): %s", n, db_last_error(m->db));
                (void) asprintf(ret_error, "could not store the task%s: %s", n > 1 ? "s" : "", db_last_error(m->db));
                return r;
        }
        ids_given(m, tasks, n);
        return 0;
}

int manager_submit(Manager *m, uid_t uid, gid_t gid, Task **tasks, size_t n, int64_t *ret_ids, char **ret_error) {
        _cleanup_(freep) char *user = NULL;
        int r;

        r = may_add(m, uid, tasks, n, ret_ids, ret_error);
        if (r != 0)
                return r < 0 ? r : 0;
        r = check_share(m, uid, tasks, n, ret_error);
        if (r < 0)
                return r;
        user = uid_to_user_name(uid);
        for (size_t i = 0; i < n; i++) {
                _cleanup_(freep) char *why = NULL;

                r = admit(m, tasks[i], uid, gid, user, &why);
                if (r < 0) {
                        if (n > 1)
                                (void) asprintf(ret_error, "task %zu of %zu: %s", i + 1, n, why ? why : "cannot run here");
                        else
                                *ret_error = why ? TAKE_PTR(why) : strdup("cannot run here");
                        return r;
                }
        }

        r = store_new(m, tasks, n, ret_error);
        if (r < 0)
                return r;
        enqueue_stored(m, tasks, n, ret_ids);
        log_info("Queued %zu task(s) from uid " UID_FMT, n, uid);
        for (size_t i = 0; i < n; i++) {
                if (!tasks[i])
                        continue;   /* ended already (dependency-failed) */
                tasks[i]->waiting = idmap_get(&m->waiters, tasks[i]->id) != NULL;
                announce(m, PROTO_EVENT_QUEUED, tasks[i]);
                tasks[i] = task_free(tasks[i]);
        }
        trim_later(m);
        manager_dispatch(m);
        return 0;
}

/* How far ahead of this clock an imported time may lie: a cluster's
 * clocks drift and its nodes may sit in another time zone's idea of UTC
 * by mistake, but a record from next week is made up. */
#define IMPORT_FUTURE_USEC (24 * 3600 * USEC_PER_SEC)

static bool import_time_ok(const TaskResult *r, uint64_t now) {
        return r->started_usec <= now + IMPORT_FUTURE_USEC && r->finished_usec <= now + IMPORT_FUTURE_USEC;
}

int manager_import(Manager *m, uid_t uid, gid_t gid, Task **tasks, size_t n, int64_t *ret_ids, char **ret_error) {
        _cleanup_(freep) char *user = NULL;
        uint64_t now = now_usec(CLOCK_REALTIME);
        int r;

        r = may_add(m, uid, tasks, n, ret_ids, ret_error);
        if (r != 0)
                return r < 0 ? r : 0;
        user = uid_to_user_name(uid);
        for (size_t i = 0; i < n; i++) {
                Task *t = tasks[i];

                if (!import_time_ok(&t->main, now) || !import_time_ok(&t->cleanup, now)) {
                        (void) asprintf(ret_error, "tasks[%zu]: a time more than a day ahead of this machine's "
                                        "clock", i);
                        return -EINVAL;
                }
                /* the owner is the connection's, whatever the record says;
                 * nothing of it runs here, so nothing is queued */
                t->uid = uid;
                t->gid = gid;
                free(t->user);
                t->user = user ? strdup(user) : NULL;
                t->state = TASK_FINISHED;
                t->held = false;
                t->attempt = 1;
                free(t->backend);
                t->backend = strdup("slurm-export");
                if (!t->backend || (user && !t->user)) {
                        *ret_error = strdup("out of memory");
                        return -ENOMEM;
                }
                /* when it came to benchrunner's knowledge: its start, where
                 * the record has one */
                t->queued_usec = t->main.started_usec ? t->main.started_usec : now;
        }
        r = store_new(m, tasks, n, ret_error);
        if (r < 0)
                return r;
        log_info("Imported %zu finished task(s) from uid " UID_FMT, n, uid);
        for (size_t i = 0; i < n; i++) {
                ret_ids[i] = tasks[i]->id;
                announce(m, PROTO_EVENT_FINISHED, tasks[i]);
                tasks[i] = task_free(tasks[i]);
        }
        trim_later(m);
        return 0;
}

/* A task that is not running: taken off the queue, recorded cancelled. */
static int cancel_queued(Manager *m, uid_t uid, int64_t id, char **ret_error) {
        _cleanup_(task_freep) Task *t = NULL;
        SchedTask key, st;
        int r;

        r = db_get_task(m->db, id, &t);
        if (r == -ENOENT) {
                (void) asprintf(ret_error, "no task %" PRId64, id);
                return r;
        }
        if (r < 0) {
                (void) asprintf(ret_error, "could not read task %" PRId64 ": %s", id, db_last_error(m->db));
                return r;
        }
        if (t->state == TASK_FINISHED) {
                (void) asprintf(ret_error, "task %" PRId64 " has already finished", id);
                return -EALREADY;
        }
        if (uid != 0 && uid != t->uid) {
                (void) asprintf(ret_error, "task %" PRId64 " belongs to another user", id);
                return -EPERM;
        }
        key = sched_task(t, 0);
        Waiter *w = idmap_remove(&m->waiters, id);
        if (w) {
                /* its ids in the dependents' lists are skipped */
                st = w->st;
                free(w);
                r = 0;
        } else {
                r = held_take(m, id, &st);
                if (r == -ENOENT)
                        r = sched_dequeue(m->sched, &key, &st);
        }
        if (r < 0) {
                (void) asprintf(ret_error, "task %" PRId64 " could not be taken off the queue", id);
                return r;
        }
        share_count(m, st.uid, st.cost, -1);
        t->main.reason = TASK_REASON_CANCELLED;
        log_info("Task %" PRId64 " cancelled before it started", id);
        end_unstarted(m, TAKE_PTR(t));
        /* once for a cancel of many ids, not once per id */
        (void) sd_event_source_set_enabled(m->dispatch_later, SD_EVENT_ONESHOT);
        return 0;
}

int manager_cancel(Manager *m, uid_t uid, int64_t id, char **ret_error) {
        Live *l = live_find(m, id);
        Task *t;
        int r;

        if (!l)
                return cancel_queued(m, uid, id, ret_error);
        t = l->task;
        if (uid != 0 && uid != t->uid) {
                (void) asprintf(ret_error, "task %" PRId64 " belongs to another user", id);
                return -EPERM;
        }

        switch (t->state) {
        case TASK_RUNNING:
        case TASK_CLEANUP:
                if (l->cancel)
                        return 0;
                if (l->job) {
                        r = slurm_cancel(l->job);
                        if (r < 0) {
                                (void) asprintf(ret_error, "could not cancel Slurm job %s: %s",
                                                t->job_id ? t->job_id : "?", strerror(-r));
                                return r;
                        }
                        l->cancel = true;
                        log_info("Task %" PRId64 ": cancelling Slurm job %s on request of uid " UID_FMT, id,
                                 t->job_id ? t->job_id : "(being submitted)", uid);
                        return 0;
                }
                if (!l->unit) {
                        (void) asprintf(ret_error, "task %" PRId64 " is between its commands", id);
                        return -EBUSY;
                }
                l->cancel = true;
                r = unit_stop(l->unit);
                if (r < 0) {
                        l->cancel = false;
                        (void) asprintf(ret_error, "could not stop task %" PRId64 ": %s", id, strerror(-r));
                        return r;
                }
                if (r == 0) {
                        /* it had ended by itself: its own result stands */
                        l->cancel = false;
                        return 0;
                }
                log_info("Task %" PRId64 ": stopping on request of uid " UID_FMT, id, uid);
                return 0;
        default:
                (void) asprintf(ret_error, "task %" PRId64 " has already finished", id);
                return -EALREADY;
        }
}

int manager_hold(Manager *m, uid_t uid, int64_t id, bool hold, char **ret_error) {
        _cleanup_(task_freep) Task *t = NULL;
        SchedTask key, st;
        int r;

        if (live_find(m, id)) {
                (void) asprintf(ret_error, "task %" PRId64 " has started: only queued tasks are %s", id,
                                hold ? "held" : "released");
                return -EBUSY;
        }
        r = db_get_task(m->db, id, &t);
        if (r == -ENOENT) {
                (void) asprintf(ret_error, "no task %" PRId64, id);
                return r;
        }
        if (r < 0) {
                (void) asprintf(ret_error, "could not read task %" PRId64 ": %s", id, db_last_error(m->db));
                return r;
        }
        if (uid != 0 && uid != t->uid) {
                (void) asprintf(ret_error, "task %" PRId64 " belongs to another user", id);
                return -EPERM;
        }
        if (t->state != TASK_QUEUED) {
                (void) asprintf(ret_error, "task %" PRId64 " is %s: only queued tasks are %s", id,
                                task_state_to_string(t->state), hold ? "held" : "released");
                return -EALREADY;
        }
        if (t->held == hold)
                return 0;
        Waiter *w = idmap_get(&m->waiters, id);
        if (w) {
                /* waiting: held or not, it enters the queue when its dependencies finished */
                w->st.held = t->held = hold;
                if (db_update_task(m->db, t) < 0) {
                        w->st.held = !hold;
                        (void) asprintf(ret_error, "could not store task %" PRId64 ": %s", id, db_last_error(m->db));
                        return -EIO;
                }
                log_info("Task %" PRId64 " %s on request of uid " UID_FMT " (it waits for its dependencies)", id,
                         hold ? "held" : "released", uid);
                t->waiting = true;
                announce(m, PROTO_EVENT_QUEUED, t);
                return 0;
        }
        key = sched_task(t, 0);
        if (hold) {
                r = sched_dequeue(m->sched, &key, &st);
                if (r >= 0) {
                        r = held_add(m, &st);
                        if (r < 0)
                                (void) sched_enqueue(m->sched, &st);
                }
        } else {
                r = held_take(m, id, &st);
                if (r >= 0) {
                        st.held = false;
                        r = sched_enqueue(m->sched, &st);
                        if (r < 0)
                                (void) held_add(m, &st);
                }
        }
        if (r < 0) {
                (void) asprintf(ret_error, "task %" PRId64 " could not be %s: %s", id, hold ? "held" : "released",
                                strerror(-r));
                return r;
        }
        t->held = hold;
        if (db_update_task(m->db, t) < 0) {
                /* what the queue does is what the database says: put back */
                if (hold) {
                        (void) held_take(m, id, &st);
                        st.held = false;
                        (void) sched_enqueue(m->sched, &st);
                } else {
                        (void) sched_dequeue(m->sched, &key, &st);
                        (void) held_add(m, &st);
                }
                (void) asprintf(ret_error, "could not store task %" PRId64 ": %s", id, db_last_error(m->db));
                return -EIO;
        }
        log_info("Task %" PRId64 " %s on request of uid " UID_FMT, id, hold ? "held" : "released", uid);
        announce(m, PROTO_EVENT_QUEUED, t);
        if (!hold)
                (void) sd_event_source_set_enabled(m->dispatch_later, SD_EVENT_ONESHOT);
        return 0;
}

/* STATE/draining: there while the daemon drains, so that a restart (or a
 * reboot) keeps what the administrator asked for. */
static int drain_file(Manager *m, bool on) {
        if (on) {
                int fd = openat(m->state_fd, "draining", O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
                if (fd < 0)
                        return -errno;
                (void) close(fd);
                return 0;
        }
        if (unlinkat(m->state_fd, "draining", 0) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

int manager_drain(Manager *m, uid_t uid, bool on, char **ret_error) {
        int r;

        if (uid != 0 && uid != m->config.owner) {
                (void) asprintf(ret_error, "only root and the user who started benchrunner may drain it");
                return -EPERM;
        }
        if (m->draining == on)
                return 0;
        r = drain_file(m, on);
        if (r < 0) {
                (void) asprintf(ret_error, "could not record the drain in the state directory: %s", strerror(-r));
                return r;
        }
        m->draining = on;
        log_info("%s on request of uid " UID_FMT, on ? "Draining: running tasks go on, nothing new starts"
                                                       : "No longer draining: queued tasks start again", uid);
        announce(m, PROTO_EVENT_STATS, NULL);
        if (!on)
                (void) sd_event_source_set_enabled(m->dispatch_later, SD_EVENT_ONESHOT);
        return 0;
}

void manager_stats(Manager *m, ProtoStats *ret) {
        int32_t groups[PROTO_STATS_GROUPS_MAX];
        uint64_t counts[PROTO_STATS_GROUPS_MAX];
        CpuSet busy;
        uint64_t mem = 0;

        sched_usage(m->sched, &busy, &mem);
        *ret = (ProtoStats) {
                .running = m->n_running,
                .cleanup = m->n_cleanup,
                .queued = sched_n_queued(m->sched),
                .threads_busy = cpuset_count(&busy),
                .threads_total = m->n_cpus,
                .memory_used = mem,
                .memory_total = m->config.memory_bytes,
                .held = m->n_held,
                .waiting = m->waiters.n,
                .draining = m->draining,
                .cpus = m->config.cpus,
                .has_groups = true,
        };
        /* from the queue in memory, never the database: this runs at every event */
        ret->n_groups = sched_queued_by_group(m->sched, groups, counts, PROTO_STATS_GROUPS_MAX,
                                              &ret->queued_other_groups);
        for (size_t i = 0; i < ret->n_groups; i++)
                ret->groups[i] = (ProtoGroupCount) { groups[i], counts[i] };
}

/* The environment's record, for show. */
static void add_environment(Manager *m, Task *t) {
        if (t->environment_id > 0 && !t->environment && db_get_environment(m->db, t->environment_id, &t->environment) < 0)
                log_warning("Task %" PRId64 ": failed to read environment %" PRId64 ": %s", t->id, t->environment_id,
                            db_last_error(m->db));
}

int manager_get_task(Manager *m, int64_t id, Task **ret, bool *ret_owned) {
        Live *l = live_find(m, id);
        int r;

        if (l) {
                add_environment(m, l->task);
                *ret = l->task;
                *ret_owned = false;
                return 0;
        }
        *ret_owned = true;
        r = db_get_task(m->db, id, ret);
        if (r >= 0) {
                (*ret)->waiting = idmap_get(&m->waiters, id) != NULL;
                add_environment(m, *ret);
        }
        return r;
}

int manager_list_tasks(Manager *m, const ProtoRequest *req, Task ***ret, size_t *ret_n) {
        DbFilter f = {
                .states = req->state_mask,
                .has_uid = req->has_uid,
                .uid = req->uid,
                .after_id = req->after_id,
                .before_id = req->before_id,
                .newest_first = req->newest_first,
                .limit = req->limit ? req->limit : PROTO_LIST_LIMIT_MAX,
                .reasons = req->reason_mask,
                .name_glob = req->name_glob,
                .since_usec = req->since_usec,
                .until_usec = req->until_usec,
                .series = req->series,
                .environment_id = req->environment_id,
        };
        int r;

        trim_later(m);
        r = db_list_tasks(m->db, &f, ret, ret_n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < *ret_n && m->waiters.n > 0; i++)
                if ((*ret)[i]->state == TASK_QUEUED)
                        (*ret)[i]->waiting = idmap_get(&m->waiters, (*ret)[i]->id) != NULL;
        return 0;
}

/* ---- start-up and recovery ---- */

/* Whether a live task follows the unit (or slice) called name. */
static bool followed(Manager *m, const char *name) {
        for (Live *l = m->live; l; l = l->next)
                if (l->unit && (strcmp(unit_get_name(l->unit), name) == 0 ||
                                strcmp(unit_get_slice(l->unit), name) == 0))
                        return true;
        return false;
}

/* Task services and slices that no task follows: left by a daemon that
 * died after storing their results, before systemd forgot them (a service,
 * or only its slice when it died between the two). */
static void forget_leftover_units(Manager *m) {
        static const char * const patterns[] = { "benchrunner-task-*.service", "benchrunner-task_*.slice" };

        for (size_t i = 0; i < ELEMENTSOF(patterns); i++) {
                _cleanup_(strv_freep) char **names = NULL;
                int r = unit_manager_list(m->units, patterns[i], &names);

                if (r < 0) {
                        log_warning_errno(r, "Failed to list the task units left behind: %m");
                        continue;
                }
                for (char **n = names; n && *n; n++) {
                        if (followed(m, *n))
                                continue;
                        log_info("Forgetting %s: nothing of it is followed", *n);
                        if (i == 0)
                                unit_forget(m->units, *n);
                        else
                                unit_forget_slice(m->units, *n);
                }
        }
}

/* The directories a daemon that died made for a start that never reached
 * systemd (it died between making them and StartTransientUnit): set aside
 * and removed (the working directory as its user, who may have written to
 * it), so that the next start makes them fresh instead of refusing them as
 * somebody else's. */
static void clear_unstarted(Manager *m, int64_t id, uid_t uid, gid_t gid) {
        _cleanup_(freep) char *aside = NULL, *path = NULL;
        int r;

        r = taskdir_set_aside(m->work_fd, id, &aside);
        if (r >= 0) {
                log_info("Task %" PRId64 ": its start did not reach systemd; removing %s/%s", id, m->work_dir, aside);
                r = asprintf(&path, "%s/%s", m->work_dir, aside) < 0 ? -ENOMEM :
                    remover_start(m->remover, path, uid, gid);
                if (r < 0)
                        log_warning_errno(r, "Task %" PRId64 ": failed to start removing %s/%s: %m", id, m->work_dir,
                                          aside);
        } else if (r != -ENOENT)
                log_warning_errno(r, "Task %" PRId64 ": failed to set its old working directory aside: %m", id);
        r = taskdir_remove_output(m->output_fd, id);
        if (r < 0)
                log_warning_errno(r, "Task %" PRId64 ": failed to remove its old output directory: %m", id);
}

static int sched_task_id_cmp(const void *key, const void *elem) {
        int64_t id = *(const int64_t *) key, other = ((const SchedTask *) elem)->id;
        return id < other ? -1 : id > other;
}

/* Working directories of queued tasks (queued: sorted by id): starts that
 * a dead daemon began and never recorded. */
static void clear_queued_leftovers(Manager *m, const SchedTask *queued, size_t n) {
        struct dirent *de;
        DIR *d;

        if (n == 0 || !(d = taskdir_opendir(m->work_fd)))
                return;
        while ((de = readdir(d))) {
                int64_t id = taskdir_entry_id(de->d_name);

                if (id == 0 || !bsearch(&id, queued, n, sizeof *queued, sched_task_id_cmp))
                        continue;
                _cleanup_(task_freep) Task *t = NULL;
                if (db_get_task(m->db, id, &t) >= 0)
                        clear_unstarted(m, id, t->uid, t->gid);
        }
        (void) closedir(d);
}

/* A task whose start did not reach systemd: queued again, as it was (l
 * is freed).  A row whose write fails here still says running: the start
 * writes it whole again. */
static void requeue(Manager *m, Live *l) {
        Task *t = l->task;

        log_info("Task %" PRId64 ": its start did not reach systemd: queued again", t->id);
        clear_unstarted(m, t->id, t->uid, t->gid);
        queue_again(m, l);
}

/* Follows again what a task that was running (or in cleanup) has in
 * systemd.  The units stay until the result is stored (unit_release()), so
 * a missing unit means: a main command whose row has no unit yet, or a
 * cleanup command with no start time yet, never started (queued again, or
 * started now); anything else vanished (interrupted). */
static int recover_running(Manager *m, Live *l) {
        Task *t = l->task;

        l->prepared = true;   /* by the daemon before */
        bool cleanup = t->state == TASK_CLEANUP;
        bool started = cleanup ? t->cleanup.started_usec != 0 : t->unit != NULL;
        _cleanup_(freep) char *name = unit_name(t->id, cleanup);
        CpuSet cpus;
        int r;

        if (!name)
                return -ENOMEM;
        r = unit_attach(m->units, name, cleanup ? cleanup_done : main_done, l, &l->unit);
        if (r == -ENOENT && !started) {
                if (!cleanup) {
                        requeue(m, l);
                        return 0;
                }
        } else if (r < 0 && r != -ENOENT && r != -ESRCH)
                log_warning_errno(r, "Task %" PRId64 ": failed to follow %s: %m", t->id, name);

        if (!t->cpus || cpuset_parse(t->cpus, &cpus) < 0)
                cpuset_zero(&cpus);
        SchedTask st = sched_task(t, 0);
        r = sched_occupy(m->sched, &st, &cpus, cleanup ? t->cleanup.started_usec : t->main.started_usec);
        if (r < 0)
                log_warning_errno(r, "Task %" PRId64 ": its CPUs %s are no longer ours: %m", t->id,
                                  t->cpus ? t->cpus : "-");
        if (cleanup)
                m->n_cleanup++;
        else
                m->n_running++;
        if (l->unit) {
                if (!t->unit) {
                        t->unit = strdup(name);
                        save(m, t);
                }
                log_info("Task %" PRId64 ": found %s again", t->id, name);
                return 0;
        }
        if (cleanup && !started) {
                log_info("Task %" PRId64 ": its cleanup command did not start yet: starting it", t->id);
                m->n_cleanup--;
                start_cleanup(l);
                return 0;
        }
        log_info("Task %" PRId64 ": %s is gone: recorded as interrupted", t->id, name);

        TaskResult res = { .reason = TASK_REASON_INTERRUPTED, .finished_usec = now_usec(CLOCK_REALTIME) };
        if (cleanup) {
                res.started_usec = t->cleanup.started_usec;
                cleanup_done(l, &res);
        } else {
                res.started_usec = t->main.started_usec;
                main_done(l, &res);
        }
        return 0;
}

/* Environment files of tasks that are gone (a daemon that died between
 * a task's end and its file's removal); a unit that starts later gets its
 * file written again. */
static void remove_leftover_env(Manager *m) {
        struct dirent *de;
        DIR *d = taskdir_opendir(m->env_fd);

        if (!d)
                return;
        while ((de = readdir(d))) {
                int64_t id;

                if (de->d_name[0] == '.')
                        continue;
                id = taskdir_entry_id(de->d_name);
                if (id > 0 && live_find(m, id))
                        continue;
                (void) unlinkat(dirfd(d), de->d_name, 0);
        }
        (void) closedir(d);
}

/* A queued task that can no longer run here (the daemon came back with
 * fewer CPUs or less memory than it needs): recorded as failed-to-start. */
static void fail_unrunnable(Manager *m, const SchedTask *st, int error) {
        _cleanup_(task_freep) Task *t = NULL;
        int r;

        log_warning_errno(error, "Task %" PRId64 " can no longer run here (%u threads, %" PRIu64 " bytes): "
                          "recorded as failed-to-start: %m", st->id, st->threads, st->memory_bytes);
        r = db_get_task(m->db, st->id, &t);
        if (r < 0) {
                log_error_errno(r, "Failed to read task %" PRId64 ": %s", st->id, db_last_error(m->db));
                return;
        }
        t->main.reason = TASK_REASON_FAILED_TO_START;
        t->main.finished_usec = now_usec(CLOCK_REALTIME);
        t->state = TASK_FINISHED;
        /* a failed write leaves it queued: the next start sees it again */
        (void) db_update_task(m->db, t);
}

/* Tasks that ran out of memory with a ladder left, whose next attempt a
 * daemon that stopped right after storing their end did not queue (the
 * attempt and the link to it are stored together, so none has it twice).
 * The attempts are queued here, not read back with the queued tasks
 * loaded before. */
static void queue_lost_attempts(Manager *m) {
        _cleanup_(freep) int64_t *ids = NULL;
        size_t n = 0;
        int r = db_oom_unretried(m->db, &ids, &n);

        if (r < 0) {
                log_error_errno(r, "Failed to look for tasks that ran out of memory: %s", db_last_error(m->db));
                return;
        }
        for (size_t i = 0; i < n; i++) {
                _cleanup_(task_freep) Task *t = NULL, *next = NULL;

                if (db_get_task(m->db, ids[i], &t) < 0)
                        continue;
                next = queue_attempt(m, t);
                if (!next)
                        continue;
                announce(m, PROTO_EVENT_QUEUED, next);
        }
}

int manager_recover(Manager *m) {
        DbFilter running_filter = { .states = DB_STATE_MASK(TASK_RUNNING) | DB_STATE_MASK(TASK_CLEANUP) };
        _cleanup_(freep) SchedTask *queued = NULL;
        _cleanup_(freep) Live **lives = NULL;
        DbWaiting *waiting = NULL;
        Task **tasks = NULL;
        size_t n = 0, n_queued = 0, n_waiting = 0;
        unsigned queued_ok = 0, running = 0;
        int r;

        r = db_list_tasks(m->db, &running_filter, &tasks, &n);
        if (r < 0)
                return log_error_errno(r, "Failed to load the running tasks: %s", db_last_error(m->db));
        r = db_load_queued(m->db, &queued, &n_queued);
        if (r < 0) {
                db_tasks_free(tasks, n);
                return log_error_errno(r, "Failed to load the queued tasks: %s", db_last_error(m->db));
        }

        /* First every task takes its place, then the running ones are
         * followed; only then may the scheduler start anything (a task it
         * started would otherwise be "recovered" too). */
        r = db_load_waiting(m->db, &waiting, &n_waiting);
        if (r < 0) {
                db_tasks_free(tasks, n);
                return log_error_errno(r, "Failed to load the dependencies of queued tasks: %s", db_last_error(m->db));
        }
        m->recovering = true;
        /* before the waiting tasks are placed: who waits for such a task
         * waits for its attempt */
        queue_lost_attempts(m);
        for (size_t i = 0, j = 0; i < n_queued; i++) {
                queued[i].cost += sizeof(Task) + sizeof(Live);
                /* both in id order; a dependency that ended while the
                 * daemon was away is found ended in the database */
                while (j < n_waiting && waiting[j].id < queued[i].id)
                        j++;
                if (j < n_waiting && waiting[j].id == queued[i].id)
                        r = queue_after(m, &queued[i], waiting[j].after, waiting[j].n_after, waiting[j].after_ok);
                else
                        r = queue_record(m, &queued[i]);
                if (r == QUEUED_DEP_FAILED)
                        fail_dependent_id(m, queued[i].id, 0);
                else if (r == -E2BIG)
                        fail_unrunnable(m, &queued[i], r);
                else if (r < 0)
                        log_error_errno(r, "Task %" PRId64 " could not be queued: it waits for the next start: %m",
                                        queued[i].id);
                else
                        queued_ok++;
        }
        clear_queued_leftovers(m, queued, n_queued);
        free(TAKE_PTR(queued));
        db_waiting_free(TAKE_PTR(waiting), n_waiting);
        lives = calloc(n ? n : 1, sizeof(Live *));
        if (!lives) {
                db_tasks_free(tasks, n);
                return log_oom();
        }
        for (size_t i = 0; i < n; i++) {
                Live *l = calloc(1, sizeof(Live));
                if (!l) {
                        for (size_t j = i; j < n; j++)
                                task_free(tasks[j]);
                        break;
                }
                l->task = tasks[i];
                tasks[i] = NULL;
                live_link(m, l);
                lives[i] = l;
        }
        free(tasks);
        for (size_t i = 0; i < n; i++)
                if (lives[i]) {
                        running++;
                        if (lives[i]->task->backend && streq(lives[i]->task->backend, "slurm"))
                                recover_slurm(m, lives[i]);
                        else
                                (void) recover_running(m, lives[i]);
                }
        m->recovering = false;
        (void) environment_now(m);   /* logged when it is new */
        remove_leftover_env(m);
        retention_round(m);
        if (queued_ok || running)
                log_info("Recovered %u queued and %u running task(s)", queued_ok, running);
        forget_leftover_units(m);
        manager_dispatch(m);
        return 0;
}

/* Writes every unsaved task in one transaction; the parked ones then end
 * as they would have. */
static int write_unsaved(Manager *m) {
        _cleanup_(freep) Task **tasks = NULL;
        size_t n = 0, a = 0;
        int r;

        for (int pass = 0; pass < 2; pass++)
                for (Live *l = pass ? m->parked : m->live; l; l = l->next)
                        if (l->unsaved) {
                                if (n == a) {
                                        a = a ? 2 * a : 16;
                                        Task **p = realloc(tasks, a * sizeof(Task *));
                                        if (!p)
                                                return -ENOMEM;
                                        tasks = p;
                                }
                                tasks[n++] = l->task;
                        }
        r = n > 0 ? db_update_tasks(m->db, tasks, n) : 0;
        if (r < 0)
                return r;
        for (Live *l = m->live; l; l = l->next)
                l->unsaved = false;
        while (m->parked) {
                Live *l = m->parked;
                m->parked = l->next;
                l->prev = l->next = NULL;
                (void) unit_release(finish_stored(l));
        }
        if (n > 0)
                log_info("Recorded %zu task(s) that could not be written before", n);
        return 0;
}

static int on_retry_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        int r;

        r = write_unsaved(m);
        if (r < 0) {
                m->retry_usec = m->retry_usec * 2 > RETRY_MAX_USEC ? RETRY_MAX_USEC : m->retry_usec * 2;
                log_debug("Still cannot write to the database (%s): next try in %" PRIu64 " ms",
                          db_last_error(m->db), m->retry_usec / USEC_PER_MSEC);
                (void) sd_event_source_set_time_relative(s, m->retry_usec);
                return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        }
        m->db_failing = false;
        manager_dispatch(m);
        return 0;
}

void manager_set_listener(Manager *m, manager_listener_t cb, void *userdata) {
        m->listener = cb;
        m->listener_userdata = userdata;
}

void manager_shutdown(Manager *m) {
        CpuSet none;

        if (m->shutting_down)
                return;
        /* Tasks keep running, but the system gets all CPUs back: the next
         * start restricts it again for whatever still runs then. */
        cpuset_zero(&none);
        system_cpus_apply(m, &none, true);
        m->shutting_down = true;
        /* a clean stop: the next start goes on from the last id given out,
         * not from the end of the reserve (no gap in the numbers) */
        if (m->id_reserved > m->last_id && taskdir_write_last_id(m->state_fd, m->last_id) >= 0)
                m->id_reserved = m->last_id;
}

static int open_dir_or_refuse(int parent_fd, const char *path, const char *name, mode_t mode) {
        int fd = taskdir_open_dir(parent_fd, name, mode);

        if (fd == -EPERM)
                return log_error_errno(EPERM, "%s must be root's and writable by nobody else: others could "
                                       "swap in what root then writes to", path);
        if (fd < 0)
                return log_error_errno(fd, "Failed to open %s as a directory: %m", path);
        return fd;
}

/* The state directory and the directories in it, opened once: everything
 * below is made relative to them, never through a path that a symlink
 * could redirect. */
static int open_state_dirs(Manager *m) {
        _cleanup_(freep) char *env_dir = NULL;

        if (asprintf(&env_dir, "%s/env", m->state_dir) < 0)
                return log_oom();
        m->state_fd = open_dir_or_refuse(AT_FDCWD, m->state_dir, m->state_dir, 0755);
        if (m->state_fd < 0)
                return m->state_fd;
        /* work/ holds users' private directories: only root may list it */
        m->work_fd = open_dir_or_refuse(m->state_fd, m->work_dir, "work", 0711);
        if (m->work_fd < 0)
                return m->work_fd;
        m->output_fd = open_dir_or_refuse(m->state_fd, m->output_dir, "output", 0755);
        if (m->output_fd < 0)
                return m->output_fd;
        /* the environment files of tasks that run: root's alone */
        m->env_fd = open_dir_or_refuse(m->state_fd, env_dir, "env", 0700);
        if (m->env_fd < 0)
                return m->env_fd;
        return 0;
}

/* The Slurm backend: the cluster, the directory of the tasks' jobs, and
 * the queue's capacity: the largest node of the partition, as one node
 * without SMT (Slurm places the threads). */
static int slurm_setup(Manager *m) {
        _cleanup_(freep) char *why = NULL;
        sd_id128_t machine;
        int r;

        r = slurm_new(m->event, &m->config.slurm_config, &m->slurm, &why);
        if (r < 0)
                return log_error_errno(r, "The Slurm backend cannot start: %s", why ? why : strerror(-r));
        if (m->config.slurm_dir ? !(m->slurm_dir = strdup(m->config.slurm_dir))
                                : asprintf(&m->slurm_dir, "%s/slurm", m->state_dir) < 0)
                return log_oom();
        m->config.slurm_dir = m->slurm_dir;
        m->slurm_fd = open_dir_or_refuse(AT_FDCWD, m->slurm_dir, m->slurm_dir, 0755);
        if (m->slurm_fd < 0)
                return m->slurm_fd;
        /* our jobs among those of other head nodes of the same cluster */
        r = sd_id128_get_machine(&machine);
        if (asprintf(&m->slurm_comment, "benchrunner-%.12s", r >= 0 ? SD_ID128_TO_STRING(machine) : "unknown") < 0)
                return log_oom();
        if (m->config.slurm_max_jobs == 0)
                m->config.slurm_max_jobs = 500;
        cpuset_zero(&m->config.cpus);
        for (unsigned i = 0; i < slurm_node_cpus(m->slurm) && i < CPUSET_MAX; i++)
                cpuset_add(&m->config.cpus, i);
        m->config.memory_bytes = slurm_node_memory(m->slurm);
        log_info("Slurm backend: cluster %s, partition %s, largest node %u CPUs and %" PRIu64 " MiB; "
                 "task directories in %s", slurm_cluster(m->slurm) ? slurm_cluster(m->slurm) : "?",
                 m->config.slurm_config.partition ? m->config.slurm_config.partition : "(default)",
                 slurm_node_cpus(m->slurm), m->config.memory_bytes >> 20, m->slurm_dir);
        if (!slurm_private_tmp(m->slurm))
                log_warning("The cluster has no job_container/tmpfs: tasks share each node's /tmp (their working "
                            "directory is still a fresh one); every task's record says so");
        return topology_new_flat(cpuset_end(&m->config.cpus), &m->topology);
}

int manager_new(sd_event *event, sd_bus *bus, const ManagerConfig *config, Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        m = calloc(1, sizeof(Manager));
        if (!m)
                return log_oom();
        m->state_fd = m->work_fd = m->output_fd = m->env_fd = m->slurm_fd = -1;
        m->event = sd_event_ref(event);
        m->bus = sd_bus_ref(bus);
        m->config = *config;
        m->db_path = strdup(config->db_path);
        m->state_dir = strdup(config->state_dir);
        if (!m->db_path || !m->state_dir || asprintf(&m->work_dir, "%s/work", config->state_dir) < 0 ||
            asprintf(&m->output_dir, "%s/output", config->state_dir) < 0)
                return log_oom();
        m->config.db_path = m->db_path;
        m->config.state_dir = m->state_dir;

        r = open_state_dirs(m);
        if (r < 0)
                return r;
        m->draining = faccessat(m->state_fd, "draining", F_OK, AT_SYMLINK_NOFOLLOW) == 0;
        if (m->draining)
                log_info("Draining (%s/draining is there): queued tasks wait until it is turned off",
                         config->state_dir);

        r = db_open(m->db_path, DB_CREATE, &m->db);
        if (r < 0)
                return log_error_errno(r, "Failed to open the database %s: %s", m->db_path, db_last_error(NULL));
        r = ids_init(m);
        if (r < 0)
                return r;

        if (config->slurm) {
                r = slurm_setup(m);
                if (r < 0)
                        return r;
        } else
                r = topology_load(config->sysfs_root, &m->topology);
        if (r < 0) {
                log_warning_errno(r, "Failed to read the CPU topology under %s, assuming no SMT: %m",
                                  config->sysfs_root);
                r = topology_new_flat(cpuset_end(&config->cpus), &m->topology);
                if (r < 0)
                        return log_oom();
        }
        m->n_cpus = cpuset_count(&m->config.cpus);
        r = sched_new(m->topology, &m->config.cpus, m->config.memory_bytes, &m->sched);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the scheduler: %m");

        if (m->config.remove_time_limit_usec == 0)
                m->config.remove_time_limit_usec = MANAGER_REMOVE_TIME_LIMIT_USEC;
        r = remover_new(event, m->config.remove_time_limit_usec, on_removed, m, &m->remover);
        if (r < 0)
                return log_oom();

        r = unit_manager_new(event, bus, &m->units);
        if (r < 0)
                return log_error_errno(r, "Failed to set up unit management: %m");
        const char *lim = unit_manager_limitations(m->units);
        if (lim)
                log_warning("%s", lim);

        r = sd_event_add_time_relative(event, &m->output_timer, CLOCK_MONOTONIC, 2 * USEC_PER_SEC, USEC_PER_SEC,
                                       on_output_timer, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add the output timer: %m");
        (void) sd_event_source_set_enabled(m->output_timer, SD_EVENT_ON);
        r = retention_new(m->db, m->output_fd, &config->retention, &m->retention);
        if (r < 0)
                return log_error_errno(r, "Failed to read the output kept per user: %s", db_last_error(m->db));
        r = sd_event_add_time_relative(event, &m->retention_timer, CLOCK_MONOTONIC, RETENTION_INTERVAL_USEC,
                                       USEC_PER_SEC, on_retention_timer, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add the retention timer: %m");
        r = sd_event_add_defer(event, &m->dispatch_later, on_dispatch_later, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add the dispatch source: %m");
        (void) sd_event_source_set_priority(m->dispatch_later, SD_EVENT_PRIORITY_IDLE);
        (void) sd_event_source_set_enabled(m->dispatch_later, SD_EVENT_OFF);
        r = sd_event_add_time_relative(event, &m->retry_timer, CLOCK_MONOTONIC, RETRY_FIRST_USEC, 0,
                                       on_retry_timer, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add the retry timer: %m");
        (void) sd_event_source_set_enabled(m->retry_timer, SD_EVENT_OFF);
        r = sd_event_add_time_relative(event, &m->trim_timer, CLOCK_MONOTONIC, TRIM_DELAY_USEC, USEC_PER_SEC / 4,
                                       on_trim_timer, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add the trim timer: %m");
        (void) sd_event_source_set_enabled(m->trim_timer, SD_EVENT_OFF);
        r = sd_event_add_time_relative(event, &m->system_return, CLOCK_MONOTONIC, SYSTEM_RETURN_USEC,
                                       10 * USEC_PER_MSEC, on_system_return, m);
        if (r < 0)
                return log_error_errno(r, "Failed to add the system CPU timer: %m");
        (void) sd_event_source_set_enabled(m->system_return, SD_EVENT_OFF);

        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        /* Units keep running; only our view of them goes.  What could not
         * be written gets a last try; units not released keep what the next
         * daemon needs anyway. */
        if (m->db_failing && m->db && write_unsaved(m) < 0)
                log_warning("Leaving with task(s) not recorded: the next start reads their units: %s",
                            db_last_error(m->db));
        m->shutting_down = true;
        while (m->parked) {
                Live *l = m->parked;
                m->parked = l->next;
                live_free(l);
        }
        while (m->live) {
                Live *l = m->live;
                live_unlink(m, l);
                live_free(l);
        }
        sd_event_source_disable_unref(m->output_timer);
        sd_event_source_disable_unref(m->retention_timer);
        sd_event_source_disable_unref(m->trim_timer);
        sd_event_source_disable_unref(m->system_return);
        retention_free(m->retention);
        sd_event_source_disable_unref(m->retry_timer);
        sd_event_source_disable_unref(m->dispatch_later);
        idmap_done(&m->live_by_id);
        for (size_t i = 0; i < m->waiters.size; i++)
                if (m->waiters.keys[i])
                        free(m->waiters.values[i]);
        idmap_done(&m->waiters);
        for (size_t i = 0; i < m->dependents.size; i++)
                if (m->dependents.keys[i])
                        free(m->dependents.values[i]);
        idmap_done(&m->dependents);
        free(m->wakes);
        free(m->shares);
        if (remover_n_pending(m->remover) > 0)
                log_info("Leaving %u working director%s to be removed without us", remover_n_pending(m->remover),
                         remover_n_pending(m->remover) == 1 ? "y" : "ies");
        remover_free(m->remover);
        unit_manager_free(m->units);
        slurm_free(m->slurm);
        free(m->slurm_dir);
        free(m->slurm_comment);
        closep(&m->slurm_fd);
        sched_free(m->sched);
        topology_free(m->topology);
        db_close(m->db);
        sd_bus_unref(m->bus);
        sd_event_unref(m->event);
        free(m->db_path);
        free(m->state_dir);
        free(m->work_dir);
        free(m->output_dir);
        closep(&m->state_fd);
        closep(&m->work_fd);
        closep(&m->output_fd);
        closep(&m->env_fd);
        free(m->held);
        machine_free(m->machine);
        free(m->machine_record);
        free(m->systemd_version);
        free(m);
        return NULL;
}
