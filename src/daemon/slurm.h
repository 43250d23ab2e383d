/* slurm.h: the daemon's way to a Slurm cluster (benchrunnerd
 * --backend=slurm; docs/slurm.md): submits batch scripts (sbatch.h) as the
 * task's own user, follows the jobs by id on the daemon's event loop, and
 * cancels them.  Only Slurm's commands are used (sbatch, squeue, scancel,
 * sinfo, scontrol), found at run time, so nothing of Slurm is needed to
 * build benchrunner.  Like unit.h it never logs: functions return
 * negative errno values and the words of Slurm's own message where there
 * is one.
 *
 * Every command runs as a child of the daemon with a clean environment,
 * stdin and stdout in memory files, and a time limit; sbatch runs with the
 * task's uid, gid and groups (the job is the user's own, under the
 * cluster's limits for that user), squeue and scancel as root.  One squeue
 * a poll (every poll_usec while jobs are followed) asks for all of them. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

typedef struct Slurm Slurm;
typedef struct SlurmJob SlurmJob;

typedef struct SlurmConfig {
        const char *partition;         /* NULL: the cluster's default */
        const char *bin_dir;           /* where sbatch & co. are; NULL: PATH */
        uint64_t poll_usec;            /* 0: 1 s */
        uint64_t command_timeout_usec; /* 0: 30 s */
} SlurmConfig;

typedef struct SlurmJobCallbacks {
        /* sbatch answered: error 0 and the job id, or a negative errno and
         * sbatch's message (the job does not exist then) */
        void (*submitted)(void *userdata, int error, const char *job_id, const char *message);
        /* Slurm's state of the job changed (PENDING, RUNNING, ...), with the
         * node once it has one (else NULL) */
        void (*changed)(void *userdata, const char *state, const char *node);
        /* the job ended: its final state (COMPLETED, FAILED, CANCELLED,
         * TIMEOUT, OUT_OF_MEMORY, NODE_FAIL, PREEMPTED, BOOT_FAIL,
         * DEADLINE), or NULL when slurmctld no longer knows the job (it
         * forgets finished jobs after MinJobAge).  The job is not followed
         * any more; the callback may slurm_job_free() it. */
        void (*ended)(void *userdata, const char *state, const char *node);
} SlurmJobCallbacks;

/* Finds the commands, asks the cluster's name (scontrol show config) and
 * the largest node of the partition (sinfo).  Blocks for as long as those
 * take: call it at start-up.  *ret_error says what is missing. */
int slurm_new(sd_event *e, const SlurmConfig *c, Slurm **ret, char **ret_error);
Slurm *slurm_free(Slurm *s);
static inline void slurm_freep(Slurm **s) {
        if (*s)
                slurm_free(*s);
}
const char *slurm_cluster(const Slurm *s);
/* whether jobs get a private /tmp (JobContainerType=job_container/tmpfs) */
bool slurm_private_tmp(const Slurm *s);
/* the largest node of the partition: CPUs and memory (bytes) */
unsigned slurm_node_cpus(const Slurm *s);
uint64_t slurm_node_memory(const Slurm *s);
/* the jobs followed now (submitted or being submitted) */
unsigned slurm_n_jobs(const Slurm *s);

/* Submits script (an sbatch script) as uid/gid: returns 0 once sbatch
 * runs; cb->submitted tells how it went, and then cb->changed and
 * cb->ended. */
int slurm_submit(Slurm *s, const char *script, uid_t uid, gid_t gid, const SlurmJobCallbacks *cb,
                 void *userdata, SlurmJob **ret);
/* Follows a job submitted before (by an earlier daemon). */
int slurm_follow(Slurm *s, const char *job_id, const SlurmJobCallbacks *cb, void *userdata, SlurmJob **ret);
/* Restart recovery of a task whose job id was not stored: the id of the
 * user's job of that name and comment, if slurmctld has one (1), else 0.
 * Blocks. */
int slurm_find(Slurm *s, const char *name, const char *comment, uid_t uid, char **ret_job_id);
/* scancel (as root): Slurm sends SIGTERM to the job's processes, SIGKILL
 * after its KillWait.  A job still being submitted is cancelled as soon
 * as it has an id.  The end still comes through cb->ended. */
int slurm_cancel(SlurmJob *j);
const char *slurm_job_id(const SlurmJob *j);
/* Stops following (the job itself goes on).  Accepts NULL. */
SlurmJob *slurm_job_free(SlurmJob *j);
