/* test-grant.c: the CPU threads benchrunner is given (br-start -j N,
 * --cpus, and the default of both programs) on fake sysfs trees, and the
 * owner rule.  The system's core(s) are never given away. */
#include "config.h"

#include <stdlib.h>

#include "check.h"
#include "fake-sysfs.h"
#include "grant.h"
#include "topology.h"
#include "util.h"

static void check_list(const CpuSet *s, const char *expected) {
        _cleanup_(freep) char *f = cpuset_format(s);
        CHECK_STREQ(f, expected);
}

static void test_two_sockets(void) {
        /* 2 sockets x 4 cores, siblings k,k+8: socket 0 = 0-3,8-11 */
        _cleanup_(topology_freep) Topology *t = fake_sysfs_load(2, 4, FAKE_SMT_SPLIT, 0, NULL);
        CpuSet s;

        /* br-start -j: never the core of CPU 0, one socket when possible */
        CHECK(grant_pick_cpus(t, 4, &s) == 0);
        CHECK(!cpuset_has(&s, 0) && !cpuset_has(&s, 8));
        CHECK_EQ_U64(cpuset_count(&s), 4);
        CHECK(grant_pick_cpus(t, 6, &s) == 0);
        check_list(&s, "1-3,9-11");             /* socket 0 around the system's core */
        CHECK(grant_pick_cpus(t, 3, &s) == 0);
        CHECK_EQ_U64(cpuset_count(&s), 3);
        CHECK(grant_pick_cpus(t, 14, &s) == 0);
        check_list(&s, "1-7,9-15");
        CHECK(grant_pick_cpus(t, 15, &s) == -ENOSPC);
        CHECK(grant_pick_cpus(t, 17, &s) == -ERANGE);
        CHECK(grant_pick_cpus(t, 0, &s) == -EINVAL);

        /* the default: everything but the system's core */
        CHECK(grant_default_cpus(t, &s) == 0);
        check_list(&s, "1-7,9-15");

        CHECK(cpuset_parse("1-7,9-15", &s) == 0);
        CHECK(grant_check_cpus(t, &s) == 0);
        CHECK(cpuset_parse("0-7,9-15", &s) == 0);
        CHECK(grant_check_cpus(t, &s) == -ENOSPC);   /* core 0 half given away */
        CHECK(cpuset_parse("1-16", &s) == 0);
        CHECK(grant_check_cpus(t, &s) == -EINVAL);   /* 16 is not online */
        cpuset_zero(&s);
        CHECK(grant_check_cpus(t, &s) == -EINVAL);
        CHECK(cpuset_parse("0,8", &s) == 0);
        CHECK(grant_check_cpus(t, &s) == 0);         /* other cores stay with the system */
}

static void test_offline(void) {
        /* 8 cores, siblings k,k+8; core 3 entirely offline, CPU 5 offline
         * (core 5 is left with CPU 13 alone) */
        _cleanup_(topology_freep) Topology *t = fake_sysfs_load(1, 8, FAKE_SMT_SPLIT, 0, "3,5,11");
        CpuSet s;

        CHECK(grant_pick_cpus(t, 11, &s) == 0);
        CHECK(!cpuset_has(&s, 0) && !cpuset_has(&s, 8));
        CHECK(grant_pick_cpus(t, 12, &s) == -ENOSPC);
        CHECK(grant_default_cpus(t, &s) == 0);
        check_list(&s, "1-2,4,6-7,9-10,12-15");
}

static void test_cpu0_offline(void) {
        /* CPU 0 offline: the system keeps the core of the lowest online CPU */
        _cleanup_(topology_freep) Topology *t = fake_sysfs_load(1, 4, FAKE_SMT_ADJACENT, 0, "0");
        CpuSet s;

        CHECK(grant_default_cpus(t, &s) == 0);
        check_list(&s, "2-7");
}

static void test_flat(void) {
        _cleanup_(topology_freep) Topology *t = NULL, *one = NULL;
        CpuSet s;

        CHECK(topology_new_flat(8, &t) == 0);
        CHECK(grant_pick_cpus(t, 7, &s) == 0);
        CHECK(!cpuset_has(&s, 0));
        CHECK(grant_pick_cpus(t, 8, &s) == -ENOSPC);
        CHECK(grant_pick_cpus(t, 9, &s) == -ERANGE);
        CHECK(grant_default_cpus(t, &s) == 0);
        check_list(&s, "1-7");

        /* a single core: nothing can be given away */
        CHECK(topology_new_flat(1, &one) == 0);
        CHECK(grant_default_cpus(one, &s) == -ENOSPC);
}

static void test_single_smt_core(void) {
        _cleanup_(topology_freep) Topology *t = fake_sysfs_load(1, 1, FAKE_SMT_SPLIT, 0, NULL);
        CpuSet s;

        CHECK_EQ_U64(cpuset_count(topology_online(t)), 2);
        CHECK(grant_default_cpus(t, &s) == -ENOSPC);
        CHECK(grant_pick_cpus(t, 1, &s) == -ENOSPC);
        CHECK(cpuset_parse("1", &s) == 0);
        CHECK(grant_check_cpus(t, &s) == -ENOSPC);
}

static void test_owner(void) {
        CHECK_EQ_U64(grant_owner(1000, NULL), 1000);
        CHECK_EQ_U64(grant_owner(1000, "0"), 1000);       /* not root: $SUDO_UID means nothing */
        CHECK_EQ_U64(grant_owner(1000, "1001"), 1000);
        CHECK_EQ_U64(grant_owner(0, NULL), 0);
        CHECK_EQ_U64(grant_owner(0, "1000"), 1000);       /* root through sudo */
        CHECK_EQ_U64(grant_owner(0, "0"), 0);
        CHECK_EQ_U64(grant_owner(0, ""), 0);
        CHECK_EQ_U64(grant_owner(0, "alice"), 0);
        CHECK_EQ_U64(grant_owner(0, "-1"), 0);
        CHECK_EQ_U64(grant_owner(0, "4294967295"), 0);    /* (uid_t) -1 is no uid */
        CHECK_EQ_U64(grant_owner(0, "4294967294"), 4294967294u);
}

int main(void) {
        test_two_sockets();
        test_offline();
        test_cpu0_offline();
        test_flat();
        test_single_smt_core();
        test_owner();
        CHECK_DONE();
}
