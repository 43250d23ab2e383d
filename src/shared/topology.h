/* topology.h: the machine's CPU topology as sysfs describes it (online CPUs,
 * SMT siblings, sockets, NUMA nodes, L3 domains), for placement and for the CPUs
 * benchrunner is given (grant.h).  Pure logic: reads files under a root
 * directory that tests point at fake trees; never logs. */
#pragma once

#include <stdbool.h>

#include "cpuset.h"

typedef struct Topology Topology;

/* Reads <sysfs_root>/devices/system/cpu: "online", and for every online CPU
 * topology/thread_siblings_list (or core_cpus_list), core_id,
 * physical_package_id and the shared_cpu_list of the cache/index* whose level
 * is 3.  Missing per-CPU files are tolerated (a CPU without siblings is its
 * own core, without a package id is in package 0, without an L3 shares its
 * package's).  NUMA nodes from <sysfs_root>/devices/system/node/nodeN/cpulist
 * (none: one node, 0).  Returns -ENOENT etc. if "online" cannot be read. */
int topology_load(const char *sysfs_root, Topology **ret);
/* Fallback: CPUs 0..ncpus-1, every CPU its own core, one socket, one L3. */
int topology_new_flat(unsigned ncpus, Topology **ret);
Topology *topology_free(Topology *t);
static inline void topology_freep(Topology **t) {
        if (*t)
                topology_free(*t);
}

const CpuSet *topology_online(const Topology *t);

/* Cores, in placement order: by socket, then NUMA node, then L3 domain,
 * then lowest CPU. */
unsigned topology_n_cores(const Topology *t);
unsigned topology_n_packages(const Topology *t);
unsigned topology_n_l3(const Topology *t);
/* Index of the core of an online CPU, -1 if the CPU is not online. */
int topology_core_of(const Topology *t, unsigned cpu);
/* The online CPUs of a core, ascending; *ret_n gets their number. */
const unsigned *topology_core_cpus(const Topology *t, unsigned core, unsigned *ret_n);
/* Dense indexes (0..n-1) of the core's socket and L3 domain; L3 indexes are
 * unique across sockets. */
unsigned topology_core_package(const Topology *t, unsigned core);
unsigned topology_core_l3(const Topology *t, unsigned core);
/* NUMA nodes: how many, the dense index (0..n-1) of a core's, the
 * kernel's number of a dense index, and the kernel's numbers of the nodes
 * that cpus are on (as a set of numbers). */
unsigned topology_n_nodes(const Topology *t);
unsigned topology_core_node(const Topology *t, unsigned core);
unsigned topology_node_id(const Topology *t, unsigned node);
void topology_nodes_of(const Topology *t, const CpuSet *cpus, CpuSet *ret);
/* Adds every online sibling of each CPU in cpus to ret (the whole cores). */
void topology_whole_cores(const Topology *t, const CpuSet *cpus, CpuSet *ret);
