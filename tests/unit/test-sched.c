/* test-sched.c: the scheduler on simulated machines and a simulated clock. */
#include "config.h"

#include <stdlib.h>

#include "check.h"
#include "sched.h"
#include "topology.h"
#include "util.h"

#define GiB (UINT64_C(1) << 30)

static Task mk(int64_t id, unsigned threads, uint64_t mem) {
        return (Task) { .id = id, .threads = threads, .memory_bytes = mem };
}

static void test_strict_order(void) {
        _cleanup_(topology_freep) Topology *topo = NULL;
        _cleanup_(sched_freep) Sched *s = NULL;
        CpuSet cpus;
        Task a = mk(1, 1, GiB), b = mk(2, 4, GiB), c = mk(3, 1, GiB), *t;

        CHECK(topology_new_flat(4, &topo) == 0);
        CHECK(sched_new(topo, topology_online(topo), 16 * GiB, &s) == 0);
        c.group = 1;
        CHECK(sched_enqueue(s, &a) == 0);
        CHECK(sched_enqueue(s, &b) == 0);
        CHECK(sched_enqueue(s, &c) == 0);
        CHECK(sched_enqueue(s, &c) == -EEXIST);
        CHECK_EQ_U64(sched_n_queued(s), 3);
        CHECK(sched_next(s, 0, &t, &cpus) == 1);
        CHECK(t == &c);
        CHECK_EQ_U64(cpuset_count(&cpus), 1);
        CHECK(sched_next(s, 0, &t, &cpus) == 0); /* b (4 threads) is the head */
        sched_release(s, &c);
        CHECK(sched_next(s, 0, &t, &cpus) == 1);
        CHECK(t == &b);
        CHECK(sched_dequeue(s, &a) == 0);
        CHECK(sched_dequeue(s, &a) == -ENOENT);
        CHECK_EQ_U64(sched_n_running(s), 1);
}

int main(void) {
        test_strict_order();
        CHECK_DONE();
}
