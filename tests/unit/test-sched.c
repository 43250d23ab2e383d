/* test-sched.c: the scheduler on modelled machines with a simulated clock.
 * A small discrete-event simulation submits tasks, starts what sched_next()
 * returns, ends tasks after their run time (or their time limit), and checks
 * at every step: CPUs never double-booked, even tasks on whole cores of their
 * own, the memory budget never exceeded, and the head of the queue starting
 * no later than the reservation it was given while it was the head. */
#include "config.h"

#include <stdlib.h>

#include "check.h"
#include "fake-sysfs.h"
#include "placement.h"
#include "sched.h"
#include "topology.h"
#include "util.h"

#define GiB (UINT64_C(1) << 30)
#define SEC USEC_PER_SEC
#define NEVER UINT64_MAX

typedef struct SimTask {
        Task task;
        uint64_t submit, duration;   /* run time if not killed by its limit */
        bool queued, started, done;
        uint64_t start, finish;
        CpuSet cpus, reserved;
        uint64_t promised;           /* reservation while the head, NEVER if none */
} SimTask;

typedef struct Sim {
        const Topology *topo;
        Sched *s;
        uint64_t budget;
        SimTask *t;
        size_t n;
        uint64_t now;
        unsigned max_running_kinds;  /* most distinct thread counts running at once */
        unsigned backfilled;         /* tasks started while the head waited */
} Sim;

static Topology *machine(unsigned sockets, unsigned cores, FakeSmt smt) {
        return fake_sysfs_load(sockets, cores, smt, 0, NULL);
}

static SimTask mk(int64_t id, unsigned threads, uint64_t mem, uint64_t limit, uint64_t duration) {
        return (SimTask) {
                .task = { .id = id, .threads = threads, .memory_bytes = mem, .time_limit_usec = limit },
                .duration = duration,
                .promised = NEVER,
        };
}

static void sim_init(Sim *sim, const Topology *topo, const CpuSet *cpus, uint64_t budget, SimTask *t, size_t n) {
        *sim = (Sim) { .topo = topo, .budget = budget, .t = t, .n = n };
        CHECK(sched_new(topo, cpus ? cpus : topology_online(topo), budget, &sim->s) == 0);
}

static SimTask *sim_find(Sim *sim, int64_t id) {
        for (size_t i = 0; i < sim->n; i++)
                if (sim->t[i].task.id == id)
                        return &sim->t[i];
        abort();
}

/* The scheduler's record of a task. */
static SchedTask st_of(const Task *t) {
        return sched_task(t, 0);
}

static void check_start(Sim *sim, SimTask *st) {
        uint64_t used;
        CpuSet whole = {};
        bool even = st->task.whole_cores || st->task.threads % 2 == 0;

        CHECK_EQ_U64(cpuset_count(&st->cpus), st->task.threads);
        placement_reserved(sim->topo, &st->cpus, st->task.whole_cores, &st->reserved);
        topology_whole_cores(sim->topo, &st->cpus, &whole);
        for (size_t i = 0; i < sim->n; i++) {
                SimTask *o = &sim->t[i];
                CpuSet ow = {};
                if (o == st || !o->started || o->done)
                        continue;
                CHECK(!cpuset_intersects(&st->reserved, &o->reserved));
                topology_whole_cores(sim->topo, &o->reserved, &ow);
                if (even)
                        CHECK(!cpuset_intersects(&whole, &o->reserved));
                if (o->task.whole_cores || o->task.threads % 2 == 0)
                        CHECK(!cpuset_intersects(&ow, &st->reserved));
        }
        sched_usage(sim->s, NULL, &used);
        CHECK(used <= sim->budget);
        /* the head starts no later than it was promised */
        if (st->promised != NEVER && st->start > st->promised) {
                fprintf(stderr, "task %" PRIi64 " started at %" PRIu64 "s, promised %" PRIu64 "s\n",
                        st->task.id, st->start / SEC, st->promised / SEC);
                CHECK(st->start <= st->promised);
        }
}

