/* test-topology.c: topology from fake sysfs trees, and placement on them. */
#include "config.h"

#include <stdlib.h>

#include "check.h"
#include "placement.h"
#include "topology.h"
#include "util.h"

static void test_flat(void) {
        _cleanup_(topology_freep) Topology *t = NULL;
        CpuSet s;

        CHECK(topology_new_flat(8, &t) == 0);
        CHECK_EQ_U64(topology_n_cores(t), 8);
        CHECK_EQ_U64(cpuset_count(topology_online(t)), 8);
        CHECK(topology_pick_cpus(t, 7, &s) == 0);
        CHECK(!cpuset_has(&s, 0));
        CHECK(topology_pick_cpus(t, 8, &s) == -ENOSPC);
        CHECK(topology_pick_cpus(t, 9, &s) == -ERANGE);
}

int main(void) {
        test_flat();
        CHECK_DONE();
}
