/* task.h: what a task is, shared by the protocol, the database, the
 * scheduler and the daemon.  Plain data; no sd-bus, no SQLite, no JSON. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Limits on everything a user controls (checked by protocol and daemon). */
#define TASK_NAME_MAX         256
#define TASK_ARGV_MAX         4096        /* arguments */
#define TASK_ARG_MAX          (128 * 1024) /* bytes per argument */
#define TASK_ARGV_BYTES_MAX   (1024 * 1024)
#define TASK_ENV_MAX          256
#define TASK_PATH_MAX         4096
#define TASK_THREADS_MAX      4096
#define TASK_PRIORITY_MIN     (-1000000)
#define TASK_PRIORITY_MAX     1000000
#define TASK_RETRY_OOM_MAX    16          /* steps of a --retry-oom ladder */
#define TASK_AFTER_MAX        64          /* dependencies of one task */
/* A command stopped for its time limit (or a cancel) gets SIGTERM, and
 * SIGKILL this long after: the scheduler counts it in how long a task may
 * hold its CPUs, the unit module sets it as TimeoutStopSec=. */
#define TASK_STOP_TIMEOUT_USEC (10 * UINT64_C(1000000))

typedef enum TaskState {
        TASK_QUEUED,
        TASK_RUNNING,    /* main command running */
        TASK_CLEANUP,    /* cleanup command running */
        TASK_FINISHED,
        _TASK_STATE_MAX,
        _TASK_STATE_INVALID = -1,
} TaskState;

/* How a command ended. */
typedef enum TaskReason {
        TASK_REASON_NONE,            /* not ended (yet) */
        TASK_REASON_EXITED,
        TASK_REASON_SIGNALED,
        TASK_REASON_OOM,
        TASK_REASON_TIME_LIMIT,
        TASK_REASON_CANCELLED,
        TASK_REASON_FAILED_TO_START,
        TASK_REASON_INTERRUPTED,
        TASK_REASON_DEPENDENCY_FAILED,  /* never ran: a dependency did not exit 0 (after_ok) */
        _TASK_REASON_MAX,
        _TASK_REASON_INVALID = -1,
} TaskReason;

const char *task_state_to_string(TaskState s);
TaskState task_state_from_string(const char *s);
const char *task_reason_to_string(TaskReason r);
TaskReason task_reason_from_string(const char *s);

/* Measurements of one command (main or cleanup).  -1 / UINT64_MAX style
 * "unknown" is expressed with the has_* flags so that the database can store
 * NULL. */
/* What the kernel counts of a task's control group over its life
 * (cgroup v2 pressure): microseconds in which some (or all) of its
 * processes stalled for CPU, memory or IO; each known or not. */
enum { TASK_PRESSURE_CPU, TASK_PRESSURE_MEMORY, TASK_PRESSURE_IO, _TASK_PRESSURE_MAX };

typedef struct TaskPressure {
        bool has_some, has_full;
        uint64_t some_usec, full_usec;
} TaskPressure;

typedef struct TaskResult {
        TaskReason reason;
        bool has_exit_code;
        int exit_code;
        bool has_signal;
        int signal;
        uint64_t started_usec;   /* CLOCK_REALTIME, 0 = unknown */
        uint64_t finished_usec;
        uint64_t wall_usec;
        bool has_cpu;
        uint64_t cpu_user_usec;
        uint64_t cpu_system_usec;
        bool has_peak_memory;
        uint64_t peak_memory_bytes;
        /* cgroup v2, as the group ended (not stored for the cleanup command) */
        TaskPressure pressure[_TASK_PRESSURE_MAX];
        bool has_throttled;
        uint64_t nr_throttled, throttled_usec;
} TaskResult;

#define TASK_SERIES_MAX 128      /* bytes of a series label */

