/* remover.h: removes tasks' working directories in the background, on the
 * daemon's sd_event loop.  The contents belong to the task's user, so a
 * child running as that user removes them (taskdir_remove_start()); that
 * user can stop it, or fill the directory with more than can be removed in
 * good time, so the loop never waits for it: the child is watched as an
 * event source, killed (SIGKILL) when it runs over the time limit, and the
 * top directory, root's, is removed once it ended.  Other tasks start and
 * end meanwhile.
 *
 * The daemon must block SIGCHLD in every thread before the loop watches a
 * child (sd_event_add_child()).  Never logs: the owner hears of every
 * removal that went wrong, and of every kill, through its callback. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

typedef struct Remover Remover;

typedef enum RemoverEvent {
        REMOVER_KILLED,     /* over the time limit: SIGKILL sent now */
        REMOVER_ENDED,      /* the child ended, and the top was removed (or not) */
} RemoverEvent;

typedef struct RemoverReport {
        RemoverEvent event;
        const char *workdir;
        uid_t uid;
        pid_t pid;
        uint64_t usec;      /* since the child started */
        /* REMOVER_ENDED: */
        int code;           /* CLD_EXITED, CLD_KILLED or CLD_DUMPED */
        int status;         /* its exit status (TASKDIR_REMOVE_*) or signal */
        bool killed;        /* by the remover, over the time limit */
        int top_error;      /* removing the top: 0 or -errno (-ENOTEMPTY: the
                             * child left something, which stays) */
} RemoverReport;

typedef void (*remover_report_t)(void *userdata, const RemoverReport *report);

int remover_new(sd_event *event, uint64_t time_limit_usec, remover_report_t report, void *userdata,
                Remover **ret);
/* Stops watching: children still running are left to finish (the service
 * manager kills them with the rest of the daemon's cgroup when it stops
 * it), and their top directories stay. */
Remover *remover_free(Remover *r);

/* Starts removing workdir as uid:gid.  Returns at once. */
int remover_start(Remover *r, const char *workdir, uid_t uid, gid_t gid);

/* Removals that did not end yet. */
unsigned remover_n_pending(const Remover *r);
