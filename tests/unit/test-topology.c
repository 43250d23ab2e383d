/* test-topology.c: the topology read from fake sysfs trees (both SMT
 * numberings, two sockets, offline CPUs, no SMT) and placement on them (the
 * CPUs benchrunner is given are test-grant.c's).  Random place/release
 * sequences check that even tasks get whole cores, no core is shared by two
 * tasks unless both are odd and each has only a half of it, and nothing is
 * placed twice. */
#include "config.h"

#include <stdlib.h>

#include "check.h"
#include "fake-sysfs.h"
#include "placement.h"
#include "topology.h"
#include "util.h"

static void check_list(const CpuSet *s, const char *expected) {
        _cleanup_(freep) char *f = cpuset_format(s);
        CHECK_STREQ(f, expected);
}

/* Places `threads` on free, checks the rules, returns the reservation. */
static bool place(const Topology *t, CpuSet *free, unsigned threads, bool whole, CpuSet *ret_res) {
        CpuSet cpus, res, whole_of_cpus = {};
        unsigned half_cores = 0;

        if (placement_find(t, free, threads, whole, &cpus, &res) < 0)
                return false;
        CHECK_EQ_U64(cpuset_count(&cpus), threads);
        CHECK(cpuset_subset(&cpus, &res));
        CHECK(cpuset_subset(&res, free));
        topology_whole_cores(t, &cpus, &whole_of_cpus);
        if (whole) {
                /* one thread per core, the whole core reserved */
                CHECK(cpuset_equal(&res, &whole_of_cpus));
                for (unsigned c = 0; c < cpuset_end(&cpus); c++)
                        if (cpuset_has(&cpus, c)) {
                                unsigned n;
                                const unsigned *sib = topology_core_cpus(t, (unsigned) topology_core_of(t, c), &n);
                                for (unsigned i = 0; i < n; i++)
                                        CHECK(sib[i] == c || !cpuset_has(&cpus, sib[i]));
                        }
        } else if (threads % 2 == 0)
                CHECK(cpuset_equal(&res, &whole_of_cpus));     /* whole cores */
        else {
                for (unsigned k = 0; k < topology_n_cores(t); k++) {
                        unsigned n, mine = 0;
                        const unsigned *sib = topology_core_cpus(t, k, &n);
                        for (unsigned i = 0; i < n; i++)
                                mine += cpuset_has(&res, sib[i]);
                        if (mine > 0 && mine < n)
                                half_cores++;
                }
                CHECK(half_cores <= 1);
        }
        cpuset_and_not(free, &res);
        *ret_res = res;
        return true;
}

/* Random placements and releases; checks that no core is shared with an
 * even or whole_cores task, and that reservations never overlap. */
static void random_walk(const Topology *t, const CpuSet *given, unsigned seed) {
        enum { N = 64 };
        CpuSet res[N], free = *given;
        bool used[N] = {}, even[N] = {};

        srand(seed);
        for (unsigned step = 0; step < 2000; step++) {
                unsigned i = (unsigned) rand() % N;
                if (used[i]) {
                        cpuset_or(&free, &res[i]);
                        used[i] = false;
                        continue;
                }
                unsigned threads = 1 + (unsigned) rand() % 6;
                bool whole = rand() % 8 == 0;
                if (!place(t, &free, threads, whole, &res[i]))
                        continue;
                used[i] = true;
                even[i] = whole || threads % 2 == 0;
                for (unsigned j = 0; j < N; j++) {
                        CpuSet a = {}, b = {};
                        if (j == i || !used[j])
                                continue;
                        CHECK(!cpuset_intersects(&res[i], &res[j]));
                        if (even[i] || even[j]) {
                                topology_whole_cores(t, &res[i], &a);
                                topology_whole_cores(t, &res[j], &b);
                                CHECK(!cpuset_intersects(&a, &b));
                        }
                }
        }
}

static void test_smt_split(void) {
        _cleanup_(topology_freep) Topology *t = fake_sysfs_load(1, 8, FAKE_SMT_SPLIT, 0, NULL);
        CpuSet free = *topology_online(t), r, s;

        CHECK_EQ_U64(topology_n_cores(t), 8);
        CHECK_EQ_U64(cpuset_count(topology_online(t)), 16);
        CHECK(topology_core_of(t, 3) == topology_core_of(t, 11));
        CHECK(topology_core_of(t, 3) != topology_core_of(t, 4));
        CHECK(place(t, &free, 2, false, &r));
        check_list(&r, "0,8");                  /* one whole core */
        CHECK(place(t, &free, 4, false, &r));
        check_list(&r, "1-2,9-10");
        CHECK(place(t, &free, 1, false, &r));
        check_list(&r, "3");                    /* breaks a core ... */
        CHECK(place(t, &free, 1, false, &r));
        check_list(&r, "11");                   /* ... and the next one pairs with it */
        CHECK(place(t, &free, 3, false, &r));
        check_list(&r, "4-5,12");               /* a whole core and a half */
        CHECK(place(t, &free, 2, true, &r));
        check_list(&r, "6-7,14-15");            /* whole_cores: 2 cores reserved */
        CHECK(!place(t, &free, 2, false, &r));  /* only the half core 13 is left */
        CHECK(place(t, &free, 1, false, &r));
        check_list(&r, "13");
        CHECK(cpuset_empty(&free));

        /* whole_cores gives one thread per core */
        free = *topology_online(t);
        CHECK(placement_find(t, &free, 3, true, &s, &r) == 0);
        check_list(&s, "0-2");
        check_list(&r, "0-2,8-10");

        random_walk(t, topology_online(t), 1);
}