/* Runs until every task has ended. */
static void sim_run(Sim *sim) {
        int64_t last_head = 0;

        for (;;) {
                uint64_t next = NEVER;
                SchedTask h0, got;
                int64_t head, t;
                uint64_t promise;
                CpuSet cpus;
                int r;

                for (size_t i = 0; i < sim->n; i++)
                        if (!sim->t[i].queued && sim->t[i].submit <= sim->now) {
                                SchedTask q = st_of(&sim->t[i].task);
                                CHECK(sched_enqueue(sim->s, &q) == 0);
                                sim->t[i].queued = true;
                        }

                /* the head's promise holds while it stays the head */
                h0 = (SchedTask) {};
                r = sched_reservation(sim->s, sim->now, &h0, &promise);
                head = h0.id;
                CHECK(r >= 0);
                if (r == 0 && head != last_head && last_head && !sim_find(sim, last_head)->started) {
                        /* a task that sorts first took over, and starts now */
                        sim_find(sim, last_head)->promised = NEVER;
                        last_head = 0;
                }
                if (r > 0) {
                        SimTask *h = sim_find(sim, head);
                        if (head != last_head) {
                                /* a task that sorts first took over */
                                if (last_head && !sim_find(sim, last_head)->started)
                                        sim_find(sim, last_head)->promised = NEVER;
                                h->promised = promise;
                        }
                        else if (h->promised != NEVER)
                                CHECK(promise <= h->promised);   /* never moves later */
                        if (promise < h->promised)
                                h->promised = promise;
                        last_head = head;
                }

                while ((r = sched_next(sim->s, sim->now, &got, &cpus)) > 0) {
                        SimTask *st = sim_find(sim, got.id);
                        uint64_t run = st->duration;

                        t = got.id;
                        if (st->task.time_limit_usec && run > st->task.time_limit_usec)
                                run = st->task.time_limit_usec;
                        st->started = true;
                        st->start = sim->now;
                        st->finish = sim->now + run;
                        st->cpus = cpus;
                        if (last_head && t != last_head)
                                sim->backfilled++;
                        if (t == last_head)
                                last_head = 0;
                        check_start(sim, st);
                }
                CHECK(r == 0);

                {
                        unsigned kinds = 0;
                        bool seen[64] = {};
                        for (size_t i = 0; i < sim->n; i++)
                                if (sim->t[i].started && !sim->t[i].done && sim->t[i].task.threads < 64 &&
                                    !seen[sim->t[i].task.threads]) {
                                        seen[sim->t[i].task.threads] = true;
                                        kinds++;
                                }
                        if (kinds > sim->max_running_kinds)
                                sim->max_running_kinds = kinds;
                }

                for (size_t i = 0; i < sim->n; i++) {
                        if (!sim->t[i].queued && sim->t[i].submit < next)
                                next = sim->t[i].submit;
                        if (sim->t[i].started && !sim->t[i].done && sim->t[i].finish < next)
                                next = sim->t[i].finish;
                }
                if (next == NEVER)
                        break;
                CHECK(next >= sim->now);
                sim->now = next;
                for (size_t i = 0; i < sim->n; i++)
                        if (sim->t[i].started && !sim->t[i].done && sim->t[i].finish == sim->now) {
                                sched_release(sim->s, sim->t[i].task.id);
                                sim->t[i].done = true;
                        }
        }
        for (size_t i = 0; i < sim->n; i++)
                CHECK(sim->t[i].done);
        CHECK_EQ_U64(sched_n_queued(sim->s), 0);
        CHECK_EQ_U64(sched_n_running(sim->s), 0);
        sched_free(sim->s);
}

/* Tasks of 8, 4, 2 and 1 threads run side by side. */
static void test_mixed(void) {
        _cleanup_(topology_freep) Topology *topo = machine(1, 16, FAKE_SMT_SPLIT);
        SimTask t[] = {
                mk(1, 1, GiB, 0, 50 * SEC),
                mk(2, 8, GiB, 0, 60 * SEC),
                mk(3, 2, GiB, 0, 70 * SEC),
                mk(4, 4, GiB, 0, 80 * SEC),
                mk(5, 1, GiB, 0, 90 * SEC),
                mk(6, 8, GiB, 0, 30 * SEC),
                mk(7, 3, GiB, 0, 30 * SEC),
        };
        Sim sim;

        sim_init(&sim, topo, NULL, 64 * GiB, t, ELEMENTSOF(t));
        sim_run(&sim);
        for (size_t i = 0; i < ELEMENTSOF(t); i++)
                CHECK_EQ_U64(t[i].start, 0);      /* 27 threads on 32 CPUs: all at once */
        CHECK(sim.max_running_kinds == 5);
}

