/* machine.c: the machine's state and counters from sysfs and procfs
 * (machine.h). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "json.h"
#include "machine.h"
#include "strv.h"
#include "util.h"

/* The first line of root/rel without its line end, or NULL. */
static char *read_line(const char *root, const char *rel) {
        _cleanup_(freep) char *path = NULL, *line = NULL;
        size_t n = 0;
        ssize_t k;
        FILE *f;

        if (asprintf(&path, "%s/%s", root, rel) < 0)
                return NULL;
        f = fopen(path, "re");
        if (!f)
                return NULL;
        k = getline(&line, &n, f);
        fclose(f);
        if (k < 0)
                return NULL;
        while (k > 0 && (line[k - 1] == '\n' || line[k - 1] == '\r' || line[k - 1] == ' '))
                line[--k] = 0;
        return TAKE_PTR(line);
}

static uint64_t read_u64_file(const char *root, const char *rel) {
        _cleanup_(freep) char *s = read_line(root, rel);
        uint64_t v;

        return s && parse_uint(s, 0, UINT64_MAX - 1, &v) >= 0 ? v : MACHINE_UNKNOWN;
}

static int read_bool_file(const char *root, const char *rel) {
        uint64_t v = read_u64_file(root, rel);
        return v == MACHINE_UNKNOWN ? -1 : v != 0;
}

/* /proc/cpuinfo's "model name" and "microcode" in the section of cpu, or
 * of the first section when none is cpu's (a VM may list fewer). */
static void read_cpuinfo(const char *proc_root, unsigned cpu, Machine *m) {
        _cleanup_(freep) char *path = NULL, *line = NULL;
        char *model[2] = {}, *microcode[2] = {};   /* [0] the first section's, [1] cpu's */
        int section = -1;                          /* 0: the first, 1: cpu's, 2: another */
        size_t n = 0;
        FILE *f;

        if (asprintf(&path, "%s/cpuinfo", proc_root) < 0)
                return;
        f = fopen(path, "re");
        if (!f)
                return;
        while (getline(&line, &n, f) >= 0) {
                char *colon = strchr(line, ':'), *value, *end;
                uint64_t p;

                if (!colon)
                        continue;
                for (end = colon; end > line && (end[-1] == '\t' || end[-1] == ' '); end--)
                        ;
                *end = 0;
                for (value = colon + 1; *value == ' ' || *value == '\t'; value++)
                        ;
                value[strcspn(value, "\n")] = 0;
                if (strcmp(line, "processor") == 0) {
                        bool is_cpu = parse_uint(value, 0, UINT32_MAX, &p) >= 0 && p == cpu;
                        section = is_cpu ? 1 : section < 0 ? 0 : 2;
                        continue;
                }
                if (section < 0 || section == 2)
                        continue;
                if (strcmp(line, "model name") == 0 && !model[section])
                        model[section] = strdup(value);
                else if (strcmp(line, "microcode") == 0 && !microcode[section])
                        microcode[section] = strdup(value);
        }
        fclose(f);
        m->cpu_model = model[1] ? model[1] : model[0];
        free(model[1] ? model[0] : NULL);
        m->microcode = microcode[1] ? microcode[1] : microcode[0];
        free(microcode[1] ? microcode[0] : NULL);
}

/* The number after "key" and sep at the start of a line of
 * proc_root/file ("MemTotal:   1234 kB", "pswpin 5"), or MACHINE_UNKNOWN. */
static uint64_t proc_number(const char *proc_root, const char *file, const char *key, char sep) {
        _cleanup_(freep) char *path = NULL, *line = NULL;
        uint64_t v = MACHINE_UNKNOWN;
        size_t n = 0, k = strlen(key);
        FILE *f;

        if (asprintf(&path, "%s/%s", proc_root, file) < 0)
                return MACHINE_UNKNOWN;
        f = fopen(path, "re");
        if (!f)
                return MACHINE_UNKNOWN;
        while (getline(&line, &n, f) >= 0)
                if (strncmp(line, key, k) == 0 && line[k] == sep) {
                        unsigned long long x;
                        if (sscanf(line + k + 1, "%llu", &x) == 1 && x < MACHINE_UNKNOWN)
                                v = (uint64_t) x;
                        break;
                }
        fclose(f);
        return v;
}

/* A /proc/meminfo line, in bytes (the file says kB). */
static uint64_t meminfo_bytes(const char *proc_root, const char *key) {
        uint64_t kb = proc_number(proc_root, "meminfo", key, ':');
        return kb == MACHINE_UNKNOWN || kb >= UINT64_MAX / 1024 ? MACHINE_UNKNOWN : kb * 1024;
}

/* "always [madvise] never": the word in brackets. */
static char *selected_word(const char *s) {
        const char *a = s ? strchr(s, '[') : NULL, *b = a ? strchr(a, ']') : NULL;
        return b ? strndup(a + 1, (size_t) (b - a - 1)) : NULL;
}

