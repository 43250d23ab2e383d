/* sdbus-harness.c: proves the test harness reaches a real systemd.  Starts
 * one transient service through sd-bus StartTransientUnit with the limits
 * given on the command line, follows it to its end through the Unit's
 * PropertiesChanged signals and prints what the unit reports, as KEY=VALUE
 * lines that the integration test asserts on.  Runs inside the container or
 * VM, on the system bus. */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <time.h>

#include "cpuset.h"
#include "util.h"

static const char *arg_unit = "br-harness.service";
static const char *arg_slice;
static const char *arg_affinity;
static const char *arg_allowed;
static uint64_t arg_memory_max = UINT64_MAX;
static uint64_t arg_swap_max = UINT64_MAX;
static uint64_t arg_runtime_max;
static const char *arg_stdout;
static char **arg_argv;

static bool done;
static bool job_done;
static char *job_path;

static int append_cpus(sd_bus_message *m, const char *prop, const char *list) {
        _cleanup_(freep) uint8_t *mask = NULL;
        size_t len;
        CpuSet s;
        int r;

        r = cpuset_parse(list, &s);
        if (r < 0)
                return r;
        r = cpuset_to_mask(&s, &mask, &len);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(m, 'r', "sv");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", prop);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(m, 'v', "ay");
        if (r < 0)
                return r;
        r = sd_bus_message_append_array(m, 'y', mask, len);
        if (r < 0)
                return r;
        r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(m);
}

static int append_properties(sd_bus_message *m) {
        int r;

        r = sd_bus_message_append(m, "(sv)(sv)(sv)", "Type", "s", "exec", "AddRef", "b", 1,
                                  "Description", "s", "benchrunner test harness");
        if (r < 0)
                return r;
        if (arg_slice) {
                r = sd_bus_message_append(m, "(sv)", "Slice", "s", arg_slice);
                if (r < 0)
                        return r;
        }
        if (arg_affinity) {
                r = append_cpus(m, "CPUAffinity", arg_affinity);
                if (r < 0)
                        return r;
        }
        if (arg_allowed) {
                r = append_cpus(m, "AllowedCPUs", arg_allowed);
                if (r < 0)
                        return r;
        }
        if (arg_memory_max != UINT64_MAX) {
                r = sd_bus_message_append(m, "(sv)(sv)", "MemoryAccounting", "b", 1,
                                          "MemoryMax", "t", arg_memory_max);
                if (r < 0)
                        return r;
        }
        if (arg_swap_max != UINT64_MAX) {
                r = sd_bus_message_append(m, "(sv)", "MemorySwapMax", "t", arg_swap_max);
                if (r < 0)
                        return r;
        }
        if (arg_runtime_max > 0) {
                r = sd_bus_message_append(m, "(sv)", "RuntimeMaxUSec", "t", arg_runtime_max);
                if (r < 0)
                        return r;
        }
        if (arg_stdout) {
                r = sd_bus_message_append(m, "(sv)(sv)", "StandardOutputFile", "s", arg_stdout,
                                          "StandardError", "s", "inherit");
                if (r < 0)
                        return r;
        }

        /* ExecStart: a(sasb) = path, argv, ignore-failure */
        r = sd_bus_message_open_container(m, 'r', "sv");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", "ExecStart");
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(m, 'v', "a(sasb)");
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(m, 'a', "(sasb)");
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(m, 'r', "sasb");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "s", arg_argv[0]);
        if (r < 0)
                return r;
        r = sd_bus_message_append_strv(m, arg_argv);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "b", 0);
        if (r < 0)
                return r;
        for (int i = 0; i < 4; i++) {
                r = sd_bus_message_close_container(m);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        sd_bus *bus = sd_bus_message_get_bus(m);
        const char *path = userdata;
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(freep) char *state = NULL;
        int r;

        r = sd_bus_get_property_string(bus, "org.freedesktop.systemd1", path,
                                       "org.freedesktop.systemd1.Unit", "ActiveState", &e, &state);
        if (r < 0)
                return 0;
        /* Before its start job is done the unit is "inactive" too. */
        if (job_done && (strcmp(state, "inactive") == 0 || strcmp(state, "failed") == 0))
                done = true;
        return 0;
}

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        const char *path, *unit, *result;
        uint32_t id;

        if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0)
                return 0;
        if (job_path && strcmp(path, job_path) == 0) {
                job_done = true;
                if (strcmp(result, "done") != 0)
                        printf("JobResult=%s\n", result);
                return on_properties_changed(m, userdata, error);
        }
        return 0;
}

