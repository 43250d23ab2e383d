/* test-machine.c: src/daemon/machine.c against fake sysfs and procfs trees:
 * every field of the record, unknown where a file is missing (never 0),
 * the record's text stable, and every warning (boost, governor, swap,
 * thermal throttling, a clock that moved, cgroup v1) and its absence. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fake-sysfs.h"
#include "machine.h"
#include "strv.h"
#include "util.h"

static char *tmp_tree(void) {
        char *d = strdup("/tmp/test-machine-XXXXXX");
        if (!d || !mkdtemp(d))
                abort();
        return d;
}

static void put(const char *root, const char *rel, const char *content) {
        if (fake_sysfs_write(root, rel, content) < 0)
                abort();
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw) {
        (void) st;
        (void) flag;
        (void) ftw;
        return remove(p);
}

static void rm_tree(char *d) {
        (void) nftw(d, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        free(d);
}

/* A machine of 4 CPUs with cpufreq on 2 and 3, throttle counters, an
 * Intel CPU with microcode, swap, THP madvise, ASLR 2, SMT on, boost on. */
static void full_tree(const char *sys, const char *proc) {
        put(proc, "cpuinfo",
            "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz\n"
            "microcode\t: 0xb000040\n\nprocessor\t: 1\nmodel name\t: Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz\n"
            "microcode\t: 0xb000040\n\nprocessor\t: 2\nmodel name\t: Other model on CPU 2\nmicrocode\t: 0xb000041\n\n"
            "processor\t: 3\nmodel name\t: Other model on CPU 2\nmicrocode\t: 0xb000041\n");
        put(proc, "sys/kernel/osrelease", "6.1.0-18-amd64");
        put(proc, "sys/kernel/randomize_va_space", "2");
        put(proc, "meminfo", "MemTotal:       16318464 kB\nMemFree:         1000000 kB\nSwapTotal:       2097148 kB\n");
        put(proc, "vmstat", "nr_free_pages 1\npswpin 100\npswpout 200\n");
        put(sys, "devices/system/cpu/smt/active", "1");
        put(sys, "devices/system/cpu/cpufreq/boost", "1");
        put(sys, "kernel/mm/transparent_hugepage/enabled", "always [madvise] never");
        for (int c = 2; c <= 3; c++) {
                char rel[128];
                snprintf(rel, sizeof rel, "devices/system/cpu/cpu%d/cpufreq/scaling_governor", c);
                put(sys, rel, c == 2 ? "performance" : "powersave");
                snprintf(rel, sizeof rel, "devices/system/cpu/cpu%d/cpufreq/scaling_min_freq", c);
                put(sys, rel, "1200000");
                snprintf(rel, sizeof rel, "devices/system/cpu/cpu%d/cpufreq/scaling_max_freq", c);
                put(sys, rel, "3300000");
                snprintf(rel, sizeof rel, "devices/system/cpu/cpu%d/cpufreq/scaling_cur_freq", c);
                put(sys, rel, "2400000");
                snprintf(rel, sizeof rel, "devices/system/cpu/cpu%d/thermal_throttle/core_throttle_count", c);
                put(sys, rel, "5");
                snprintf(rel, sizeof rel, "devices/system/cpu/cpu%d/thermal_throttle/package_throttle_count", c);
                put(sys, rel, "1");
        }
}

