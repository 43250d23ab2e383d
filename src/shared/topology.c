/* topology.c: reading the CPU topology from sysfs (or a fake tree).  The
 * numbering of SMT siblings is never assumed: cores are the
 * thread_siblings_list groups. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topology.h"
#include "util.h"

typedef struct TopologyCore {
        unsigned first;   /* index of its first CPU in core_cpus[] */
        unsigned n;       /* online CPUs */
        unsigned package; /* dense socket index */
        unsigned node;    /* dense NUMA node index */
        unsigned l3;      /* dense L3 domain index */
} TopologyCore;

struct Topology {
        CpuSet online;
        unsigned n_cores, n_packages, n_nodes, n_l3;
        unsigned *node_ids;       /* the kernel's number of each dense node */
        TopologyCore *cores;
        unsigned *core_cpus;
        int core_of[CPUSET_MAX];
};

/* What sysfs says about one online CPU, before cores are formed. */
typedef struct CpuInfo {
        unsigned cpu;
        unsigned core_key;    /* lowest online sibling (or CPU sharing package+core_id) */
        long package_id;
        long node_id;         /* the kernel's NUMA node (0 without devices/system/node) */
        long l3_key;          /* lowest online CPU sharing its L3, or -1 */
} CpuInfo;

static int read_line(const char *path, char *buf, size_t len) {
        int r = read_small_file(path, buf, len);
        if (r < 0)
                return r;
        buf[strcspn(buf, "\n")] = 0;
        return 0;
}

static int read_cpuset(const char *path, CpuSet *ret) {
        /* 4096 CPUs listed one by one would not fit any sane buffer, but
         * ranges keep real lists short. */
        _cleanup_(freep) char *buf = malloc(64 * 1024);
        int r;

        if (!buf)
                return -ENOMEM;
        r = read_line(path, buf, 64 * 1024);
        if (r < 0)
                return r;
        return cpuset_parse(buf, ret);
}

/* The lowest online CPU of a list that cpu is on (its siblings, those
 * sharing its cache): cpu itself counts as online in any case. */
static unsigned lowest_online(const CpuSet *list, const CpuSet *online, unsigned cpu) {
        CpuSet on = *list;

        for (unsigned c = 0, end = cpuset_end(list); c < end; c++)
                if (cpuset_has(list, c) && !cpuset_has(online, c))
                        cpuset_del(&on, c);
        cpuset_add(&on, cpu);
        return cpuset_first(&on);
}

static void cpu_info_load(const char *cpudir, const CpuSet *online, unsigned cpu, CpuInfo *ret) {
        char path[4096 + 128];
        CpuSet s;
        uint64_t v;

        *ret = (CpuInfo) { .cpu = cpu, .core_key = cpu, .package_id = 0, .l3_key = -1 };

        snprintf(path, sizeof path, "%s/cpu%u/topology/physical_package_id", cpudir, cpu);
        if (read_small_file_u64(path, &v) >= 0 && v <= LONG_MAX)
                ret->package_id = (long) v;

        snprintf(path, sizeof path, "%s/cpu%u/topology/thread_siblings_list", cpudir, cpu);
        if (read_cpuset(path, &s) < 0) {
                snprintf(path, sizeof path, "%s/cpu%u/topology/core_cpus_list", cpudir, cpu);
                if (read_cpuset(path, &s) < 0)
                        cpuset_zero(&s);
        }
        if (cpuset_empty(&s)) {
                /* no sibling list: group by core_id within the package, which
                 * the caller resolves; mark with the core id for now */
                snprintf(path, sizeof path, "%s/cpu%u/topology/core_id", cpudir, cpu);
                if (read_small_file_u64(path, &v) >= 0 && v <= LONG_MAX)
                        ret->core_key = CPUSET_MAX + (unsigned) v; /* resolved later */
        } else {
                ret->core_key = lowest_online(&s, online, cpu);
        }

        for (unsigned i = 0; i < 16; i++) {
                snprintf(path, sizeof path, "%s/cpu%u/cache/index%u/level", cpudir, cpu, i);
                if (read_small_file_u64(path, &v) < 0 || v != 3)
                        continue;
                snprintf(path, sizeof path, "%s/cpu%u/cache/index%u/shared_cpu_list", cpudir, cpu, i);
                if (read_cpuset(path, &s) < 0)
                        break;
                ret->l3_key = lowest_online(&s, online, cpu);
                break;
        }
}

