/* placement.c: choosing CPU threads for a task on an SMT machine.  This first
 * version takes whole free cores in core order (first fit). */
#include "config.h"

#include <errno.h>

#include "placement.h"

static bool core_free(const Topology *t, const CpuSet *free, unsigned core) {
        unsigned n;
        const unsigned *cpus = topology_core_cpus(t, core, &n);

        for (unsigned i = 0; i < n; i++)
                if (!cpuset_has(free, cpus[i]))
                        return false;
        return n > 0;
}

int placement_find(const Topology *t, const CpuSet *free, unsigned threads, bool whole_cores,
                   CpuSet *ret_cpus, CpuSet *ret_reserved) {
        unsigned ncores = topology_n_cores(t), need = threads, half = 0;
        CpuSet cpus = {}, reserved = {};
        int half_core = -1;

        if (threads == 0)
                return -EINVAL;

        if (!whole_cores && threads % 2 == 1) {
                /* one half core: prefer a free thread of a core already in
                 * use, so that no whole core is broken up */
                need = threads - 1;
                half = 1;
                for (unsigned k = 0; k < ncores && half_core < 0; k++) {
                        unsigned n;
                        const unsigned *c = topology_core_cpus(t, k, &n);
                        if (core_free(t, free, k))
                                continue;
                        for (unsigned i = 0; i < n; i++)
                                if (cpuset_has(free, c[i])) {
                                        half_core = (int) k;
                                        cpuset_add(&cpus, c[i]);
                                        cpuset_add(&reserved, c[i]);
                                        half = 0;
                                        break;
                                }
                }
        }

        for (unsigned k = 0; k < ncores && (need > 0 || half > 0); k++) {
                unsigned n;
                const unsigned *c = topology_core_cpus(t, k, &n);

                if ((int) k == half_core || !core_free(t, free, k))
                        continue;
                if (whole_cores) {
                        cpuset_add(&cpus, c[0]);
                        for (unsigned i = 0; i < n; i++)
                                cpuset_add(&reserved, c[i]);
                        need--;
                } else if (need > 0) {
                        for (unsigned i = 0; i < n; i++) {
                                if (i < need)
                                        cpuset_add(&cpus, c[i]);
                                cpuset_add(&reserved, c[i]);
                        }
                        need = need > n ? need - n : 0;
                } else {
                        cpuset_add(&cpus, c[0]);
                        cpuset_add(&reserved, c[0]);
                        half = 0;
                }
        }
        if (need > 0 || half > 0)
                return -ENOSPC;
        *ret_cpus = cpus;
        *ret_reserved = reserved;
        return 0;
}

void placement_reserved(const Topology *t, const CpuSet *cpus, bool whole_cores, CpuSet *ret) {
        *ret = *cpus;
        if (whole_cores)
                topology_whole_cores(t, cpus, ret);
}
