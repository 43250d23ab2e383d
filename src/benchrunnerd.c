/* benchrunnerd.c: the daemon's main: options, the event loop, the bus, the
 * socket and the task manager. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <locale.h>
#include <malloc.h>
#include <popt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <grp.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "conffile.h"
#include "cpuset.h"
#include "grant.h"
#include "history.h"
#include "log.h"
#include "manager.h"
#include "server.h"
#include "topology.h"
#include "cli.h"
#include "strv.h"
#include "util.h"

static char *arg_socket;
static char *arg_db;
static char *arg_state_dir;
static char *arg_history;
static char *arg_history_interval;
static char *arg_sysfs_root;
static char *arg_cpus;
static int arg_threads;
static char *arg_memory;
static char *arg_group;
static char *arg_cleanup_time_limit;
static char *arg_output_cap;
static char *arg_keep_output, *arg_keep_tasks, *arg_max_user_output;
static char *arg_remove_time_limit;
static int arg_owner = -1;
static int arg_max_queued = 100000;
static char *arg_max_queued_bytes;
static int arg_max_user_group;
static int arg_requeue_interrupted;
static int arg_verbose;
static int arg_version;
static char *arg_config;
static int arg_check_config;
static char *arg_backend;
static char *arg_slurm_partition, *arg_slurm_dir, *arg_slurm_bin_dir, *arg_slurm_poll;
static int arg_slurm_max_jobs = 500;

#define CONFIG_DEFAULT SYSCONFDIR "/benchrunner/benchrunnerd.conf"

/* Help texts that name a configured path.  xgettext cannot see into
 * macros, so the translatable text is a format and the path goes in at run
 * time, before popt is given the table. */
static char help_socket[1024], help_db[1024], help_state_dir[1024], help_history[1024], help_config[1024];

