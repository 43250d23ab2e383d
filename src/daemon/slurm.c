/* slurm.c: submitting, following and cancelling Slurm jobs with Slurm's
 * own commands (slurm.h; docs/slurm.md). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "slurm.h"
#include "util.h"


static char *mfree_str(char *p) {
        free(p);
        return NULL;
}

/* What is read of a command's output. */
#define SLURM_OUTPUT_MAX (256 * 1024)
/* Misses in a row (a job squeue does not list) before it counts as gone:
 * one could be a job slurmctld has not made visible yet. */
#define SLURM_MISSES_GONE 2

typedef struct Proc Proc;
typedef void (*proc_done_t)(Slurm *s, void *userdata, bool ok, const char *out);

struct Proc {
        Slurm *slurm;
        pid_t pid;
        int out_fd;
        sd_event_source *child, *timer;
        proc_done_t done;
        void *userdata;
        bool killed;
        Proc *prev, *next;
};

struct SlurmJob {
        Slurm *slurm;
        char *job_id;             /* NULL while sbatch runs */
        char *script;             /* until submitted */
        uid_t uid;
        gid_t gid;
        SlurmJobCallbacks cb;
        void *userdata;
        char *state;              /* as last seen */
        unsigned misses;
        bool cancel_pending;      /* cancel once it has an id */
        Proc *proc;               /* its sbatch, while it runs */
        SlurmJob *prev, *next;    /* s->jobs */
};

struct Slurm {
        sd_event *event;
        char *partition;
        char *sbatch, *squeue, *scancel, *scontrol, *sinfo;
        uint64_t poll_usec, timeout_usec;
        char *cluster;
        bool tmpfs;               /* JobContainerType=job_container/tmpfs */
        unsigned node_cpus;
        uint64_t node_memory;
        SlurmJob *jobs;           /* followed, and waiting for or in sbatch */
        unsigned n_jobs;
        Proc *procs;
        Proc *poll;               /* the squeue running now */
        bool submitting;          /* an sbatch runs */
        sd_event_source *poll_timer;
        bool poll_failing;
};

/* ---- running a command ---- */

static char *find_command(const char *bin_dir, const char *name) {
        static const char * const path[] = { "/usr/local/bin", "/usr/bin", "/bin", "/usr/local/sbin", "/usr/sbin" };
        char *p;

        if (bin_dir) {
                if (asprintf(&p, "%s/%s", bin_dir, name) < 0)
                        return NULL;
                if (access(p, X_OK) == 0)
                        return p;
                free(p);
                return NULL;
        }
        for (size_t i = 0; i < ELEMENTSOF(path); i++) {
                if (asprintf(&p, "%s/%s", path[i], name) < 0)
                        return NULL;
                if (access(p, X_OK) == 0)
                        return p;
                free(p);
        }
        return NULL;
}

/* A clean environment: nothing of the daemon's but where Slurm's own
 * configuration is, if it was told. */
static char **command_env(void) {
        char **env = NULL;
        size_t n = 0;
        const char *conf = getenv("SLURM_CONF");

        if (strv_push_printf(&env, &n, "PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin") < 0 ||
            strv_push_printf(&env, &n, "LC_ALL=C") < 0 || strv_push_printf(&env, &n, "HOME=/") < 0 ||
            (conf && strv_push_printf(&env, &n, "SLURM_CONF=%s", conf) < 0)) {
                strv_free(env);
                return NULL;
        }
        return env;
}

static int memfd_with(const char *text) {
        int fd = memfd_create("benchrunner-slurm", MFD_CLOEXEC);
        size_t n = text ? strlen(text) : 0, done = 0;

        if (fd < 0)
                return -errno;
        while (done < n) {
                ssize_t k = write(fd, text + done, n - done);
                if (k < 0) {
                        int e = -errno;
                        close(fd);
                        return e;
                }
                done += (size_t) k;
        }
        if (lseek(fd, 0, SEEK_SET) < 0) {
                int e = -errno;
                close(fd);
                return e;
        }
        return fd;
}

