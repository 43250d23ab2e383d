/* bench/sched.c: replays workloads through the real scheduler and placement
 * code (libbr's sched.c, placement.c, topology.c) on a modelled machine, in
 * simulated time, and compares with the seed's policy: the first task fixes
 * the slot size, only tasks of that thread count run together, and the head
 * of the queue blocks everything behind it until the machine has drained.
 *
 * Prints, per workload and policy: makespan / lower bound, where the lower
 * bound is max(total thread-seconds / CPU threads, longest task) (and, for
 * the memory-bound mix, total GiB-seconds / memory budget as well); the
 * mean wait from submission to start; and the CPU utilisation over the
 * makespan.  Usage: sched [--seeds N] [--sysfs ROOT] [--check]. */
#include "config.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake-sysfs.h"
#include "sched.h"
#include "topology.h"
#include "util.h"

#define GiB (UINT64_C(1) << 30)
#define SEC USEC_PER_SEC
#define NEVER UINT64_MAX

typedef struct Job {
        Task task;
        uint64_t submit, run;    /* run: time it runs (already cut at its limit) */
        uint64_t start, finish;
        bool queued, started, done;
} Job;

typedef struct Result {
        double ratio, wait_s, util, makespan_s, lower_s;
} Result;

typedef void (*KindFunc)(uint64_t *rng, unsigned *threads, double *mem_gib);

typedef struct Workload {
        const char *name;
        const char *about;
        KindFunc kind;
        size_t n;
        bool batches;       /* scripts submit 20-100 tasks of one kind at once */
        double window;      /* submissions spread over this share of the work's time */
        uint64_t budget;
        bool memory_bound;
} Workload;

/* ---- random numbers (splitmix64: the same tables on every machine) ---- */

static uint64_t rnd(uint64_t *s) {
        uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
        z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
        return z ^ (z >> 31);
}

static double uniform(uint64_t *s) {
        return ((double) (rnd(s) >> 11) + 0.5) / 9007199254740992.0;
}

static double lognormal(uint64_t *s, double median, double sigma) {
        double z = sqrt(-2 * log(uniform(s))) * cos(2 * M_PI * uniform(s));
        return median * exp(sigma * z);
}

/* ---- workloads ---- */

#define CPUS 32u
#define MINUTE (60 * SEC)

/* Every task has a time limit of 5, 15 or 30 minutes and a log-normal run
 * time with a median of a fifth of its limit (sigma 1), cut at the limit as
 * systemd would.  Tasks are submitted one by one, or in batches of 20-100
 * tasks of one kind and one limit (a script), at random times over the first
 * `window` of the time the whole work needs on the machine (0: all at
 * once), so that the queue is never empty yet keeps changing. */
static void make_jobs(const Workload *wl, Job *jobs, size_t n, uint64_t *rng) {
        static const uint64_t limits[] = { 5 * MINUTE, 15 * MINUTE, 30 * MINUTE };
        double work = 0;

        for (size_t first = 0; first < n;) {
                size_t size = wl->batches ? 20 + rnd(rng) % 81 : 1;
                uint64_t limit = limits[rnd(rng) % ELEMENTSOF(limits)];
                unsigned threads;
                double mem;

                wl->kind(rng, &threads, &mem);
                for (size_t i = first; i < first + size && i < n; i++) {
                        uint64_t d = (uint64_t) (lognormal(rng, (double) limit / SEC / 5, 1.0) * SEC);
                        jobs[i].task.threads = threads;
                        jobs[i].task.memory_bytes = (uint64_t) (mem * (double) GiB);
                        jobs[i].task.time_limit_usec = limit;
                        jobs[i].run = d < SEC ? SEC : d > limit ? limit : d;
                        jobs[i].submit = first;      /* the batch, for now */
                        work += (double) jobs[i].run * threads;
                }
                first += size;
        }
        for (size_t i = 0; i < n;) {
                uint64_t batch = jobs[i].submit, at = (uint64_t) (uniform(rng) * wl->window * work / CPUS);
                for (; i < n && jobs[i].submit == batch; i++)
                        jobs[i].submit = at;
        }
}

static void kind_single(uint64_t *rng, unsigned *threads, double *mem) {
        *threads = 1;
        *mem = 1;
}