/* The head (8 threads) waits for a 12-thread task that ends at 100s; small
 * tasks with a time limit fill the gap until then, and one without a limit
 * runs where the head's reservation does not reach; the head starts at
 * 100s, no later. */
static void test_backfill(void) {
        _cleanup_(topology_freep) Topology *topo = machine(1, 8, FAKE_SMT_SPLIT);
        SimTask t[20];
        size_t n = 0;
        Sim sim;

        t[n++] = mk(1, 12, GiB, 100 * SEC, 100 * SEC);
        t[n] = mk(2, 8, GiB, 200 * SEC, 50 * SEC);
        t[n++].submit = 1 * SEC;
        for (int i = 0; i < 12; i++) {
                t[n] = mk(10 + i, 2, GiB, 30 * SEC, 25 * SEC);
                t[n++].submit = 1 * SEC;
        }
        t[n] = mk(30, 2, GiB, 0, 500 * SEC);      /* no time limit, sorts first */
        t[n].task.priority = 1;
        t[n++].submit = 1 * SEC;

        sim_init(&sim, topo, NULL, 64 * GiB, t, n);
        sim_run(&sim);
        if (getenv("DEBUG"))
                for (size_t i = 0; i < n; i++) {
                        _cleanup_(freep) char *f = cpuset_format(&t[i].cpus);
                        fprintf(stderr, "task %d: %u threads start %" PRIu64 " finish %" PRIu64 " promised %" PRIu64 " cpus %s\n",
                                (int) t[i].task.id, t[i].task.threads, t[i].start / SEC, t[i].finish / SEC,
                                t[i].promised == NEVER ? 0 : t[i].promised / SEC, f);
                }
        CHECK_EQ_U64(t[0].start, 0);
        CHECK_EQ_U64(t[1].start, 100 * SEC);   /* the head: at its reservation */
        /* promised: task 1's limit plus the SIGTERM-to-SIGKILL time */
        CHECK(t[1].promised == 100 * SEC + TASK_STOP_TIMEOUT_USEC);
        /* small tasks ran before the head, on the CPUs left free */
        unsigned before = 0;
        for (size_t i = 2; i < n - 1; i++)
                if (t[i].start < 100 * SEC) {
                        before++;
                        /* those that could overlap the head ended in time */
                        CHECK(t[i].start + t[i].task.time_limit_usec <= 100 * SEC ||
                              !cpuset_intersects(&t[i].reserved, &t[1].reserved));
                }
        CHECK(before >= 3);
        /* the unlimited task did not wait for the head, nor touch its CPUs */
        CHECK(t[n - 1].start < 100 * SEC);
        CHECK(!cpuset_intersects(&t[n - 1].reserved, &t[1].reserved));
        CHECK(sim.backfilled >= 4);
}

/* A task without a time limit holds CPUs the head needs: nothing may start
 * on the head's reserved CPUs, so the head starts as soon as that task ends,
 * even though limited and unlimited tasks keep arriving. */
static void test_unknown_end(void) {
        _cleanup_(topology_freep) Topology *topo = machine(1, 4, FAKE_SMT_SPLIT);
        SimTask t[64];
        size_t n = 0;
        Sim sim;

        t[n++] = mk(1, 4, GiB, 0, 100 * SEC);             /* cores 0-1, no limit */
        t[n] = mk(2, 8, GiB, 0, 10 * SEC);                /* the head: all 4 cores */
        t[n++].submit = 1 * SEC;
        for (int i = 0; i < 40; i++) {
                t[n] = mk(10 + i, 1 + i % 2, GiB, i % 3 ? 20 * SEC : 0, 15 * SEC);
                t[n++].submit = (uint64_t) (2 + 5 * i) * SEC;
        }
        sim_init(&sim, topo, NULL, 64 * GiB, t, n);
        sim_run(&sim);
        CHECK_EQ_U64(t[1].start, 100 * SEC);
        for (size_t i = 2; i < n; i++)
                CHECK(t[i].start >= t[1].finish || t[i].start < 1 * SEC);
}