static const struct poptOption options[] = {
        { "cpus", 'c', POPT_ARG_STRING, &arg_cpus, 'c',
          N_("CPU threads given to benchrunner (default: all but the core of CPU 0)"), N_("LIST") },
        { "threads", 'j', POPT_ARG_INT, &arg_threads, 'j',
          N_("N CPU threads given to benchrunner, whole cores first, as br-start -j picks them"), N_("N") },
        { "memory", 'm', POPT_ARG_STRING, &arg_memory, 0,
          N_("memory given to benchrunner (default: 3/4 of the memory available now, as br-start's)"), N_("SIZE") },
        { "owner", 0, POPT_ARG_INT, &arg_owner, 0,
          N_("user who may submit besides root (default: this user, or $SUDO_UID as root through sudo)"), N_("UID") },
        { "group", 'g', POPT_ARG_STRING, &arg_group, 0, N_("members of this group may submit as well"), N_("GROUP") },
        { "socket", 0, POPT_ARG_STRING, &arg_socket, 0, help_socket, N_("PATH") },
        { "db", 0, POPT_ARG_STRING, &arg_db, 0, help_db, N_("PATH") },
        { "state-dir", 0, POPT_ARG_STRING, &arg_state_dir, 0, help_state_dir, N_("DIR") },
        { "history", 0, POPT_ARG_STRING, &arg_history, 0, help_history, N_("PATH") },
        { "history-interval", 0, POPT_ARG_STRING, &arg_history_interval, 0,
          N_("copy the database for readers at most this often (default: 2s)"), N_("DURATION") },
        { "sysfs-root", 0, POPT_ARG_STRING, &arg_sysfs_root, 0, N_("read the CPU topology here (default: /sys)"),
          N_("DIR") },
        { "cleanup-time-limit", 0, POPT_ARG_STRING, &arg_cleanup_time_limit, 0,
          N_("time limit of cleanup commands that give none (default: 10m)"), N_("DURATION") },
        { "remove-time-limit", 0, POPT_ARG_STRING, &arg_remove_time_limit, 0,
          N_("kill the removal of a task's working directory after this long (default: 1m)"), N_("DURATION") },
        { "output-cap", 0, POPT_ARG_STRING, &arg_output_cap, 0,
          N_("keep at most this much of each of a task's stdout and stderr, and of its cleanup command's "
               "(default: 64M)"), N_("SIZE") },
        { "keep-output", 0, POPT_ARG_STRING, &arg_keep_output, 0,
          N_("remove finished tasks' output older than DURATION, or the oldest while all of it passes "
               "SIZE, or both (\"30d,20G\"), or \"forever\" (default: 30d)"), N_("DURATION|SIZE") },
        { "max-user-output", 0, POPT_ARG_STRING, &arg_max_user_output, 0,
          N_("output one user's tasks may keep on disk, running and finished; their oldest goes first; "
               "0 = no limit (default: 1G)"), N_("SIZE") },
        { "keep-tasks", 0, POPT_ARG_STRING, &arg_keep_tasks, 0,
          N_("delete finished tasks' rows older than DURATION, or while the database passes SIZE (the "
               "largest user's oldest first), or \"forever\" (default: 4G)"), N_("DURATION|SIZE") },
        { "requeue-interrupted", 0, POPT_ARG_NONE, &arg_requeue_interrupted, 0,
          N_("queue a new attempt of every task a reboot interrupted (default: only those that ask)"), NULL },
        { "max-queued", 0, POPT_ARG_INT, &arg_max_queued, 0, N_("queued tasks per user (default: 100000)"),
          N_("N") },
        { "max-queued-bytes", 0, POPT_ARG_STRING, &arg_max_queued_bytes, 0,
          N_("memory a user's queued tasks may take: commands, environments, directories; 0 = no limit "
               "(default: 256M)"), N_("SIZE") },
        { "max-user-group", 0, POPT_ARG_INT, &arg_max_user_group, 0,
          N_("highest priority group for users other than root and the daemon's owner (default: 0)"), N_("N") },
        { "backend", 0, POPT_ARG_STRING, &arg_backend, 0,
          N_("where tasks run: \"local\" (this machine's systemd) or \"slurm\" (jobs of a Slurm cluster, "
               "docs/slurm.md) (default: local)"), N_("NAME") },
        { "slurm-partition", 0, POPT_ARG_STRING, &arg_slurm_partition, 0,
          N_("the Slurm partition of the jobs (default: the cluster's default)"), N_("NAME") },
        { "slurm-dir", 0, POPT_ARG_STRING, &arg_slurm_dir, 0,
          N_("the tasks' directories (output, the job's record), under the same path on every node "
               "(default: STATE-DIR/slurm)"), N_("DIR") },
        { "slurm-max-jobs", 0, POPT_ARG_INT, &arg_slurm_max_jobs, 0,
          N_("tasks in Slurm at once, pending or running; the rest wait in benchrunner's queue (default: 500)"),
          N_("N") },
        { "slurm-poll", 0, POPT_ARG_STRING, &arg_slurm_poll, 0,
          N_("ask Slurm for the jobs' states this often (default: 1s)"), N_("DURATION") },
        { "slurm-bin-dir", 0, POPT_ARG_STRING, &arg_slurm_bin_dir, 0,
          N_("where sbatch, squeue, scancel, scontrol and sinfo are (default: the usual bin directories)"),
          N_("DIR") },
        { "config", 0, POPT_ARG_STRING, &arg_config, 0, help_config, N_("FILE") },
        { "check-config", 0, POPT_ARG_NONE, &arg_check_config, 0,
          N_("check the settings (file and options), say what they give, and exit"), NULL },
        { "verbose", 'v', POPT_ARG_NONE, &arg_verbose, 0, N_("log debugging messages"), NULL },
        { "version", 'V', POPT_ARG_NONE, &arg_version, 0, N_("show the version and exit"), NULL },
        POPT_AUTOHELP POPT_TABLEEND
};