static void test_full(void) {
        char *sys = tmp_tree(), *proc = tmp_tree();
        _cleanup_(machine_freep) Machine *m = NULL;
        _cleanup_(freep) char *json = NULL, *json2 = NULL;
        _cleanup_(strv_freep) char **w = NULL;
        MachineCounters a = {}, b = {};
        CpuSet cpus;

        full_tree(sys, proc);
        CHECK_OK(cpuset_parse("2-3", &cpus));
        CHECK_OK(machine_read(sys, proc, &cpus, &m));
        if (!m)
                return;
        CHECK_STREQ(m->cpu_model, "Other model on CPU 2");   /* the section of the first CPU asked for */
        CHECK_STREQ(m->microcode, "0xb000041");
        CHECK_STREQ(m->kernel, "6.1.0-18-amd64");
        CHECK(m->smt == 1 && m->boost == 1 && m->aslr == 2);
        CHECK_STREQ(m->thp, "madvise");
        CHECK_EQ_U64(m->memory_bytes, UINT64_C(16318464) * 1024);
        CHECK_EQ_U64(m->swap_bytes, UINT64_C(2097148) * 1024);
        CHECK_EQ_U64(m->n_cpus, 2);
        if (m->n_cpus == 2) {
                CHECK(m->cpus[0].cpu == 2 && m->cpus[1].cpu == 3);
                CHECK_STREQ(m->cpus[0].governor, "performance");
                CHECK_STREQ(m->cpus[1].governor, "powersave");
                CHECK_EQ_U64(m->cpus[1].min_khz, 1200000);
                CHECK_EQ_U64(m->cpus[1].max_khz, 3300000);
        }
        m->systemd_version = strdup("252");
        m->benchrunner_version = strdup("0.1.0");
        m->cgroup_version = 2;
        json = machine_to_json(m);
        CHECK_STREQ(json, "{\"cpu_model\":\"Other model on CPU 2\",\"microcode\":\"0xb000041\","
                          "\"kernel\":\"6.1.0-18-amd64\",\"systemd\":\"252\",\"benchrunner\":\"0.1.0\",\"cgroup\":2,"
                          "\"smt\":true,\"boost\":true,\"transparent_hugepages\":\"madvise\",\"aslr\":2,"
                          "\"memory_bytes\":16710107136,\"swap_bytes\":2147479552,\"cpus\":["
                          "{\"cpu\":2,\"governor\":\"performance\",\"min_khz\":1200000,\"max_khz\":3300000},"
                          "{\"cpu\":3,\"governor\":\"powersave\",\"min_khz\":1200000,\"max_khz\":3300000}]}");

        /* the same machine read again gives the same text */
        {
                _cleanup_(machine_freep) Machine *again = NULL;
                CHECK_OK(machine_read(sys, proc, &cpus, &again));
                again->systemd_version = strdup("252");
                again->benchrunner_version = strdup("0.1.0");
                again->cgroup_version = 2;
                json2 = machine_to_json(again);
                CHECK_STREQ(json2, json);
        }

        /* nothing moved: boost and the governor only */
        CHECK_OK(machine_counters_read(sys, proc, &cpus, &a));
        CHECK_EQ_U64(a.swap_in, 100);
        CHECK_EQ_U64(a.swap_out, 200);
        CHECK_EQ_U64(a.throttle, 12);
        CHECK(a.n_cpus == 2 && a.cur_khz[0] == 2400000);
        CHECK_OK(machine_counters_read(sys, proc, &cpus, &b));
        CHECK_OK(machine_warnings(m, NULL, &a, &b, false, &w));
        CHECK(w && w[0] && w[1] && !w[2]);
        CHECK_STREQ(w ? w[0] : NULL, "boost is on: the clock of a core depends on what the others do");
        CHECK_STREQ(w ? w[1] : NULL, "CPU 3 runs the powersave governor, not performance");
        strv_free(w);
        w = NULL;
        machine_counters_done(&b);

        /* swapping, throttling and a clock that moved by more than 5 % */
        put(proc, "vmstat", "nr_free_pages 1\npswpin 103\npswpout 200\n");
        put(sys, "devices/system/cpu/cpu3/thermal_throttle/package_throttle_count", "4");
        put(sys, "devices/system/cpu/cpu2/cpufreq/scaling_cur_freq", "1200000");
        put(sys, "devices/system/cpu/cpu3/cpufreq/scaling_cur_freq", "2450000");  /* 2 %: no warning */
        CHECK_OK(machine_counters_read(sys, proc, &cpus, &b));
        CHECK_OK(machine_warnings(m, NULL, &a, &b, true, &w));
        CHECK(w && strv_length(w) == 6);
        if (w && strv_length(w) == 6) {
                CHECK_STREQ(w[2], "cgroup v1: the system could not be kept off the task's CPUs");
                CHECK_STREQ(w[3], "the machine swapped during the task: 3 pages in, 0 out");
                CHECK_STREQ(w[4], "thermal throttling on the task's CPUs during the task: 3 events");
                CHECK_STREQ(w[5], "the clock of CPU 2 changed during the task: 2400000 to 1200000 kHz");
        }
        strv_free(w);
        w = NULL;
        /* only CPU 2's: no governor warning (CPU 3's), its clock's */
        {
                _cleanup_(strv_freep) char **w2 = NULL;
                MachineCounters a2 = {}, b2 = {};
                CpuSet two;

                CHECK_OK(cpuset_parse("2", &two));
                put(sys, "devices/system/cpu/cpu2/cpufreq/scaling_cur_freq", "2400000");
                CHECK_OK(machine_counters_read(sys, proc, &two, &a2));
                put(sys, "devices/system/cpu/cpu2/cpufreq/scaling_cur_freq", "1200000");
                CHECK_OK(machine_counters_read(sys, proc, &two, &b2));
                CHECK_OK(machine_warnings(m, &two, &a2, &b2, false, &w2));
                CHECK(w2 && strv_length(w2) == 2);
                CHECK_STREQ(w2 ? w2[1] : NULL, "the clock of CPU 2 changed during the task: 2400000 to 1200000 kHz");
                machine_counters_done(&a2);
                machine_counters_done(&b2);
        }
        /* not ended: no counter warnings */
        CHECK_OK(machine_warnings(m, NULL, &a, NULL, false, &w));
        CHECK(w && strv_length(w) == 2);
        machine_counters_done(&a);
        machine_counters_done(&b);
        rm_tree(sys);
        rm_tree(proc);
}