static void kind_mixed(uint64_t *rng, unsigned *threads, double *mem) {
        static const unsigned t[] = { 1, 1, 1, 1, 2, 2, 2, 4, 4, 8 };
        *threads = t[rnd(rng) % ELEMENTSOF(t)];
        *mem = *threads;
}

static void kind_memory(uint64_t *rng, unsigned *threads, double *mem) {
        static const unsigned t[] = { 1, 1, 2, 2, 4 };
        double m = lognormal(rng, 8, 0.7);
        *threads = t[rnd(rng) % ELEMENTSOF(t)];
        *mem = m < 1 ? 1 : m > 48 ? 48 : m;
}

static const Workload workloads[] = {
        { "single", "2000 tasks of 1 thread, 1G each, submitted one by one",
          kind_single, 2000, false, 0.8, 64 * GiB, false },
        { "mixed", "2000 tasks of 1/2/4/8 threads (4:3:2:1), 1G per thread, submitted one by one",
          kind_mixed, 2000, false, 0.8, 64 * GiB, false },
        { "memory", "1000 tasks of 1/2/4 threads, log-normal memory (median 8G, 1-48G), 64G budget",
          kind_memory, 1000, false, 0.8, 64 * GiB, true },
        /* how much the comparison depends on the way tasks arrive */
        { "mixed/b", "as mixed, submitted in batches of 20-100 tasks of one kind",
          kind_mixed, 2000, true, 0.8, 64 * GiB, false },
        { "mixed/0", "as mixed, all submitted at once",
          kind_mixed, 2000, false, 0, 64 * GiB, false },
};

/* ---- the two policies ---- */

static int job_order(const void *a, const void *b) {
        const Task *x = &(*(const Job * const *) a)->task, *y = &(*(const Job * const *) b)->task;
        if (x->group != y->group)
                return x->group > y->group ? -1 : 1;
        if (x->threads != y->threads)
                return x->threads > y->threads ? -1 : 1;
        if (x->priority != y->priority)
                return x->priority > y->priority ? -1 : 1;
        return x->id < y->id ? -1 : x->id > y->id;
}

static Job *job_of(Job *jobs, int64_t id) {
        return &jobs[id - 1];
}

static int job_submit_cmp(const void *a, const void *b) {
        const Job *x = a, *y = b;
        return x->submit < y->submit ? -1 : x->submit > y->submit;
}

/* Next event after now: a submission or an end. */
static uint64_t next_event(const Job *jobs, size_t n) {
        uint64_t next = NEVER;
        for (size_t i = 0; i < n; i++) {
                if (!jobs[i].queued && jobs[i].submit < next)
                        next = jobs[i].submit;
                if (jobs[i].started && !jobs[i].done && jobs[i].finish < next)
                        next = jobs[i].finish;
        }
        return next;
}

static int run_ours(const Topology *topo, Job *jobs, size_t n, uint64_t budget) {
        _cleanup_(sched_freep) Sched *s = NULL;
        uint64_t now = 0;
        int r;

        r = sched_new(topo, topology_online(topo), budget, &s);
        if (r < 0)
                return r;
        for (;;) {
                SchedTask t;
                CpuSet cpus;

                for (size_t i = 0; i < n; i++) {
                        if (!jobs[i].queued && jobs[i].submit <= now) {
                                SchedTask q = sched_task(&jobs[i].task, 0);
                                r = sched_enqueue(s, &q);
                                if (r < 0)
                                        return r;
                                jobs[i].queued = true;
                        }
                        if (jobs[i].started && !jobs[i].done && jobs[i].finish <= now) {
                                sched_release(s, jobs[i].task.id);
                                jobs[i].done = true;
                        }
                }
                while ((r = sched_next(s, now, &t, &cpus)) > 0) {
                        Job *j = job_of(jobs, t.id);
                        j->started = true;
                        j->start = now;
                        j->finish = now + j->run;
                }
                if (r < 0)
                        return r;
                now = next_event(jobs, n);
                if (now == NEVER)
                        return 0;
        }
}

/* The seed: strict order; the running tasks all have the thread count of
 * the first one started on the idle machine; the head waits until it can
 * join them, or until the machine is idle.  Memory as a budget too. */
