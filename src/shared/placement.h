/* placement.h: which CPU threads a task gets, given the machine's topology
 * and the CPUs free right now.  Pure logic, never logs.
 *
 * Rules: a task with an even thread count gets whole physical cores (it
 * shares no core with another task); an odd one gets whole cores plus at
 * most one half core; a whole_cores task reserves `threads` full cores and
 * gets one thread of each.  A core counts as whole only if all its online
 * siblings are free. */
#pragma once

#include <stdbool.h>

#include "cpuset.h"
#include "topology.h"

/* Finds CPUs among `free` for a task.  ret_cpus gets the CPUs the task runs
 * on, ret_reserved what it holds (ret_cpus plus, for whole_cores, the unused
 * siblings): the caller marks ret_reserved busy.  -ENOSPC if it does not fit
 * now, -EINVAL for 0 threads. */
int placement_find(const Topology *t, const CpuSet *free, unsigned threads, bool whole_cores,
                   CpuSet *ret_cpus, CpuSet *ret_reserved);

/* What a task running on `cpus` holds (restart recovery): the CPUs
 * themselves, plus the whole cores of them for a whole_cores task. */
void placement_reserved(const Topology *t, const CpuSet *cpus, bool whole_cores, CpuSet *ret);
