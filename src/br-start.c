/* br-start.c: starts benchrunnerd for the user who runs it, as a transient
 * system service (sudo systemd-run; no sudo when already root), or in the
 * terminal with --foreground.  Checks the resources first: it refuses more
 * memory than is available now and refuses to give away every core.  Where
 * the service is installed (a package's benchrunnerd.service), it starts
 * that one as it is and never runs a second daemon beside it. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <popt.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "cpuset.h"
#include "grant.h"
#include "topology.h"
#include "cli.h"
#include "util.h"

/* The unit's restart policy: back after half a second; a daemon that
 * crashes this often within a minute stays down (journalctl says why). */
#define BR_START_RESTART_SEC "500ms"
#define BR_START_LIMIT_BURST "20"

/* The installed service's settings (benchrunnerd.conf(5)). */
#define CONFIG_FILE SYSCONFDIR "/benchrunner/benchrunnerd.conf"

static int arg_threads;
static char *arg_cpus;
static char *arg_memory;
static int arg_foreground;
static char *arg_group;
static char *arg_socket;
static char *arg_db;
static char *arg_state_dir;
static char *arg_sysfs_root;
static char *arg_daemon;
static char *arg_unit;
static char *arg_cleanup_time_limit;
static char *arg_output_cap;
static char *arg_max_queued;
static int arg_verbose;
static int arg_version;

/* Help text that names a configured path: xgettext cannot see into
 * macros, so the translatable text is a format and the path goes in at run
 * time, before popt is given the table. */
static char help_daemon[1024];

static int arg_drain, arg_no_drain;

static const struct poptOption options[] = {
        { "threads", 'j', POPT_ARG_INT, &arg_threads, 0,
          N_("CPU threads given to benchrunner, whole cores first (default: all but the core of CPU 0)"), N_("N") },
        { "cpus", 0, POPT_ARG_STRING, &arg_cpus, 0, N_("exactly these CPU threads, as 2-7,10"), N_("LIST") },
        { "memory", 'm', POPT_ARG_STRING, &arg_memory, 0,
          N_("memory given to benchrunner, as 16G (default: 3/4 of what is available now, as the daemon's)"),
          N_("SIZE") },
        { "foreground", 'f', POPT_ARG_NONE, &arg_foreground, 0, N_("run the daemon in this terminal"), NULL },
        { "group", 'g', POPT_ARG_STRING, &arg_group, 0, N_("members of GROUP may submit tasks too"), N_("GROUP") },
        { "socket", 0, POPT_ARG_STRING, &arg_socket, 0, N_("the daemon's socket"), N_("PATH") },
        { "db", 0, POPT_ARG_STRING, &arg_db, 0, N_("the daemon's database"), N_("PATH") },
        { "state-dir", 0, POPT_ARG_STRING, &arg_state_dir, 0, N_("the daemon's state directory"), N_("DIR") },
        { "sysfs-root", 0, POPT_ARG_STRING, &arg_sysfs_root, 0, N_("read the CPU topology here (default: /sys)"),
          N_("DIR") },
        { "daemon", 0, POPT_ARG_STRING, &arg_daemon, 0, help_daemon, N_("PATH") },
        { "unit", 0, POPT_ARG_STRING, &arg_unit, 0, N_("name of the daemon's service (default: benchrunnerd)"),
          N_("NAME") },
        { "cleanup-time-limit", 0, POPT_ARG_STRING, &arg_cleanup_time_limit, 0,
          N_("the daemon's time limit of cleanup commands that give none (default: 10m)"), N_("DURATION") },
        { "output-cap", 0, POPT_ARG_STRING, &arg_output_cap, 0,
          N_("the daemon keeps at most this much of each of a task's stdout and stderr, and of its "
               "cleanup command's (default: 64M, 0: all)"),
          N_("SIZE") },
        { "max-queued", 0, POPT_ARG_STRING, &arg_max_queued, 0, N_("queued tasks per user (default: 100000)"),
          N_("N") },
        { "verbose", 'v', POPT_ARG_NONE, &arg_verbose, 0, N_("the daemon logs debugging messages"), NULL },
        { "drain", 0, POPT_ARG_NONE, &arg_drain, 0,
          N_("tell the running daemon to start nothing new (its running tasks go on), and exit"), NULL },
        { "no-drain", 0, POPT_ARG_NONE, &arg_no_drain, 0,
          N_("tell the running daemon to start queued tasks again, and exit"), NULL },
        { "version", 'V', POPT_ARG_NONE, &arg_version, 0, N_("show the version and exit"), NULL },
        POPT_AUTOHELP POPT_TABLEEND
};

