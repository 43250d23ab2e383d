/* machine.h: what the machine was like when a task ran, as far as a timing
 * depends on it, read from sysfs and procfs: the CPU model and microcode,
 * the kernel, SMT, CPU boost, each of the task's CPUs' frequency governor
 * and limits, memory and swap, transparent hugepages, ASLR; and the
 * counters that show a task was disturbed (swapping, thermal throttling,
 * the clock of its CPUs moving).  The roots are parameters, so that tests
 * give fake trees.  No sd-bus, never logs.
 *
 * What cannot be read stays unknown (NULL, -1, MACHINE_UNKNOWN) and is
 * recorded as unknown, never as 0: a VM without cpufreq has no governor,
 * which is not the same as a governor that is off. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpuset.h"

#define MACHINE_UNKNOWN UINT64_MAX

typedef struct MachineCpu {
        unsigned cpu;
        char *governor;          /* cpufreq/scaling_governor; NULL: unknown */
        uint64_t min_khz;        /* cpufreq/scaling_min_freq; MACHINE_UNKNOWN */
        uint64_t max_khz;        /* cpufreq/scaling_max_freq; MACHINE_UNKNOWN */
} MachineCpu;

typedef struct Machine {
        char *cpu_model;         /* /proc/cpuinfo "model name" of the first CPU asked for */
        char *microcode;         /* its "microcode" */
        char *kernel;            /* /proc/sys/kernel/osrelease */
        int smt;                 /* devices/system/cpu/smt/active: 1, 0; -1 unknown */
        int boost;               /* cpufreq/boost, or intel_pstate/no_turbo inverted: 1, 0; -1 */
        char *thp;               /* kernel/mm/transparent_hugepage/enabled: the word in [] */
        int aslr;                /* /proc/sys/kernel/randomize_va_space: 0, 1, 2; -1 */
        uint64_t memory_bytes;   /* /proc/meminfo MemTotal; MACHINE_UNKNOWN */
        uint64_t swap_bytes;     /* SwapTotal */
        MachineCpu *cpus;        /* the CPUs asked for, ascending */
        size_t n_cpus;
        /* the caller's, for the record (may stay NULL / 0) */
        char *systemd_version;
        char *benchrunner_version;
        int cgroup_version;      /* 1 or 2; 0 unknown */
} Machine;

/* Reads the machine under sys_root ("/sys") and proc_root ("/proc"), the
 * frequency settings of each CPU in cpus.  Only -ENOMEM fails: what is not
 * there is unknown. */
int machine_read(const char *sys_root, const char *proc_root, const CpuSet *cpus, Machine **ret);
Machine *machine_free(Machine *m);
static inline void machine_freep(Machine **m) {
        if (*m)
                machine_free(*m);
}

/* The record as one JSON object with a fixed order of keys and unknown
 * values as null, so that two readings of an unchanged machine give the
 * same text (the daemon keeps one row per distinct text).  NULL on ENOMEM. */
char *machine_to_json(const Machine *m);

/* What moves while a task runs, read at its start and at its end. */
typedef struct MachineCounters {
        uint64_t swap_in, swap_out;       /* /proc/vmstat pswpin, pswpout; MACHINE_UNKNOWN */
        uint64_t throttle;                /* the sum of thermal_throttle/{core,package}_throttle_count
                                           * over the CPUs; MACHINE_UNKNOWN where none has them */
        uint64_t *cur_khz;                /* cpufreq/scaling_cur_freq of each CPU, in cpus' order */
        size_t n_cpus;
} MachineCounters;

int machine_counters_read(const char *sys_root, const char *proc_root, const CpuSet *cpus, MachineCounters *ret);
void machine_counters_done(MachineCounters *c);

/* How much a CPU's clock may move between start and end before it is said
 * to have changed (governors move it a little all the time). */
#define MACHINE_FREQ_CHANGE_PERMILLE 50

/* The warnings of a task that ran on the CPUs only (of m's; NULL: all of
 * them), from the machine at its start and the counters of those CPUs then
 * and at its end (end may be NULL: not ended):
 * boost on; a governor other than "performance"; swap in or out during the
 * task; thermal throttling during it; a CPU's clock moved by more than
 * MACHINE_FREQ_CHANGE_PERMILLE; and, with no_cpuset, that the system could
 * not be kept off the task's CPUs (cgroup v1).  *ret: a NULL-terminated
 * strv of one-line texts, NULL for none.  -ENOMEM. */
int machine_warnings(const Machine *m, const CpuSet *only, const MachineCounters *start, const MachineCounters *end,
                     bool no_cpuset, char ***ret);