static int read_cpu(const char *sys_root, unsigned cpu, MachineCpu *ret) {
        char rel[128];

        *ret = (MachineCpu) { .cpu = cpu, .min_khz = MACHINE_UNKNOWN, .max_khz = MACHINE_UNKNOWN };
        snprintf(rel, sizeof rel, "devices/system/cpu/cpu%u/cpufreq/scaling_governor", cpu);
        ret->governor = read_line(sys_root, rel);
        snprintf(rel, sizeof rel, "devices/system/cpu/cpu%u/cpufreq/scaling_min_freq", cpu);
        ret->min_khz = read_u64_file(sys_root, rel);
        snprintf(rel, sizeof rel, "devices/system/cpu/cpu%u/cpufreq/scaling_max_freq", cpu);
        ret->max_khz = read_u64_file(sys_root, rel);
        return 0;
}

int machine_read(const char *sys_root, const char *proc_root, const CpuSet *cpus, Machine **ret) {
        _cleanup_(machine_freep) Machine *m = calloc(1, sizeof(Machine));
        _cleanup_(freep) char *thp = NULL;
        int no_turbo;

        if (!m)
                return -ENOMEM;
        read_cpuinfo(proc_root, cpus ? cpuset_first(cpus) : 0, m);
        m->kernel = read_line(proc_root, "sys/kernel/osrelease");
        m->smt = read_bool_file(sys_root, "devices/system/cpu/smt/active");
        m->boost = read_bool_file(sys_root, "devices/system/cpu/cpufreq/boost");
        if (m->boost < 0 && (no_turbo = read_bool_file(sys_root, "devices/system/cpu/intel_pstate/no_turbo")) >= 0)
                m->boost = !no_turbo;
        thp = read_line(sys_root, "kernel/mm/transparent_hugepage/enabled");
        m->thp = selected_word(thp);
        {
                uint64_t aslr = read_u64_file(proc_root, "sys/kernel/randomize_va_space");
                m->aslr = aslr == MACHINE_UNKNOWN || aslr > 2 ? -1 : (int) aslr;
        }
        m->memory_bytes = meminfo_bytes(proc_root, "MemTotal");
        m->swap_bytes = meminfo_bytes(proc_root, "SwapTotal");
        if (cpus) {
                size_t n = cpuset_count(cpus), i = 0;

                m->cpus = calloc(n ? n : 1, sizeof(MachineCpu));
                if (!m->cpus)
                        return -ENOMEM;
                for (unsigned c = 0, e = cpuset_end(cpus); c < e && i < n; c++)
                        if (cpuset_has(cpus, c))
                                (void) read_cpu(sys_root, c, &m->cpus[i++]);
                m->n_cpus = i;
        }
        *ret = TAKE_PTR(m);
        return 0;
}

Machine *machine_free(Machine *m) {
        if (!m)
                return NULL;
        for (size_t i = 0; i < m->n_cpus; i++)
                free(m->cpus[i].governor);
        free(m->cpus);
        free(m->cpu_model);
        free(m->microcode);
        free(m->kernel);
        free(m->thp);
        free(m->systemd_version);
        free(m->benchrunner_version);
        free(m);
        return NULL;
}

/* ---- the record ---- */

static int add_tristate(json_object *o, const char *key, int v) {
        return v < 0 ? json_add_null(o, key) : json_add_bool(o, key, v != 0);
}

static int add_known(json_object *o, const char *key, uint64_t v) {
        return v == MACHINE_UNKNOWN ? json_add_null(o, key) : json_add_u64(o, key, v);
}

