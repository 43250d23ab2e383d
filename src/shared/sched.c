/* sched.c: the task queue and the start decision.
 *
 * First version: a strict priority queue.  Order: higher group first, then
 * more threads, then higher priority, then lower id (submission order).
 * Only the head of the queue may start, when its placement and its memory
 * fit. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "placement.h"
#include "sched.h"
#include "util.h"

typedef struct SchedRunning {
        Task *task;
        CpuSet reserved;        /* what it holds */
        uint64_t memory;
        uint64_t started_usec;
} SchedRunning;

struct Sched {
        const Topology *topo;
        CpuSet cpus;
        uint64_t memory;
        uint64_t cleanup_time_limit;

        CpuSet busy;
        uint64_t memory_used;

        Task **queue;           /* sorted, head first */
        size_t n_queue, n_queue_alloc;
        SchedRunning *running;
        size_t n_running, n_running_alloc;
};

int sched_new(const Topology *topo, const CpuSet *cpus, uint64_t memory_bytes, Sched **ret) {
        Sched *s;

        if (!topo || !cpus || !ret)
                return -EINVAL;
        if (cpuset_empty(cpus) || !cpuset_subset(cpus, topology_online(topo)))
                return -EINVAL;
        s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->topo = topo;
        s->cpus = *cpus;
        s->memory = memory_bytes;
        *ret = s;
        return 0;
}

Sched *sched_free(Sched *s) {
        if (!s)
                return NULL;
        free(s->queue);
        free(s->running);
        free(s);
        return NULL;
}

void sched_set_cleanup_time_limit(Sched *s, uint64_t usec) {
        s->cleanup_time_limit = usec;
}

/* < 0 if a goes before b. */
static int task_order(const Task *a, const Task *b) {
        if (a->group != b->group)
                return a->group > b->group ? -1 : 1;
        if (a->threads != b->threads)
                return a->threads > b->threads ? -1 : 1;
        if (a->priority != b->priority)
                return a->priority > b->priority ? -1 : 1;
        if (a->id != b->id)
                return a->id < b->id ? -1 : 1;
        return 0;
}

static ssize_t queue_find(const Sched *s, const Task *t) {
        for (size_t i = 0; i < s->n_queue; i++)
                if (s->queue[i] == t)
                        return (ssize_t) i;
        return -1;
}

static ssize_t running_find(const Sched *s, const Task *t) {
        for (size_t i = 0; i < s->n_running; i++)
                if (s->running[i].task == t)
                        return (ssize_t) i;
        return -1;
}

int sched_check(const Sched *s, const Task *t, char **ret_reason) {
        CpuSet cpus, reserved;
        char *reason = NULL;
        unsigned given = cpuset_count(&s->cpus);

        if (t->threads == 0)
                reason = strdup("a task needs at least one thread");
        else if (t->threads > given) {
                if (asprintf(&reason, "%u threads requested, but benchrunner has only %u CPUs",
                             t->threads, given) < 0)
                        reason = NULL;
        } else if (t->memory_bytes > s->memory) {
                char a[FORMAT_SIZE_MAX], b[FORMAT_SIZE_MAX];
                if (asprintf(&reason, "%s of memory requested, but benchrunner has only %s",
                             format_size(a, sizeof a, t->memory_bytes),
                             format_size(b, sizeof b, s->memory)) < 0)
                        reason = NULL;
        } else if (placement_find(s->topo, &s->cpus, t->threads, t->whole_cores, &cpus, &reserved) < 0) {
                if (asprintf(&reason, "%u threads %s do not fit the whole cores of the CPUs given to benchrunner",
                             t->threads, t->whole_cores ? "on whole cores" : "(an even count takes whole cores)") < 0)
                        reason = NULL;
        } else
                return 0;

        if (ret_reason)
                *ret_reason = reason;
        else
                free(reason);
        return -E2BIG;
}