static char *read_output(int fd) {
        char *buf = malloc(SLURM_OUTPUT_MAX + 1);
        size_t n = 0;

        if (!buf)
                return NULL;
        while (n < SLURM_OUTPUT_MAX) {
                ssize_t k = pread(fd, buf + n, SLURM_OUTPUT_MAX - n, (off_t) n);
                if (k <= 0)
                        break;
                n += (size_t) k;
        }
        buf[n] = 0;
        return buf;
}

/* The child: only system calls between fork() and execve() (the daemon
 * has threads). */
_Noreturn static void child(const char *path, char * const *argv, char * const *env, int in_fd, int out_fd,
                            uid_t uid, gid_t gid, const gid_t *groups, int n_groups) {
        sigset_t none;

        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
        if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0)
                _exit(127);
        if (uid != 0 && (setgroups((size_t) n_groups, groups) < 0 || setresgid(gid, gid, gid) < 0 ||
                         setresuid(uid, uid, uid) < 0))
                _exit(126);
        if (chdir("/") < 0)
                _exit(127);
        execve(path, argv, env);
        _exit(127);
}

/* Forks and execs path with argv as uid/gid (0: root as it is), input on
 * stdin, stdout and stderr into *ret_out_fd.  Returns the pid. */
static pid_t spawn(const char *path, char * const *argv, uid_t uid, gid_t gid, const char *input, int *ret_out_fd) {
        _cleanup_(strv_freep) char **env = command_env();
        _cleanup_(closep) int in_fd = -1, out_fd = -1;
        _cleanup_(freep) gid_t *groups = NULL;
        int n_groups = 0;
        pid_t pid;

        if (!env)
                return -ENOMEM;
        if (uid != 0) {
                struct passwd pw, *p = NULL;
                char buf[4096];

                /* the user's groups, as a login would have them */
                if (getpwuid_r(uid, &pw, buf, sizeof buf, &p) != 0 || !p)
                        return -ESRCH;
                n_groups = 64;
                for (;;) {
                        gid_t *g = realloc(groups, sizeof(gid_t) * (size_t) n_groups);
                        int want = n_groups;
                        if (!g)
                                return -ENOMEM;
                        groups = g;
                        if (getgrouplist(p->pw_name, gid, groups, &want) >= 0) {
                                n_groups = want;
                                break;
                        }
                        if (want <= n_groups || want > 65536)
                                return -E2BIG;
                        n_groups = want;
                }
        }
        in_fd = memfd_with(input);
        if (in_fd < 0)
                return in_fd;
        out_fd = memfd_with(NULL);
        if (out_fd < 0)
                return out_fd;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0)
                child(path, argv, env, in_fd, out_fd, uid, gid, groups, n_groups);
        *ret_out_fd = TAKE_FD(out_fd);
        return pid;
}

static void proc_free(Proc *p) {
        if (!p)
                return;
        if (p->prev)
                p->prev->next = p->next;
        else if (p->slurm->procs == p)
                p->slurm->procs = p->next;
        if (p->next)
                p->next->prev = p->prev;
        sd_event_source_disable_unref(p->child);
        sd_event_source_disable_unref(p->timer);
        if (p->out_fd >= 0)
                close(p->out_fd);
        free(p);
}

static int on_proc_exit(sd_event_source *src, const siginfo_t *si, void *userdata) {
        Proc *p = userdata;
        Slurm *s = p->slurm;
        _cleanup_(freep) char *out = read_output(p->out_fd);
        bool ok = si->si_code == CLD_EXITED && si->si_status == 0 && !p->killed;
        proc_done_t done = p->done;
        void *ud = p->userdata;

        (void) src;
        proc_free(p);
        done(s, ud, ok, out ? out : "");
        return 0;
}