static void test_smt_adjacent(void) {
        _cleanup_(topology_freep) Topology *t = fake_sysfs_load(1, 8, FAKE_SMT_ADJACENT, 0, NULL);
        CpuSet free = *topology_online(t), r;

        CHECK_EQ_U64(topology_n_cores(t), 8);
        CHECK(topology_core_of(t, 6) == topology_core_of(t, 7));
        CHECK(topology_core_of(t, 7) != topology_core_of(t, 8));
        CHECK(place(t, &free, 1, false, &r));
        check_list(&r, "0");
        CHECK(place(t, &free, 4, false, &r));
        check_list(&r, "2-5");                  /* whole cores, not 1-4 */
        CHECK(place(t, &free, 3, false, &r));
        check_list(&r, "1,6-7");                /* the half pairs with CPU 0 */
        random_walk(t, topology_online(t), 2);
}

static void test_two_sockets(void) {
        /* 2 sockets x 4 cores, siblings k,k+8: socket 0 = 0-3,8-11 */
        _cleanup_(topology_freep) Topology *t = fake_sysfs_load(2, 4, FAKE_SMT_SPLIT, 0, NULL);
        CpuSet free = *topology_online(t), r;

        CHECK_EQ_U64(topology_n_cores(t), 8);
        CHECK_EQ_U64(topology_n_packages(t), 2);
        CHECK_EQ_U64(topology_n_l3(t), 2);
        CHECK(topology_core_package(t, (unsigned) topology_core_of(t, 12)) == 1);
        CHECK(topology_core_package(t, (unsigned) topology_core_of(t, 3)) == 0);
        CHECK(place(t, &free, 2, false, &r));
        check_list(&r, "0,8");
        /* 8 threads: socket 1 is entirely free, socket 0 is not: one socket */
        CHECK(place(t, &free, 8, false, &r));
        check_list(&r, "4-7,12-15");
        /* 6 threads fit in socket 0 (3 cores left) */
        CHECK(place(t, &free, 6, false, &r));
        check_list(&r, "1-3,9-11");

        /* best fit: 4 threads go to the socket with less room */
        free = *topology_online(t);
        CHECK(place(t, &free, 2, false, &r));   /* socket 0 now has 3 cores */
        CHECK(place(t, &free, 4, false, &r));
        check_list(&r, "1-2,9-10");
        /* a task too big for one socket spans both */
        free = *topology_online(t);
        CHECK(place(t, &free, 12, false, &r));
        CHECK_EQ_U64(cpuset_count(&r), 12);
        random_walk(t, topology_online(t), 3);
}

static void test_l3_domains(void) {
        /* one socket of 8 cores in two L3 domains of 4 cores */
        _cleanup_(topology_freep) Topology *t = fake_sysfs_load(1, 8, FAKE_SMT_SPLIT, 4, NULL);
        CpuSet free = *topology_online(t), r;

        CHECK_EQ_U64(topology_n_l3(t), 2);
        CHECK_EQ_U64(topology_n_packages(t), 1);
        CHECK(place(t, &free, 2, false, &r));   /* L3 0: 3 cores left */
        CHECK(place(t, &free, 6, false, &r));
        check_list(&r, "1-3,9-11");             /* fits L3 0 exactly */
        CHECK(place(t, &free, 4, false, &r));
        check_list(&r, "4-5,12-13");
}

/* A machine's topology with NUMA nodes: ids and cpulists (no SMT). */
static Topology *load_with_nodes(unsigned sockets, unsigned cores, unsigned l3_cores, const unsigned *ids,
                                 const char * const *lists, unsigned n) {
        char *root = fake_sysfs_new(sockets, cores, FAKE_SMT_NONE, l3_cores, NULL);
        Topology *t = NULL;

        if (!root || fake_sysfs_nodes(root, ids, lists, n) < 0 || topology_load(root, &t) < 0)
                abort();
        fake_sysfs_free(root);
        return t;
}