static int read_int_file(const char *root, const char *rel, long *ret) {
        _cleanup_(freep) char *p = NULL;
        FILE *f;
        int r;

        if (asprintf(&p, "%s/%s", root, rel) < 0)
                return -ENOMEM;
        f = fopen(p, "re");
        if (!f)
                return -errno;
        r = fscanf(f, "%ld", ret) == 1 ? 0 : -EINVAL;
        fclose(f);
        return r;
}

/* Boost makes a core's clock depend on what the others do: timings drift. */
static void warn_boost(const char *sysfs) {
        long v;
        if (read_int_file(sysfs, "devices/system/cpu/cpufreq/boost", &v) >= 0 && v == 1)
                cli_info(_("warning: CPU boost is on (%s/devices/system/cpu/cpufreq/boost): timings will drift "
                           "with load; write 0 there to turn it off"), sysfs);
        if (read_int_file(sysfs, "devices/system/cpu/intel_pstate/no_turbo", &v) >= 0 && v == 0)
                cli_info(_("warning: Turbo Boost is on (%s/devices/system/cpu/intel_pstate/no_turbo is 0): "
                           "timings will drift with load; write 1 there to turn it off"), sysfs);
}

/* Asks the daemon on path for its counters, quietly: not answering is an
 * expected outcome here.  Returns true when it answered. */
static bool daemon_stats(const char *path, ProtoStats *ret) {
        Client c = { .fd = -1 };
        ProtoRequest req = { .op = PROTO_OP_STATS };
        ProtoMessage *m = NULL;
        FILE *saved = stderr;
        bool ok;

        stderr = fopen("/dev/null", "we");
        if (!stderr)
                stderr = saved;
        ok = client_connect(path, &c) >= 0 && client_call(&c, &req, &m) >= 0 && m->has_stats;
        if (stderr != saved) {
                fclose(stderr);
                stderr = saved;
        }
        if (ok && ret)
                *ret = m->stats;
        proto_message_free(m);
        client_close(&c);
        return ok;
}

static bool daemon_answers(const char *path) {
        return daemon_stats(path, NULL);
}

/* Runs argv and waits; with out (size > 0) its stdout goes there (one
 * line, the newline cut), with quiet its stderr goes to /dev/null.
 * Returns its exit status, or a negative errno. */
