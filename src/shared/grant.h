/* grant.h: what benchrunner is given on this machine when it starts, one
 * rule for br-start and benchrunnerd: which CPU threads (never every core:
 * the core(s) of CPU 0 stay with the system) and who owns the daemon.  Pure
 * logic on a Topology; never logs. */
#pragma once

#include <sys/types.h>

#include "cpuset.h"
#include "topology.h"

/* For `br-start -j N`: N CPU threads, whole cores first (an odd N takes one
 * half core), within one socket / L3 when they fit, never touching the
 * core(s) of CPU 0 (the lowest online CPU), which stay for the system.
 * -EINVAL for N == 0, -ERANGE if N exceeds the online CPUs, -ENOSPC if N
 * cannot be had without taking every core. */
int grant_pick_cpus(const Topology *t, unsigned n, CpuSet *ret);
/* When no CPUs are named: as many as may be given away, the largest N that
 * grant_pick_cpus() gives (every CPU but the core(s) of CPU 0).  -ENOSPC on
 * a machine with a single core. */
int grant_default_cpus(const Topology *t, CpuSet *ret);
/* For `--cpus LIST`: -EINVAL if a CPU is not online, -ENOSPC if the list
 * leaves no whole core to the system. */
int grant_check_cpus(const Topology *t, const CpuSet *cpus);

/* The daemon's owner (who may submit tasks besides root) when none is
 * named: the user who runs the program (uid), except that root come through
 * sudo means the user who ran sudo (sudo_uid: $SUDO_UID, may be NULL; not
 * a valid uid, it is ignored). */
uid_t grant_owner(uid_t uid, const char *sudo_uid);