static int cpu_info_cmp(const void *a, const void *b) {
        const CpuInfo *x = a, *y = b;

        /* socket, NUMA node, L3 domain, core (by its lowest CPU), CPU */
        if (x->package_id != y->package_id)
                return x->package_id < y->package_id ? -1 : 1;
        if (x->node_id != y->node_id)
                return x->node_id < y->node_id ? -1 : 1;
        if (x->l3_key != y->l3_key)
                return x->l3_key < y->l3_key ? -1 : 1;
        if (x->core_key != y->core_key)
                return x->core_key < y->core_key ? -1 : 1;
        return x->cpu < y->cpu ? -1 : x->cpu > y->cpu;
}

/* Builds the core table from per-CPU information (any order). */
static int topology_build(const CpuSet *online, CpuInfo *info, unsigned n, Topology **ret) {
        _cleanup_(topology_freep) Topology *t = NULL;

        t = calloc(1, sizeof *t);
        if (!t)
                return -ENOMEM;
        t->online = *online;
        for (unsigned c = 0; c < CPUSET_MAX; c++)
                t->core_of[c] = -1;
        t->cores = calloc(n ? n : 1, sizeof *t->cores);
        t->core_cpus = calloc(n ? n : 1, sizeof *t->core_cpus);
        t->node_ids = calloc(n ? n : 1, sizeof *t->node_ids);
        if (!t->cores || !t->core_cpus || !t->node_ids)
                return -ENOMEM;

        /* A CPU without a sibling list was keyed by CPUSET_MAX+core_id: give
         * it the lowest CPU with the same package and core_id. */
        for (unsigned i = 0; i < n; i++) {
                if (info[i].core_key < CPUSET_MAX)
                        continue;
                unsigned key = info[i].cpu;
                for (unsigned j = 0; j < n; j++)
                        if (info[j].core_key == info[i].core_key &&
                            info[j].package_id == info[i].package_id && info[j].cpu < key)
                                key = info[j].cpu;
                for (unsigned j = 0; j < n; j++)
                        if (j != i && info[j].core_key == info[i].core_key &&
                            info[j].package_id == info[i].package_id)
                                info[j].core_key = key;
                info[i].core_key = key;
        }
        /* Every CPU of a core takes the package and L3 of the core's lowest
         * CPU, so that odd data cannot split a core across domains. */
        for (unsigned i = 0; i < n; i++)
                for (unsigned j = 0; j < n; j++)
                        if (info[j].cpu == info[i].core_key) {
                                info[i].package_id = info[j].package_id;
                                info[i].node_id = info[j].node_id;
                                info[i].l3_key = info[j].l3_key;
                        }
        /* Without an L3, a CPU shares its package's domain: key -2-package. */
        for (unsigned i = 0; i < n; i++)
                if (info[i].l3_key < 0)
                        info[i].l3_key = -2 - info[i].package_id;

        qsort(info, n, sizeof *info, cpu_info_cmp);

        for (unsigned i = 0; i < n; i++) {
                bool new_core = i == 0 || info[i].core_key != info[i - 1].core_key ||
                        info[i].package_id != info[i - 1].package_id;
                bool new_pkg = i == 0 || info[i].package_id != info[i - 1].package_id;
                bool new_node = new_pkg || info[i].node_id != info[i - 1].node_id;
                bool new_l3 = new_node || info[i].l3_key != info[i - 1].l3_key;

                if (new_pkg && i > 0)
                        t->n_packages++;
                if (new_node && i > 0)
                        t->n_nodes++;
                if (new_node)
                        t->node_ids[t->n_nodes] = (unsigned) info[i].node_id;
                if (new_l3 && i > 0)
                        t->n_l3++;
                if (new_core) {
                        t->cores[t->n_cores++] = (TopologyCore) {
                                .first = i,
                                .package = t->n_packages,
                                .node = t->n_nodes,
                                .l3 = t->n_l3,
                        };
                }
                t->cores[t->n_cores - 1].n++;
                t->core_cpus[i] = info[i].cpu;
                t->core_of[info[i].cpu] = (int) t->n_cores - 1;
        }
        if (n > 0) {
                t->n_packages++;
                t->n_nodes++;
                t->n_l3++;
        }
        *ret = TAKE_PTR(t);
        return 0;
}

/* devices/system/node/nodeN/cpulist: the node of each CPU; CPUs no node
 * lists (or a machine without the directory) stay in node 0. */