/* Memory is a budget: never exceeded; a head waiting for memory still gets
 * its reservation. */
static void test_memory(void) {
        _cleanup_(topology_freep) Topology *topo = machine(1, 8, FAKE_SMT_SPLIT);
        SimTask t[200];
        Sim sim;

        srand(7);
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                t[i] = mk((int64_t) i + 1, 1 + (unsigned) rand() % 4, (1 + (uint64_t) (rand() % 12)) * GiB,
                          (rand() % 4 ? 60 : 0) * SEC, (1 + (uint64_t) (rand() % 60)) * SEC);
                t[i].submit = (uint64_t) (rand() % 300) * SEC;
        }
        sim_init(&sim, topo, NULL, 16 * GiB, t, ELEMENTSOF(t));
        sim_run(&sim);
        /* check_start() checked the budget at every start */
}

/* Order: group, then threads, then priority, then submission. */
static void test_order(void) {
        _cleanup_(topology_freep) Topology *topo = NULL;
        SimTask t[] = {
                mk(1, 1, GiB, 0, 10 * SEC),
                mk(2, 1, GiB, 0, 10 * SEC),
                mk(3, 1, GiB, 0, 10 * SEC),
                mk(4, 1, GiB, 0, 10 * SEC),
                mk(5, 1, GiB, 0, 10 * SEC),
                mk(6, 1, GiB, 0, 10 * SEC),
        };
        /* expected starting order by index */
        const size_t order[] = { 4, 2, 3, 5, 0, 1 };
        Sim sim;

        t[2].task.group = 1;
        t[3].task.group = 1;
        t[4].task.group = 2;
        t[5].task.priority = 10;
        t[3].task.priority = -1;
        t[1].task.priority = -5;
        CHECK(topology_new_flat(1, &topo) == 0);
        sim_init(&sim, topo, NULL, 64 * GiB, t, ELEMENTSOF(t));
        sim_run(&sim);
        for (size_t i = 0; i < ELEMENTSOF(order); i++)
                CHECK_EQ_U64(t[order[i]].start, i * 10 * SEC);
}

/* More threads first; a task of a higher group goes before both; with no
 * time limits nothing overtakes the waiting head. */
static void test_order_threads(void) {
        _cleanup_(topology_freep) Topology *topo = NULL;
        SimTask t[] = {
                mk(1, 1, GiB, 0, 10 * SEC),
                mk(2, 2, GiB, 0, 10 * SEC),
                mk(3, 1, GiB, 0, 10 * SEC),
        };
        Sim sim;

        t[2].task.group = 1;
        CHECK(topology_new_flat(2, &topo) == 0);
        sim_init(&sim, topo, NULL, 64 * GiB, t, ELEMENTSOF(t));
        sim_run(&sim);
        CHECK_EQ_U64(t[2].start, 0);
        CHECK_EQ_U64(t[1].start, 10 * SEC);
        CHECK_EQ_U64(t[0].start, 20 * SEC);
}

/* Starvation: a 16-thread task arrives while a stream of 1-thread tasks
 * keeps the machine partly busy.  It starts once the tasks running when it
 * arrived have ended (by their limits), and the stream goes on after. */
static void test_starvation(void) {
        _cleanup_(topology_freep) Topology *topo = machine(1, 8, FAKE_SMT_SPLIT);
        SimTask t[401];
        size_t n = 0;
        Sim sim;

        srand(3);
        for (int i = 0; i < 400; i++) {
                uint64_t d = (1 + (uint64_t) (rand() % 9)) * SEC;
                t[n] = mk(1 + i, 1, GiB, d + SEC, d);
                t[n++].submit = (uint64_t) i * SEC / 2;  /* twice a second: ~11 busy CPUs */
        }
        t[n] = mk(1000, 16, GiB, 10 * SEC, 10 * SEC);
        t[n++].submit = 20 * SEC;
        sim_init(&sim, topo, NULL, 64 * GiB, t, n);
        sim_run(&sim);
        CHECK(t[n - 1].start <= 30 * SEC);         /* every task then running ends by 30s */
        CHECK(t[n - 1].promised <= 30 * SEC + TASK_STOP_TIMEOUT_USEC);
        /* and small tasks went on meanwhile, finishing before it started */
        unsigned meanwhile = 0;
        for (size_t i = 0; i < n - 1; i++)
                if (t[i].start > 20 * SEC && t[i].start < t[n - 1].start) {
                        meanwhile++;
                        CHECK(t[i].finish <= t[n - 1].start);
                }
        CHECK(meanwhile > 0);
}