static int on_proc_timer(sd_event_source *src, uint64_t usec, void *userdata) {
        Proc *p = userdata;

        (void) src;
        (void) usec;
        p->killed = true;
        (void) sd_event_source_send_child_signal(p->child, SIGKILL, NULL, 0);
        return 0;
}

static int proc_start(Slurm *s, const char *path, char * const *argv, uid_t uid, gid_t gid, const char *input,
                      proc_done_t done, void *userdata, Proc **ret) {
        Proc *p = calloc(1, sizeof(Proc));
        int r;

        if (!p)
                return -ENOMEM;
        p->slurm = s;
        p->out_fd = -1;
        p->done = done;
        p->userdata = userdata;
        p->next = s->procs;
        if (s->procs)
                s->procs->prev = p;
        s->procs = p;
        p->pid = spawn(path, argv, uid, gid, input, &p->out_fd);
        if (p->pid < 0) {
                r = p->pid;
                proc_free(p);
                return r;
        }
        r = sd_event_add_child(s->event, &p->child, p->pid, WEXITED, on_proc_exit, p);
        if (r < 0) {
                (void) kill(p->pid, SIGKILL);
                proc_free(p);
                return r;
        }
        (void) sd_event_source_set_child_process_own(p->child, true);
        r = sd_event_add_time_relative(s->event, &p->timer, CLOCK_MONOTONIC, s->timeout_usec, 100 * USEC_PER_MSEC,
                                       on_proc_timer, p);
        if (r < 0) {
                (void) sd_event_source_send_child_signal(p->child, SIGKILL, NULL, 0);
                p->killed = true;
        }
        if (ret)
                *ret = p;
        return 0;
}