int sched_enqueue(Sched *s, Task *t) {
        size_t lo, hi;
        int r;

        if (!t)
                return -EINVAL;
        if (queue_find(s, t) >= 0 || running_find(s, t) >= 0)
                return -EEXIST;
        r = sched_check(s, t, NULL);
        if (r < 0)
                return r;
        if (s->n_queue == s->n_queue_alloc) {
                size_t n = s->n_queue_alloc ? s->n_queue_alloc * 2 : 64;
                Task **q = reallocarray(s->queue, n, sizeof *q);
                if (!q)
                        return -ENOMEM;
                s->queue = q;
                s->n_queue_alloc = n;
        }
        /* binary search for the first task that goes after t */
        lo = 0;
        hi = s->n_queue;
        while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (task_order(s->queue[mid], t) <= 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        memmove(s->queue + lo + 1, s->queue + lo, (s->n_queue - lo) * sizeof *s->queue);
        s->queue[lo] = t;
        s->n_queue++;
        return 0;
}

static void queue_remove(Sched *s, size_t i) {
        memmove(s->queue + i, s->queue + i + 1, (s->n_queue - i - 1) * sizeof *s->queue);
        s->n_queue--;
}

int sched_dequeue(Sched *s, Task *t) {
        ssize_t i = queue_find(s, t);

        if (i < 0)
                return -ENOENT;
        queue_remove(s, (size_t) i);
        return 0;
}

static int running_add(Sched *s, Task *t, const CpuSet *reserved, uint64_t started_usec) {
        if (s->n_running == s->n_running_alloc) {
                size_t n = s->n_running_alloc ? s->n_running_alloc * 2 : 16;
                SchedRunning *r = reallocarray(s->running, n, sizeof *r);
                if (!r)
                        return -ENOMEM;
                s->running = r;
                s->n_running_alloc = n;
        }
        s->running[s->n_running++] = (SchedRunning) {
                .task = t,
                .reserved = *reserved,
                .memory = t->memory_bytes,
                .started_usec = started_usec,
        };
        cpuset_or(&s->busy, reserved);
        s->memory_used += t->memory_bytes;
        return 0;
}

static void free_cpus(const Sched *s, CpuSet *ret) {
        *ret = s->cpus;
        cpuset_and_not(ret, &s->busy);
}

int sched_next(Sched *s, uint64_t now_usec, Task **ret, CpuSet *ret_cpus) {
        CpuSet free, cpus, reserved;
        Task *t;
        int r;

        if (s->n_queue == 0)
                return 0;
        t = s->queue[0];
        if (t->memory_bytes > s->memory - s->memory_used || s->memory_used > s->memory)
                return 0;
        free_cpus(s, &free);
        if (placement_find(s->topo, &free, t->threads, t->whole_cores, &cpus, &reserved) < 0)
                return 0;
        r = running_add(s, t, &reserved, now_usec);
        if (r < 0)
                return r;
        queue_remove(s, 0);
        *ret = t;
        if (ret_cpus)
                *ret_cpus = cpus;
        return 1;
}

int sched_occupy(Sched *s, Task *t, const CpuSet *cpus, uint64_t started_usec) {
        CpuSet reserved;

        if (!t || !cpus || cpuset_empty(cpus))
                return -EINVAL;
        if (queue_find(s, t) >= 0 || running_find(s, t) >= 0)
                return -EEXIST;
        placement_reserved(s->topo, cpus, t->whole_cores, &reserved);
        return running_add(s, t, &reserved, started_usec);
}

void sched_release(Sched *s, Task *t) {
        ssize_t i = running_find(s, t);

        if (i < 0)
                return;
        s->memory_used -= s->running[i].memory;
        memmove(s->running + i, s->running + i + 1, (s->n_running - (size_t) i - 1) * sizeof *s->running);
        s->n_running--;
        /* recompute: occupied tasks may overlap */
        cpuset_zero(&s->busy);
        for (size_t j = 0; j < s->n_running; j++)
                cpuset_or(&s->busy, &s->running[j].reserved);
}

unsigned sched_n_queued(const Sched *s) {
        return (unsigned) s->n_queue;
}

unsigned sched_n_running(const Sched *s) {
        return (unsigned) s->n_running;
}

void sched_usage(const Sched *s, CpuSet *ret_busy, uint64_t *ret_memory_used) {
        if (ret_busy)
                *ret_busy = s->busy;
        if (ret_memory_used)
                *ret_memory_used = s->memory_used;
}
