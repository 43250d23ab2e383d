/* fake-sysfs.h: builds fake /sys/devices/system/cpu trees in a temporary
 * directory, so that the topology code is tested (and the scheduler
 * benchmarked) on machines this one is not, and loads them as a Topology.
 * Header-only, for tests and bench programs. */
#pragma once

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cpuset.h"
#include "topology.h"

typedef enum FakeSmt {
        FAKE_SMT_NONE,     /* every CPU its own core */
        FAKE_SMT_SPLIT,    /* siblings k and k+ncores (usual x86) */
        FAKE_SMT_ADJACENT, /* siblings 2k and 2k+1 */
} FakeSmt;

static inline int fake_sysfs_mkdir_p(const char *path) {
        char buf[PATH_MAX];

        snprintf(buf, sizeof buf, "%s", path);
        for (char *p = buf + 1; *p; p++)
                if (*p == '/') {
                        *p = 0;
                        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                                return -errno;
                        *p = '/';
                }
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

static inline int fake_sysfs_write(const char *root, const char *rel, const char *content) {
        char path[PATH_MAX], dir[PATH_MAX];
        FILE *f;
        int r;

        snprintf(path, sizeof path, "%s/%s", root, rel);
        snprintf(dir, sizeof dir, "%s", path);
        *strrchr(dir, '/') = 0;
        r = fake_sysfs_mkdir_p(dir);
        if (r < 0)
                return r;
        f = fopen(path, "we");
        if (!f)
                return -errno;
        fprintf(f, "%s\n", content);
        return fclose(f) == 0 ? 0 : -errno;
}

/* Creates a machine of `sockets` sockets of `cores` cores each (so
 * sockets*cores cores in all), numbered so that the cores of socket 0 come
 * first, with one L3 per socket, or per `l3_cores` cores if non-zero.  CPUs
 * in `offline` are left out of "online" and of the sibling lists, as the
 * kernel does.  Returns a malloc'd root to pass to topology_load(). */
static inline char *fake_sysfs_new(unsigned sockets, unsigned cores, FakeSmt smt,
                                   unsigned l3_cores, const CpuSet *offline) {
        char tmpl[] = "/tmp/br-fake-sysfs-XXXXXX", rel[256], *root;
        unsigned ncores = sockets * cores, per = smt == FAKE_SMT_NONE ? 1 : 2;
        CpuSet online = {};
        char *s;

        if (!mkdtemp(tmpl))
                return NULL;
        root = strdup(tmpl);
        if (!root)
                return NULL;

        for (unsigned k = 0; k < ncores; k++) {
                unsigned cpu[2], n = 0;
                CpuSet sib = {}, l3 = {};

                for (unsigned i = 0; i < per; i++)
                        cpu[i] = smt == FAKE_SMT_SPLIT ? k + i * ncores : smt == FAKE_SMT_ADJACENT ? 2 * k + i : k;
                for (unsigned i = 0; i < per; i++)
                        if (!offline || !cpuset_has(offline, cpu[i])) {
                                cpuset_add(&sib, cpu[i]);
                                n++;
                        }
                /* the L3 of core k: cores [lo, lo+span) */
                unsigned span = l3_cores ? l3_cores : cores, lo = k / span * span;
                for (unsigned j = lo; j < lo + span && j < ncores; j++)
                        for (unsigned i = 0; i < per; i++) {
                                unsigned c = smt == FAKE_SMT_SPLIT ? j + i * ncores : smt == FAKE_SMT_ADJACENT ? 2 * j + i : j;
                                if (!offline || !cpuset_has(offline, c))
                                        cpuset_add(&l3, c);
                        }
                for (unsigned i = 0; i < per; i++) {
                        char val[32];

                        if (offline && cpuset_has(offline, cpu[i]))
                                continue;
                        cpuset_add(&online, cpu[i]);
                        s = cpuset_format(&sib);
                        snprintf(rel, sizeof rel, "devices/system/cpu/cpu%u/topology/thread_siblings_list", cpu[i]);
                        (void) fake_sysfs_write(root, rel, s);
                        free(s);
                        snprintf(val, sizeof val, "%u", k / cores);
                        snprintf(rel, sizeof rel, "devices/system/cpu/cpu%u/topology/physical_package_id", cpu[i]);
                        (void) fake_sysfs_write(root, rel, val);
                        snprintf(val, sizeof val, "%u", k % cores);
                        snprintf(rel, sizeof rel, "devices/system/cpu/cpu%u/topology/core_id", cpu[i]);
                        (void) fake_sysfs_write(root, rel, val);
                        /* L1d, L1i, L2 private to the core, then the L3 */
                        for (unsigned idx = 0; idx < 4; idx++) {
                                snprintf(rel, sizeof rel, "devices/system/cpu/cpu%u/cache/index%u/level", cpu[i], idx);
                                (void) fake_sysfs_write(root, rel, idx < 2 ? "1" : idx == 2 ? "2" : "3");
                                s = cpuset_format(idx < 3 ? &sib : &l3);
                                snprintf(rel, sizeof rel, "devices/system/cpu/cpu%u/cache/index%u/shared_cpu_list", cpu[i], idx);
                                (void) fake_sysfs_write(root, rel, s);
                                free(s);
                        }
                }
        }
        s = cpuset_format(&online);
        (void) fake_sysfs_write(root, "devices/system/cpu/online", s);
        free(s);
        return root;
}

/* NUMA nodes for a tree of fake_sysfs_new(): lists[i] is the cpulist of
 * node ids[i] (n of them). */
static inline int fake_sysfs_nodes(const char *root, const unsigned *ids, const char * const *lists, unsigned n) {
        char rel[128];
        int r;

        for (unsigned i = 0; i < n; i++) {
                snprintf(rel, sizeof rel, "devices/system/node/node%u/cpulist", ids[i]);
                r = fake_sysfs_write(root, rel, lists[i]);
                if (r < 0)
                        return r;
        }
        /* what the kernel has there besides the nodes */
        return fake_sysfs_write(root, "devices/system/node/online", "0");
}

static inline int fake_sysfs_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        return remove(path);
}

static inline void fake_sysfs_free(char *root) {
        if (!root)
                return;
        (void) nftw(root, fake_sysfs_rm_one, 16, FTW_DEPTH | FTW_PHYS);
        free(root);
}

/* The Topology of the machine fake_sysfs_new() builds (offline: a CPU list,
 * or NULL for none), its tree removed again.  A test cannot go on without
 * its machine: when a step fails this says which and exits 1. */
static inline Topology *fake_sysfs_load(unsigned sockets, unsigned cores, FakeSmt smt, unsigned l3_cores,
                                        const char *offline) {
        Topology *t = NULL;
        CpuSet off = {};
        char *root;
        int r;

        if (offline && cpuset_parse(offline, &off) < 0) {
                fprintf(stderr, "fake-sysfs: not a CPU list: %s\n", offline);
                exit(1);
        }
        root = fake_sysfs_new(sockets, cores, smt, l3_cores, &off);
        if (!root) {
                fprintf(stderr, "fake-sysfs: cannot build the tree: %s\n", strerror(errno));
                exit(1);
        }
        r = topology_load(root, &t);
        fake_sysfs_free(root);
        if (r < 0) {
                fprintf(stderr, "fake-sysfs: topology_load: %s\n", strerror(-r));
                exit(1);
        }
        return t;
}
