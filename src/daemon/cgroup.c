/* cgroup.c: the files of a control group that unit.c measures a command
 * with (see cgroup.h; unit.h says which figure comes from where). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "cgroup.h"
#include "util.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

int cgroup_detect_unified(bool *ret) {
        struct statfs fs;

        if (statfs(CGROUP_ROOT, &fs) < 0)
                return -errno;
        if (fs.f_type == CGROUP2_SUPER_MAGIC) {
                *ret = true;
                return 0;
        }
        /* hybrid (a tmpfs with v1 hierarchies and a "unified" v2 without
         * controllers) or pure v1: resource control happens in v1 either way */
        if (fs.f_type == TMPFS_MAGIC) {
                *ret = false;
                return 0;
        }
        return -ENOMEDIUM;
}

int cgroup_has_controller(const char *controller) {
        char buf[512];
        int r;

        r = read_small_file(CGROUP_ROOT "/cgroup.controllers", buf, sizeof buf);
        if (r < 0)
                return r;
        return strstr(buf, controller) != NULL;
}

bool cgroup_has_memory_peak(void) {
        return access(CGROUP_ROOT "/init.scope/memory.peak", F_OK) >= 0 ||
               access(CGROUP_ROOT "/system.slice/memory.peak", F_OK) >= 0;
}

int cgroup_path(const char *hierarchy, const char *group, const char *file, char *buf, size_t len) {
        int n = snprintf(buf, len, CGROUP_ROOT "%s%s/%s/%s", *hierarchy ? "/" : "", hierarchy, group, file);
        return n < 0 || (size_t) n >= len ? -ENAMETOOLONG : 0;
}

static int read_u64(const char *hierarchy, const char *group, const char *file, uint64_t *ret) {
        char path[PATH_MAX];
        int r;

        r = cgroup_path(hierarchy, group, file, path, sizeof path);
        if (r < 0)
                return r;
        return read_small_file_u64(path, ret);
}

/* "key value" lines, as in cpu.stat and memory.events. */
static int read_keyed_u64(const char *hierarchy, const char *group, const char *file, const char *key,
                          uint64_t *ret) {
        char path[PATH_MAX], buf[4096];
        size_t kl = strlen(key);
        int r;

        r = cgroup_path(hierarchy, group, file, path, sizeof path);
        if (r < 0)
                return r;
        r = read_small_file(path, buf, sizeof buf);
        if (r < 0)
                return r;
        for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
                if (strncmp(line, key, kl) == 0 && line[kl] == ' ') {
                        *ret = strtoull(line + kl + 1, NULL, 10);
                        return 0;
                }
        return -ENOENT;
}

/* cgroup v2 cpu.stat: user_usec and system_usec, kept by every cgroup2 group
 * (no controller needed), including the controller-less one of the hybrid
 * layout. */
static bool read_cpu_stat(const char *hierarchy, const char *group, CgroupUsage *u) {
        uint64_t user, sys;

        if (read_keyed_u64(hierarchy, group, "cpu.stat", "user_usec", &user) < 0 ||
            read_keyed_u64(hierarchy, group, "cpu.stat", "system_usec", &sys) < 0)
                return false;
        u->has_cpu = true;
        u->cpu_user_usec = user;
        u->cpu_system_usec = sys;
        return true;
}

/* v1 cpuacct, in nanoseconds.  systemd creates groups there only where cpu
 * and cpuacct share one hierarchy (the usual "cpu,cpuacct"). */
static bool read_cpuacct(const char *group, CgroupUsage *u) {
        uint64_t user, sys;

        if (read_u64("cpuacct", group, "cpuacct.usage_user", &user) < 0 ||
            read_u64("cpuacct", group, "cpuacct.usage_sys", &sys) < 0)
                return false;
        u->has_cpu = true;
        u->cpu_user_usec = user / 1000;
        u->cpu_system_usec = sys / 1000;
        return true;
}

int cgroup_parse_pressure(const char *text, CgroupPressure *ret) {
        CgroupPressure p = {};
        bool any = false;

        for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
                bool some = strncmp(line, "some ", 5) == 0, full = strncmp(line, "full ", 5) == 0;
                const char *end = strchr(line, '\n'), *t;
                size_t len = end ? (size_t) (end - line) : strlen(line);
                char *e;
                unsigned long long v;

                if (!some && !full)
                        continue;
                t = memmem(line, len, " total=", 7);
                if (!t)
                        continue;
                errno = 0;
                v = strtoull(t + 7, &e, 10);
                if (errno || e == t + 7)
                        continue;
                if (some) {
                        p.has_some = true;
                        p.some_usec = v;
                } else {
                        p.has_full = true;
                        p.full_usec = v;
                }
                any = true;
        }
        *ret = p;
        return any ? 0 : -ENODATA;
}