/* A command run to its end, blocking (start-up and recovery only). */
static int run_sync(Slurm *s, const char *path, char * const *argv, char **ret_out) {
        _cleanup_(closep) int out_fd = -1;
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + s->timeout_usec;
        pid_t pid = spawn(path, argv, 0, 0, NULL, &out_fd);
        int status;

        if (pid < 0)
                return pid;
        for (;;) {
                pid_t w = waitpid(pid, &status, WNOHANG);
                if (w == pid)
                        break;
                if (w < 0 && errno != EINTR)
                        return -errno;
                if (now_usec(CLOCK_MONOTONIC) > deadline) {
                        (void) kill(pid, SIGKILL);
                        (void) waitpid(pid, &status, 0);
                        return -ETIMEDOUT;
                }
                (void) nanosleep(&(struct timespec) { .tv_nsec = 10 * 1000 * 1000 }, NULL);
        }
        *ret_out = read_output(out_fd);
        if (!*ret_out)
                return -ENOMEM;
        return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

/* The first line of a command's output, for a message. */
static char *first_line(const char *out) {
        size_t n = strcspn(out, "\n");

        while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\r'))
                n--;
        return strndup(out, n);
}

/* ---- following ---- */

static bool state_final(const char *st) {
        static const char * const final[] = { "COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY",
                                              "NODE_FAIL", "PREEMPTED", "BOOT_FAIL", "DEADLINE", "REVOKED" };
        for (size_t i = 0; i < ELEMENTSOF(final); i++)
                if (streq(st, final[i]))
                        return true;
        return false;
}

static void job_unlink(SlurmJob *j) {
        Slurm *s = j->slurm;

        if (!s)
                return;
        if (j->prev)
                j->prev->next = j->next;
        else if (s->jobs == j)
                s->jobs = j->next;
        if (j->next)
                j->next->prev = j->prev;
        j->prev = j->next = NULL;
        s->n_jobs--;
        j->slurm = NULL;
}

static void job_link(Slurm *s, SlurmJob *j) {
        j->slurm = s;
        j->next = s->jobs;
        if (s->jobs)
                s->jobs->prev = j;
        s->jobs = j;
        s->n_jobs++;
}

static void poll_arm(Slurm *s) {
        if (s->poll_timer)
                (void) sd_event_source_set_enabled(s->poll_timer, s->jobs ? SD_EVENT_ON : SD_EVENT_OFF);
}

/* One line of squeue: "ID|STATE|NODE". */
static bool parse_line(char *line, char **ret_id, char **ret_state, char **ret_node) {
        char *a = strchr(line, '|'), *b;

        if (!a)
                return false;
        b = strchr(a + 1, '|');
        if (!b)
                return false;
        *a = *b = 0;
        *ret_id = line;
        *ret_state = a + 1;
        *ret_node = b + 1;
        return true;
}

static void on_poll_done(Slurm *s, void *userdata, bool ok, const char *out) {
        _cleanup_(freep) char *copy = strdup(out);
        char **ids = NULL, **states = NULL, **nodes = NULL;
        size_t n = 0, cap = 0;
        SlurmJob *ended = NULL;

        (void) userdata;
        s->poll = NULL;
        if (!copy)
                return;
        /* squeue fails when none of the ids is known: all are gone then */
        if (!ok && !strstr(out, "Invalid job id")) {
                if (!s->poll_failing) {
                        _cleanup_(freep) char *why = first_line(out);
                        log_warning("squeue failed (%s): the Slurm jobs are followed again when it answers",
                                    why && *why ? why : "no message");
                }
                s->poll_failing = true;
                return;
        }
        if (s->poll_failing)
                log_info("squeue answers again");
        s->poll_failing = false;
        if (ok)
                for (char *line = strtok(copy, "\n"); line; line = strtok(NULL, "\n")) {
                        char *id, *st, *node;
                        if (!parse_line(line, &id, &st, &node))
                                continue;
                        if (n == cap) {
                                size_t c = cap ? cap * 2 : 64;
                                char **a = realloc(ids, c * sizeof *a), **b, **d;
                                if (a)
                                        ids = a;
                                b = a ? realloc(states, c * sizeof *b) : NULL;
                                if (b)
                                        states = b;
                                d = b ? realloc(nodes, c * sizeof *d) : NULL;
                                if (!d)
                                        break;
                                nodes = d;
                                cap = c;
                        }
                        ids[n] = id;
                        states[n] = st;
                        nodes[n] = node;
                        n++;
                }
        /* the jobs that ended are told after the walk: their callbacks may
         * free them */
        for (SlurmJob *j = s->jobs, *next; j; j = next) {
                size_t i;

                next = j->next;
                if (!j->job_id)
                        continue;
                for (i = 0; i < n && !streq(ids[i], j->job_id); i++)
                        ;
                if (i == n) {
                        if (++j->misses < SLURM_MISSES_GONE)
                                continue;
                        free(j->state);
                        j->state = NULL;
                } else {
                        const char *node = *nodes[i] && !streq(nodes[i], "(null)") ? nodes[i] : NULL;

                        j->misses = 0;
                        if (!state_final(states[i])) {
                                if (!j->state || !streq(j->state, states[i])) {
                                        free(j->state);
                                        j->state = strdup(states[i]);
                                        if (j->cb.changed)
                                                j->cb.changed(j->userdata, states[i], node);
                                }
                                continue;
                        }
                        free(j->state);
                        j->state = strdup(states[i]);
                        if (node && j->cb.changed)
                                j->cb.changed(j->userdata, states[i], node);
                }
                job_unlink(j);
                j->next = ended;
                ended = j;
        }
        free(ids);
        free(states);
        free(nodes);
        while (ended) {
                SlurmJob *j = ended;
                ended = j->next;
                j->next = NULL;
                j->cb.ended(j->userdata, j->state, NULL);
        }
        poll_arm(s);
}

static int on_poll_timer(sd_event_source *src, uint64_t usec, void *userdata) {
        Slurm *s = userdata;
        _cleanup_(freep) char *list = NULL, *jobs = NULL;
        size_t len = 0;
        FILE *f;
        bool any = false;

        (void) usec;
        (void) sd_event_source_set_time_relative(src, s->poll_usec);
        if (s->poll)
                return 0;
        f = open_memstream(&list, &len);
        if (!f)
                return 0;
        for (SlurmJob *j = s->jobs; j; j = j->next)
                if (j->job_id) {
                        fprintf(f, "%s%s", any ? "," : "", j->job_id);
                        any = true;
                }
        if (fclose(f) != 0 || !any)
                return 0;
        if (asprintf(&jobs, "--jobs=%s", list) < 0)
                return 0;
        char *argv[] = { s->squeue, "--noheader", "--states=all", "--format=%i|%T|%N", jobs, NULL };
        if (proc_start(s, s->squeue, argv, 0, 0, NULL, on_poll_done, NULL, &s->poll) < 0)
                s->poll = NULL;
        return 0;
}

/* ---- submitting ---- */

static void submit_next(Slurm *s);

static void on_cancel_done(Slurm *s, void *userdata, bool ok, const char *out) {
        (void) s;
        (void) userdata;
        if (!ok) {
                _cleanup_(freep) char *why = first_line(out);
                log_warning("scancel failed: %s", why && *why ? why : "no message");
        }
}

static int cancel_now(SlurmJob *j) {
        Slurm *s = j->slurm;
        char *argv[] = { s->scancel, j->job_id, NULL };

        return proc_start(s, s->scancel, argv, 0, 0, NULL, on_cancel_done, NULL, NULL);
}

/* "123" or "123;cluster" */
static char *parse_job_id(const char *out) {
        size_t n = strspn(out, "0123456789");

        if (n == 0 || n > 20 || (out[n] && out[n] != ';' && out[n] != '\n'))
                return NULL;
        return strndup(out, n);
}

static void on_sbatch_done(Slurm *s, void *userdata, bool ok, const char *out) {
        SlurmJob *j = userdata;
        _cleanup_(freep) char *why = NULL;

        s->submitting = false;
        if (!j) {
                /* its job was freed while sbatch ran: a job that came of it
                 * runs on unfollowed (the caller recovers it by name) */
                submit_next(s);
                return;
        }
        j->proc = NULL;
        j->script = mfree_str(j->script);
        if (ok)
                j->job_id = parse_job_id(out);
        if (!ok || !j->job_id) {
                why = first_line(out);
                job_unlink(j);
                submit_next(s);
                j->cb.submitted(j->userdata, -EIO, NULL, why && *why ? why : "sbatch failed");
                return;
        }
        if (j->cancel_pending)
                (void) cancel_now(j);
        poll_arm(s);
        submit_next(s);
        j->cb.submitted(j->userdata, 0, j->job_id, NULL);
}

/* One sbatch at a time, oldest first: jobs reach Slurm in the order the
 * daemon's queue gave them, which is their order under Slurm's FIFO
 * priority too. */
static void submit_next(Slurm *s) {
        SlurmJob *oldest = NULL;

        if (s->submitting)
                return;
        for (SlurmJob *j = s->jobs; j; j = j->next)
                if (j->script && !j->proc)
                        oldest = j;   /* the list is newest first */
        if (!oldest)
                return;
        char *argv[] = { s->sbatch, "--parsable", NULL };
        int r = proc_start(s, s->sbatch, argv, oldest->uid, oldest->gid, oldest->script, on_sbatch_done, oldest,
                           &oldest->proc);
        if (r < 0) {
                SlurmJob *j = oldest;
                char why[128];

                snprintf(why, sizeof why, "could not run sbatch: %s", strerror(-r));
                j->script = mfree_str(j->script);
                job_unlink(j);
                j->cb.submitted(j->userdata, r, NULL, why);
                return;
        }
        s->submitting = true;
}

int slurm_submit(Slurm *s, const char *script, uid_t uid, gid_t gid, const SlurmJobCallbacks *cb,
                 void *userdata, SlurmJob **ret) {
        SlurmJob *j = calloc(1, sizeof(SlurmJob));

        if (!j)
                return -ENOMEM;
        j->script = strdup(script);
        if (!j->script) {
                free(j);
                return -ENOMEM;
        }
        j->uid = uid;
        j->gid = gid;
        j->cb = *cb;
        j->userdata = userdata;
        job_link(s, j);
        *ret = j;
        submit_next(s);
        return 0;
}

int slurm_follow(Slurm *s, const char *job_id, const SlurmJobCallbacks *cb, void *userdata, SlurmJob **ret) {
        SlurmJob *j = calloc(1, sizeof(SlurmJob));

        if (!j)
                return -ENOMEM;
        j->job_id = strdup(job_id);
        if (!j->job_id) {
                free(j);
                return -ENOMEM;
        }
        j->cb = *cb;
        j->userdata = userdata;
        job_link(s, j);
        poll_arm(s);
        *ret = j;
        return 0;
}

int slurm_find(Slurm *s, const char *name, const char *comment, uid_t uid, char **ret_job_id) {
        _cleanup_(freep) char *out = NULL, *n = NULL, *u = NULL;
        int r;

        if (asprintf(&n, "--name=%s", name) < 0 || asprintf(&u, "--user=" UID_FMT, uid) < 0)
                return -ENOMEM;
        char *argv[] = { s->squeue, "--noheader", "--states=all", "--format=%i|%k|", n, u, NULL };
        r = run_sync(s, s->squeue, argv, &out);
        if (r < 0)
                return out && strstr(out, "Invalid") ? 0 : r;
        for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
                char *id, *k, *rest;
                if (parse_line(line, &id, &k, &rest) && streq(k, comment)) {
                        *ret_job_id = strdup(id);
                        return *ret_job_id ? 1 : -ENOMEM;
                }
        }
        return 0;
}