static int run_seed(Job *jobs, size_t n, uint64_t budget) {
        _cleanup_(freep) Job **queue = calloc(n, sizeof *queue);
        size_t nq = 0;
        uint64_t now = 0, mem = 0;
        unsigned busy = 0, running = 0, slot = 0;

        if (!queue)
                return -ENOMEM;
        for (;;) {
                bool added = false;

                for (size_t i = 0; i < n; i++) {
                        if (!jobs[i].queued && jobs[i].submit <= now) {
                                queue[nq++] = &jobs[i];
                                jobs[i].queued = true;
                                added = true;
                        }
                        if (jobs[i].started && !jobs[i].done && jobs[i].finish <= now) {
                                busy -= jobs[i].task.threads;
                                mem -= jobs[i].task.memory_bytes;
                                running--;
                                jobs[i].done = true;
                        }
                }
                if (added)
                        qsort(queue, nq, sizeof *queue, job_order);
                while (nq > 0) {
                        Job *h = queue[0];
                        if (running > 0 && (h->task.threads != slot || busy + h->task.threads > CPUS ||
                                            mem + h->task.memory_bytes > budget))
                                break;
                        slot = h->task.threads;
                        busy += slot;
                        mem += h->task.memory_bytes;
                        running++;
                        h->started = true;
                        h->start = now;
                        h->finish = now + h->run;
                        memmove(queue, queue + 1, (nq - 1) * sizeof *queue);
                        nq--;
                }
                now = next_event(jobs, n);
                if (now == NEVER)
                        return 0;
        }
}

static Result measure(const Job *jobs, size_t n, uint64_t budget, bool memory_bound) {
        double thread_s = 0, longest = 0, wait = 0, mem_s = 0, end = 0, start = NEVER;
        Result res;

        for (size_t i = 0; i < n; i++) {
                double run = (double) jobs[i].run / SEC;
                thread_s += run * jobs[i].task.threads;
                mem_s += run * (double) jobs[i].task.memory_bytes;
                if (run > longest)
                        longest = run;
                wait += (double) (jobs[i].start - jobs[i].submit) / SEC;
                if ((double) jobs[i].finish / SEC > end)
                        end = (double) jobs[i].finish / SEC;
                if ((double) jobs[i].submit / SEC < start)
                        start = (double) jobs[i].submit / SEC;
        }
        res.lower_s = thread_s / CPUS > longest ? thread_s / CPUS : longest;
        if (memory_bound && mem_s / (double) budget > res.lower_s)
                res.lower_s = mem_s / (double) budget;
        res.makespan_s = end - start;
        res.ratio = res.makespan_s / res.lower_s;
        res.wait_s = wait / (double) n;
        res.util = thread_s / (CPUS * res.makespan_s);
        return res;
}

