/* grant.c: the CPU threads benchrunner is given, and its owner; see
 * grant.h.  Placement finds the CPUs: the grant is a placement on the
 * machine without the system's core(s). */
#include "config.h"

#include <errno.h>
#include <stdint.h>

#include "grant.h"
#include "placement.h"
#include "util.h"

/* The core(s) of CPU 0, or of the lowest online CPU where CPU 0 is offline. */
static void system_cores(const Topology *t, CpuSet *ret) {
        CpuSet first = {};

        cpuset_zero(ret);
        cpuset_add(&first, cpuset_first(topology_online(t)));
        topology_whole_cores(t, &first, ret);
}

/* The online CPUs but the system's core(s). */
static void may_give(const Topology *t, CpuSet *ret) {
        CpuSet sys;

        *ret = *topology_online(t);
        system_cores(t, &sys);
        cpuset_and_not(ret, &sys);
}

int grant_pick_cpus(const Topology *t, unsigned n, CpuSet *ret) {
        CpuSet avail, reserved;
        int r;

        if (n == 0)
                return -EINVAL;
        if (n > cpuset_count(topology_online(t)))
                return -ERANGE;
        may_give(t, &avail);
        r = placement_find(t, &avail, n, false, ret, &reserved);
        return r < 0 ? -ENOSPC : 0;
}

int grant_default_cpus(const Topology *t, CpuSet *ret) {
        CpuSet avail;

        /* more than the CPUs that may be given cannot be placed on them */
        may_give(t, &avail);
        for (unsigned n = cpuset_count(&avail); n > 0; n--)
                if (grant_pick_cpus(t, n, ret) >= 0)
                        return 0;
        return -ENOSPC;
}

int grant_check_cpus(const Topology *t, const CpuSet *cpus) {
        if (cpuset_empty(cpus) || !cpuset_subset(cpus, topology_online(t)))
                return -EINVAL;
        /* at least one core must stay entirely outside the list */
        for (unsigned k = 0; k < topology_n_cores(t); k++) {
                unsigned n;
                const unsigned *cpu = topology_core_cpus(t, k, &n);
                bool touched = false;

                for (unsigned i = 0; i < n; i++)
                        if (cpuset_has(cpus, cpu[i]))
                                touched = true;
                if (!touched)
                        return 0;
        }
        return -ENOSPC;
}

uid_t grant_owner(uid_t uid, const char *sudo_uid) {
        uint64_t u;

        if (uid == 0 && sudo_uid && parse_uint(sudo_uid, 0, UINT32_MAX - 1, &u) >= 0)
                return (uid_t) u;
        return uid;
}