int slurm_cancel(SlurmJob *j) {
        if (!j->slurm)
                return 0;   /* ended already */
        if (!j->job_id) {
                j->cancel_pending = true;
                return 1;
        }
        int r = cancel_now(j);
        return r < 0 ? r : 1;
}

const char *slurm_job_id(const SlurmJob *j) {
        return j->job_id;
}

SlurmJob *slurm_job_free(SlurmJob *j) {
        if (!j)
                return NULL;
        if (j->proc)
                j->proc->userdata = NULL;
        job_unlink(j);
        free(j->job_id);
        free(j->script);
        free(j->state);
        free(j);
        return NULL;
}

/* ---- the cluster ---- */

static int read_cluster(Slurm *s, char **ret_error) {
        _cleanup_(freep) char *out = NULL;
        char *argv[] = { s->scontrol, "show", "config", NULL };
        int r = run_sync(s, s->scontrol, argv, &out);

        if (r < 0) {
                _cleanup_(freep) char *why = out ? first_line(out) : NULL;
                (void) asprintf(ret_error, "scontrol show config failed: %s",
                                why && *why ? why : strerror(-r));
                return r;
        }
        for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
                char *eq = strchr(line, '=');
                if (!eq)
                        continue;
                if (strncmp(line, "JobContainerType", 16) == 0 && strstr(eq, "job_container/tmpfs"))
                        s->tmpfs = true;
                if (strncmp(line, "ClusterName", 11) != 0 || s->cluster)
                        continue;
                eq++;
                eq += strspn(eq, " ");
                s->cluster = strndup(eq, strcspn(eq, " \n"));
                if (!s->cluster)
                        return -ENOMEM;
        }
        return 0;
}

