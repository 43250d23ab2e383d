/* placement.c: choosing CPU threads for a task on an SMT machine.
 *
 * Cores are taken in the topology's order (socket, NUMA node, L3 domain,
 * lowest CPU), which makes every L3 domain, node and socket a contiguous
 * range of core indexes, a "scope".  A placement is tried in each L3
 * domain, then in each NUMA node (a task's memory is bound to its CPUs'
 * nodes: one node keeps it all local), then in each socket, then on the
 * whole machine; the first level where it fits anywhere
 * wins, and within the level the scope that (1) breaks the fewest whole
 * cores (an odd task's half core pairs with another task's half core where
 * possible) and (2) has the fewest whole free cores (best fit, so that
 * large free domains stay free for large tasks).  Within the scope, the
 * whole cores come from the smallest run of consecutive free cores that
 * holds them all, or else from the smallest runs upwards (filling holes
 * first), so that the free cores stay together. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "placement.h"
#include "util.h"

/* What is still to be found. */
typedef struct Need {
        unsigned cores;  /* whole_cores: cores of which one thread each is used */
        unsigned cpus;   /* CPUs on whole cores */
        bool half;       /* one CPU, preferably on a core already in use */
} Need;

typedef struct Pick {
        Need need;
        CpuSet cpus, reserved;
        unsigned broken;  /* whole free cores used */
} Pick;

typedef struct Run {
        unsigned lo, n;   /* core indexes lo..lo+n-1 */
} Run;

static bool need_done(const Need *n) {
        return n->cores == 0 && n->cpus == 0 && !n->half;
}

static unsigned core_n_free(const Topology *t, const CpuSet *free, unsigned core, unsigned *ret_n) {
        const unsigned *c = topology_core_cpus(t, core, ret_n);
        unsigned k = 0;

        for (unsigned i = 0; i < *ret_n; i++)
                if (cpuset_has(free, c[i]))
                        k++;
        return k;
}

static bool core_whole(const Topology *t, const CpuSet *free, unsigned core) {
        unsigned n;
        return core_n_free(t, free, core, &n) == n && n > 0;
}

/* Takes one whole free core for what is still needed; with pick NULL only
 * counts down the need. */
static void take_core(const Topology *t, unsigned core, Need *need, Pick *pick) {
        unsigned n;
        const unsigned *c = topology_core_cpus(t, core, &n);

        if (need->cores > 0) {
                need->cores--;
                if (pick) {
                        cpuset_add(&pick->cpus, c[0]);
                        for (unsigned i = 0; i < n; i++)
                                cpuset_add(&pick->reserved, c[i]);
                }
        } else if (need->cpus > 0) {
                unsigned k = n < need->cpus ? n : need->cpus;
                need->cpus -= k;
                if (pick)
                        for (unsigned i = 0; i < n; i++) {
                                if (i < k)
                                        cpuset_add(&pick->cpus, c[i]);
                                /* a core is never shared by an even task */
                                cpuset_add(&pick->reserved, c[i]);
                        }
        } else if (need->half) {
                need->half = false;
                if (pick) {
                        cpuset_add(&pick->cpus, c[0]);
                        cpuset_add(&pick->reserved, c[0]);
                }
        } else
                return;
        if (pick)
                pick->broken++;
}

/* Could the cores of this run alone satisfy the need? */
static bool run_satisfies(const Topology *t, const Run *r, Need need) {
        for (unsigned k = r->lo; k < r->lo + r->n && !need_done(&need); k++)
                take_core(t, k, &need, NULL);
        return need_done(&need);
}

static void take_run(const Topology *t, const Run *r, Pick *pick) {
        for (unsigned k = r->lo; k < r->lo + r->n && !need_done(&pick->need); k++)
                take_core(t, k, &pick->need, pick);
}