static void print_string_prop(sd_bus *bus, const char *path, const char *iface, const char *prop) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(freep) char *v = NULL;
        if (sd_bus_get_property_string(bus, "org.freedesktop.systemd1", path, iface, prop, &e, &v) >= 0)
                printf("%s=%s\n", prop, v);
}

static void print_trivial_prop(sd_bus *bus, const char *path, const char *iface, const char *prop, char type) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        union {
                int32_t i;
                uint64_t t;
        } v = {};
        if (sd_bus_get_property_trivial(bus, "org.freedesktop.systemd1", path, iface, prop, &e, type, &v) < 0)
                return;
        if (type == 'i')
                printf("%s=%" PRIi32 "\n", prop, v.i);
        else
                printf("%s=%" PRIu64 "\n", prop, v.t);
}

static void print_cpus_prop(sd_bus *bus, const char *path, const char *iface, const char *prop) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const void *data;
        size_t len;
        CpuSet s;

        if (sd_bus_get_property(bus, "org.freedesktop.systemd1", path, iface, prop, &e, &reply, "ay") < 0)
                return;
        if (sd_bus_message_read_array(reply, 'y', &data, &len) < 0)
                return;
        cpuset_zero(&s);
        for (size_t i = 0; i < len * 8; i++)
                if (((const uint8_t *) data)[i / 8] & (1u << (i % 8)))
                        cpuset_add(&s, (unsigned) i);
        _cleanup_(freep) char *f = cpuset_format(&s);
        printf("%s=%s\n", prop, f ? f : "");
}

/* memory.peak of the slice: the service's own cgroup is gone by now, but a
 * slice that holds only this service keeps the figure. */
static void print_slice_peak(sd_bus *bus) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(freep) char *cg = NULL, *file = NULL;
        const char *path;
        char buf[64] = {};
        FILE *f;

        if (sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                               "org.freedesktop.systemd1.Manager", "GetUnit", &e, &reply, "s", arg_slice) < 0 ||
            sd_bus_message_read(reply, "o", &path) < 0)
                return;
        if (sd_bus_get_property_string(bus, "org.freedesktop.systemd1", path,
                                       "org.freedesktop.systemd1.Slice", "ControlGroup", &e, &cg) < 0)
                return;
        if (asprintf(&file, "/sys/fs/cgroup%s/memory.peak", cg) < 0)
                return;
        f = fopen(file, "re");
        if (!f) {
                printf("SlicePeak=unavailable\n");
                return;
        }
        if (fgets(buf, sizeof buf, f))
                printf("SlicePeak=%s", buf);
        fclose(f);
        (void) sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                  "org.freedesktop.systemd1.Manager", "StopUnit", NULL, NULL, "ss",
                                  arg_slice, "replace");
}

static int parse_args(int argc, char **argv) {
        static const struct option opts[] = {
                { "unit", required_argument, NULL, 'u' },
                { "slice", required_argument, NULL, 'S' },
                { "cpu-affinity", required_argument, NULL, 'a' },
                { "allowed-cpus", required_argument, NULL, 'A' },
                { "memory-max", required_argument, NULL, 'm' },
                { "memory-swap-max", required_argument, NULL, 'w' },
                { "runtime-max", required_argument, NULL, 't' },
                { "stdout", required_argument, NULL, 'o' },
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "+", opts, NULL)) >= 0)
                switch (c) {
                case 'u': arg_unit = optarg; break;
                case 'S': arg_slice = optarg; break;
                case 'a': arg_affinity = optarg; break;
                case 'A': arg_allowed = optarg; break;
                case 'o': arg_stdout = optarg; break;
                case 'm':
                        if (parse_size(optarg, &arg_memory_max) < 0)
                                return -EINVAL;
                        break;
                case 'w':
                        if (parse_size(optarg, &arg_swap_max) < 0)
                                return -EINVAL;
                        break;
                case 't':
                        if (parse_duration(optarg, &arg_runtime_max) < 0)
                                return -EINVAL;
                        break;
                default:
                        return -EINVAL;
                }
        if (optind >= argc || argv[optind][0] != '/')
                return -EINVAL;
        arg_argv = argv + optind;
        return 0;
}

