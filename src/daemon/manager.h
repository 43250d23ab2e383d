/* manager.h: the daemon's state and the life of its tasks: submission,
 * scheduling, starting the main and cleanup units, recording results,
 * cancelling, and picking everything up again after a restart. */
#pragma once

#include "retention.h"
#include "slurm.h"
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "cpuset.h"
#include "protocol.h"
#include "task.h"

typedef struct Manager Manager;

#define MANAGER_REMOVE_TIME_LIMIT_USEC (60 * USEC_PER_SEC)

typedef struct ManagerConfig {
        const char *db_path;
        const char *state_dir;             /* work/ and output/ live here */
        const char *sysfs_root;
        CpuSet cpus;                       /* given to benchrunner */
        uint64_t memory_bytes;             /* given to benchrunner */
        uid_t owner;                       /* may submit besides root */
        bool has_group;
        gid_t group;                       /* members may submit */
        uint64_t cleanup_time_limit_usec;  /* default for tasks that give none */
        uint64_t output_cap_bytes;         /* per stream */
        uint64_t remove_time_limit_usec;   /* removing a working directory; 0: the default */
        unsigned max_queued_per_user;
        uint64_t max_queued_bytes_per_user;  /* 0 = no limit */
        int max_user_group;                /* highest priority group for others than root and the owner */
        bool requeue_interrupted;          /* every interrupted task gets a new attempt */
        RetentionConfig retention;         /* what finished tasks leave (docs/retention.md) */
        /* the Slurm backend (docs/slurm.md): tasks become jobs of a cluster
         * instead of units here; cpus and memory are then the largest node's */
        bool slurm;
        SlurmConfig slurm_config;
        const char *slurm_dir;             /* the tasks' directories, as the nodes see
                                            * them too; NULL: STATE/slurm */
        unsigned slurm_max_jobs;           /* jobs in Slurm at once; 0: 500 */
} ManagerConfig;

int manager_new(sd_event *event, sd_bus *bus, const ManagerConfig *config, Manager **ret);
Manager *manager_free(Manager *m);
static inline void manager_freep(Manager **m) {
        if (*m)
                manager_free(*m);
}

/* Picks up what an earlier daemon left: queued tasks go back in the queue,
 * running ones are found again through their units. */
int manager_recover(Manager *m);

/* Told of every change a client may follow, after the database holds it:
 * e says what happened to t, and stats are the counters as they are now.
 * The listener (the server) must not call back into the manager from here. */
typedef void (*manager_listener_t)(void *userdata, ProtoEvent e, const Task *t, const ProtoStats *stats);
/* One listener; NULL to stop telling. */
void manager_set_listener(Manager *m, manager_listener_t cb, void *userdata);

/* Who may submit: root, the owner, members of the group. */
bool manager_may_submit(Manager *m, uid_t uid, const gid_t *groups, size_t n_groups);

/* Validates against the daemon's capacity, fills in owner and defaults, and
 * stores the tasks in one transaction.  Takes ownership of the tasks on
 * success (they are then queued).  On failure *ret_error says why, for the
 * client. */
int manager_submit(Manager *m, uid_t uid, gid_t gid, Task **tasks, size_t n, int64_t *ret_ids,
                   char **ret_error);

/* Stores tasks that ran elsewhere (br-import; the request's checks done)
 * as finished tasks of uid and gid, backend "slurm-export", in one
 * transaction with new ids, and announces each as finished.  Times more
 * than a day ahead of the clock are refused.  A token seen before is
 * answered with the ids it got (manager_submit()'s rule).  Takes
 * ownership of the tasks on success. */
int manager_import(Manager *m, uid_t uid, gid_t gid, Task **tasks, size_t n, int64_t *ret_ids, char **ret_error);

/* Cancels one task on behalf of uid (root may cancel any).  *ret_error says
 * why not. */
int manager_cancel(Manager *m, uid_t uid, int64_t id, char **ret_error);

/* Holds (hold) or releases a queued task on behalf of uid (root may for
 * any): a held task keeps its place in the history and its share of the
 * user's queue, but does not start until it is released.  Holding a held
 * task, or releasing one that is not, is no error.  *ret_error says why
 * not. */
int manager_hold(Manager *m, uid_t uid, int64_t id, bool hold, char **ret_error);

/* Drain (on): the running tasks go on, nothing new starts, until it is
 * turned off; kept across restarts.  Root and the daemon's owner only. */
int manager_drain(Manager *m, uid_t uid, bool on, char **ret_error);

void manager_stats(Manager *m, ProtoStats *ret);

/* The task as it is now: the live one if it is not finished, else from the
 * database.  The caller frees a task from the database: *ret_owned is set
 * then. */
int manager_get_task(Manager *m, int64_t id, Task **ret, bool *ret_owned);
int manager_list_tasks(Manager *m, const ProtoRequest *req, Task ***ret, size_t *ret_n);

/* Runs the scheduler: starts what can start now. */
void manager_dispatch(Manager *m);

/* Stops taking work; tasks keep running in their units. */
void manager_shutdown(Manager *m);