static void fill_help(void) {
        (void) snprintf(help_socket, sizeof help_socket, _("listen on this socket (default: %s)"),
                        BR_RUNDIR "/benchrunner.sock");
        (void) snprintf(help_db, sizeof help_db, _("the live database, root's alone (default: %s)"),
                        BR_STATEDIR "/private/tasks.db");
        (void) snprintf(help_history, sizeof help_history,
                        _("where users read a copy of the database; \"\" for none (default: %s)"),
                        BR_STATEDIR "/tasks.db");
        (void) snprintf(help_state_dir, sizeof help_state_dir,
                        _("working and output directories of tasks (default: %s)"), BR_STATEDIR);
        (void) snprintf(help_config, sizeof help_config,
                        _("read settings from FILE first, options given here win; \"\" for none "
                            "(default: %s, if it is there)"), CONFIG_DEFAULT);
}

/* The language of the daemon's messages.  Its command line, --help,
 * --check-config and the settings' errors speak the language of whoever
 * typed them; the journal and the socket speak English, since the daemon
 * cannot know its readers' (clients translate what they can themselves):
 * English from the start when stderr is the journal, and from run() on once
 * the settings are read (this resets what strerror() and %m say as well). */
static void messages_english(void) {
        (void) setlocale(LC_MESSAGES, "C");
}

static void messages_locale(void) {
        if (log_to_journal())
                messages_english();
}

static void setup(void) {
        messages_locale();
        fill_help();
}

/* An option's value through parse() (parse_size, parse_duration) into *ret,
 * which keeps its default when the option was not given. */
static int parse_value(const char *value, int (*parse)(const char *, uint64_t *), bool zero_ok, const char *what,
                       uint64_t *ret) {
        uint64_t v;
        int r;

        if (!value)
                return 0;
        r = parse(value, &v);
        if (r < 0 || (v == 0 && !zero_ok))
                /* TRANSLATORS: %s is "memory size", "duration" or "size", then the value given */
                return log_error_errno(r < 0 ? r : EINVAL, _("Invalid %s: %s"), _(what), value);
        *ret = v;
        return 0;
}