/* Random workloads on several machines: every invariant at every step. */
static void test_random(void) {
        struct { unsigned sockets, cores; FakeSmt smt; } m[] = {
                { 1, 16, FAKE_SMT_SPLIT }, { 2, 4, FAKE_SMT_ADJACENT }, { 1, 6, FAKE_SMT_NONE },
        };
        for (size_t k = 0; k < ELEMENTSOF(m); k++) {
                _cleanup_(topology_freep) Topology *topo = machine(m[k].sockets, m[k].cores, m[k].smt);
                for (unsigned seed = 1; seed <= 5; seed++) {
                        unsigned ncpu = cpuset_count(topology_online(topo));
                        SimTask t[300];
                        Sim sim;

                        srand(seed * 100 + (unsigned) k);
                        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                                unsigned threads = 1 + (unsigned) rand() % (ncpu / 2);
                                t[i] = mk((int64_t) i + 1, threads, (1 + (uint64_t) (rand() % 8)) * GiB,
                                          (rand() % 5 ? 10 + rand() % 100 : 0) * SEC,
                                          (1 + (uint64_t) (rand() % 120)) * SEC);
                                t[i].submit = (uint64_t) (rand() % 2000) * SEC;
                                t[i].task.group = rand() % 10 == 0;
                                t[i].task.priority = rand() % 3;
                                t[i].task.whole_cores = m[k].smt != FAKE_SMT_NONE && rand() % 10 == 0;
                        }
                        sim_init(&sim, topo, NULL, 24 * GiB, t, ELEMENTSOF(t));
                        sim_run(&sim);
                }
        }
}