static void load_nodes(const char *sysfs_root, CpuInfo *info, unsigned n) {
        char dir[4096], path[4096 + 300];
        struct dirent *de;
        DIR *d;

        snprintf(dir, sizeof dir, "%s/devices/system/node", sysfs_root);
        d = opendir(dir);
        if (!d)
                return;
        while ((de = readdir(d))) {
                unsigned node;
                char end;
                CpuSet cpus;

                if (sscanf(de->d_name, "node%u%c", &node, &end) != 1 || node > 65535)
                        continue;
                snprintf(path, sizeof path, "%s/%s/cpulist", dir, de->d_name);
                if (read_cpuset(path, &cpus) < 0)
                        continue;
                for (unsigned i = 0; i < n; i++)
                        if (cpuset_has(&cpus, info[i].cpu))
                                info[i].node_id = node;
        }
        closedir(d);
}

int topology_load(const char *sysfs_root, Topology **ret) {
        _cleanup_(freep) CpuInfo *info = NULL;
        char cpudir[4096], path[4096 + 16];
        CpuSet online;
        unsigned n = 0;
        int r;

        if (!sysfs_root || !ret)
                return -EINVAL;
        r = snprintf(cpudir, sizeof cpudir, "%s/devices/system/cpu", sysfs_root);
        if (r < 0 || (size_t) r >= sizeof cpudir)
                return -ENAMETOOLONG;
        snprintf(path, sizeof path, "%s/online", cpudir);
        r = read_cpuset(path, &online);
        if (r < 0)
                return r;
        if (cpuset_empty(&online))
                return -ENODATA;

        info = calloc(cpuset_count(&online), sizeof *info);
        if (!info)
                return -ENOMEM;
        for (unsigned c = 0, end = cpuset_end(&online); c < end; c++)
                if (cpuset_has(&online, c))
                        cpu_info_load(cpudir, &online, c, &info[n++]);
        load_nodes(sysfs_root, info, n);

        return topology_build(&online, info, n, ret);
}

int topology_new_flat(unsigned ncpus, Topology **ret) {
        _cleanup_(freep) CpuInfo *info = NULL;
        CpuSet online = {};

        if (ncpus == 0 || ncpus > CPUSET_MAX || !ret)
                return -EINVAL;
        info = calloc(ncpus, sizeof *info);
        if (!info)
                return -ENOMEM;
        for (unsigned c = 0; c < ncpus; c++) {
                cpuset_add(&online, c);
                info[c] = (CpuInfo) { .cpu = c, .core_key = c, .package_id = 0, .l3_key = 0 };
        }
        return topology_build(&online, info, ncpus, ret);
}

Topology *topology_free(Topology *t) {
        if (!t)
                return NULL;
        free(t->cores);
        free(t->core_cpus);
        free(t->node_ids);
        free(t);
        return NULL;
}

const CpuSet *topology_online(const Topology *t) {
        return &t->online;
}

unsigned topology_n_cores(const Topology *t) {
        return t->n_cores;
}

unsigned topology_n_packages(const Topology *t) {
        return t->n_packages;
}

unsigned topology_n_l3(const Topology *t) {
        return t->n_l3;
}

int topology_core_of(const Topology *t, unsigned cpu) {
        return cpu < CPUSET_MAX ? t->core_of[cpu] : -1;
}

const unsigned *topology_core_cpus(const Topology *t, unsigned core, unsigned *ret_n) {
        *ret_n = t->cores[core].n;
        return t->core_cpus + t->cores[core].first;
}

unsigned topology_core_package(const Topology *t, unsigned core) {
        return t->cores[core].package;
}

unsigned topology_core_l3(const Topology *t, unsigned core) {
        return t->cores[core].l3;
}

unsigned topology_n_nodes(const Topology *t) {
        return t->n_nodes;
}

unsigned topology_core_node(const Topology *t, unsigned core) {
        return t->cores[core].node;
}

unsigned topology_node_id(const Topology *t, unsigned node) {
        return t->node_ids[node];
}

void topology_nodes_of(const Topology *t, const CpuSet *cpus, CpuSet *ret) {
        cpuset_zero(ret);
        for (unsigned c = 0, end = cpuset_end(cpus); c < end; c++)
                if (cpuset_has(cpus, c) && t->core_of[c] >= 0)
                        cpuset_add(ret, t->node_ids[t->cores[t->core_of[c]].node]);
}

static void add_core(const Topology *t, unsigned core, CpuSet *s) {
        for (unsigned i = 0; i < t->cores[core].n; i++)
                cpuset_add(s, t->core_cpus[t->cores[core].first + i]);
}

void topology_whole_cores(const Topology *t, const CpuSet *cpus, CpuSet *ret) {
        for (unsigned c = 0, end = cpuset_end(cpus); c < end; c++)
                if (cpuset_has(cpus, c) && t->core_of[c] >= 0)
                        add_core(t, (unsigned) t->core_of[c], ret);
}