static int build_config(ManagerConfig *c) {
        int r;

        *c = (ManagerConfig) {
                .db_path = arg_db,
                .state_dir = arg_state_dir ? arg_state_dir : BR_STATEDIR,
                .sysfs_root = arg_sysfs_root ? arg_sysfs_root : "/sys",
                .cleanup_time_limit_usec = 10 * 60 * USEC_PER_SEC,
                .output_cap_bytes = UINT64_C(64) << 20,
                .remove_time_limit_usec = MANAGER_REMOVE_TIME_LIMIT_USEC,
                .max_queued_per_user = (unsigned) arg_max_queued,
                .max_queued_bytes_per_user = UINT64_C(256) << 20,
                .max_user_group = arg_max_user_group,
                .requeue_interrupted = arg_requeue_interrupted,
                .retention = {
                        .keep_output_usec = UINT64_C(30) * 86400 * USEC_PER_SEC,
                        .max_user_output = UINT64_C(1) << 30,
                        .keep_tasks_bytes = UINT64_C(4) << 30,
                },
        };

        if (arg_cpus) {
                r = cpuset_parse(arg_cpus, &c->cpus);
                if (r < 0 || cpuset_empty(&c->cpus))
                        return log_error_errno(r < 0 ? r : EINVAL, _("Invalid CPU list: %s"), arg_cpus);
        } else {
                _cleanup_(topology_freep) Topology *t = NULL;
                r = topology_load(c->sysfs_root, &t);
                if (r < 0)
                        return log_error_errno(r, _("Failed to read the CPU topology: %m"));
                if (arg_threads < 0)
                        return log_error_errno(EINVAL, _("--threads must be at least 1"));
                if (arg_threads > 0) {
                        r = grant_pick_cpus(t, (unsigned) arg_threads, &c->cpus);
                        if (r < 0)
                                return log_error_errno(r, _("--threads %d: this machine has %u CPU threads online, "
                                                         "and at least one core stays with the system"),
                                                       arg_threads, cpuset_count(topology_online(t)));
                } else {
                        r = grant_default_cpus(t, &c->cpus);
                        if (r < 0)
                                return log_error_errno(r, _("This machine has too few cores to give any away: %m"));
                }
        }

        r = parse_value(arg_memory, parse_size, false, N_("memory size"), &c->memory_bytes);
        if (r < 0)
                return r;
        if (!arg_memory) {
                c->memory_bytes = mem_default(mem_available());
                if (c->memory_bytes == 0)
                        return log_error_errno(EINVAL, _("Cannot tell the available memory: give --memory"));
        }
        r = parse_value(arg_cleanup_time_limit, parse_duration, false, N_("duration"), &c->cleanup_time_limit_usec);
        if (r < 0)
                return r;
        r = parse_value(arg_remove_time_limit, parse_duration, false, N_("duration"), &c->remove_time_limit_usec);
        if (r < 0)
                return r;
        r = parse_value(arg_output_cap, parse_size, true, N_("size"), &c->output_cap_bytes);
        if (r < 0)
                return r;
        r = parse_value(arg_max_queued_bytes, parse_size, true, N_("size"), &c->max_queued_bytes_per_user);
        if (r < 0)
                return r;
        r = parse_value(arg_max_user_output, parse_size, true, N_("size"), &c->retention.max_user_output);
        if (r < 0)
                return r;
        if (arg_keep_output) {
                r = parse_keep(arg_keep_output, &c->retention.keep_output_usec, &c->retention.keep_output_bytes);
                if (r < 0)
                        return log_error_errno(r, _("Invalid --keep-output=%s: give a duration (30d), a size (20G), "
                                                 "both (30d,20G) or \"forever\""), arg_keep_output);
        }
        if (arg_keep_tasks) {
                r = parse_keep(arg_keep_tasks, &c->retention.keep_tasks_usec, &c->retention.keep_tasks_bytes);
                if (r < 0)
                        return log_error_errno(r, _("Invalid --keep-tasks=%s: give a duration (365d), a size (4G), "
                                                 "both (365d,4G) or \"forever\""), arg_keep_tasks);
        }
        c->owner = arg_owner >= 0 ? (uid_t) arg_owner : grant_owner(getuid(), getenv("SUDO_UID"));
        if (arg_group) {
                struct group *g = getgrnam(arg_group);
                if (!g)
                        return log_error_errno(ENOENT, _("No such group: %s"), arg_group);
                c->has_group = true;
                c->group = g->gr_gid;
        }
        if (arg_max_queued < 1)
                return log_error_errno(EINVAL, _("--max-queued must be at least 1"));
        if (arg_backend && strcmp(arg_backend, "slurm") == 0) {
                c->slurm = true;
                c->slurm_config.partition = arg_slurm_partition;
                c->slurm_config.bin_dir = arg_slurm_bin_dir;
                c->slurm_dir = arg_slurm_dir;
                if (arg_slurm_max_jobs < 1)
                        return log_error_errno(EINVAL, _("--slurm-max-jobs must be at least 1"));
                c->slurm_max_jobs = (unsigned) arg_slurm_max_jobs;
                r = parse_value(arg_slurm_poll, parse_duration, false, N_("duration"), &c->slurm_config.poll_usec);
                if (r < 0)
                        return r;
                if (arg_slurm_dir && arg_slurm_dir[0] != '/')
                        return log_error_errno(EINVAL, _("--slurm-dir must be an absolute path: %s"), arg_slurm_dir);
        } else if (arg_backend && strcmp(arg_backend, "local") != 0)
                return log_error_errno(EINVAL, _("Unknown backend \"%s\": give \"local\" or \"slurm\""), arg_backend);
        return 0;
}