static void test_api(void) {
        _cleanup_(topology_freep) Topology *topo = machine(1, 4, FAKE_SMT_SPLIT);
        _cleanup_(sched_freep) Sched *s = NULL;
        _cleanup_(freep) char *reason = NULL;
        SchedTask a = { .id = 1, .threads = 8, .memory_bytes = GiB },
             b = { .id = 2, .threads = 2, .memory_bytes = GiB, .whole_cores = true },
             c = { .id = 3, .threads = 1, .memory_bytes = 32 * GiB },
             d = { .id = 4, .threads = 2, .memory_bytes = GiB },
             e = { .id = 5, .threads = 1, .memory_bytes = GiB }, t;
        CpuSet given, cpus, busy;
        uint64_t used;

        /* benchrunner given cores 1-3 and half of core 0: 0-3,5-7 */
        CHECK(cpuset_parse("0-3,5-7", &given) == 0);
        CHECK(sched_new(topo, &given, 16 * GiB, &s) == 0);
        CHECK(sched_check(s, &a, &reason) == -E2BIG);       /* 8 threads > 7 CPUs */
        CHECK(reason && strstr(reason, "7 CPU threads"));
        free(reason), reason = NULL;
        CHECK(sched_enqueue(s, &a) == -E2BIG);
        a.threads = 7;
        CHECK(sched_check(s, &a, NULL) == 0);              /* 3 cores + a half */
        a.threads = 6;
        CHECK(sched_check(s, &a, NULL) == 0);
        a.threads = 4;
        b.threads = 4;
        CHECK(sched_check(s, &b, &reason) == -E2BIG);       /* 4 whole cores: only 3 */
        free(reason), reason = NULL;
        b.threads = 2;
        CHECK(sched_check(s, &c, &reason) == -E2BIG);
        CHECK(reason && strstr(reason, "memory"));

        /* restart recovery: d runs on 1,5 since 10s */
        CHECK(cpuset_parse("1,5", &cpus) == 0);
        CHECK(sched_occupy(s, &d, &cpus, 10 * SEC) == 0);
        CHECK(sched_occupy(s, &d, &cpus, 10 * SEC) == -EEXIST);
        CHECK_EQ_U64(sched_n_running(s), 1);

        CHECK(sched_enqueue(s, &b) == 0);
        CHECK(sched_enqueue(s, &e) == 0);
        CHECK(sched_enqueue(s, &e) == -EEXIST);
        CHECK(sched_next(s, 20 * SEC, &t, &cpus) == 1);
        CHECK(t.id == b.id);
        CHECK_EQ_U64(cpuset_count(&cpus), 2);
        {
                _cleanup_(freep) char *f = cpuset_format(&cpus);
                CHECK_STREQ(f, "2-3");                      /* one thread of each core */
        }
        sched_usage(s, &busy, &used);
        {
                _cleanup_(freep) char *f = cpuset_format(&busy);
                CHECK_STREQ(f, "1-3,5-7");                  /* its siblings held too */
        }
        CHECK_EQ_U64(used, 2 * GiB);
        CHECK(sched_next(s, 20 * SEC, &t, &cpus) == 1);
        CHECK(t.id == e.id);
        {
                _cleanup_(freep) char *f = cpuset_format(&cpus);
                CHECK_STREQ(f, "0");                        /* the half core */
        }
        CHECK(sched_next(s, 20 * SEC, &t, &cpus) == 0);
        CHECK(sched_dequeue(s, &e, NULL) == -ENOENT);
        sched_release(s, b.id);
        sched_release(s, b.id);                               /* ignored */
        sched_release(s, d.id);
        sched_release(s, e.id);
        sched_usage(s, &busy, &used);
        CHECK(cpuset_empty(&busy));
        CHECK_EQ_U64(used, 0);
        CHECK_EQ_U64(sched_n_running(s), 0);

        /* a cleanup without a known limit makes the end unknown */
        {
                SchedTask h = { .id = 10, .threads = 7, .memory_bytes = GiB },
                          f = { .id = 11, .threads = 2, .memory_bytes = GiB, .time_limit_usec = 10 * SEC,
                                .has_cleanup = true },
                          head;
                uint64_t when;

                CHECK(sched_enqueue(s, &f) == 0);
                CHECK(sched_next(s, 0, &t, &cpus) == 1);
                CHECK(sched_enqueue(s, &h) == 0);
                CHECK(sched_reservation(s, 0, &head, &when) == 1);
                CHECK(head.id == h.id);
                CHECK(when == NEVER);
                sched_set_cleanup_time_limit(s, 5 * SEC);
                CHECK(sched_reservation(s, 0, &head, &when) == 1);
                /* f started before the default was known: still unknown */
                CHECK(when == NEVER);
                sched_release(s, f.id);
                CHECK(sched_next(s, 0, &t, &cpus) == 1);
                CHECK(t.id == h.id);
                sched_release(s, h.id);
                CHECK(sched_enqueue(s, &f) == 0);
                CHECK(sched_next(s, 0, &t, &cpus) == 1);
                CHECK(sched_enqueue(s, &h) == 0);
                CHECK(sched_reservation(s, 3 * SEC, &head, &when) == 1);
                /* 10 s limit + 5 s cleanup, each with the stop timeout */
                CHECK_EQ_U64(when, 15 * SEC + 2 * TASK_STOP_TIMEOUT_USEC);
                CHECK(sched_dequeue(s, &h, NULL) == 0);
                sched_release(s, f.id);
        }
}

/* The queue at a length where its chunks split and empty: random orders
 * in, random removals, and sched_next() gives the rest in the policy's
 * order (a machine with one CPU runs one task at a time). */
static int order_cmp(const void *a, const void *b) {
        const SchedTask *x = a, *y = b;
        if (x->group != y->group)
                return x->group > y->group ? -1 : 1;
        if (x->priority != y->priority)
                return x->priority > y->priority ? -1 : 1;
        return x->id < y->id ? -1 : x->id > y->id;
}