static int run_and_wait_full(char * const *argv, bool quiet, char *out, size_t size) {
        int pfd[2] = { -1, -1 }, status;
        pid_t pid;

        if (out && pipe2(pfd, O_CLOEXEC) < 0)
                return -errno;
        pid = fork();
        if (pid < 0) {
                int r = -errno;
                if (out) {
                        (void) close(pfd[0]);
                        (void) close(pfd[1]);
                }
                return r;
        }
        if (pid == 0) {
                if (out && dup2(pfd[1], STDOUT_FILENO) < 0)
                        _exit(127);
                if (quiet) {
                        int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
                        if (fd >= 0)
                                (void) dup2(fd, STDERR_FILENO);
                }
                execvp(argv[0], argv);
                if (!quiet)
                        (void) cli_error(_("cannot run %s: %s"), argv[0], strerror(errno));
                _exit(127);
        }
        if (out) {
                size_t n = 0;
                ssize_t k;
                (void) close(pfd[1]);
                while (n + 1 < size && (k = read(pfd[0], out + n, size - 1 - n)) != 0)
                        if (k > 0)
                                n += (size_t) k;
                        else if (errno != EINTR)
                                break;
                out[n] = 0;
                out[strcspn(out, "\n")] = 0;
                (void) close(pfd[0]);
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int run_and_wait(char **argv) {
        return run_and_wait_full(argv, false, NULL, 0);
}

/* How the daemon is started: through sudo unless already root, as a
 * transient service unless --foreground, with the settings checked here. */
static int daemon_argv(const char *daemon, const char *cpulist, uint64_t memory, uid_t owner,
                       const char *socket_path, char ***ret) {
        const char * const transient[][2] = {
                { "systemd-run", "" },
                { "--quiet", "" },
                { "--unit=", arg_unit ? arg_unit : "benchrunnerd" },
                { "--description=benchrunner daemon", "" },
                { "--property=Type=notify", "" },
                { "--property=KillMode=mixed", "" },
                { "--property=OOMScoreAdjust=-900", "" },
                /* a crashed daemon comes back by itself and finds its
                 * tasks again; one that keeps crashing at start stops */
                { "--property=Restart=on-failure", "" },
                { "--property=RestartSec=" BR_START_RESTART_SEC, "" },
                { "--property=StartLimitIntervalSec=60", "" },
                { "--property=StartLimitBurst=" BR_START_LIMIT_BURST, "" },
                { "--", "" },
        };
        char mem[32], own[32];
        const char * const settings[][2] = {
                { "cpus", cpulist },
                { "memory", mem },
                { "owner", own },
                { "group", arg_group },
                { "socket", socket_path },
                { "db", arg_db },
                { "state-dir", arg_state_dir },
                { "sysfs-root", arg_sysfs_root },
                { "cleanup-time-limit", arg_cleanup_time_limit },
                { "output-cap", arg_output_cap },
                { "max-queued", arg_max_queued },
        };
        _cleanup_(strv_freep) char **a = NULL;
        size_t n = 0;
        int r;

        (void) snprintf(mem, sizeof mem, "%" PRIu64, memory);
        (void) snprintf(own, sizeof own, "%u", (unsigned) owner);
        if (getuid() != 0 && (r = strv_push_printf(&a, &n, "sudo")) < 0)
                return r;
        for (size_t i = 0; !arg_foreground && i < ELEMENTSOF(transient); i++)
                if ((r = strv_push_printf(&a, &n, "%s%s", transient[i][0], transient[i][1])) < 0)
                        return r;
        if ((r = strv_push_printf(&a, &n, "%s", daemon)) < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(settings); i++)
                if (settings[i][1] && (r = strv_push_printf(&a, &n, "--%s=%s", settings[i][0], settings[i][1])) < 0)
                        return r;
        if (arg_verbose && (r = strv_push_printf(&a, &n, "--verbose")) < 0)
                return r;
        *ret = TAKE_PTR(a);
        return 0;
}

/* The CPU threads given: --cpus as they are, -j N picked, or as many as
 * may be given away. */
static int pick_cpus(const char *sysfs, CpuSet *ret) {
        _cleanup_(topology_freep) Topology *topo = NULL;
        unsigned online;
        int r;

        if (arg_threads && arg_cpus)
                return cli_error(_("give either --threads or --cpus, not both"));
        r = topology_load(sysfs, &topo);
        if (r < 0)
                return cli_error(_("cannot read the CPU topology under %s: %s"), sysfs, strerror(-r));
        online = cpuset_count(topology_online(topo));
        if (arg_cpus) {
                r = cpuset_parse(arg_cpus, ret);
                if (r < 0 || cpuset_empty(ret))
                        return cli_error(_("--cpus: not a CPU list: %s (use 2-7,10)"), arg_cpus);
                r = grant_check_cpus(topo, ret);
                if (r == -ENOSPC)
                        return cli_error(_("--cpus %s would give away every core; leave at least one core to the "
                                           "system"), arg_cpus);
                if (r < 0)
                        return cli_error(_("--cpus %s: not all of these CPUs are online"), arg_cpus);
                return 0;
        }
        if (arg_threads < 0)
                return cli_error(_("--threads must be at least 1"));
        if (arg_threads == 0) {
                if (grant_default_cpus(topo, ret) < 0)
                        return cli_error(_("this machine has a single core: nothing can be given away"));
                return 0;
        }
        if (grant_pick_cpus(topo, (unsigned) arg_threads, ret) < 0)
                return cli_error(_("--threads %u: this machine has %u CPU threads and at least one core stays "
                                   "with the system"), (unsigned) arg_threads, online);
        return 0;
}

/* The memory given: -m, but no more than is available now; or the daemon's
 * default rule. */
static int pick_memory(uint64_t *ret) {
        uint64_t avail = mem_available();
        char a[FORMAT_SIZE_MAX];

        if (!arg_memory) {
                *ret = mem_default(avail);
                if (*ret == 0)
                        return cli_error(_("cannot tell the available memory; give --memory"));
                return 0;
        }
        if (parse_size(arg_memory, ret) < 0 || *ret == 0)
                return cli_error(_("--memory: not a size: %s (use 16G, 512M, ...)"), arg_memory);
        if (avail > 0 && *ret > avail)
                return cli_error(_("--memory %s is more than is available now (%s)"), arg_memory,
                                 format_size(a, sizeof a, avail));
        return 0;
}

/* The settings only passed on, checked here as the daemon will, so that a
 * typo is not found only in the journal. */
static int check_daemon_settings(void) {
        uint64_t v;

        if (arg_cleanup_time_limit && (parse_duration(arg_cleanup_time_limit, &v) < 0 || v == 0))
                return cli_error(_("--cleanup-time-limit: not a duration: %s (use 90s, 15m, 2h, ...)"),
                                 arg_cleanup_time_limit);
        if (arg_output_cap && parse_size(arg_output_cap, &v) < 0)
                return cli_error(_("--output-cap: not a size: %s (use 64M, 1G, 0, ...)"), arg_output_cap);
        if (arg_max_queued && parse_uint(arg_max_queued, 1, INT_MAX, &v) < 0)
                return cli_error(_("--max-queued must be a number between 1 and %d"), INT_MAX);
        return 0;
}

/* Runs systemd-run and waits until the daemon answers on its socket. */
static int start_service(char **argv, const char *socket_path) {
        const char *unit = arg_unit ? arg_unit : "benchrunnerd";
        int r;

        r = run_and_wait(argv);
        if (r != 0)
                return cli_error(_("systemd-run could not start the daemon (exit status %d); see "
                                   "journalctl -u %s"), r, unit);
        /* Type=notify: systemd-run returns once the daemon said READY, but
         * give a slow machine a moment before declaring failure. */
        for (int i = 0; i < 100 && !daemon_answers(socket_path); i++) {
                struct timespec ts = { 0, 100 * 1000 * 1000 };
                nanosleep(&ts, NULL);
        }
        if (!daemon_answers(socket_path))
                return cli_error(_("the daemon started but does not answer on %s; see journalctl -u %s"),
                                 socket_path, unit);
        return 0;
}

static const char *unit_or_default(void) {
        return arg_unit ? arg_unit : "benchrunnerd";
}

/* A property of the service, as systemctl shows it ("" when unknown). */
static void unit_property(const char *name, char *buf, size_t size) {
        _cleanup_(freep) char *unit = NULL, *prop = NULL;
        char *argv[] = { (char *) "systemctl", (char *) "show", NULL, (char *) "--value", NULL, NULL };

        buf[0] = 0;
        if (asprintf(&unit, "%s.service", unit_or_default()) < 0 || asprintf(&prop, "--property=%s", name) < 0)
                return;
        argv[2] = prop;
        argv[4] = unit;
        if (run_and_wait_full(argv, true, buf, size) != 0)
                buf[0] = 0;
}

static void unit_active_state(char *buf, size_t size) {
        unit_property("ActiveState", buf, size);
}

/* Whether the service is an installed one (a unit file: a package or make
 * install put it there) rather than a transient unit of br-start's: then
 * its settings are in the settings file, and br-start leaves them be. */
static bool unit_installed(void) {
        char load[64], transient[16];

        unit_property("LoadState", load, sizeof load);
        unit_property("Transient", transient, sizeof transient);
        return strcmp(load, "loaded") == 0 && strcmp(transient, "no") == 0;
}

/* systemctl VERB on the service, through sudo unless root, quietly. */
static void unit_control(const char *verb) {
        _cleanup_(freep) char *unit = NULL;
        char *argv[] = { (char *) "sudo", (char *) "systemctl", (char *) verb, NULL, NULL };
        char **a = getuid() == 0 ? argv + 1 : argv;

        if (asprintf(&unit, "%s.service", unit_or_default()) < 0)
                return;
        argv[3] = unit;
        (void) run_and_wait_full(a, true, NULL, 0);
}

static bool wait_answers(const char *socket_path, unsigned tenths, ProtoStats *ret) {
        for (unsigned i = 0; i < tenths; i++) {
                struct timespec ts = { 0, 100 * 1000 * 1000 };
                if (daemon_stats(socket_path, ret))
                        return true;
                nanosleep(&ts, NULL);
        }
        return daemon_stats(socket_path, ret);
}

/* Whether a daemon already runs.  Returns 1 (said so) when one runs with
 * the CPUs and memory asked for, or when none were asked for; 0 when none
 * runs (a failed service of that name is reset); < 0 (said why) when one
 * runs with other resources. */
static int check_running(const char *socket_path, const CpuSet *cpus, uint64_t memory, bool installed) {
        char state[64] = "", m[FORMAT_SIZE_MAX], want[FORMAT_SIZE_MAX], threads[64];
        ProtoStats s;
        bool up = daemon_stats(socket_path, &s);

        if (!up && installed) {
                /* starting, or restarting after a crash: its business */
                unit_active_state(state, sizeof state);
                if (strcmp(state, "active") == 0 || strcmp(state, "activating") == 0 ||
                    strcmp(state, "reloading") == 0)
                        up = wait_answers(socket_path, 150, &s);
        } else if (!up && !arg_foreground) {
                unit_active_state(state, sizeof state);
                /* restarting after a crash, or starting: give it a moment */
                if (strcmp(state, "active") == 0 || strcmp(state, "activating") == 0 ||
                    strcmp(state, "reloading") == 0 || strcmp(state, "deactivating") == 0) {
                        up = wait_answers(socket_path, 150, &s);
                        if (!up) {
                                /* a daemon that cannot get going: replace it */
                                cli_info(_("%s.service is %s but its daemon has not answered for 15 s: "
                                           "stopping it"), unit_or_default(), state);
                                unit_control("stop");
                                unit_active_state(state, sizeof state);
                        }
                }
                if (strcmp(state, "failed") == 0)
                        unit_control("reset-failed");
        }
        if (!up)
                return 0;
        (void) format_size(m, sizeof m, s.memory_total);
        (void) snprintf(threads, sizeof threads,
                        ngettext("%" PRIu64 " CPU thread", "%" PRIu64 " CPU threads", (unsigned long) s.threads_total),
                        s.threads_total);
        if (installed && (((arg_threads || arg_cpus) && s.threads_total != cpuset_count(cpus)) ||
                          (arg_memory && s.memory_total != memory)))
                return cli_error(_("benchrunner runs as the installed service %s.service, with %s and memory %s: "
                                   "set threads and memory in %s and run systemctl restart %s"),
                                 unit_or_default(), threads, m, CONFIG_FILE, unit_or_default());
        if (installed) {
                printf(_("benchrunner is already running as the installed service %s.service: %s, memory %s, "
                         "socket %s (settings: %s)\n"), unit_or_default(), threads, m, socket_path, CONFIG_FILE);
                return 1;
        }
        if ((arg_threads || arg_cpus) && s.threads_total != cpuset_count(cpus))
                return cli_error(_("benchrunner already runs with %s and memory %s (%s answers), not %u; stop it "
                                   "first (systemctl stop %s)"),
                                 threads, m, socket_path, cpuset_count(cpus), unit_or_default());
        if (arg_memory && s.memory_total != memory)
                return cli_error(_("benchrunner already runs with %s and memory %s (%s answers), not %s; stop it "
                                   "first (systemctl stop %s)"),
                                 threads, m, socket_path, format_size(want, sizeof want, memory), unit_or_default());
        printf(_("benchrunner is already running: %s, memory %s, socket %s\n"), threads, m, socket_path);
        return 1;
}

/* The settings br-start would give a daemon of its own.  An installed
 * service takes its settings from its file: these would be ignored. */
static bool daemon_settings_given(void) {
        return arg_threads || arg_cpus || arg_memory || arg_group || arg_db || arg_state_dir || arg_daemon ||
               arg_cleanup_time_limit || arg_output_cap || arg_max_queued || arg_verbose;
}

/* The installed service is there but not running: started as it is
 * (systemctl start), never with other settings slipped in. */
static int start_installed(const char *socket_path) {
        char *argv[] = { (char *) "sudo", (char *) "systemctl", (char *) "start", NULL, NULL };
        _cleanup_(freep) char *unit = NULL;
        char threads[64], m[FORMAT_SIZE_MAX];
        ProtoStats s;
        int r;

        if (daemon_settings_given())
                return cli_error(_("%s.service is installed: its settings are in %s; set threads and memory "
                                   "there and run systemctl enable --now %s (or give --unit=NAME for a daemon "
                                   "of br-start's own)"), unit_or_default(), CONFIG_FILE, unit_or_default());
        if (asprintf(&unit, "%s.service", unit_or_default()) < 0)
                return -ENOMEM;
        argv[3] = unit;
        r = run_and_wait(getuid() == 0 ? argv + 1 : argv);
        if (r != 0)
                return cli_error(_("systemctl start %s failed (exit status %d); see journalctl -u %s"), unit, r,
                                 unit_or_default());
        if (!wait_answers(socket_path, 150, &s))
                return cli_error(_("%s started but its daemon does not answer on %s; see journalctl -u %s"), unit,
                                 socket_path, unit_or_default());
        (void) snprintf(threads, sizeof threads,
                        ngettext("%" PRIu64 " CPU thread", "%" PRIu64 " CPU threads", (unsigned long) s.threads_total),
                        s.threads_total);
        printf(_("benchrunner started as the installed service %s: %s, memory %s, socket %s (settings: %s)\n"),
               unit, threads, format_size(m, sizeof m, s.memory_total), socket_path, CONFIG_FILE);
        return 0;
}

/* --drain, --no-drain: a request to the running daemon, nothing started. */
static int drain(const char *socket_path, bool on) {
        _cleanup_(proto_message_freep) ProtoMessage *m = NULL;
        ProtoRequest req = { .op = PROTO_OP_DRAIN, .on = on };
        Client c = { .fd = -1 };
        int r;

        r = client_connect(socket_path, &c);
        if (r < 0)
                return r;
        r = client_call(&c, &req, &m);
        client_close(&c);
        if (r < 0)
                return r;
        if (on)
                printf(_("benchrunner is draining: %" PRIu64 " running tasks go on, %" PRIu64
                         " queued ones wait (br-start --no-drain starts them again)\n"),
                       m->stats.running + m->stats.cleanup, m->stats.queued);
        else
                printf(_("benchrunner starts queued tasks again (%" PRIu64 " queued)\n"), m->stats.queued);
        return 0;
}

static int run(void) {
        const char *sysfs = arg_sysfs_root ? arg_sysfs_root : "/sys";
        const char *socket_path = client_socket_path(arg_socket);
        const char *daemon = arg_daemon ?: getenv("BENCHRUNNERD") ?: SBINDIR "/benchrunnerd";
        _cleanup_(freep) char *cpulist = NULL;
        _cleanup_(strv_freep) char **argv = NULL;
        char m[FORMAT_SIZE_MAX];
        uint64_t memory;
        bool installed;
        CpuSet cpus;
        int r;

        if (arg_drain || arg_no_drain) {
                if (arg_drain && arg_no_drain)
                        return cli_error(_("give either --drain or --no-drain, not both"));
                return drain(socket_path, arg_drain);
        }
        r = pick_cpus(sysfs, &cpus);
        if (r < 0)
                return r;
        cpulist = cpuset_format(&cpus);
        if (!cpulist)
                return -ENOMEM;
        r = pick_memory(&memory);
        if (r < 0)
                return r;
        r = check_daemon_settings();
        if (r < 0)
                return r;
        warn_boost(sysfs);
        installed = !arg_foreground && unit_installed();
        r = check_running(socket_path, &cpus, memory, installed);
        if (r != 0)
                return r > 0 ? 0 : r;
        if (installed)
                return start_installed(socket_path);

        r = daemon_argv(daemon, cpulist, memory, grant_owner(getuid(), getenv("SUDO_UID")), socket_path, &argv);
        if (r < 0)
                return r;
        if (arg_foreground) {
                execvp(argv[0], argv);
                return cli_error(_("cannot run %s: %s"), argv[0], strerror(errno));
        }
        r = start_service(argv, socket_path);
        if (r < 0)
                return r;
        printf(ngettext("benchrunner started: CPUs %s (%u thread), memory %s, socket %s\n",
                        "benchrunner started: CPUs %s (%u threads), memory %s, socket %s\n", cpuset_count(&cpus)),
               cpulist, cpuset_count(&cpus), format_size(m, sizeof m, memory), socket_path);
        return 0;
}

static void setup(void) {
        (void) snprintf(help_daemon, sizeof help_daemon, _("the daemon binary (default: %s)"),
                        SBINDIR "/benchrunnerd");
}

CLI_MAIN(.name = "br-start", .options = options, .version = &arg_version, .setup = setup, .run = run)
