/* client.c: connection to the daemon for the command-line programs. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>
#include <json-c/json.h>

#include "cli.h"
#include "client.h"
#include "escape.h"
#include "strv.h"
#include "util.h"

const char *client_socket_path(const char *arg) {
        const char *e;
        if (arg)
                return arg;
        e = getenv("BENCHRUNNER_SOCKET");
        if (e && *e)
                return e;
        return BR_RUNDIR "/benchrunner.sock";
}

int client_connect_quiet(const char *path, Client *ret) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        if (strlen(path) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                int e = errno;
                (void) close(fd);
                return -e;
        }
        ret->fd = fd;
        linebuf_init(&ret->in, PROTO_REPLY_LINE_MAX);
        return 0;
}

bool client_no_daemon(int r) {
        return r == -ENOENT || r == -ECONNREFUSED;
}

int client_connect(const char *path, Client *ret) {
        return client_connect_error(path, client_connect_quiet(path, ret));
}

int client_connect_error(const char *path, int r) {
        if (r == -ENAMETOOLONG)
                return cli_error_errno(-r, _("socket path too long: %s"), path);
        if (r == -ENOENT || r == -ECONNREFUSED)
                return cli_error_errno(-r, _("benchrunner is not running (no daemon at %s); start it with "
                                             "br-start"), path);
        if (r < 0)
                return cli_error_errno(-r, _("cannot connect to %s: %s"), path, strerror(-r));
        return 0;
}

void client_close(Client *c) {
        if (c->fd >= 0)
                (void) close(c->fd);
        c->fd = -1;
        linebuf_done(&c->in);
}

int client_send(Client *c, const char *line) {
        size_t len = strlen(line), off = 0;

        while (off < len) {
                ssize_t n = send(c->fd, line + off, len - off, MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                off += (size_t) n;
        }
        return 0;
}

int client_receive(Client *c, ProtoMessage **ret) {
        for (;;) {
                char *line;
                size_t len;
                int r = linebuf_pop(&c->in, &line, &len);
                if (r < 0)
                        return r;
                if (r > 0) {
                        if (len == 0)
                                continue;
                        return proto_parse_message(line, len, ret, NULL);
                }
                ssize_t n = linebuf_read(&c->in, c->fd);
                if (n == 0)
                        return -ECONNRESET;
                if (n == -EINTR)
                        continue;
                if (n < 0)
                        return (int) n;
        }
}

int client_call(Client *c, const ProtoRequest *req, ProtoMessage **ret) {
        _cleanup_(freep) char *line = NULL;
        int r;

        r = proto_request_format(req, &line);
        if (r < 0)
                return cli_error_errno(r, _("cannot build the request: %s"), strerror(-r));
        r = client_send(c, line);
        if (r < 0)
                return cli_error_errno(r, _("cannot send the request: %s"), strerror(-r));
        for (;;) {
                ProtoMessage *m = NULL;
                r = client_receive(c, &m);
                if (r == -ECONNRESET)
                        return cli_error_errno(r, _("the daemon closed the connection"));
                if (r < 0)
                        return cli_error_errno(r, _("bad answer from the daemon: %s"), strerror(-r));
                if (m->is_event) {
                        proto_message_free(m);
                        continue;
                }
                if (!m->ok) {
                        (void) cli_error("%s", m->error ? m->error : _("request failed"));
                        proto_message_free(m);
                        return -EREMOTEIO;
                }
                *ret = m;
                return 0;
        }
}

static int check_executable(const char *path) {
        struct stat st;
        if (stat(path, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (access(path, X_OK) < 0)
                return -errno;
        return 0;
}

int client_resolve_command(const char *name, char **ret) {
        _cleanup_(freep) char *cwd = NULL;
        char *p;
        int r, last = -ENOENT;

        if (!name || !*name)
                return -EINVAL;
        if (strchr(name, '/')) {
                if (name[0] == '/')
                        p = strdup(name);
                else {
                        cwd = getcwd(NULL, 0);
                        if (!cwd)
                                return -errno;
                        if (asprintf(&p, "%s/%s", cwd, name) < 0)
                                p = NULL;
                }
                if (!p)
                        return -ENOMEM;
                r = check_executable(p);
                if (r < 0) {
                        free(p);
                        return r;
                }
                *ret = p;
                return 0;
        }

        const char *path = getenv("PATH");
        if (!path)
                path = "/usr/local/bin:/usr/bin:/bin";
        for (const char *s = path;; s++) {
                const char *e = strchrnul(s, ':');
                _cleanup_(freep) char *dir = NULL;
                if (e == s)
                        dir = getcwd(NULL, 0); /* an empty entry is the current directory */
                else
                        dir = strndup(s, (size_t) (e - s));
                if (dir) {
                        if (dir[0] != '/') {
                                _cleanup_(freep) char *c = getcwd(NULL, 0);
                                char *abs = NULL;
                                if (c && asprintf(&abs, "%s/%s", c, dir) >= 0) {
                                        free(dir);
                                        dir = abs;
                                }
                        }
                        if (asprintf(&p, "%s/%s", dir, name) < 0)
                                return -ENOMEM;
                        r = check_executable(p);
                        if (r == 0) {
                                *ret = p;
                                return 0;
                        }
                        if (r == -EACCES)
                                last = r;
                        free(p);
                }
                if (!*e)
                        break;
                s = e;
        }
        return last;
}

