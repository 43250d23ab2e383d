/* cgroup.h: reading the files of a control group under /sys/fs/cgroup: which
 * hierarchy is mounted, a group's CPU time, peak memory and OOM counters, and
 * cgroup v1's OOM event.  No sd-bus: unit.c asks systemd for the groups and
 * reads them through this.  Never logs; functions return negative errno
 * values.
 *
 * A group is named by its path below each hierarchy's root, as systemd lays
 * them out ("benchrunner.slice/benchrunner-task_5.slice"); a hierarchy is ""
 * on cgroup v2, or on v1 "memory", "cpuacct", or "unified" (the hybrid
 * layout's controller-less cgroup2). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CGROUP_ROOT "/sys/fs/cgroup"

/* Whether CGROUP_ROOT is cgroup v2 (true) or v1, pure or hybrid (false).
 * -ENOMEDIUM when it is neither. */
int cgroup_detect_unified(bool *ret);

/* Whether the v2 root offers a controller: 1, 0, or a negative errno when
 * cgroup.controllers cannot be read. */
int cgroup_has_controller(const char *controller);
/* Whether the kernel keeps memory.peak (5.19 and later), from the groups
 * that always exist. */
bool cgroup_has_memory_peak(void);

/* The path of file of group in hierarchy.  -ENAMETOOLONG if it does not fit. */
int cgroup_path(const char *hierarchy, const char *group, const char *file, char *buf, size_t len);

enum {
        CGROUP_PRESSURE_CPU,
        CGROUP_PRESSURE_MEMORY,
        CGROUP_PRESSURE_IO,
        _CGROUP_PRESSURE_MAX,
};

typedef struct CgroupPressure {
        bool has_some, has_full;
        uint64_t some_usec, full_usec;
} CgroupPressure;

/* What a group used, read once its processes are gone. */
typedef struct CgroupUsage {
        bool has_cpu;
        uint64_t cpu_user_usec;
        uint64_t cpu_system_usec;
        bool has_peak_memory;
        uint64_t peak_memory_bytes;
        uint64_t oom_kills;          /* v2: memory.events oom_kill */
        uint64_t failcnt;            /* v1: memory.failcnt, times the limit was hit */
        /* v2 pressure (PSI) over the group's life, microseconds stalled:
         * [CGROUP_PRESSURE_CPU], _MEMORY, _IO; "some" and "full" each known
         * or not (a kernel without PSI, or before cpu's "full": 5.13) */
        CgroupPressure pressure[_CGROUP_PRESSURE_MAX];
        /* v2 cpu.stat nr_throttled, throttled_usec (with the cpu controller) */
        bool has_throttled;
        uint64_t nr_throttled;
        uint64_t throttled_usec;
} CgroupUsage;

/* "some avg10=0.00 avg60=0.00 avg300=0.00 total=123\nfull ... total=45":
 * the totals.  0 when at least one line was read. */
int cgroup_parse_pressure(const char *text, CgroupPressure *ret);

/* Reads what it can: on v2 cpu.stat (and its throttling), memory.peak,
 * memory.events and the pressure files; on v1
 * cpu.stat of the "unified" hierarchy, else cpuacct, and memory's
 * max_usage_in_bytes and failcnt.  What cannot be read stays 0 / false. */
void cgroup_read_usage(bool unified, const char *group, CgroupUsage *ret);

/* cgroup v1: an eventfd (non-blocking, close-on-exec) that the kernel
 * signals when group hits its memory limit (memory.oom_control registered
 * through cgroup.event_control).  The caller owns the fd.  It is also
 * signalled when the group is removed: cgroup_exists() tells the two
 * apart. */
int cgroup_oom_eventfd_v1(const char *group);
bool cgroup_exists(const char *hierarchy, const char *group);

/* Whether any process is left in group (or below it): 1 or 0; a negative
 * errno when that cannot be read (the group is gone: -ENOENT). */
int cgroup_populated(bool unified, const char *group);