static int run_cmp(const void *a, const void *b) {
        const Run *x = a, *y = b;
        if (x->n != y->n)
                return x->n < y->n ? -1 : 1;
        return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* The runs of consecutive whole free cores in lo..hi-1, sorted by length. */
static unsigned find_runs(const Topology *t, const CpuSet *free, unsigned lo, unsigned hi, Run *runs,
                          unsigned *ret_whole) {
        unsigned n_runs = 0, whole = 0;

        for (unsigned k = lo; k < hi; k++) {
                if (!core_whole(t, free, k))
                        continue;
                whole++;
                if (n_runs > 0 && runs[n_runs - 1].lo + runs[n_runs - 1].n == k)
                        runs[n_runs - 1].n++;
                else
                        runs[n_runs++] = (Run) { .lo = k, .n = 1 };
        }
        qsort(runs, n_runs, sizeof *runs, run_cmp);
        if (ret_whole)
                *ret_whole = whole;
        return n_runs;
}

/* The half core: a free thread of a core in use, else a lone thread (a core
 * whose sibling is offline), else a core of the shortest run of free cores. */
static bool take_half(const Topology *t, const CpuSet *free, unsigned lo, unsigned hi, Run *runs, Pick *pick) {
        CpuSet left = *free;
        unsigned n_runs;

        cpuset_and_not(&left, &pick->reserved);
        for (unsigned k = lo; k < hi; k++) {
                unsigned n, f = core_n_free(t, &left, k, &n);
                const unsigned *c = topology_core_cpus(t, k, &n);
                if (f == 0 || f == n)
                        continue;
                for (unsigned i = 0; i < n; i++)
                        if (cpuset_has(&left, c[i])) {
                                cpuset_add(&pick->cpus, c[i]);
                                cpuset_add(&pick->reserved, c[i]);
                                pick->need.half = false;
                                return true;
                        }
        }
        n_runs = find_runs(t, &left, lo, hi, runs, NULL);
        if (n_runs == 0)
                return false;
        for (unsigned i = 0; i < n_runs; i++)
                for (unsigned k = runs[i].lo; k < runs[i].lo + runs[i].n; k++) {
                        unsigned n;
                        (void) topology_core_cpus(t, k, &n);
                        if (n == 1) {
                                take_core(t, k, &pick->need, pick);
                                return true;
                        }
                }
        take_core(t, runs[0].lo, &pick->need, pick);
        return true;
}

/* Tries the scope of cores lo..hi-1.  runs has room for hi-lo entries. */
static bool try_scope(const Topology *t, const CpuSet *free, unsigned lo, unsigned hi,
                      const Need *need, Run *runs, Pick *ret, unsigned *ret_whole) {
        Pick pick = { .need = *need };
        unsigned n_runs, whole;
        bool half = pick.need.half, done = false;

        /* whole cores first, the half core afterwards */
        pick.need.half = false;
        n_runs = find_runs(t, free, lo, hi, runs, &whole);
        if (need_done(&pick.need))
                done = true;
        /* best fit: the smallest run that holds them all */
        for (unsigned i = 0; i < n_runs && !done; i++)
                if (run_satisfies(t, &runs[i], pick.need)) {
                        take_run(t, &runs[i], &pick);
                        done = true;
                }
        /* else fill the holes, smallest first */
        for (unsigned i = 0; i < n_runs && !done; i++) {
                take_run(t, &runs[i], &pick);
                done = need_done(&pick.need);
        }
        if (!done)
                return false;
        pick.need.half = half;
        if (half && !take_half(t, free, lo, hi, runs, &pick))
                return false;

        *ret = pick;
        *ret_whole = whole;
        return true;
}

static bool same_scope(const Topology *t, unsigned level, unsigned a, unsigned b) {
        switch (level) {
        case 0:
                return topology_core_l3(t, a) == topology_core_l3(t, b);
        case 1:
                return topology_core_node(t, a) == topology_core_node(t, b);
        default:
                return topology_core_package(t, a) == topology_core_package(t, b);
        }
}

int placement_find(const Topology *t, const CpuSet *free, unsigned threads, bool whole_cores,
                   CpuSet *ret_cpus, CpuSet *ret_reserved) {
        unsigned ncores = topology_n_cores(t);
        _cleanup_(freep) Run *runs = NULL;
        Need need = {};

        if (threads == 0)
                return -EINVAL;
        if (threads > cpuset_count(free))
                return -ENOSPC;
        if (whole_cores)
                need.cores = threads;
        else {
                need.half = threads % 2 == 1;
                need.cpus = threads - need.half;
        }

        runs = calloc(ncores ? ncores : 1, sizeof *runs);
        if (!runs)
                return -ENOMEM;

        /* level 0: L3 domains, 1: NUMA nodes, 2: sockets, 3: the machine */
        for (unsigned level = 0; level < 4; level++) {
                Pick best = {};
                unsigned best_whole = 0;
                bool found = false;

                for (unsigned lo = 0; lo < ncores;) {
                        unsigned hi = lo + 1;
                        Pick pick;
                        unsigned whole;

                        if (level == 3)
                                hi = ncores;
                        else
                                while (hi < ncores && same_scope(t, level, lo, hi))
                                        hi++;

                        if (try_scope(t, free, lo, hi, &need, runs, &pick, &whole) &&
                            (!found || pick.broken < best.broken ||
                             (pick.broken == best.broken && whole < best_whole))) {
                                best = pick;
                                best_whole = whole;
                                found = true;
                        }
                        lo = hi;
                }
                if (found) {
                        *ret_cpus = best.cpus;
                        *ret_reserved = best.reserved;
                        return 0;
                }
        }
        return -ENOSPC;
}

void placement_reserved(const Topology *t, const CpuSet *cpus, bool whole_cores, CpuSet *ret) {
        *ret = *cpus;
        if (whole_cores)
                topology_whole_cores(t, cpus, ret);
}