static void test_numa(void) {
        /* one socket of 8 cores, an L3 per 2 cores, two NUMA nodes (2 and
         * 5, as the kernel may number them) of 4 cores */
        static const unsigned ids[] = { 5, 2 };
        static const char * const lists[] = { "4-7", "0-3" };
        _cleanup_(topology_freep) Topology *t = load_with_nodes(1, 8, 2, ids, lists, 2);
        CpuSet free = *topology_online(t), r, nodes, busy;

        CHECK_EQ_U64(topology_n_nodes(t), 2);
        CHECK_EQ_U64(topology_n_packages(t), 1);
        CHECK_EQ_U64(topology_node_id(t, topology_core_node(t, (unsigned) topology_core_of(t, 1))), 2);
        CHECK_EQ_U64(topology_node_id(t, topology_core_node(t, (unsigned) topology_core_of(t, 6))), 5);
        CHECK_OK(cpuset_parse("3-4", &busy));
        topology_nodes_of(t, &busy, &nodes);
        check_list(&nodes, "2,5");
        CHECK_EQ_U64(topology_n_l3(t), 4);

        /* CPU 0 busy: 4 threads fit in no L3, and in node 5 only, though
         * CPUs 1-4 are a run of free ones */
        cpuset_del(&free, 0);
        CHECK(place(t, &free, 4, false, &r));
        check_list(&r, "4-7");
        topology_nodes_of(t, &r, &nodes);
        check_list(&nodes, "5");
        /* 5 threads fit in no node: the socket */
        free = *topology_online(t);
        CHECK(place(t, &free, 5, false, &r));
        CHECK_EQ_U64(cpuset_count(&r), 5);

        /* an L3 over the whole socket is split by the nodes: each of its
         * parts stays within one node */
        {
                _cleanup_(topology_freep) Topology *big = load_with_nodes(1, 8, 0, ids, lists, 2);
                CHECK_EQ_U64(topology_n_l3(big), 2);
        }

        /* no node directory: one node, number 0 */
        {
                _cleanup_(topology_freep) Topology *one = fake_sysfs_load(1, 4, FAKE_SMT_NONE, 0, NULL);
                CHECK_EQ_U64(topology_n_nodes(one), 1);
                topology_nodes_of(one, topology_online(one), &nodes);
                check_list(&nodes, "0");
        }
}

static void test_offline(void) {
        /* 8 cores, siblings k,k+8; core 3 entirely offline, CPU 5 offline
         * (core 5 is left with CPU 13 alone) */
        _cleanup_(topology_freep) Topology *t = fake_sysfs_load(1, 8, FAKE_SMT_SPLIT, 0, "3,5,11");
        CpuSet free = *topology_online(t), r;
        unsigned n;

        check_list(topology_online(t), "0-2,4,6-10,12-15");
        CHECK_EQ_U64(topology_n_cores(t), 7);
        CHECK(topology_core_of(t, 3) < 0);
        CHECK(topology_core_of(t, 11) < 0);
        (void) topology_core_cpus(t, (unsigned) topology_core_of(t, 13), &n);
        CHECK_EQ_U64(n, 1);
        CHECK(topology_core_of(t, 4) == topology_core_of(t, 12));

        CHECK(place(t, &free, 6, false, &r));
        check_list(&r, "0-2,8-10");
        CHECK(place(t, &free, 1, false, &r));
        check_list(&r, "13");                   /* the lone thread is a core of its own */
        CHECK(place(t, &free, 6, false, &r));
        check_list(&r, "4,6-7,12,14-15");
        CHECK(cpuset_empty(&free));

        random_walk(t, topology_online(t), 4);
}

static void test_no_smt(void) {
        _cleanup_(topology_freep) Topology *t = fake_sysfs_load(1, 8, FAKE_SMT_NONE, 0, NULL);
        CpuSet free = *topology_online(t), r;

        CHECK_EQ_U64(topology_n_cores(t), 8);
        CHECK(place(t, &free, 1, false, &r));
        check_list(&r, "0");
        CHECK(place(t, &free, 2, false, &r));
        check_list(&r, "1-2");
        CHECK(place(t, &free, 3, false, &r));
        check_list(&r, "3-5");
        CHECK(place(t, &free, 2, true, &r));
        check_list(&r, "6-7");
        random_walk(t, topology_online(t), 5);
}

static void test_partial_given(void) {
        /* benchrunner given 1-3,9-10: core 3 only half; a 6-thread task does
         * not fit on whole cores, a 5-thread one does */
        _cleanup_(topology_freep) Topology *t = fake_sysfs_load(1, 8, FAKE_SMT_SPLIT, 0, NULL);
        CpuSet given, r, free;

        CHECK(cpuset_parse("1-3,9-10", &given) == 0);
        free = given;
        CHECK(!place(t, &free, 6, false, &r));
        CHECK(place(t, &free, 5, false, &r));
        check_list(&r, "1-3,9-10");
        random_walk(t, &given, 6);
}

static void test_flat(void) {
        _cleanup_(topology_freep) Topology *t = NULL;

        CHECK(topology_new_flat(8, &t) == 0);
        CHECK_EQ_U64(topology_n_cores(t), 8);
        CHECK_EQ_U64(cpuset_count(topology_online(t)), 8);
}

static void test_missing(void) {
        Topology *t = NULL;
        CHECK(topology_load("/nonexistent-sysfs", &t) == -ENOENT);
        CHECK(!t);
}

int main(void) {
        test_smt_split();
        test_smt_adjacent();
        test_two_sockets();
        test_l3_domains();
        test_numa();
        test_offline();
        test_no_smt();
        test_partial_given();
        test_flat();
        test_missing();
        CHECK_DONE();
}