typedef struct Task {
        int64_t id;
        char *name;              /* may be NULL: then "task-ID" is shown */

        /* who: from the socket's peer credentials, never from the message */
        uid_t uid;
        gid_t gid;
        char *user;              /* user name at submit time, NULL if unknown */

        /* what */
        char **argv;             /* NULL-terminated, argv[0] an absolute path */
        char **env;              /* NULL-terminated "VAR=VALUE" list, may be NULL;
                                  * names only ("VAR") when env_hidden */
        bool env_hidden;         /* as another user sees it: values left out */
        char *submit_dir;        /* absolute */
        char **cleanup_argv;     /* NULL-terminated or NULL for none */

        /* resources and order */
        unsigned threads;
        uint64_t memory_bytes;
        uint64_t time_limit_usec;         /* 0 = none */
        uint64_t cleanup_time_limit_usec; /* 0 = default of the daemon */
        int group;
        int priority;
        bool whole_cores;
        bool requeue;            /* interrupted (by a reboot): queue a new attempt */
        bool in_submit_dir;      /* runs in submit_dir, not in a fresh directory */
        bool held;               /* queued, but not started until released */

        /* attempts: 1, 2, ...; retry_of the first attempt's id, 0 for a first */
        unsigned attempt;
        int64_t retry_of;
        /* the attempt the daemon queued after this one ended (out of memory
         * with a ladder left, or interrupted), 0 for none */
        int64_t next_attempt;
        /* memory sizes for the attempts after an oom, each larger than the
         * one before and than memory_bytes; n_retry_oom 0: none */
        uint64_t *retry_oom;
        size_t n_retry_oom;

        /* dependencies: starts only once every task in after[] finished
         * (after_ok: and exited 0, else it ends as dependency-failed) */
        int64_t *after;
        size_t n_after;
        bool after_ok;
        bool waiting;            /* as the daemon reports it: queued, and a dependency has not finished */
        char *series;            /* repeated runs of one definition share it (br-run --repeat); NULL: none */

        /* what it ran in and beside, the daemon's record (of the main
         * command): the environments row of its start (0: not known), its
         * warnings (NULL: none), the NUMA nodes its memory was bound to
         * (NULL: not bound), its group's pressure and CPU throttling, and
         * how many other tasks ran while it did */
        int64_t environment_id;
        char *environment;       /* the record as JSON text, where the daemon sent it (show) */
        char **warnings;
        char *numa_nodes;
        TaskPressure pressure[_TASK_PRESSURE_MAX];
        bool has_throttled;
        uint64_t nr_throttled, throttled_usec;
        bool has_beside;
        uint64_t tasks_beside;

        /* where it ran (docs/slurm.md): backend NULL for this machine's
         * systemd, "slurm" for a job of the daemon's Slurm cluster,
         * "slurm-export" for one br-import read back; the cluster's name,
         * the node and Slurm's job id, NULL until known */
        char *backend;
        char *cluster;
        char *node;
        char *job_id;

        /* life */
        TaskState state;
        uint64_t queued_usec;    /* CLOCK_REALTIME */
        char *cpus;              /* CPU list as "2-3,18-19", NULL until placed */
        char *unit;              /* transient unit name, NULL until started */
        char *output_dir;        /* where stdout/stderr (and cleanup-stdout/-stderr) are kept */
        char *submit_token;      /* the client's name for the submit request, or NULL */
        bool output_truncated;
        bool has_output_bytes;
        uint64_t output_bytes;   /* what its output files hold on disk at the end
                                  * (allocated bytes) */
        uint64_t output_removed_usec;  /* when retention removed the output; 0: kept */

        TaskResult main;
        TaskResult cleanup;
} Task;

Task *task_new(void);
Task *task_free(Task *t);
static inline void task_freep(Task **t) {
        if (*t)
                task_free(*t);
}
/* Display name: the name, or "task-ID". Returns a static-duration-free buffer. */
const char *task_display_name(const Task *t, char *buf, size_t len);
