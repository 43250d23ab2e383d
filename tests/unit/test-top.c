/* test-top.c: br-top's screen (top.c) from given stats and tasks on fake
 * machines: SMT siblings side by side, the daemon's CPUs against the
 * system's, the task on each CPU and the siblings whole-cores tasks keep
 * idle, cores wrapping to the width, sockets, the queue per group, elapsed
 * times against limits, and hostile names escaped. */
#include "config.h"

#include <locale.h>
#include <stdlib.h>

#include "check.h"
#include "fake-sysfs.h"
#include "top.h"
#include "util.h"

#define SEC USEC_PER_SEC
#define GiB (UINT64_C(1) << 30)
#define NOW (UINT64_C(1714521600) * SEC)

static Task *mk(int64_t id, const char *name, const char *user, uid_t uid, TaskState state, const char *cpus) {
        Task *t = task_new();

        if (!t)
                exit(1);
        t->id = id;
        t->name = name ? strdup(name) : NULL;
        t->user = user ? strdup(user) : NULL;
        t->uid = uid;
        t->state = state;
        t->cpus = cpus ? strdup(cpus) : NULL;
        t->threads = 1;
        return t;
}

/* The lines of v, compared with expected (NULL-terminated); a mismatch
 * prints both screens. */
static void check_screen(const TopView *v, const char * const *expected) {
        _cleanup_(strv_freep) char **lines = NULL;
        size_t i;
        bool same = true;

        CHECK_OK(top_layout(v, &lines));
        if (!lines)
                return;
        for (i = 0; expected[i] && lines[i]; i++)
                if (strcmp(expected[i], lines[i]) != 0)
                        same = false;
        if (expected[i] || lines[i])
                same = false;
        CHECK(same);
        if (!same) {
                fprintf(stderr, "got:\n");
                for (char **l = lines; *l; l++)
                        fprintf(stderr, "|%s|\n", *l);
                fprintf(stderr, "expected:\n");
                for (i = 0; expected[i]; i++)
                        fprintf(stderr, "|%s|\n", expected[i]);
        }
}

static void test_cut(void) {
        _cleanup_(freep) char *a = top_cut("abcdef", 4, "~"), *b = top_cut("abcdef", 6, "~"),
                              *c = top_cut("abcdef", 3, ""), *d = top_cut("abc", 0, "~");
        CHECK_STREQ(a, "abc~");
        CHECK_STREQ(b, "abcdef");
        CHECK_STREQ(c, "abc");
        CHECK_STREQ(d, "");
}

/* One socket of 4 cores, siblings k and k+4; benchrunner has 1-3,5-7. */
static void test_machine(void) {
        _cleanup_(topology_freep) Topology *topo = fake_sysfs_load(1, 4, FAKE_SMT_SPLIT, 0, NULL);
        ProtoStats st = {
                .running = 1, .cleanup = 1, .queued = 120, .threads_busy = 4, .threads_total = 6,
                .memory_used = 3 * GiB, .memory_total = 6 * GiB,
                .has_groups = true, .n_groups = 2, .groups = { { 1, 100 }, { 0, 20 } },
        };
        Task *tasks[2];

        CHECK(cpuset_parse("1-3,5-7", &st.cpus) == 0);
        /* a two-thread task on core 1, 90 s into its 15 minutes */
        tasks[0] = mk(12, "solver", "alice", 1000, TASK_RUNNING, "1,5");
        tasks[0]->threads = 2;
        tasks[0]->memory_bytes = 2 * GiB;
        tasks[0]->time_limit_usec = 15 * 60 * SEC;
        tasks[0]->main.started_usec = NOW - 90 * SEC;
        /* another user's task, cleaning up, on one thread of core 2 with the
         * other kept idle; its name rewrites a terminal's title if printed */
        tasks[1] = mk(13, "\033]0;pwned\007evil", NULL, 1001, TASK_CLEANUP, "2");
        tasks[1]->whole_cores = true;
        tasks[1]->memory_bytes = GiB;
        tasks[1]->time_limit_usec = 60 * SEC;
        tasks[1]->main.started_usec = NOW - 70 * SEC;
        tasks[1]->main.reason = TASK_REASON_TIME_LIMIT;
        tasks[1]->main.has_peak_memory = true;
        tasks[1]->main.peak_memory_bytes = GiB / 2 * 3;
        tasks[1]->cleanup.started_usec = NOW - 5 * SEC;

        TopView v = { .topo = topo, .stats = &st, .tasks = tasks, .n_tasks = 2, .now_usec = NOW, .width = 120,
                      .cut_mark = "~" };
        const char * const wide[] = {
                "tasks: 1 running, 1 cleaning up, 120 queued",
                "threads: 4/6 busy, memory: 3.0G/6.0G given to tasks",
                "queue by group: group 1: 100, group 0: 20",
                "",
                "CPUs: 8 online, 6 benchrunner's (1-3,5-7), 2 the system's",
                "(a core's threads side by side; ID: the task on it, (ID): kept idle for it, free: unused, "
                "sys: the system's)",
                "  0 sys   4 sys  | 1 12    5 12   | 2 13    6 (13) | 3 free  7 free",
                "",
                "ID  NAME                USER   STATE    CPUS  ELAPSED  LIMIT  MEMORY  PEAK",
                "12  solver              alice  running  1,5   0:01:30    15m    2.0G     -",
                "13  \\e]0;pwned\\x07evil  1001   cleanup  2     0:00:05      -    1.0G  1.5G",
                NULL,
        };
        check_screen(&v, wide);

        /* narrower: two cores a line */
        v.width = 40;
        const char * const narrow[] = {
                "tasks: 1 running, 1 cleaning up, 120 queued",
                "threads: 4/6 busy, memory: 3.0G/6.0G given to tasks",
                "queue by group: group 1: 100, group 0: 20",
                "",
                "CPUs: 8 online, 6 benchrunner's (1-3,5-7), 2 the system's",
                "(a core's threads side by side; ID: the task on it, (ID): kept idle for it, free: unused, "
                "sys: the system's)",
                "  0 sys   4 sys  | 1 12    5 12",
                "  2 13    6 (13) | 3 free  7 free",
                "",
                "ID  NAME                USER   STATE    CPUS  ELAPSED  LIMIT  MEMORY  PEAK",
                "12  solver              alice  running  1,5   0:01:30    15m    2.0G     -",
                "13  \\e]0;pwned\\x07evil  1001   cleanup  2     0:00:05      -    1.0G  1.5G",
                NULL,
        };
        check_screen(&v, narrow);

        /* task 12 ended: its core is free; a long name is cut, a hostile
         * user name escaped */
        task_free(tasks[0]);
        tasks[0] = mk(14, "a-very-long-task-name-that-goes-on-and-on-and-on", "ev\033[2Jil", 1002, TASK_RUNNING,
                      "3");
        tasks[0]->memory_bytes = GiB;
        st.running = 1;
        st.queued = 119;
        st.threads_busy = 3;
        st.groups[0].queued = 99;
        st.n_groups = 1;
        st.queued_other_groups = 20;
        v.width = 120;
        v.now_usec = NOW + 2 * 86400 * SEC;
        const char * const later[] = {
                "tasks: 1 running, 1 cleaning up, 119 queued",
                "threads: 3/6 busy, memory: 3.0G/6.0G given to tasks",
                "queue by group: group 1: 99, lower groups: 20",
                "",
                "CPUs: 8 online, 6 benchrunner's (1-3,5-7), 2 the system's",
                "(a core's threads side by side; ID: the task on it, (ID): kept idle for it, free: unused, "
                "sys: the system's)",
                "  0 sys   4 sys  | 1 free  5 free | 2 13    6 (13) | 3 14    7 free",
                "",
                "ID  NAME                              USER       STATE    CPUS     ELAPSED  LIMIT  MEMORY  PEAK",
                "13  \\e]0;pwned\\x07evil                1001       cleanup  2     2d 0:00:05      -    1.0G  1.5G",
                "14  a-very-long-task-name-that-goes~  ev\\e[2Jil  running  3              -      -    1.0G     -",
                NULL,
        };
        /* the list comes in ascending ids */
        Task *sorted[2] = { tasks[1], tasks[0] };
        v.tasks = sorted;
        check_screen(&v, later);

        task_free(tasks[0]);
        task_free(tasks[1]);
}