int client_list(Client *c, const ProtoRequest *req, Task ***tasks, size_t *n) {
        ProtoRequest page = *req;

        for (;;) {
                _cleanup_(proto_message_freep) ProtoMessage *m = NULL;
                Task **a;
                int r;

                r = client_call(c, &page, &m);
                if (r < 0)
                        return r;
                if (m->n_tasks == 0)
                        return 0;
                a = realloc(*tasks, (*n + m->n_tasks) * sizeof(Task *));
                if (!a)
                        return cli_error_errno(ENOMEM, _("out of memory"));
                *tasks = a;
                for (size_t i = 0; i < m->n_tasks; i++) {
                        a[(*n)++] = m->tasks[i];
                        m->tasks[i] = NULL;
                }
                /* ids only grow: a daemon that says "more" without moving on
                 * would keep us here forever */
                if (!m->more || a[*n - 1]->id <= page.after_id)
                        return 0;
                page.after_id = a[*n - 1]->id;
        }
}

void client_tasks_free(Task **tasks, size_t n) {
        for (size_t i = 0; i < n; i++)
                task_free(tasks[i]);
        free(tasks);
}

const char *client_signal_name(int sig, char *buf, size_t len) {
        const char *name = sigabbrev_np(sig);

        if (name)
                snprintf(buf, len, "SIG%s", name);
        else
                snprintf(buf, len, "SIG%d", sig);
        return buf;
}

size_t client_text_width(const char *s) {
        mbstate_t st = {};
        size_t w = 0;

        while (*s) {
                wchar_t wc;
                size_t k = mbrtowc(&wc, s, MB_CUR_MAX, &st);
                if (k == (size_t) -1 || k == (size_t) -2 || k == 0) {
                        memset(&st, 0, sizeof st);
                        w++;
                        s++;
                        continue;
                }
                int cw = wcwidth(wc);
                w += cw > 0 ? (size_t) cw : 0;
                s += k;
        }
        return w;
}

int client_print_json(struct json_object *o) {
        _cleanup_(freep) char *s = NULL;
        const char *j = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

        if (!j || escape_json(j, &s) < 0)
                return -ENOMEM;
        puts(s);
        return 0;
}

/* ---- requests on task ids (cancel, hold, release) ---- */

static void print_done(ProtoOp op, int64_t id) {
        switch (op) {
        case PROTO_OP_HOLD:
                printf(_("held task %" PRId64 "\n"), id);
                break;
        case PROTO_OP_RELEASE:
                printf(_("released task %" PRId64 "\n"), id);
                break;
        default:
                printf(_("cancelled task %" PRId64 "\n"), id);
        }
}

int client_ids_request(Client *c, ProtoOp op, const int64_t *ids, size_t n) {
        size_t failed = 0;

        for (size_t done = 0; done < n;) {
                _cleanup_(proto_message_freep) ProtoMessage *m = NULL;
                size_t k = n - done < PROTO_IDS_MAX ? n - done : PROTO_IDS_MAX;
                ProtoRequest req = { .op = op, .ids = (int64_t *) ids + done, .n_ids = k };
                int r;

                r = client_call(c, &req, &m);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < m->n_results; i++) {
                        const ProtoCancelResult *res = &m->results[i];
                        if (res->error) {
                                (void) cli_error("%s", res->error);
                                failed++;
                        } else
                                print_done(op, res->id);
                }
                if (m->n_results != k) {
                        (void) cli_error(_("the daemon answered for %zu of %zu tasks"), m->n_results, k);
                        failed += k > m->n_results ? k - m->n_results : 0;
                }
                fflush(stdout);
                done += k;
        }
        return failed > 0 ? -EREMOTEIO : 0;
}