static void read_pressure(const char *group, CgroupUsage *u) {
        static const char * const files[_CGROUP_PRESSURE_MAX] = {
                [CGROUP_PRESSURE_CPU] = "cpu.pressure",
                [CGROUP_PRESSURE_MEMORY] = "memory.pressure",
                [CGROUP_PRESSURE_IO] = "io.pressure",
        };
        char path[PATH_MAX], buf[1024];

        for (int k = 0; k < _CGROUP_PRESSURE_MAX; k++)
                if (cgroup_path("", group, files[k], path, sizeof path) >= 0 &&
                    read_small_file(path, buf, sizeof buf) >= 0)
                        (void) cgroup_parse_pressure(buf, &u->pressure[k]);
}

void cgroup_read_usage(bool unified, const char *group, CgroupUsage *ret) {
        CgroupUsage u = {};
        uint64_t v;

        if (unified) {
                (void) read_cpu_stat("", group, &u);
                if (read_keyed_u64("", group, "cpu.stat", "nr_throttled", &u.nr_throttled) >= 0 &&
                    read_keyed_u64("", group, "cpu.stat", "throttled_usec", &u.throttled_usec) >= 0)
                        u.has_throttled = true;
                read_pressure(group, &u);
                if (read_u64("", group, "memory.peak", &v) >= 0) {
                        u.has_peak_memory = true;
                        u.peak_memory_bytes = v;
                }
                if (read_keyed_u64("", group, "memory.events", "oom_kill", &v) >= 0)
                        u.oom_kills = v;
        } else {
                if (!read_cpu_stat("unified", group, &u))
                        (void) read_cpuacct(group, &u);
                if (read_u64("memory", group, "memory.max_usage_in_bytes", &v) >= 0) {
                        u.has_peak_memory = true;
                        u.peak_memory_bytes = v;
                }
                if (read_u64("memory", group, "memory.failcnt", &v) >= 0)
                        u.failcnt = v;
        }
        *ret = u;
}

/* A file of the group, opened with flags (O_CLOEXEC added): the fd, or a
 * negative errno. */
static int open_file(const char *hierarchy, const char *group, const char *file, int flags) {
        char path[PATH_MAX];
        int r, fd;

        r = cgroup_path(hierarchy, group, file, path, sizeof path);
        if (r < 0)
                return r;
        fd = open(path, flags | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

int cgroup_oom_eventfd_v1(const char *group) {
        _cleanup_(closep) int efd = -1, ofd = -1, cfd = -1;
        char line[64];
        int n;

        ofd = open_file("memory", group, "memory.oom_control", O_RDONLY);
        if (ofd < 0)
                return ofd;
        cfd = open_file("memory", group, "cgroup.event_control", O_WRONLY);
        if (cfd < 0)
                return cfd;
        efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (efd < 0)
                return -errno;
        n = snprintf(line, sizeof line, "%d %d", efd, ofd);
        if (write(cfd, line, n) != n)
                return -errno;
        return TAKE_FD(efd);
}

bool cgroup_exists(const char *hierarchy, const char *group) {
        char path[PATH_MAX];

        return cgroup_path(hierarchy, group, "", path, sizeof path) >= 0 && access(path, F_OK) >= 0;
}

int cgroup_populated(bool unified, const char *group) {
        char path[PATH_MAX], buf[4096];
        uint64_t v;
        int r;

        /* cgroup2 (v2, or the hybrid layout's "unified") counts the group's
         * processes and those of its children */
        r = read_keyed_u64(unified ? "" : "unified", group, "cgroup.events", "populated", &v);
        if (r >= 0)
                return v > 0;
        if (unified)
                return r;
        /* pure v1: systemd's own hierarchy, where a service has no children */
        r = cgroup_path("systemd", group, "cgroup.procs", path, sizeof path);
        if (r < 0)
                return r;
        r = read_small_file(path, buf, sizeof buf);
        if (r < 0)
                return r;
        return buf[0] != 0;
}
