/* top.h: what br-top shows, as lines of plain text: the counters, the
 * queue per priority group, every CPU thread of the machine (SMT siblings
 * side by side, benchrunner's or the system's, and the task holding it),
 * and the running tasks.  No terminal here: br-top cuts the lines to the
 * screen and draws them, or prints them once; the unit test compares them.
 * Every string a user gave (task names, user names) is escaped (escape.h). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "escape.h"
#include "protocol.h"
#include "task.h"
#include "topology.h"

typedef struct TopView {
        const Topology *topo;        /* the machine's CPUs */
        const ProtoStats *stats;     /* the daemon's last stats */
        Task * const *tasks;         /* running and cleaning up, ascending ids */
        size_t n_tasks;
        uint64_t now_usec;           /* CLOCK_REALTIME: elapsed times */
        size_t width;                /* columns: how many cores share a line */
        EscapeFlags escape;
        const char *cut_mark;        /* ends a cut name: "\u2026" on UTF-8, else "~" */
} TopView;

/* The screen as a NULL-terminated strv of lines without '\n'.  -ENOMEM. */
int top_layout(const TopView *v, char ***ret);

/* s cut to at most width columns (as wcwidth() counts them in the current
 * locale), mark (may be "") ending a cut one within the width.  malloc'd;
 * NULL on ENOMEM. */
char *top_cut(const char *s, size_t width, const char *mark);