/* The live database's directory: made 0700, and refused when anybody but
 * root may enter it (whoever can open the database can stop the daemon:
 * see db.c).  The state directory above it is made if need be. */
static int prepare_db_dir(const char *state_dir, const char *db_path) {
        _cleanup_(freep) char *dir = strdup(db_path);
        char *slash;
        struct stat st;

        if (!dir)
                return log_oom();
        if (mkdir(state_dir, 0755) < 0 && errno != EEXIST)
                return log_error_errno(errno, "Failed to create %s: %m", state_dir);
        slash = strrchr(dir, '/');
        if (!slash)
                return 0;   /* the working directory: the caller's choice */
        if (slash == dir)
                slash[1] = 0;
        else
                *slash = 0;
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return log_error_errno(errno, "Failed to create %s: %m", dir);
        if (lstat(dir, &st) < 0)
                return log_error_errno(errno, "Failed to look at %s: %m", dir);
        if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 0077))
                return log_error_errno(EPERM, "%s must be a directory of uid " UID_FMT " that nobody else may "
                                       "enter (it is mode %04o, uid " UID_FMT "): it holds the live database",
                                       dir, geteuid(), (unsigned) (st.st_mode & 07777), st.st_uid);
        return 0;
}

/* Every client costs a descriptor.  The server caps them per uid and in all
 * to what this limit leaves after a reserve (server.c), so that the
 * database, the bus and the output files of starting tasks never run out:
 * raise the limit as far as we may.  The soft limit stays at NOFILE_WANT
 * even when the hard one is higher: children inherit it, and some programs
 * loop over every possible descriptor. */
#define NOFILE_WANT 65536
static void raise_nofile(void) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= NOFILE_WANT)
                return;
        if (rl.rlim_max < NOFILE_WANT &&
            setrlimit(RLIMIT_NOFILE, &(struct rlimit) { NOFILE_WANT, NOFILE_WANT }) >= 0)
                return;
        rl.rlim_cur = rl.rlim_max < NOFILE_WANT ? rl.rlim_max : NOFILE_WANT;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                log_warning_errno(errno, "Failed to raise RLIMIT_NOFILE to %ju: %m", (uintmax_t) rl.rlim_cur);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        log_info("Received SIG%s, stopping; tasks keep running and are picked up by the next start",
                 sigabbrev_np((int) si->ssi_signo));
        /* While the bus is still up: sd-bus closes it when the loop exits. */
        manager_shutdown(m);
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

/* --check-config: what build_config() refuses, and what the machine could
 * not give (CPUs that are not there or every core, more memory than there
 * is), each said in one line; the settings in one line when they are fine. */
static int check_config(const ManagerConfig *c) {
        _cleanup_(topology_freep) Topology *t = NULL;
        _cleanup_(freep) char *cpus = cpuset_format(&c->cpus);
        char mem[FORMAT_SIZE_MAX], avail[FORMAT_SIZE_MAX];
        uint64_t available = mem_available();
        int r;

        r = topology_load(c->sysfs_root, &t);
        if (r < 0)
                return log_error_errno(r, _("Failed to read the CPU topology under %s: %m"), c->sysfs_root);
        r = grant_check_cpus(t, &c->cpus);
        if (r == -ENOSPC)
                return log_error_errno(r, _("CPUs %s would give away every core: leave at least one core to the "
                                         "system"), cpus ? cpus : "?");
        if (r < 0)
                return log_error_errno(r, _("CPUs %s: not all of them are online here"), cpus ? cpus : "?");
        if (available > 0 && c->memory_bytes > available)
                return log_error_errno(ENOMEM, _("Memory %s is more than is available now (%s)"),
                                       format_size(mem, sizeof mem, c->memory_bytes),
                                       format_size(avail, sizeof avail, available));
        format_size(mem, sizeof mem, c->memory_bytes);
        if (arg_group)
                printf(_("CPUs %s, memory %s, submit: root, uid %u and group %s\n"), cpus ? cpus : "?", mem,
                       (unsigned) c->owner, arg_group);
        else
                printf(_("CPUs %s, memory %s, submit: root, uid %u\n"), cpus ? cpus : "?", mem,
                       (unsigned) c->owner);
        return 0;
}

