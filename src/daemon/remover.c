/* remover.c: tasks' working directories removed in the background (see
 * remover.h). */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "remover.h"
#include "taskdir.h"
#include "util.h"

typedef struct Removal {
        Remover *owner;
        char *workdir;
        uid_t uid;
        pid_t pid;
        uint64_t started_usec;     /* CLOCK_MONOTONIC */
        bool killed;
        sd_event_source *child;
        sd_event_source *timer;
        struct Removal *prev, *next;
} Removal;

struct Remover {
        sd_event *event;
        uint64_t time_limit_usec;
        remover_report_t report;
        void *userdata;
        Removal *removals;
        unsigned n_pending;
};

static void removal_free(Removal *x) {
        Remover *r;

        if (!x)
                return;
        r = x->owner;
        if (x->prev)
                x->prev->next = x->next;
        else if (r->removals == x)
                r->removals = x->next;
        if (x->next)
                x->next->prev = x->prev;
        r->n_pending--;
        sd_event_source_disable_unref(x->child);
        sd_event_source_disable_unref(x->timer);
        free(x->workdir);
        free(x);
}

static RemoverReport report_of(const Removal *x, RemoverEvent e) {
        return (RemoverReport) {
                .event = e,
                .workdir = x->workdir,
                .uid = x->uid,
                .pid = x->pid,
                .usec = now_usec(CLOCK_MONOTONIC) - x->started_usec,
                .killed = x->killed,
        };
}

static int on_child(sd_event_source *s, const siginfo_t *si, void *userdata) {
        Removal *x = userdata;
        Remover *r = x->owner;
        RemoverReport rep = report_of(x, REMOVER_ENDED);

        (void) s;
        rep.code = si->si_code;
        rep.status = si->si_status;
        /* root's, in root's work directory: a lookup of one name, which
         * does not enter a mount on it (EBUSY) */
        rep.top_error = taskdir_remove_top(x->workdir);
        r->report(r->userdata, &rep);
        /* sd-event reaps the child after this callback */
        removal_free(x);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Removal *x = userdata;
        Remover *r = x->owner;
        RemoverReport rep;

        (void) s;
        (void) usec;
        /* through the pidfd: the pid cannot have been reused, the child is
         * not reaped before on_child() */
        (void) sd_event_source_send_child_signal(x->child, SIGKILL, NULL, 0);
        x->killed = true;
        rep = report_of(x, REMOVER_KILLED);
        r->report(r->userdata, &rep);
        return 0;
}

int remover_start(Remover *r, const char *workdir, uid_t uid, gid_t gid) {
        Removal *x;
        int e;

        x = calloc(1, sizeof(Removal));
        if (!x)
                return -ENOMEM;
        x->owner = r;
        x->uid = uid;
        x->pid = -1;
        x->workdir = strdup(workdir);
        x->next = r->removals;
        if (r->removals)
                r->removals->prev = x;
        r->removals = x;
        r->n_pending++;
        if (!x->workdir) {
                removal_free(x);
                return -ENOMEM;
        }
        x->started_usec = now_usec(CLOCK_MONOTONIC);
        e = taskdir_remove_start(workdir, uid, gid, &x->pid);
        if (e < 0) {
                removal_free(x);
                return e;
        }
        e = sd_event_add_child(r->event, &x->child, x->pid, WEXITED, on_child, x);
        if (e < 0) {
                /* not watched, so not waited for: killed, and left a
                 * zombie rather than blocking here */
                (void) kill(x->pid, SIGKILL);
                removal_free(x);
                return e;
        }
        e = sd_event_add_time_relative(r->event, &x->timer, CLOCK_MONOTONIC, r->time_limit_usec,
                                       100 * USEC_PER_MSEC, on_timer, x);
        if (e < 0) {
                /* the child is watched: it ends (and is reaped) in time */
                (void) sd_event_source_send_child_signal(x->child, SIGKILL, NULL, 0);
                x->killed = true;
        }
        return 0;
}

unsigned remover_n_pending(const Remover *r) {
        return r ? r->n_pending : 0;
}

int remover_new(sd_event *event, uint64_t time_limit_usec, remover_report_t report, void *userdata,
                Remover **ret) {
        Remover *r = calloc(1, sizeof(Remover));

        if (!r)
                return -ENOMEM;
        r->event = sd_event_ref(event);
        r->time_limit_usec = time_limit_usec;
        r->report = report;
        r->userdata = userdata;
        *ret = r;
        return 0;
}

Remover *remover_free(Remover *r) {
        if (!r)
                return NULL;
        while (r->removals)
                removal_free(r->removals);
        sd_event_unref(r->event);
        free(r);
        return NULL;
}