char *machine_to_json(const Machine *m) {
        _cleanup_(json_putp) json_object *o = json_object_new_object(), *a = json_object_new_array();

        if (!o || !a)
                return NULL;
        for (size_t i = 0; i < m->n_cpus; i++) {
                const MachineCpu *c = &m->cpus[i];
                json_object *e = json_object_new_object();

                if (!e || json_array_add(a, e) < 0 ||
                    json_add_u64(e, "cpu", c->cpu) < 0 ||
                    json_add_str(e, "governor", c->governor) < 0 ||
                    add_known(e, "min_khz", c->min_khz) < 0 ||
                    add_known(e, "max_khz", c->max_khz) < 0)
                        return NULL;
        }
        if (json_add_str(o, "cpu_model", m->cpu_model) < 0 ||
            json_add_str(o, "microcode", m->microcode) < 0 ||
            json_add_str(o, "kernel", m->kernel) < 0 ||
            json_add_str(o, "systemd", m->systemd_version) < 0 ||
            json_add_str(o, "benchrunner", m->benchrunner_version) < 0 ||
            (m->cgroup_version ? json_add_u64(o, "cgroup", (uint64_t) m->cgroup_version)
                               : json_add_null(o, "cgroup")) < 0 ||
            add_tristate(o, "smt", m->smt) < 0 ||
            add_tristate(o, "boost", m->boost) < 0 ||
            json_add_str(o, "transparent_hugepages", m->thp) < 0 ||
            (m->aslr >= 0 ? json_add_u64(o, "aslr", (uint64_t) m->aslr) : json_add_null(o, "aslr")) < 0 ||
            add_known(o, "memory_bytes", m->memory_bytes) < 0 ||
            add_known(o, "swap_bytes", m->swap_bytes) < 0 ||
            json_add(o, "cpus", TAKE_PTR(a)) < 0)
                return NULL;
        return strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* ---- counters ---- */

static uint64_t vmstat(const char *proc_root, const char *key) {
        return proc_number(proc_root, "vmstat", key, ' ');
}

int machine_counters_read(const char *sys_root, const char *proc_root, const CpuSet *cpus, MachineCounters *ret) {
        size_t n = cpus ? cpuset_count(cpus) : 0, i = 0;
        bool any_throttle = false;
        uint64_t throttle = 0;

        *ret = (MachineCounters) {
                .swap_in = vmstat(proc_root, "pswpin"),
                .swap_out = vmstat(proc_root, "pswpout"),
                .throttle = MACHINE_UNKNOWN,
        };
        ret->cur_khz = calloc(n ? n : 1, sizeof(uint64_t));
        if (!ret->cur_khz)
                return -ENOMEM;
        for (unsigned c = 0, e = cpus ? cpuset_end(cpus) : 0; c < e && i < n; c++) {
                static const char * const kinds[] = { "core_throttle_count", "package_throttle_count" };
                char rel[128];

                if (!cpuset_has(cpus, c))
                        continue;
                snprintf(rel, sizeof rel, "devices/system/cpu/cpu%u/cpufreq/scaling_cur_freq", c);
                ret->cur_khz[i++] = read_u64_file(sys_root, rel);
                for (size_t k = 0; k < ELEMENTSOF(kinds); k++) {
                        uint64_t v;
                        snprintf(rel, sizeof rel, "devices/system/cpu/cpu%u/thermal_throttle/%s", c, kinds[k]);
                        v = read_u64_file(sys_root, rel);
                        if (v != MACHINE_UNKNOWN) {
                                throttle += v;
                                any_throttle = true;
                        }
                }
        }
        ret->n_cpus = i;
        if (any_throttle)
                ret->throttle = throttle;
        return 0;
}

void machine_counters_done(MachineCounters *c) {
        free(c->cur_khz);
        c->cur_khz = NULL;
        c->n_cpus = 0;
}

/* ---- warnings ---- */

/* b - a when both are known and b is past a; 0 otherwise. */
static uint64_t grown(uint64_t a, uint64_t b) {
        return a != MACHINE_UNKNOWN && b != MACHINE_UNKNOWN && b > a ? b - a : 0;
}

int machine_warnings(const Machine *m, const CpuSet *only, const MachineCounters *start, const MachineCounters *end,
                     bool no_cpuset, char ***ret) {
        _cleanup_(strv_freep) char **w = NULL;
        size_t n = 0;

        if (m->boost > 0 && strv_push_printf(&w, &n, "boost is on: the clock of a core depends on what the "
                                                     "others do") < 0)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_cpus; i++)
                if ((!only || cpuset_has(only, m->cpus[i].cpu)) && m->cpus[i].governor &&
                    strcmp(m->cpus[i].governor, "performance") != 0) {
                        if (strv_push_printf(&w, &n, "CPU %u runs the %s governor, not performance", m->cpus[i].cpu,
                                             m->cpus[i].governor) < 0)
                                return -ENOMEM;
                }
        if (no_cpuset && strv_push_printf(&w, &n, "cgroup v1: the system could not be kept off the task's "
                                                  "CPUs") < 0)
                return -ENOMEM;
        if (start && end) {
                uint64_t in = grown(start->swap_in, end->swap_in), out = grown(start->swap_out, end->swap_out),
                         throttled = grown(start->throttle, end->throttle);

                if ((in || out) && strv_push_printf(&w, &n, "the machine swapped during the task: %" PRIu64
                                                    " pages in, %" PRIu64 " out", in, out) < 0)
                        return -ENOMEM;
                if (throttled && strv_push_printf(&w, &n, "thermal throttling on the task's CPUs during the task: "
                                                  "%" PRIu64 " events", throttled) < 0)
                        return -ENOMEM;
                /* the counters hold the CPUs of only (or all of m's), ascending */
                for (size_t i = 0, j = 0; i < m->n_cpus && j < start->n_cpus && j < end->n_cpus; i++) {
                        uint64_t a, b, d;

                        if (only && !cpuset_has(only, m->cpus[i].cpu))
                                continue;
                        a = start->cur_khz[j];
                        b = end->cur_khz[j++];
                        d = a > b ? a - b : b - a;
                        if (a == MACHINE_UNKNOWN || b == MACHINE_UNKNOWN || a == 0 ||
                            d * 1000 <= a * MACHINE_FREQ_CHANGE_PERMILLE)
                                continue;
                        if (strv_push_printf(&w, &n, "the clock of CPU %u changed during the task: %" PRIu64
                                             " to %" PRIu64 " kHz", m->cpus[i].cpu, a, b) < 0)
                                return -ENOMEM;
                }
        }
        *ret = TAKE_PTR(w);
        return 0;
}