static void test_queue_long(void) {
        _cleanup_(topology_freep) Topology *topo = machine(1, 1, FAKE_SMT_NONE);
        _cleanup_(sched_freep) Sched *s = NULL;
        enum { N = 20000 };
        _cleanup_(freep) SchedTask *t = calloc(N, sizeof *t);
        _cleanup_(freep) bool *gone = calloc(N, sizeof *gone);
        size_t left = N, k = 0;
        unsigned seed = 7;

        CHECK(t && gone);
        CHECK(sched_new(topo, topology_online(topo), GiB, &s) == 0);
        for (size_t i = 0; i < N; i++) {
                seed = seed * 1103515245 + 12345;
                t[i] = (SchedTask) { .id = (int64_t) i + 1, .threads = 1, .memory_bytes = 1,
                                     .group = (int32_t) (seed >> 16) % 3, .priority = (int32_t) (seed >> 8) % 50 };
                CHECK(sched_enqueue(s, &t[i]) == 0);
        }
        CHECK(sched_enqueue(s, &t[N / 2]) == -EEXIST);
        CHECK_EQ_U64(sched_n_queued(s), N);
        for (size_t i = 0; i < N; i += 3) {
                CHECK(sched_dequeue(s, &t[i], NULL) == 0);
                gone[i] = true;
                left--;
        }
        CHECK(sched_dequeue(s, &t[0], NULL) == -ENOENT);
        CHECK_EQ_U64(sched_n_queued(s), left);
        qsort(t, N, sizeof *t, order_cmp);
        for (size_t i = 0; i < N; i++) {
                SchedTask got;
                if (gone[t[i].id - 1])
                        continue;
                CHECK(sched_next(s, 0, &got, NULL) == 1);
                CHECK_EQ_U64((uint64_t) got.id, (uint64_t) t[i].id);
                CHECK(sched_next(s, 0, &got, NULL) == 0);      /* the one CPU is busy */
                sched_release(s, got.id);
                k++;
        }
        CHECK_EQ_U64(k, left);
        CHECK_EQ_U64(sched_n_queued(s), 0);
}

/* The queue's length per group, as stats events carry it: whole chunks
 * and chunks where groups change, the bound and the sum of the rest. */
static void test_queued_by_group(void) {
        _cleanup_(topology_freep) Topology *topo = machine(1, 1, FAKE_SMT_NONE);
        _cleanup_(sched_freep) Sched *s = NULL;
        int32_t groups[8];
        uint64_t counts[8], rest = 99;
        enum { N = 3000 };

        CHECK(sched_new(topo, topology_online(topo), GiB, &s) == 0);
        CHECK_EQ_U64(sched_queued_by_group(s, groups, counts, 8, &rest), 0);
        CHECK_EQ_U64(rest, 0);
        /* group i % 10 - 5 for i < N: 300 each; ids interleaved so chunks mix */
        for (int i = 0; i < N; i++) {
                SchedTask t = { .id = i + 1, .threads = 1, .memory_bytes = 1, .group = i % 10 - 5,
                                .priority = i % 7 };
                CHECK(sched_enqueue(s, &t) == 0);
        }
        CHECK_EQ_U64(sched_queued_by_group(s, groups, counts, 8, &rest), 8);
        for (int i = 0; i < 8; i++) {
                CHECK_EQ_U64((uint64_t) (int64_t) groups[i], (uint64_t) (int64_t) (4 - i));
                CHECK_EQ_U64(counts[i], N / 10);
        }
        CHECK_EQ_U64(rest, 2 * N / 10);
        CHECK_EQ_U64(sched_queued_by_group(s, groups, counts, 0, &rest), 0);
        CHECK_EQ_U64(rest, N);
        /* one task of a new top group; the head starts */
        SchedTask top = { .id = N + 1, .threads = 1, .memory_bytes = 1, .group = 1000 }, got;
        CHECK(sched_enqueue(s, &top) == 0);
        CHECK(sched_next(s, 0, &got, NULL) == 1 && got.id == N + 1);
        CHECK_EQ_U64(sched_queued_by_group(s, groups, counts, 8, &rest), 8);
        CHECK(groups[0] == 4 && counts[0] == N / 10);
        CHECK(sched_next(s, 0, &got, NULL) == 0);      /* the one CPU is busy */
        sched_release(s, N + 1);
        CHECK(sched_next(s, 0, &got, NULL) == 1 && got.group == 4);
        CHECK_EQ_U64(sched_queued_by_group(s, groups, counts, 8, &rest), 8);
        CHECK(groups[0] == 4 && counts[0] == N / 10 - 1);
}

int main(void) {
        test_queued_by_group();
        test_queue_long();
        test_mixed();
        test_backfill();
        test_unknown_end();
        test_memory();
        test_order();
        test_order_threads();
        test_starvation();
        test_random();
        test_api();
        CHECK_DONE();
}