static int read_nodes(Slurm *s, char **ret_error) {
        _cleanup_(freep) char *out = NULL, *p = NULL;
        char *argv[] = { s->sinfo, "--noheader", "--format=%c %m", NULL, NULL };
        int r;

        if (s->partition) {
                if (asprintf(&p, "--partition=%s", s->partition) < 0)
                        return -ENOMEM;
                argv[3] = p;
        }
        r = run_sync(s, s->sinfo, argv, &out);
        if (r < 0) {
                _cleanup_(freep) char *why = out ? first_line(out) : NULL;
                (void) asprintf(ret_error, "sinfo failed: %s", why && *why ? why : strerror(-r));
                return r;
        }
        for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
                unsigned cpus;
                uint64_t mb;
                if (sscanf(line, "%u %" SCNu64, &cpus, &mb) != 2)
                        continue;
                if (cpus > s->node_cpus)
                        s->node_cpus = cpus;
                if (mb * 1024 * 1024 > s->node_memory)
                        s->node_memory = mb * 1024 * 1024;
        }
        if (s->node_cpus == 0) {
                (void) asprintf(ret_error, "sinfo shows no node%s%s", s->partition ? " in partition " : "",
                                s->partition ? s->partition : "");
                return -ENOENT;
        }
        return 0;
}

