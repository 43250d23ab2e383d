/* sched.h: the queue of tasks and the decision which task starts next on
 * which CPUs, under a CPU set and a memory budget.  Pure logic: the caller
 * supplies the clock, starts the units, and tells the scheduler when a
 * task's resources are free again.  Never logs.  The policy is described at
 * the top of sched.c and in docs/scheduling.md. */
#pragma once

#include <stdint.h>

#include "cpuset.h"
#include "task.h"
#include "topology.h"

typedef struct Sched Sched;

/* What the scheduler keeps of a task: its order and its needs, nothing
 * else (a queue of 100 000 tasks takes a few megabytes; the rest of a task
 * stays in the database until it starts).  uid and cost are the caller's,
 * carried along for its own accounting. */
typedef struct SchedTask {
        int64_t id;
        uint64_t memory_bytes;
        uint64_t time_limit_usec;           /* 0 = none */
        uint64_t cleanup_time_limit_usec;   /* 0 = the scheduler's default */
        int32_t group;
        int32_t priority;
        uint32_t threads;
        uint32_t uid;
        uint32_t cost;
        bool whole_cores;
        bool has_cleanup;
        bool held;              /* the caller's: a held task is not given to the scheduler */
} SchedTask;

/* A task's scheduling record. */
static inline SchedTask sched_task(const Task *t, uint32_t cost) {
        return (SchedTask) {
                .id = t->id,
                .memory_bytes = t->memory_bytes,
                .time_limit_usec = t->time_limit_usec,
                .cleanup_time_limit_usec = t->cleanup_time_limit_usec,
                .group = t->group,
                .priority = t->priority,
                .threads = t->threads,
                .uid = t->uid,
                .cost = cost,
                .whole_cores = t->whole_cores,
                .has_cleanup = t->cleanup_argv && t->cleanup_argv[0],
                .held = t->held,
        };
}

/* cpus: the CPUs given to benchrunner (a subset of the topology's online
 * CPUs, else -EINVAL); memory_bytes: the budget that running tasks'
 * memory_bytes never exceed together.  topo must outlive the scheduler. */
int sched_new(const Topology *topo, const CpuSet *cpus, uint64_t memory_bytes, Sched **ret);
Sched *sched_free(Sched *s);
static inline void sched_freep(Sched **s) {
        if (*s)
                sched_free(*s);
}

/* Queues a copy of t: O(log n) in the queue's length.  -EEXIST if it is
 * queued (the same id and order) or running already; -E2BIG if it could
 * never run here (see sched_check()): such a task is not queued. */
int sched_enqueue(Sched *s, const SchedTask *t);
/* Removes a queued task (cancel), found by its order and id in O(log n),
 * and gives back the record the queue had (ret may be NULL); -ENOENT if it
 * is not queued. */
int sched_dequeue(Sched *s, const SchedTask *t, SchedTask *ret);

/* Returns 1 and a task to start now with the CPUs it gets (already counted
 * busy and removed from the queue); 0 if nothing can start now.  Call it
 * repeatedly until it returns 0, after every enqueue and release.  now_usec
 * is on the same clock as started_usec of sched_occupy().  ret_cpus may be
 * NULL.  Backfilling looks at no more than SCHED_BACKFILL_DEPTH tasks
 * behind the head, so that one call costs the same at any queue length. */
#define SCHED_BACKFILL_DEPTH 4096
int sched_next(Sched *s, uint64_t now_usec, SchedTask *ret, CpuSet *ret_cpus);
/* Restart recovery: a task already running on these CPUs since
 * started_usec.  Recorded even if it overlaps other tasks or exceeds the
 * memory budget (it is running anyway); nothing new starts on its resources.
 * -EINVAL for an empty CPU set, -EEXIST if the task is already known. */
int sched_occupy(Sched *s, const SchedTask *t, const CpuSet *cpus, uint64_t started_usec);
/* The task's CPUs and memory are free again (call it after its cleanup).
 * A task that is not running is ignored. */
void sched_release(Sched *s, int64_t id);

/* How long the daemon lets a cleanup command run when the task gives no
 * cleanup_time_limit_usec; the scheduler adds it to the time limit of tasks
 * with a cleanup command.  0 (the default) = unknown: such tasks are treated
 * as having no time limit. */
void sched_set_cleanup_time_limit(Sched *s, uint64_t usec);

/* The head of the queue and when it is promised to start at the latest
 * (UINT64_MAX if that depends on a task without a time limit): returns 1
 * if the head is waiting, 0 if it can start now (then *ret_start_usec =
 * now_usec) or the queue is empty (then nothing is set).  For display
 * (br-show, br-stats) and tests. */
int sched_reservation(const Sched *s, uint64_t now_usec, SchedTask *ret_head, uint64_t *ret_start_usec);

unsigned sched_n_queued(const Sched *s);
/* The queue's length per priority group, highest group first: the first
 * max groups into ret_groups[] and ret_counts[] (returns how many), the
 * tasks of every lower group summed in *ret_rest.  The queue is sorted by
 * group first, so this counts whole chunks and looks into only those
 * where a group ends: cheap enough for every stats event. */
size_t sched_queued_by_group(const Sched *s, int32_t *ret_groups, uint64_t *ret_counts, size_t max,
                             uint64_t *ret_rest);
unsigned sched_n_running(const Sched *s);
/* CPUs held by running tasks (including whole_cores tasks' idle siblings)
 * and the memory they have been given.  Either pointer may be NULL. */
void sched_usage(const Sched *s, CpuSet *ret_busy, uint64_t *ret_memory_used);

/* Could this task ever run here (at least one thread, no more threads than
 * the CPUs given, whole cores available for an even or whole_cores task,
 * memory within the budget)?  0 if so; -E2BIG and a malloc'd human reason
 * in *ret_reason (if not NULL) otherwise. */
int sched_check(const Sched *s, const SchedTask *t, char **ret_reason);