/* A VM: no cpufreq, no SMT control, no throttle counters, no swap line, an
 * intel_pstate that says no_turbo: unknown everywhere, never 0. */
static void test_unknown(void) {
        char *sys = tmp_tree(), *proc = tmp_tree();
        _cleanup_(machine_freep) Machine *m = NULL;
        _cleanup_(freep) char *json = NULL;
        _cleanup_(strv_freep) char **w = NULL;
        MachineCounters a = {}, b = {};
        CpuSet cpus;

        put(proc, "cpuinfo", "processor\t: 0\nmodel name\t: QEMU Virtual CPU version 2.5+\n");
        put(proc, "meminfo", "MemTotal:        2000000 kB\n");
        put(sys, "devices/system/cpu/intel_pstate/no_turbo", "1");
        CHECK_OK(cpuset_parse("1", &cpus));
        CHECK_OK(machine_read(sys, proc, &cpus, &m));
        if (!m)
                return;
        CHECK_STREQ(m->cpu_model, "QEMU Virtual CPU version 2.5+");   /* CPU 1 is not listed: the first */
        CHECK(!m->microcode && !m->kernel && !m->thp);
        CHECK(m->smt == -1 && m->aslr == -1);
        CHECK(m->boost == 0);   /* no_turbo 1 */
        CHECK_EQ_U64(m->swap_bytes, MACHINE_UNKNOWN);
        CHECK(m->n_cpus == 1 && !m->cpus[0].governor && m->cpus[0].max_khz == MACHINE_UNKNOWN);
        json = machine_to_json(m);
        CHECK_STREQ(json, "{\"cpu_model\":\"QEMU Virtual CPU version 2.5+\",\"microcode\":null,\"kernel\":null,"
                          "\"systemd\":null,\"benchrunner\":null,\"cgroup\":null,\"smt\":null,\"boost\":false,"
                          "\"transparent_hugepages\":null,\"aslr\":null,\"memory_bytes\":2048000000,"
                          "\"swap_bytes\":null,\"cpus\":[{\"cpu\":1,\"governor\":null,\"min_khz\":null,"
                          "\"max_khz\":null}]}");
        CHECK_OK(machine_counters_read(sys, proc, &cpus, &a));
        CHECK(a.swap_in == MACHINE_UNKNOWN && a.swap_out == MACHINE_UNKNOWN && a.throttle == MACHINE_UNKNOWN);
        CHECK(a.n_cpus == 1 && a.cur_khz[0] == MACHINE_UNKNOWN);
        put(proc, "vmstat", "pswpin 5\npswpout 5\n");   /* appears later: not a change */
        CHECK_OK(machine_counters_read(sys, proc, &cpus, &b));
        CHECK_OK(machine_warnings(m, NULL, &a, &b, false, &w));
        CHECK(!w);
        machine_counters_done(&a);
        machine_counters_done(&b);

        /* nothing at all */
        {
                _cleanup_(machine_freep) Machine *none = NULL;
                CHECK_OK(machine_read("/nonexistent", "/nonexistent", NULL, &none));
                CHECK(none && !none->cpu_model && none->memory_bytes == MACHINE_UNKNOWN && none->boost == -1 &&
                      none->n_cpus == 0);
        }
        rm_tree(sys);
        rm_tree(proc);
}

int main(void) {
        test_full();
        test_unknown();
        CHECK_DONE();
}