int slurm_new(sd_event *e, const SlurmConfig *c, Slurm **ret, char **ret_error) {
        _cleanup_(slurm_freep) Slurm *s = calloc(1, sizeof(Slurm));
        struct {
                const char *name;
                char **field;
        } commands[5];
        int r;

        if (!s)
                return -ENOMEM;
        s->event = sd_event_ref(e);
        s->poll_usec = c->poll_usec ? c->poll_usec : USEC_PER_SEC;
        s->timeout_usec = c->command_timeout_usec ? c->command_timeout_usec : 30 * USEC_PER_SEC;
        if (c->partition && !(s->partition = strdup(c->partition)))
                return -ENOMEM;
        commands[0].name = "sbatch", commands[0].field = &s->sbatch;
        commands[1].name = "squeue", commands[1].field = &s->squeue;
        commands[2].name = "scancel", commands[2].field = &s->scancel;
        commands[3].name = "scontrol", commands[3].field = &s->scontrol;
        commands[4].name = "sinfo", commands[4].field = &s->sinfo;
        for (size_t i = 0; i < ELEMENTSOF(commands); i++) {
                *commands[i].field = find_command(c->bin_dir, commands[i].name);
                if (!*commands[i].field) {
                        (void) asprintf(ret_error, "%s not found%s%s: is Slurm's client installed (Debian: slurm-client)?",
                                        commands[i].name, c->bin_dir ? " in " : "", c->bin_dir ? c->bin_dir : "");
                        return -ENOENT;
                }
        }
        r = read_cluster(s, ret_error);
        if (r < 0)
                return r;
        r = read_nodes(s, ret_error);
        if (r < 0)
                return r;
        r = sd_event_add_time_relative(e, &s->poll_timer, CLOCK_MONOTONIC, s->poll_usec, 50 * USEC_PER_MSEC,
                                       on_poll_timer, s);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(s->poll_timer, SD_EVENT_OFF);
        *ret = TAKE_PTR(s);
        return 0;
}

Slurm *slurm_free(Slurm *s) {
        if (!s)
                return NULL;
        while (s->jobs) {
                SlurmJob *j = s->jobs;
                j->proc = NULL;
                job_unlink(j);   /* the owner frees it */
        }
        while (s->procs) {
                /* left to run; not reaped by us any more */
                sd_event_source_set_child_process_own(s->procs->child, false);
                proc_free(s->procs);
        }
        sd_event_source_disable_unref(s->poll_timer);
        sd_event_unref(s->event);
        free(s->partition);
        free(s->sbatch);
        free(s->squeue);
        free(s->scancel);
        free(s->scontrol);
        free(s->sinfo);
        free(s->cluster);
        free(s);
        return NULL;
}

bool slurm_private_tmp(const Slurm *s) {
        return s->tmpfs;
}

const char *slurm_cluster(const Slurm *s) {
        return s->cluster;
}

unsigned slurm_node_cpus(const Slurm *s) {
        return s->node_cpus;
}

uint64_t slurm_node_memory(const Slurm *s) {
        return s->node_memory;
}

unsigned slurm_n_jobs(const Slurm *s) {
        return s ? s->n_jobs : 0;
}