/* Two sockets without SMT, a daemon that does not say which CPUs are its
 * own (one from before), nothing running, an empty queue. */
static void test_old_daemon(void) {
        _cleanup_(topology_freep) Topology *topo = fake_sysfs_load(2, 2, FAKE_SMT_NONE, 0, NULL);
        ProtoStats st = { .threads_total = 3, .memory_total = GiB };
        TopView v = { .topo = topo, .stats = &st, .now_usec = NOW, .width = 80, .cut_mark = "~" };
        const char * const expected[] = {
                "tasks: 0 running, 0 cleaning up, 0 queued",
                "threads: 0/3 busy, memory: 0B/1.0G given to tasks",
                "",
                "CPUs: 4 online",
                "(a core's threads side by side; ID: the task on it, (ID): kept idle for it, free: unused, "
                "sys: the system's)",
                "socket 0:",
                "  0 ? | 1 ?",
                "socket 1:",
                "  2 ? | 3 ?",
                "",
                "no task is running",
                NULL,
        };
        check_screen(&v, expected);

        st.has_groups = true;
        const char * const empty[] = {
                "tasks: 0 running, 0 cleaning up, 0 queued",
                "threads: 0/3 busy, memory: 0B/1.0G given to tasks",
                "queue by group: empty",
                "",
                "CPUs: 4 online",
                "(a core's threads side by side; ID: the task on it, (ID): kept idle for it, free: unused, "
                "sys: the system's)",
                "socket 0:",
                "  0 ? | 1 ?",
                "socket 1:",
                "  2 ? | 3 ?",
                "",
                "no task is running",
                NULL,
        };
        check_screen(&v, empty);

        /* held tasks and a draining daemon say so in the first line */
        st.held = 2;
        st.draining = 1;
        const char * const drained[] = {
                "tasks: 0 running, 0 cleaning up, 0 queued, 2 held (draining: nothing new starts)",
                "threads: 0/3 busy, memory: 0B/1.0G given to tasks",
                "queue by group: empty",
                "",
                "CPUs: 4 online",
                "(a core's threads side by side; ID: the task on it, (ID): kept idle for it, free: unused, "
                "sys: the system's)",
                "socket 0:",
                "  0 ? | 1 ?",
                "socket 1:",
                "  2 ? | 3 ?",
                "",
                "no task is running",
                NULL,
        };
        check_screen(&v, drained);
}

int main(void) {
        setlocale(LC_ALL, "C");
        test_cut();
        test_machine();
        test_old_daemon();
        CHECK_DONE();
}