int main(int argc, char **argv) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL, *job_slot = NULL;
        _cleanup_(freep) char *path = NULL;
        uint64_t t0, t1;
        int r;

        if (parse_args(argc, argv) < 0) {
                fprintf(stderr, "usage: %s [--unit NAME] [--slice NAME] [--cpu-affinity LIST] [--allowed-cpus LIST]\n"
                                "       [--memory-max SIZE] [--memory-swap-max SIZE] [--runtime-max DURATION]\n"
                                "       [--stdout FILE] /ABS/PATH [ARG...]\n", argv[0]);
                return 2;
        }

        r = sd_event_default(&event);
        if (r < 0)
                goto fail;
        r = sd_bus_open_system(&bus);
        if (r < 0)
                goto fail;
        r = sd_bus_attach_event(bus, event, 0);
        if (r < 0)
                goto fail;

        r = sd_bus_path_encode("/org/freedesktop/systemd1/unit", arg_unit, &path);
        if (r < 0)
                goto fail;
        /* The match goes in before the unit exists, so no change is missed. */
        r = sd_bus_match_signal(bus, &slot, "org.freedesktop.systemd1", path,
                                "org.freedesktop.DBus.Properties", "PropertiesChanged",
                                on_properties_changed, path);
        if (r < 0)
                goto fail;
        r = sd_bus_match_signal(bus, &job_slot, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                "org.freedesktop.systemd1.Manager", "JobRemoved", on_job_removed, path);
        if (r < 0)
                goto fail;
        r = sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                               "org.freedesktop.systemd1.Manager", "Subscribe", &error, NULL, NULL);
        if (r < 0)
                goto fail;

        /* A failed unit of the same name from an earlier, interrupted run
         * would block the name. */
        (void) sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                  "org.freedesktop.systemd1.Manager", "ResetFailedUnit", NULL, NULL, "s", arg_unit);

        r = sd_bus_message_new_method_call(bus, &m, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                           "org.freedesktop.systemd1.Manager", "StartTransientUnit");
        if (r < 0)
                goto fail;
        r = sd_bus_message_append(m, "ss", arg_unit, "fail");
        if (r < 0)
                goto fail;
        r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r < 0)
                goto fail;
        r = append_properties(m);
        if (r < 0)
                goto fail;
        r = sd_bus_message_close_container(m);
        if (r < 0)
                goto fail;
        r = sd_bus_message_append(m, "a(sa(sv))", 0);
        if (r < 0)
                goto fail;

        t0 = now_usec(CLOCK_MONOTONIC);
        r = sd_bus_call(bus, m, 0, &error, &reply);
        if (r < 0)
                goto fail;
        {
                const char *j;
                r = sd_bus_message_read(reply, "o", &j);
                if (r < 0)
                        goto fail;
                job_path = strdup(j);
                if (!job_path) {
                        r = -ENOMEM;
                        goto fail;
                }
        }

        while (!done) {
                r = sd_event_run(event, 100 * USEC_PER_MSEC);
                if (r < 0)
                        goto fail;
                if (now_usec(CLOCK_MONOTONIC) - t0 > 120 * USEC_PER_SEC) {
                        fprintf(stderr, "unit did not end within 120 s\n");
                        return 1;
                }
        }
        t1 = now_usec(CLOCK_MONOTONIC);

        printf("Unit=%s\n", arg_unit);
        printf("ElapsedMSec=%" PRIu64 "\n", (t1 - t0) / USEC_PER_MSEC);
        print_string_prop(bus, path, "org.freedesktop.systemd1.Service", "Result");
        print_trivial_prop(bus, path, "org.freedesktop.systemd1.Service", "ExecMainCode", 'i');
        print_trivial_prop(bus, path, "org.freedesktop.systemd1.Service", "ExecMainStatus", 'i');
        print_trivial_prop(bus, path, "org.freedesktop.systemd1.Service", "MemoryMax", 't');
        print_trivial_prop(bus, path, "org.freedesktop.systemd1.Service", "MemorySwapMax", 't');
        print_trivial_prop(bus, path, "org.freedesktop.systemd1.Service", "RuntimeMaxUSec", 't');
        print_trivial_prop(bus, path, "org.freedesktop.systemd1.Service", "CPUUsageNSec", 't');
        print_cpus_prop(bus, path, "org.freedesktop.systemd1.Service", "CPUAffinity");
        print_cpus_prop(bus, path, "org.freedesktop.systemd1.Service", "AllowedCPUs");
        if (arg_slice)
                print_slice_peak(bus);

        /* Drop our reference and the failed state so the unit is collected. */
        (void) sd_bus_call_method(bus, "org.freedesktop.systemd1", path, "org.freedesktop.systemd1.Unit",
                                  "Unref", NULL, NULL, NULL);
        (void) sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                  "org.freedesktop.systemd1.Manager", "ResetFailedUnit", NULL, NULL, "s", arg_unit);
        free(job_path);
        return 0;

fail:
        fprintf(stderr, "sdbus-harness: %s\n", error.message ? error.message : strerror(-r));
        free(job_path);
        return 1;
}