static int run(void) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        /* stopped after the manager closed the database: the last copy
         * holds the last state */
        _cleanup_(history_stopp) History *history = NULL;
        _cleanup_(freep) char *db_path = NULL, *history_path = NULL;
        _cleanup_(manager_freep) Manager *m = NULL;
        _cleanup_(server_freep) Server *server = NULL;
        const char *socket_path = arg_socket ? arg_socket : BR_RUNDIR "/benchrunner.sock";
        ManagerConfig config;
        sigset_t mask;
        int r;

        if (arg_verbose)
                log_set_max_level(LOG_DEBUG);
        raise_nofile();
        /* Clients' line and output buffers are large and short-lived.  glibc
         * raises its mmap threshold each time such a buffer is freed, after
         * which they come from the heap and stay resident when freed; with a
         * fixed threshold each goes back to the system at once, so the RSS
         * follows what clients hold now (server.c bounds that). */
        (void) mallopt(M_MMAP_THRESHOLD, 128 * 1024);
        r = build_config(&config);
        if (r < 0)
                return r;
        uint64_t history_interval = 2 * USEC_PER_SEC;
        r = parse_value(arg_history_interval, parse_duration, false, N_("duration"), &history_interval);
        if (r < 0)
                return r;
        if (arg_check_config)
                return check_config(&config);
        messages_english();
        if ((arg_db ? !(db_path = strdup(arg_db)) : asprintf(&db_path, "%s/private/tasks.db", config.state_dir) < 0) ||
            (arg_history ? !(history_path = strdup(arg_history))
                         : asprintf(&history_path, "%s/tasks.db", config.state_dir) < 0))
                return log_oom();
        config.db_path = db_path;
        if (strcmp(db_path, history_path) == 0)
                return log_error_errno(EINVAL, "The database and its copy for readers cannot both be %s: give "
                                       "--db or --history another path", db_path);

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        /* before any thread: removers are children watched by the loop */
        sigaddset(&mask, SIGCHLD);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        (void) signal(SIGPIPE, SIG_IGN);

        r = sd_event_default(&event);
        if (r < 0)
                return log_error_errno(r, "Failed to create the event loop: %m");

        /* Before the database or systemd is touched: a second daemon must
         * leave the first one and its tasks alone. */
        r = server_check_path(socket_path);
        if (r < 0)
                return r;

        r = sd_bus_open_system(&bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus: %m");
        r = sd_bus_attach_event(bus, event, 0);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the bus: %m");

        r = prepare_db_dir(config.state_dir, db_path);
        if (r < 0)
                return r;
        if (*history_path) {
                r = history_adopt_legacy(db_path, history_path);
                if (r < 0)
                        return r;
        }
        r = manager_new(event, bus, &config, &m);
        if (r < 0)
                return r;
        if (*history_path) {
                r = history_start(db_path, history_path, history_interval, &history);
                if (r < 0)
                        return r;
        }
        r = server_new(event, m, socket_path, &server);
        if (r < 0)
                return r;
        manager_set_listener(m, server_announce, server);
        r = sd_event_add_signal(event, NULL, SIGTERM, on_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGINT, on_signal, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch signals: %m");

        {
                _cleanup_(freep) char *cpus = cpuset_format(&config.cpus);
                char mem[FORMAT_SIZE_MAX];
                if (config.slurm)
                        log_info("benchrunnerd " VERSION ": tasks go to Slurm, database %s", config.db_path);
                else
                        log_info("benchrunnerd " VERSION ": CPUs %s, memory %s, database %s", cpus ? cpus : "?",
                                 format_size(mem, sizeof mem, config.memory_bytes), config.db_path);
        }
        r = manager_recover(m);
        if (r < 0)
                return r;

        (void) sd_notify(false, "READY=1\nSTATUS=Running tasks");
        r = sd_event_loop(event);
        (void) sd_notify(false, "STOPPING=1");
        manager_set_listener(m, NULL, NULL);
        return r;
}

/* --cpus and --threads say the same thing: the one given last wins, so
 * that the command line overrides either in the settings file. */
static int on_option(int val, const char *arg) {
        (void) arg;
        if (val == 'c')
                arg_threads = 0;
        else if (val == 'j') {
                free(arg_cpus);
                arg_cpus = NULL;
        }
        return 0;
}

/* The settings a file may hold: every option but these. */
static bool conf_allowed(const char *name) {
        static const char * const not_in_file[] = { "config", "check-config", "version", "help", "usage" };

        for (size_t i = 0; i < ELEMENTSOF(not_in_file); i++)
                if (strcmp(name, not_in_file[i]) == 0)
                        return false;
        return true;
}

/* --config=FILE or --config FILE among the arguments (before a "--"):
 * the file is read before popt sees them, so it looks for itself. */
static const char *config_path(int argc, const char **argv, bool *ret_explicit) {
        const char *path = CONFIG_DEFAULT;

        *ret_explicit = false;
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--") == 0)
                        break;
                if (strncmp(argv[i], "--config=", 9) == 0) {
                        path = argv[i] + 9;
                        *ret_explicit = true;
                } else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
                        path = argv[++i];
                        *ret_explicit = true;
                }
        }
        return path;
}

