/* sched.c: the task queue and the decision which task starts next.
 *
 * Policy (also in docs/scheduling.md and benchrunnerd(8)):
 *
 * Order.  Higher group first, then more threads, then higher priority, then
 * lower id (submission order).  The first task in this order is the head.
 *
 * The head starts as soon as its placement (placement.c) and its memory fit.
 *
 * Otherwise the head gets a reservation, EASY-backfilling style: the running
 * tasks are released in the order of their ends (started + time limit +
 * cleanup time limit; a task without a time limit ends "never", those in the
 * order they started) until the head fits; that point is the shadow time T,
 * and the head's placement there, R (on CPUs busy now where possible, so
 * that the CPUs free now stay open to others), with the memory left over at
 * T after the head, X, is what the head is promised.  A later task in the
 * queue may start now, on CPUs free now and within the memory free now,
 * only if
 *   (a) it has a time limit and now + its limit (+ cleanup) <= T: it is gone
 *       before the head needs anything, or
 *   (b) its placement avoids R entirely and its memory fits in X: it takes
 *       nothing the head will need at T, however long it runs.
 * Tasks without a time limit can only use (b).  If T is unknown (the head
 * must wait for a task without a time limit), (a) is off and only (b) is
 * used: the head then waits only for tasks with a known end and for tasks
 * without one that were running when it became the head (those are released
 * oldest first); a task without a time limit started later never holds R.
 *
 * No starvation: a task started by (a) or (b) leaves R free at T, so after
 * any start or end the head still fits at T and its recomputed shadow time
 * can only move earlier; the head starts no later than T (plus the time the
 * daemon takes to notice an end).  With unknown ends the set of tasks the
 * head waits for only shrinks.  The guarantee is for the head: a task that
 * sorts before it (higher group, more threads, higher priority) takes over
 * the reservation when it arrives, as the order says it should.
 *
 * Memory is a budget: a task starts only if the memory of all running tasks
 * plus its own stays within it.
 *
 * Everything is recomputed from the running tasks at each sched_next(),
 * which keeps the state small (no stale reservations) and is cheap at the
 * sizes of one machine.
 *
 * The queue is a sorted sequence of chunks of at most CHUNK_MAX records:
 * an insert or removal is a binary search over the chunks and one within a
 * chunk, and moves at most a chunk's records (plus, when a chunk splits or
 * empties, the chunk pointers: one per CHUNK_MAX tasks).  Backfilling
 * visits at most SCHED_BACKFILL_DEPTH tasks behind the head. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "placement.h"
#include "sched.h"
#include "util.h"

typedef struct SchedRunning {
        SchedTask task;
        CpuSet reserved;        /* what it holds */
        uint64_t memory;
        uint64_t started_usec;
        uint64_t end_usec;      /* when its resources are free at the latest, NEVER if unknown */
} SchedRunning;

#define NEVER UINT64_MAX

/* Shapes of tasks that could not start in this pass: a later task that is
 * no easier to place is skipped without trying. */
#define FAILED_MAX 32
typedef struct Failed {
        unsigned threads;
        bool whole_cores;
        uint64_t memory;
        uint64_t hold;
} Failed;

struct Sched {
        const Topology *topo;
        CpuSet cpus;
        unsigned n_cpus;        /* cpuset_count(&cpus), asked for at every submit */
        uint64_t memory;
        uint64_t cleanup_time_limit;

        CpuSet busy;
        uint64_t memory_used;

        struct Chunk **chunks;  /* the queue, sorted, head first */
        size_t n_chunks, n_chunks_alloc;
        size_t n_queue;
        uint8_t *fits;          /* sched_check()'s placement by threads x whole cores: 0 unknown, 1 yes, 2 no */
        SchedRunning *running;
        size_t n_running, n_running_alloc;
};

#define CHUNK_MAX 256
typedef struct Chunk {
        size_t n;
        SchedTask t[CHUNK_MAX];
} Chunk;

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
        s->n_cpus = cpuset_count(cpus);
        s->memory = memory_bytes;
        s->fits = calloc(((size_t) s->n_cpus + 1) * 2, 1);
        if (!s->fits) {
                free(s);
                return -ENOMEM;
        }
        *ret = s;
        return 0;
}

Sched *sched_free(Sched *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_chunks; i++)
                free(s->chunks[i]);
        free(s->chunks);
        free(s->fits);
        free(s->running);
        free(s);
        return NULL;
}