static void reset(Job *jobs, size_t n) {
        for (size_t i = 0; i < n; i++) {
                jobs[i].queued = jobs[i].started = jobs[i].done = false;
                jobs[i].start = jobs[i].finish = 0;
        }
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "seeds", required_argument, NULL, 's' },
                { "sysfs", required_argument, NULL, 'y' },
                { "check", no_argument,       NULL, 'c' },
                { "help",  no_argument,       NULL, 'h' },
                {}
        };
        _cleanup_(topology_freep) Topology *topo = NULL;
        const char *sysfs = NULL;
        char *fake = NULL;
        unsigned seeds = 5;
        bool check = false, ok = true;
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 's':
                        seeds = (unsigned) atoi(optarg);
                        if (seeds == 0)
                                seeds = 1;
                        break;
                case 'y':
                        sysfs = optarg;
                        break;
                case 'c':
                        check = true;
                        break;
                case 'h':
                        printf("Usage: %s [--seeds N] [--sysfs ROOT] [--check]\n"
                               "Replays workloads through benchrunner's scheduler on a modelled\n"
                               "16-core, 2-way SMT machine (siblings k,k+16) and the seed's policy.\n"
                               "--check fails unless, on the mixed workload, ours is within 1.10 of\n"
                               "the lower bound and 1.3 times shorter than the seed's.\n", argv[0]);
                        return 0;
                default:
                        return 2;
                }

        if (!sysfs) {
                fake = fake_sysfs_new(1, 16, FAKE_SMT_SPLIT, 0, NULL);
                if (!fake) {
                        fprintf(stderr, "Cannot create the modelled machine's sysfs tree.\n");
                        return 1;
                }
        }
        r = topology_load(sysfs ?: fake, &topo);
        fake_sysfs_free(fake);
        if (r < 0) {
                fprintf(stderr, "Cannot read the topology: %s\n", strerror(-r));
                return 1;
        }
        if (cpuset_count(topology_online(topo)) != CPUS) {
                fprintf(stderr, "The model needs %u CPU threads.\n", CPUS);
                return 1;
        }

        printf("Modelled machine: 16 cores, 2-way SMT (siblings k,k+16), all %u threads given; "
               "%u seeds, means (worst) over seeds.\n\n", CPUS, seeds);
        printf("%-8s %-6s %16s %18s %14s %10s\n", "workload", "policy", "makespan/LB", "mean wait",
               "CPU util", "vs seed");
        for (size_t w = 0; w < ELEMENTSOF(workloads); w++) {
                const Workload *wl = &workloads[w];
                double sum[2][3] = {}, worst[2] = { 0, 0 }, speed = 0, speed_worst = 1e9;

                for (unsigned seed = 1; seed <= seeds; seed++) {
                        size_t nn = wl->n;
                        _cleanup_(freep) Job *jobs = calloc(nn, sizeof *jobs);
                        uint64_t rng = seed * 7919 + w;
                        Result res[2];

                        if (!jobs)
                                return 1;
                        make_jobs(wl, jobs, nn, &rng);
                        /* ids in submission order, as the database gives them */
                        qsort(jobs, nn, sizeof *jobs, job_submit_cmp);
                        for (size_t i = 0; i < nn; i++)
                                jobs[i].task.id = (int64_t) i + 1;
                        r = run_ours(topo, jobs, nn, wl->budget);
                        if (r < 0) {
                                fprintf(stderr, "Scheduler failed: %s\n", strerror(-r));
                                return 1;
                        }
                        res[0] = measure(jobs, nn, wl->budget, wl->memory_bound);
                        reset(jobs, nn);
                        r = run_seed(jobs, nn, wl->budget);
                        if (r < 0)
                                return 1;
                        res[1] = measure(jobs, nn, wl->budget, wl->memory_bound);
                        for (int p = 0; p < 2; p++) {
                                sum[p][0] += res[p].ratio;
                                sum[p][1] += res[p].wait_s;
                                sum[p][2] += res[p].util;
                                if (res[p].ratio > worst[p])
                                        worst[p] = res[p].ratio;
                        }
                        double sp = res[1].makespan_s / res[0].makespan_s;
                        speed += sp;
                        if (sp < speed_worst)
                                speed_worst = sp;
                }
                for (int p = 0; p < 2; p++) {
                        char ratio[32], wait[32], sp[32] = "";
                        snprintf(ratio, sizeof ratio, "%.3f (%.3f)", sum[p][0] / seeds, worst[p]);
                        snprintf(wait, sizeof wait, "%.0fs", sum[p][1] / seeds);
                        if (p == 0)
                                snprintf(sp, sizeof sp, "%.2fx (%.2fx)", speed / seeds, speed_worst);
                        printf("%-8s %-6s %16s %18s %13.1f%% %14s\n", p == 0 ? wl->name : "",
                               p == 0 ? "ours" : "seed", ratio, wait, 100 * sum[p][2] / seeds, sp);
                }
                if (strcmp(wl->name, "mixed") == 0 && (worst[0] > 1.10 || speed_worst < 1.3))
                        ok = false;
        }
        printf("\nWorkloads (submitted over the first 80%% of the time the work needs, unless said):\n");
        for (size_t w = 0; w < ELEMENTSOF(workloads); w++)
                printf("  %-8s %s\n", workloads[w].name, workloads[w].about);
        printf("Every task: time limit 5, 15 or 30 min; log-normal run time, median limit/5, sigma 1, cut at the limit.\n"
               "LB = max(thread-seconds / %u, longest task) (memory: and GiB-seconds / budget).\n"
               "vs seed = the seed's makespan / ours.  Target (mixed): ours <= 1.10 x LB, >= 1.3x shorter.\n", CPUS);
        if (check && !ok) {
                fprintf(stderr, "Target missed on the mixed workload: ours <= 1.10 x LB and >= 1.3x shorter than the seed.\n");
                return 1;
        }
        return 0;
}