int main(int argc, const char **argv) {
        static const CliProgram program = {
                .name = "benchrunnerd", .options = options, .version = &arg_version, .setup = setup,
                .on_option = on_option, .run = run,
        };
        ConfKey keys[ELEMENTSOF(options)];
        _cleanup_(strv_freep) char **file_args = NULL;
        _cleanup_(freep) const char **all = NULL;
        _cleanup_(freep) char *error = NULL;
        unsigned n_keys = 0;
        size_t n_file;
        bool explicit;
        const char *path = config_path(argc, argv, &explicit);
        int r;

        /* cli_main() does this too; the file's errors come first */
        setlocale(LC_ALL, "");
        bindtextdomain(PACKAGE, LOCALEDIR);
        textdomain(PACKAGE);
        messages_locale();
        for (size_t i = 0; i < ELEMENTSOF(options); i++)
                if (options[i].longName && conf_allowed(options[i].longName))
                        keys[n_keys++] = (ConfKey) { options[i].longName, options[i].argInfo != POPT_ARG_NONE };
        if (*path) {
                r = conf_read(path, keys, n_keys, &file_args, &error);
                if (r == -ENOENT && !explicit)
                        r = 0;
                if (r < 0) {
                        if (error)
                                fprintf(stderr, "benchrunnerd: %s: %s\n", path, error);
                        else if (r == -EFBIG)
                                fprintf(stderr, _("benchrunnerd: %s: larger than %u bytes, or a line longer than %u\n"),
                                        path, CONF_FILE_MAX, CONF_LINE_MAX);
                        else
                                fprintf(stderr, "benchrunnerd: %s: %s\n", path,
                                        r == -EINVAL ? _("not a text file") : strerror(-r));
                        return CLI_EXIT_FAILURE;
                }
        }
        /* argv[0], the file's options, then the command line's: the last
         * of an option popt sees wins */
        n_file = strv_length(file_args);
        all = calloc((size_t) argc + n_file + 1, sizeof *all);
        if (!all) {
                fprintf(stderr, _("benchrunnerd: out of memory\n"));
                return CLI_EXIT_FAILURE;
        }
        all[0] = argv[0];
        for (size_t i = 0; i < n_file; i++)
                all[1 + i] = file_args[i];
        for (int i = 1; i < argc; i++)
                all[n_file + (size_t) i] = argv[i];
        return cli_main(argc + (int) n_file, all, &program);
}