static int cmp_int64(const void *a, const void *b) {
        int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
        return x < y ? -1 : x > y;
}

int client_parse_ids(const char * const *args, int64_t **ret, size_t *ret_n) {
        _cleanup_(freep) int64_t *ids = NULL;
        size_t n = 0, k = 1;

        ids = calloc(strv_length((char * const *) args) + 1, sizeof(int64_t));
        if (!ids)
                return cli_error_errno(ENOMEM, _("out of memory"));
        for (size_t i = 0; args[i]; i++) {
                uint64_t id;

                if (parse_uint(args[i], 1, INT64_MAX, &id) < 0)
                        return cli_error(_("not a task id: %s"), args[i]);
                ids[n++] = (int64_t) id;
        }
        qsort(ids, n, sizeof(int64_t), cmp_int64);
        for (size_t i = 1; i < n; i++)
                if (ids[i] != ids[k - 1])
                        ids[k++] = ids[i];
        *ret_n = n > 0 ? k : 0;
        *ret = TAKE_PTR(ids);
        return 0;
}

/* ---- options the listing programs share ---- */

int client_parse_when(const char *opt, const char *s, uint64_t *ret) {
        static const char * const formats[] = { "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M",
                                                "%Y-%m-%dT%H:%M", "%Y-%m-%d" };
        uint64_t now = now_usec(CLOCK_REALTIME), d;

        if (parse_duration(s, &d) >= 0) {
                *ret = d < now ? now - d : 1;
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(formats); i++) {
                struct tm tm = { .tm_isdst = -1 };
                const char *end = strptime(s, formats[i], &tm);
                time_t t;

                if (!end || *end)
                        continue;
                t = mktime(&tm);
                if (t == (time_t) -1 || t < 0)
                        break;
                *ret = (uint64_t) t * USEC_PER_SEC;
                return 0;
        }
        return cli_error(_("%s: neither a duration ago (2h, 3d) nor a local time (2024-05-01 14:00): %s"), opt, s);
}

int client_parse_user(const char *s, uid_t *ret) {
        struct passwd *pw;
        uint64_t v;

        if (parse_uint(s, 0, UINT32_MAX - 1, &v) >= 0) {
                *ret = (uid_t) v;
                return 0;
        }
        pw = getpwnam(s);
        if (!pw)
                return cli_error(_("--user: no such user: %s"), s);
        *ret = pw->pw_uid;
        return 0;
}

/* Splits a comma-separated list of the option opt (for its messages) into
 * words, each given to one(). */
