/* sbatch.h: a task as a Slurm batch script, and the record that script
 * leaves of its run.  The one definition of what a task is on a cluster:
 * the daemon's Slurm backend submits these scripts (benchrunnerd
 * --backend=slurm), br-run --emit-sbatch writes them for a cluster without
 * benchrunner, and br-import and the daemon read the records back.
 * docs/slurm.md has the design, the limits and where each figure comes
 * from.  Pure text in, text out: never logs, never runs anything.
 *
 * The script is POSIX sh and needs only what every cluster node has (sh,
 * GNU coreutils' timeout and date, sed): benchrunner need not be installed
 * where it runs.  It runs the command, then the cleanup command after any
 * outcome, inside the same allocation, each under its own time limit in
 * seconds (Slurm's --time counts minutes and is only the backstop), and
 * appends "KEY VALUE" lines to DIR/record as it goes, so that a job killed
 * half-way still tells what it did. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "task.h"

/* Slurm's backstop over the limits the script enforces itself: the job's
 * --time is the sum of the task's limits and stop timeouts plus this, in
 * whole minutes. */
#define SBATCH_SLACK_USEC (60 * UINT64_C(1000000))
/* The largest record a script can leave that is read. */
#define SBATCH_RECORD_MAX (64 * 1024)
#define SBATCH_RECORD_VERSION 1

typedef struct SbatchOptions {
        const char *dir;        /* absolute: the task's directory as the nodes
                                 * see it (stdout, stderr, cleanup-*, record) */
        const char *partition;  /* NULL: the cluster's default */
        const char *job_name;   /* NULL: "benchrunner-ID" */
        const char *comment;    /* --comment, NULL: none */
        uint64_t stop_timeout_usec;  /* SIGTERM to SIGKILL at a time limit */
} SbatchOptions;

/* The script for t (its id, argv, env, limits, cleanup command, directory
 * choice), into *ret (malloc'd).  -EINVAL with *ret_why for what cannot be
 * written safely: a directory or partition with blanks, quotes or '%', a
 * relative directory. */
int sbatch_script(const Task *t, const SbatchOptions *o, char **ret, char **ret_why);

/* The #SBATCH options of the script alone (for a test or a man page). */
int sbatch_options(const Task *t, const SbatchOptions *o, char ***ret, char **ret_why);

/* What a record says.  Absent fields stay 0/false/NULL.  The figures are
 * the job's own (it runs as the task's user): the caller trusts them no
 * more than the user's own output. */
typedef struct SbatchRecord {
        int version;
        int64_t task;
        char *job_id;
        char *node;
        char *cluster;
        char *cpus;                 /* the CPUs the job's shell could run on */
        bool main_started, main_ended, cleanup_started, cleanup_ended;
        TaskResult main, cleanup;   /* reason exited/signaled/time-limit once ended */
        char *cpu_source;           /* "cgroup", "times" */
        char *memory_source;        /* "cgroup"; NULL: unknown */
        bool complete;              /* the script reached its end */
} SbatchRecord;

/* Parses a record: lines "KEY VALUE"; unknown keys are skipped (a newer
 * script), a line that is not KEY SPACE VALUE, a number out of range, a
 * NUL or more than SBATCH_RECORD_MAX bytes are -EBADMSG.  A key given
 * twice: the last one counts. */
int sbatch_record_parse(const char *text, size_t len, SbatchRecord *ret);
void sbatch_record_done(SbatchRecord *r);