void sched_set_cleanup_time_limit(Sched *s, uint64_t usec) {
        s->cleanup_time_limit = usec;
}

/* < 0 if a goes before b. */
static int task_order(const SchedTask *a, const SchedTask *b) {
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

/* ---- the queue ---- */

/* The first chunk whose last record does not sort before t (n_chunks if
 * t goes after all of them). */
static size_t chunk_for(const Sched *s, const SchedTask *t) {
        size_t lo = 0, hi = s->n_chunks;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                const Chunk *c = s->chunks[mid];
                if (task_order(&c->t[c->n - 1], t) < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

/* Within a chunk: the first record that does not sort before t. */
static size_t slot_for(const Chunk *c, const SchedTask *t) {
        size_t lo = 0, hi = c->n;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (task_order(&c->t[mid], t) < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

static bool queue_find(const Sched *s, const SchedTask *t, size_t *ret_chunk, size_t *ret_slot) {
        size_t ci = chunk_for(s, t), si;

        if (ci >= s->n_chunks)
                return false;
        si = slot_for(s->chunks[ci], t);
        if (si >= s->chunks[ci]->n || task_order(&s->chunks[ci]->t[si], t) != 0)
                return false;
        *ret_chunk = ci;
        *ret_slot = si;
        return true;
}

static int chunk_insert_at(Sched *s, size_t ci, Chunk *c) {
        if (s->n_chunks == s->n_chunks_alloc) {
                size_t n = s->n_chunks_alloc ? s->n_chunks_alloc * 2 : 16;
                Chunk **a = reallocarray(s->chunks, n, sizeof *a);
                if (!a)
                        return -ENOMEM;
                s->chunks = a;
                s->n_chunks_alloc = n;
        }
        memmove(s->chunks + ci + 1, s->chunks + ci, (s->n_chunks - ci) * sizeof *s->chunks);
        s->chunks[ci] = c;
        s->n_chunks++;
        return 0;
}

static int queue_insert(Sched *s, const SchedTask *t) {
        size_t ci = chunk_for(s, t), si;
        Chunk *c;
        int r;

        if (ci == s->n_chunks) {
                /* after everything: the common case, submission order */
                if (ci > 0 && s->chunks[ci - 1]->n < CHUNK_MAX)
                        ci--;
                else {
                        c = malloc(sizeof *c);
                        if (!c)
                                return -ENOMEM;
                        c->n = 0;
                        r = chunk_insert_at(s, ci, c);
                        if (r < 0) {
                                free(c);
                                return r;
                        }
                }
        }
        c = s->chunks[ci];
        si = slot_for(c, t);
        if (c->n == CHUNK_MAX) {
                /* split in halves; t goes into the one it sorts in */
                Chunk *n = malloc(sizeof *n);
                if (!n)
                        return -ENOMEM;
                n->n = CHUNK_MAX / 2;
                memcpy(n->t, c->t + CHUNK_MAX / 2, n->n * sizeof *n->t);
                c->n = CHUNK_MAX / 2;
                r = chunk_insert_at(s, ci + 1, n);
                if (r < 0) {
                        memcpy(c->t + c->n, n->t, n->n * sizeof *n->t);
                        c->n = CHUNK_MAX;
                        free(n);
                        return r;
                }
                if (si > c->n) {
                        si -= c->n;
                        c = n;
                }
        }
        memmove(c->t + si + 1, c->t + si, (c->n - si) * sizeof *c->t);
        c->t[si] = *t;
        c->n++;
        s->n_queue++;
        return 0;
}

static void queue_remove(Sched *s, size_t ci, size_t si) {
        Chunk *c = s->chunks[ci];

        memmove(c->t + si, c->t + si + 1, (c->n - si - 1) * sizeof *c->t);
        c->n--;
        s->n_queue--;
        if (c->n == 0) {
                free(c);
                memmove(s->chunks + ci, s->chunks + ci + 1, (s->n_chunks - ci - 1) * sizeof *s->chunks);
                s->n_chunks--;
        }
}

static const SchedTask *queue_head(const Sched *s) {
        return s->n_chunks > 0 ? &s->chunks[0]->t[0] : NULL;
}

static ssize_t running_find(const Sched *s, int64_t id) {
        for (size_t i = 0; i < s->n_running; i++)
                if (s->running[i].task.id == id)
                        return (ssize_t) i;
        return -1;
}

/* Whether threads (on whole cores or not) can ever be placed on the CPUs
 * given: remembered, as the answer never changes. */
static bool placeable(const Sched *s, unsigned threads, bool whole_cores) {
        unsigned given = s->n_cpus;
        CpuSet cpus, reserved;
        uint8_t *f = s->fits && threads <= given ? &s->fits[(size_t) threads * 2 + whole_cores] : NULL;
        bool ok;

        if (f && *f)
                return *f == 1;
        ok = threads <= given && placement_find(s->topo, &s->cpus, threads, whole_cores, &cpus, &reserved) >= 0;
        if (f)
                *f = ok ? 1 : 2;
        return ok;
}

int sched_check(const Sched *s, const SchedTask *t, char **ret_reason) {
        char *reason = NULL;
        unsigned given = s->n_cpus;

        if (t->threads == 0)
                reason = strdup("a task needs at least one thread");
        else if (t->threads > given) {
                if (asprintf(&reason, "%u threads requested, but benchrunner was given only %u CPU thread%s",
                             t->threads, given, given == 1 ? "" : "s") < 0)
                        reason = NULL;
        } else if (t->memory_bytes > s->memory) {
                char a[FORMAT_SIZE_MAX], b[FORMAT_SIZE_MAX];
                if (asprintf(&reason, "%s of memory requested, but benchrunner has only %s",
                             format_size(a, sizeof a, t->memory_bytes),
                             format_size(b, sizeof b, s->memory)) < 0)
                        reason = NULL;
        } else if (!placeable(s, t->threads, t->whole_cores)) {
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

int sched_enqueue(Sched *s, const SchedTask *t) {
        size_t ci, si;
        int r;

        if (!t)
                return -EINVAL;
        if (queue_find(s, t, &ci, &si) || running_find(s, t->id) >= 0)
                return -EEXIST;
        r = sched_check(s, t, NULL);
        if (r < 0)
                return r;
        return queue_insert(s, t);
}

int sched_dequeue(Sched *s, const SchedTask *t, SchedTask *ret) {
        size_t ci, si;

        if (!t || !queue_find(s, t, &ci, &si))
                return -ENOENT;
        if (ret)
                *ret = s->chunks[ci]->t[si];
        queue_remove(s, ci, si);
        return 0;
}

/* How long a task holds its resources at most: its time limit plus its
 * cleanup's, each with the time a stopped command has between SIGTERM and
 * SIGKILL; NEVER if either limit is unknown. */
static uint64_t task_hold(const Sched *s, const SchedTask *t) {
        uint64_t cleanup = 0;

        if (t->time_limit_usec == 0)
                return NEVER;
        if (t->has_cleanup) {
                cleanup = t->cleanup_time_limit_usec ? t->cleanup_time_limit_usec : s->cleanup_time_limit;
                if (cleanup == 0)
                        return NEVER;
        }
        if (cleanup > 0)
                cleanup += TASK_STOP_TIMEOUT_USEC;
        if (t->time_limit_usec > NEVER - 1 - cleanup - TASK_STOP_TIMEOUT_USEC)
                return NEVER;
        return t->time_limit_usec + TASK_STOP_TIMEOUT_USEC + cleanup;
}

static int running_add(Sched *s, const SchedTask *t, const CpuSet *reserved, uint64_t started_usec) {
        if (s->n_running == s->n_running_alloc) {
                size_t n = s->n_running_alloc ? s->n_running_alloc * 2 : 16;
                SchedRunning *r = reallocarray(s->running, n, sizeof *r);
                if (!r)
                        return -ENOMEM;
                s->running = r;
                s->n_running_alloc = n;
        }
        uint64_t hold = task_hold(s, t);
        s->running[s->n_running++] = (SchedRunning) {
                .task = *t,
                .reserved = *reserved,
                .memory = t->memory_bytes,
                .started_usec = started_usec,
                .end_usec = hold == NEVER || started_usec > NEVER - hold ? NEVER : started_usec + hold,
        };
        cpuset_or(&s->busy, reserved);
        s->memory_used += t->memory_bytes;
        return 0;
}

static void free_cpus(const Sched *s, CpuSet *ret) {
        *ret = s->cpus;
        cpuset_and_not(ret, &s->busy);
}

static bool memory_fits(const Sched *s, uint64_t used, uint64_t need) {
        return used <= s->memory && need <= s->memory - used;
}

static int running_end_cmp(const void *a, const void *b) {
        const SchedRunning *x = *(const SchedRunning * const *) a, *y = *(const SchedRunning * const *) b;

        if (x->end_usec != y->end_usec)
                return x->end_usec < y->end_usec ? -1 : 1;
        if (x->started_usec != y->started_usec)
                return x->started_usec < y->started_usec ? -1 : 1;
        return x->task.id < y->task.id ? -1 : x->task.id > y->task.id;
}

/* The head's reservation: releases running tasks in the order of their ends
 * until the head fits.  Returns 0 and the shadow time (NEVER if unknown),
 * the CPUs the head would hold then and the memory left over after it;
 * -ENOSPC if it would not fit even on an idle machine. */
static int reservation(const Sched *s, const SchedTask *head, uint64_t now_usec,
                       uint64_t *ret_shadow, CpuSet *ret_cpus, uint64_t *ret_extra) {
        _cleanup_(freep) const SchedRunning **order = NULL;
        _cleanup_(freep) unsigned *holders = NULL;
        unsigned end = cpuset_end(&s->cpus);
        uint64_t used = s->memory_used;
        CpuSet free, free_now, cpus, reserved;

        order = calloc(s->n_running ? s->n_running : 1, sizeof *order);
        holders = calloc(end ? end : 1, sizeof *holders);
        if (!order || !holders)
                return -ENOMEM;
        for (size_t i = 0; i < s->n_running; i++) {
                order[i] = &s->running[i];
                for (unsigned c = 0; c < end; c++)
                        if (cpuset_has(&s->running[i].reserved, c))
                                holders[c]++;
        }
        qsort(order, s->n_running, sizeof *order, running_end_cmp);
        free_cpus(s, &free);
        free_now = free;

        for (size_t i = 0; i < s->n_running;) {
                uint64_t t = order[i]->end_usec;

                /* everything that ends at the same time goes at once */
                do {
                        const SchedRunning *r = order[i];
                        for (unsigned c = 0; c < end; c++)
                                if (cpuset_has(&r->reserved, c) && --holders[c] == 0 &&
                                    cpuset_has(&s->cpus, c))
                                        cpuset_add(&free, c);
                        used -= r->memory;
                        i++;
                } while (i < s->n_running && t != NEVER && order[i]->end_usec == t);

                if (memory_fits(s, used, head->memory_bytes) &&
                    placement_find(s->topo, &free, head->threads, head->whole_cores, &cpus, &reserved) >= 0) {
                        /* Prefer a reservation on CPUs that are busy now: the
                         * CPUs free now then stay open to backfilling. */
                        CpuSet later = free;
                        cpuset_and_not(&later, &free_now);
                        if (placement_find(s->topo, &later, head->threads, head->whole_cores, &cpus, &later) >= 0)
                                reserved = later;
                        /* a task that overran its limit may end any moment */
                        *ret_shadow = t == NEVER ? NEVER : t < now_usec ? now_usec : t;
                        *ret_cpus = reserved;
                        *ret_extra = s->memory - used - head->memory_bytes;
                        return 0;
                }
        }
        return -ENOSPC;
}

static bool failed_covers(const Failed *f, size_t n, const SchedTask *t, uint64_t hold) {
        for (size_t i = 0; i < n; i++)
                if (f[i].threads == t->threads && f[i].whole_cores == t->whole_cores &&
                    f[i].memory <= t->memory_bytes && f[i].hold <= hold)
                        return true;
        return false;
}

static int start(Sched *s, size_t ci, size_t si, const CpuSet *cpus, const CpuSet *reserved, uint64_t now_usec,
                 SchedTask *ret, CpuSet *ret_cpus) {
        SchedTask t = s->chunks[ci]->t[si];
        int r;

        r = running_add(s, &t, reserved, now_usec);
        if (r < 0)
                return r;
        queue_remove(s, ci, si);
        if (ret)
                *ret = t;
        if (ret_cpus)
                *ret_cpus = *cpus;
        return 1;
}

int sched_next(Sched *s, uint64_t now_usec, SchedTask *ret, CpuSet *ret_cpus) {
        CpuSet free, free_outside, head_cpus, cpus, reserved;
        Failed failed[FAILED_MAX];
        size_t n_failed = 0;
        uint64_t shadow, extra;
        const SchedTask *head;
        size_t visited = 0;
        int r;

        if (s->n_queue == 0)
                return 0;
        free_cpus(s, &free);
        if (cpuset_empty(&free))
                return 0;

        head = queue_head(s);
        if (memory_fits(s, s->memory_used, head->memory_bytes) &&
            placement_find(s->topo, &free, head->threads, head->whole_cores, &cpus, &reserved) >= 0)
                return start(s, 0, 0, &cpus, &reserved, now_usec, ret, ret_cpus);

        r = reservation(s, head, now_usec, &shadow, &head_cpus, &extra);
        if (r == -ENOSPC)
                return 0;       /* cannot happen for a task that passed sched_check() */
        if (r < 0)
                return r;

        free_outside = free;
        cpuset_and_not(&free_outside, &head_cpus);

        for (size_t ci = 0; ci < s->n_chunks; ci++)
        for (size_t si = ci == 0 ? 1 : 0; si < s->chunks[ci]->n; si++) {
                const SchedTask *t = &s->chunks[ci]->t[si];
                uint64_t hold = task_hold(s, t);

                if (++visited > SCHED_BACKFILL_DEPTH)
                        return 0;
                bool before = shadow != NEVER && hold != NEVER && hold <= shadow - now_usec;

                if (failed_covers(failed, n_failed, t, hold))
                        continue;
                if (!memory_fits(s, s->memory_used, t->memory_bytes))
                        goto fail;

                /* (b) nothing the head's reservation needs */
                if (t->memory_bytes <= extra &&
                    placement_find(s->topo, &free_outside, t->threads, t->whole_cores, &cpus, &reserved) >= 0)
                        return start(s, ci, si, &cpus, &reserved, now_usec, ret, ret_cpus);
                /* (a) gone before the head starts */
                if (before &&
                    placement_find(s->topo, &free, t->threads, t->whole_cores, &cpus, &reserved) >= 0)
                        return start(s, ci, si, &cpus, &reserved, now_usec, ret, ret_cpus);
        fail:
                if (n_failed < FAILED_MAX)
                        failed[n_failed++] = (Failed) {
                                .threads = t->threads,
                                .whole_cores = t->whole_cores,
                                .memory = t->memory_bytes,
                                .hold = hold,
                        };
        }
        return 0;
}

int sched_reservation(const Sched *s, uint64_t now_usec, SchedTask *ret_head, uint64_t *ret_start_usec) {
        CpuSet free, cpus, reserved;
        uint64_t shadow, extra;
        const SchedTask *head;
        int r;

        if (s->n_queue == 0)
                return 0;
        head = queue_head(s);
        if (ret_head)
                *ret_head = *head;
        if (ret_start_usec)
                *ret_start_usec = now_usec;
        free_cpus(s, &free);
        if (memory_fits(s, s->memory_used, head->memory_bytes) &&
            placement_find(s->topo, &free, head->threads, head->whole_cores, &cpus, &reserved) >= 0)
                return 0;
        r = reservation(s, head, now_usec, &shadow, &cpus, &extra);
        if (r < 0)
                return r;
        if (ret_start_usec)
                *ret_start_usec = shadow;
        return 1;
}

int sched_occupy(Sched *s, const SchedTask *t, const CpuSet *cpus, uint64_t started_usec) {
        CpuSet reserved;
        size_t ci, si;

        if (!t || !cpus || cpuset_empty(cpus))
                return -EINVAL;
        if (queue_find(s, t, &ci, &si) || running_find(s, t->id) >= 0)
                return -EEXIST;
        placement_reserved(s->topo, cpus, t->whole_cores, &reserved);
        return running_add(s, t, &reserved, started_usec);
}

void sched_release(Sched *s, int64_t id) {
        ssize_t i = running_find(s, id);

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

size_t sched_queued_by_group(const Sched *s, int32_t *ret_groups, uint64_t *ret_counts, size_t max,
                             uint64_t *ret_rest) {
        size_t n = 0;
        uint64_t rest = 0;

        for (size_t ci = 0; ci < s->n_chunks; ci++) {
                const Chunk *c = s->chunks[ci];
                size_t si = 0;

                while (si < c->n) {
                        int32_t g = c->t[si].group;
                        size_t end = si + 1;

                        /* the rest of the chunk at once when it ends in the same group */
                        if (c->t[c->n - 1].group == g)
                                end = c->n;
                        else
                                while (end < c->n && c->t[end].group == g)
                                        end++;
                        if (n > 0 && ret_groups[n - 1] == g)
                                ret_counts[n - 1] += end - si;
                        else if (n < max) {
                                ret_groups[n] = g;
                                ret_counts[n++] = end - si;
                        } else
                                rest += end - si;
                        si = end;
                }
        }
        if (ret_rest)
                *ret_rest = rest;
        return n;
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