static int split_list(const char *opt, const char *list, int (*one)(const char *opt, const char *word, void *userdata),
                      void *userdata) {
        _cleanup_(freep) char *copy = strdup(list);
        char *save = NULL;
        int r;

        if (!copy)
                return cli_error_errno(ENOMEM, _("out of memory"));
        if (!list[0] || list[0] == ',' || list[strlen(list) - 1] == ',' || strstr(list, ",,"))
                return cli_error(_("%s: an empty item in %s"), opt, list);
        for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
                r = one(opt, w, userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}

typedef struct ListBuf {
        int64_t *v;
        size_t n, max;
} ListBuf;

static int list_push(ListBuf *b, const char *opt, int64_t x) {
        if (b->n == b->max)
                return cli_error(_("%s: at most %zu items"), opt, b->max);
        b->v[b->n++] = x;
        return 0;
}

static int one_size(const char *opt, const char *word, void *userdata) {
        uint64_t v;

        if (parse_size(word, &v) < 0 || v == 0 || v > INT64_MAX)
                return cli_error(_("%s: not a size: %s (use 512M, 2G, ...)"), opt, word);
        return list_push(userdata, opt, (int64_t) v);
}

static int one_id(const char *opt, const char *word, void *userdata) {
        uint64_t v;

        ListBuf *b = userdata;

        if (parse_uint(word, 1, INT64_MAX, &v) < 0)
                return cli_error(_("%s: not a task id: %s"), opt, word);
        for (size_t i = 0; i < b->n; i++)
                if (b->v[i] == (int64_t) v)
                        return cli_error(_("%s: task %s is named twice"), opt, word);
        return list_push(b, opt, (int64_t) v);
}

static int parse_list(const char *opt, const char *list, size_t max, bool ids, int64_t **ret, size_t *ret_n) {
        ListBuf b = { .v = calloc(max, sizeof(int64_t)), .max = max };
        int r;

        if (!b.v)
                return cli_error_errno(ENOMEM, _("out of memory"));
        r = split_list(opt, list, ids ? one_id : one_size, &b);
        if (r < 0) {
                free(b.v);
                return r;
        }
        *ret = b.v;
        *ret_n = b.n;
        return 0;
}

int client_parse_sizes(const char *opt, const char *list, size_t max, uint64_t **ret, size_t *ret_n) {
        return parse_list(opt, list, max, false, (int64_t **) ret, ret_n);
}

int client_parse_id_list(const char *opt, const char *list, size_t max, int64_t **ret, size_t *ret_n) {
        return parse_list(opt, list, max, true, ret, ret_n);
}

int client_exit_status(const Task *t) {
        switch (t->main.reason) {
        case TASK_REASON_EXITED:
                return t->main.exit_code;
        case TASK_REASON_SIGNALED:
                return 128 + t->main.signal;
        case TASK_REASON_TIME_LIMIT:
                return 124;
        case TASK_REASON_OOM:
                return 137;
        case TASK_REASON_CANCELLED:
                return 130;
        case TASK_REASON_FAILED_TO_START:
                return 127;
        case TASK_REASON_DEPENDENCY_FAILED:
                return 126;
        default:
                return 125;
        }
}

void client_say_end(const Task *t) {
        char st[64], w[FORMAT_DURATION_MAX];
        const TaskResult *res = &t->main;

        if (res->reason == TASK_REASON_EXITED)
                snprintf(st, sizeof st, _("exited %d"), res->exit_code);
        else if (res->reason == TASK_REASON_SIGNALED)
                snprintf(st, sizeof st, _("killed by signal %d"), res->signal);
        else
                snprintf(st, sizeof st, "%s", task_reason_to_string(res->reason));
        cli_info(_("task %" PRId64 " %s after %s on CPUs %s"), t->id, st, format_duration(w, sizeof w, res->wall_usec),
                 t->cpus ? t->cpus : "-");
        /* what may have disturbed its timing, as the daemon recorded it */
        for (size_t i = 0; t->warnings && t->warnings[i]; i++)
                cli_info(_("task %" PRId64 ": warning: %s"), t->id, t->warnings[i]);
}

void client_say_next_attempt(const Task *t) {
        char a[FORMAT_SIZE_MAX], b[FORMAT_SIZE_MAX];

        if (t->main.reason == TASK_REASON_OOM && t->n_retry_oom > 0)
                cli_info(_("task %" PRId64 " ran out of memory (%s): retried as task %" PRId64 " with %s"), t->id,
                         format_size(a, sizeof a, t->memory_bytes), t->next_attempt,
                         format_size(b, sizeof b, t->retry_oom[0]));
        else
                cli_info(_("task %" PRId64 " ended (%s): retried as task %" PRId64), t->id,
                         task_reason_to_string(t->main.reason), t->next_attempt);
}

int client_set_limits(Task *t, const char *memory, const char *time_limit, const char *cleanup_time_limit) {
        uint64_t v;

        if (memory) {
                if (parse_size(memory, &v) < 0 || v == 0)
                        return cli_error(_("--memory: not a size: %s (use 512M, 2G, ...)"), memory);
                t->memory_bytes = v;
        }
        if (time_limit) {
                if (parse_duration(time_limit, &v) < 0 || v == 0)
                        return cli_error(_("--time-limit: not a duration: %s (use 90s, 15m, 2h, ...)"), time_limit);
                t->time_limit_usec = v;
        }
        if (cleanup_time_limit) {
                if (parse_duration(cleanup_time_limit, &v) < 0 || v == 0)
                        return cli_error(_("--cleanup-time-limit: not a duration: %s"), cleanup_time_limit);
                t->cleanup_time_limit_usec = v;
        }
        return 0;
}

int client_parse_who(const char *user, bool mine, bool *ret_has_uid, uid_t *ret_uid) {
        if (user && mine)
                return cli_error(_("give either --user or --mine, not both"));
        *ret_has_uid = user || mine;
        if (mine)
                *ret_uid = getuid();
        return user ? client_parse_user(user, ret_uid) : 0;
}
