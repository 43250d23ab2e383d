/* server.c: the daemon's unix socket.  Each connection (Conn) is a client
 * with a line buffer for requests, a queue of outgoing lines, the identity the
 * kernel vouches for (SO_PEERCRED, SO_PEERGROUPS) and what it follows. */
#include "config.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "linebuf.h"
#include "log.h"
#include "manager.h"
#include "server.h"
#include "util.h"

/* A client that does not read its events is dropped rather than allowed to
 * grow the daemon without bound. */
#define CONN_OUT_MAX (64u * 1024 * 1024)
#define CONNS_MAX 1024
/* Longest request of someone who may not submit (a cancel of
 * PROTO_IDS_MAX ids fits easily). */
#define SMALL_REQUEST_MAX (1024u * 1024)
#define CONN_GROUPS_MAX 1024

typedef struct Conn {
        Server *server;
        int fd;
        sd_event_source *io;
        LineBuf in;
        char *out;
        size_t out_len, out_off, out_alloc;
        uid_t uid;
        gid_t gid;
        gid_t *groups;
        size_t n_groups;
        bool follow_stats;
        int64_t *follow;          /* task ids this client follows */
        size_t n_follow, alloc_follow;
        bool closing;             /* close once the output is written */
        struct Conn *prev, *next;
} Conn;

struct Server {
        sd_event *event;
        Manager *manager;
        int fd;
        char *path;
        bool bound;               /* path is ours to remove */
        sd_event_source *io;
        Conn *conns;
        unsigned n_conns;
        ProtoStats last_stats;
        bool have_last_stats;
};

static void conn_free(Conn *c) {
        Server *s;

        if (!c)
                return;
        s = c->server;
        if (c->prev)
                c->prev->next = c->next;
        else
                s->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        s->n_conns--;
        sd_event_source_disable_unref(c->io);
        if (c->fd >= 0)
                (void) close(c->fd);
        linebuf_done(&c->in);
        free(c->out);
        free(c->groups);
        free(c->follow);
        free(c);
}

static int conn_update_events(Conn *c) {
        uint32_t ev = c->closing ? 0 : EPOLLIN;
        if (c->out_len > c->out_off)
                ev |= EPOLLOUT;
        return sd_event_source_set_io_events(c->io, ev);
}

/* Queues one line (takes it); drops the client if it has fallen too far
 * behind. */
static void conn_send(Conn *c, char *line) {
        size_t n;

        if (!line) {
                log_oom();
                return;
        }
        n = strlen(line);
        if (c->out_off > 0 && c->out_off == c->out_len)
                c->out_off = c->out_len = 0;
        if (c->out_len - c->out_off + n > CONN_OUT_MAX) {
                log_warning("Conn uid " UID_FMT " does not read its messages: dropping it", c->uid);
                free(line);
                c->closing = true;
                c->out_len = c->out_off = 0;
                (void) conn_update_events(c);
                return;
        }
        if (c->out_len + n > c->out_alloc) {
                if (c->out_off > 0) {
                        memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
                        c->out_len -= c->out_off;
                        c->out_off = 0;
                }
                if (c->out_len + n > c->out_alloc) {
                        size_t a = (c->out_len + n) * 2;
                        char *p = realloc(c->out, a);
                        if (!p) {
                                free(line);
                                log_oom();
                                return;
                        }
                        c->out = p;
                        c->out_alloc = a;
                }
        }
        memcpy(c->out + c->out_len, line, n);
        c->out_len += n;
        free(line);
        (void) conn_update_events(c);
}

static bool conn_follows(Conn *c, int64_t id, size_t *ret_idx) {
        for (size_t i = 0; i < c->n_follow; i++)
                if (c->follow[i] == id) {
                        if (ret_idx)
                                *ret_idx = i;
                        return true;
                }
        return false;
}

static int conn_follow(Conn *c, int64_t id) {
        if (conn_follows(c, id, NULL))
                return 0;
        if (c->n_follow == c->alloc_follow) {
                size_t a = c->alloc_follow ? c->alloc_follow * 2 : 16;
                int64_t *p = realloc(c->follow, a * sizeof(int64_t));
                if (!p)
                        return -ENOMEM;
                c->follow = p;
                c->alloc_follow = a;
        }
        c->follow[c->n_follow++] = id;
        return 0;
}

static void conn_unfollow(Conn *c, int64_t id) {
        size_t i;
        if (conn_follows(c, id, &i))
                c->follow[i] = c->follow[--c->n_follow];
}

/* Events a client that follows a task from now on has missed. */
static void conn_catch_up(Conn *c, const Task *t) {
        conn_send(c, proto_event_task(PROTO_EVENT_QUEUED, t));
        if (t->state == TASK_QUEUED)
                return;
        if (t->main.started_usec || t->main.reason != TASK_REASON_NONE)
                conn_send(c, proto_event_task(PROTO_EVENT_STARTED, t));
        if (t->main.reason != TASK_REASON_NONE)
                conn_send(c, proto_event_task(PROTO_EVENT_FINISHED, t));
        if (t->state == TASK_FINISHED && t->cleanup.reason != TASK_REASON_NONE)
                conn_send(c, proto_event_task(PROTO_EVENT_CLEANUP_FINISHED, t));
}

static void handle_submit(Conn *c, ProtoRequest *req) {
        Server *s = c->server;
        _cleanup_(freep) int64_t *ids = NULL;
        _cleanup_(freep) char *error = NULL;
        int r;

        if (!manager_may_submit(s->manager, c->uid, c->groups, c->n_groups)) {
                conn_send(c, proto_reply_error(req->tag,
                                                 "permission denied: only root, the user who started benchrunner "
                                                 "and members of its group may submit tasks"));
                return;
        }
        ids = calloc(req->n_tasks, sizeof(int64_t));
        if (!ids) {
                conn_send(c, proto_reply_error(req->tag, "out of memory"));
                return;
        }
        for (size_t i = 0; req->token && i < req->n_tasks; i++)
                if (!(req->tasks[i]->submit_token = strdup(req->token))) {
                        conn_send(c, proto_reply_error(req->tag, "out of memory"));
                        return;
                }
        r = manager_submit(s->manager, c->uid, c->gid, req->tasks, req->n_tasks, ids, &error);
        if (r < 0) {
                conn_send(c, proto_reply_error(req->tag, "%s", error ? error : strerror(-r)));
                return;
        }
        /* the manager owns the tasks now */
        for (size_t i = 0; i < req->n_tasks; i++)
                req->tasks[i] = NULL;

        conn_send(c, proto_reply_submit(req->tag, ids, req->n_tasks));
        if (!req->follow)
                return;
        for (size_t i = 0; i < req->n_tasks; i++) {
                Task *t;
                bool owned;

                if (manager_get_task(s->manager, ids[i], &t, &owned) < 0)
                        continue;
                conn_catch_up(c, t);
                if (t->state != TASK_FINISHED && conn_follow(c, ids[i]) < 0)
                        log_oom();
                if (owned)
                        task_free(t);
        }
}

static void handle_show(Conn *c, ProtoRequest *req) {
        Task *t;
        bool owned;
        int r;

        r = manager_get_task(c->server->manager, req->id, &t, &owned);
        if (r == -ENOENT) {
                conn_send(c, proto_reply_error(req->tag, "no task %" PRId64, req->id));
                return;
        }
        if (r < 0) {
                conn_send(c, proto_reply_error(req->tag, "could not read task %" PRId64 ": %s", req->id,
                                                 strerror(-r)));
                return;
        }
        conn_send(c, proto_reply_show(req->tag, t));
        if (owned)
                task_free(t);
}

static void handle_list(Conn *c, ProtoRequest *req) {
        Task **tasks = NULL;
        size_t n = 0;
        int r;

        r = manager_list_tasks(c->server->manager, req, &tasks, &n);
        if (r < 0) {
                conn_send(c, proto_reply_error(req->tag, "could not list tasks: %s", strerror(-r)));
                return;
        }
        size_t limit = req->limit ? req->limit : PROTO_LIST_LIMIT_MAX;
        conn_send(c, proto_reply_list(req->tag, tasks, n, n >= limit, NULL));
        for (size_t i = 0; i < n; i++)
                task_free(tasks[i]);
        free(tasks);
}

static void handle_cancel(Conn *c, ProtoRequest *req) {
        _cleanup_(freep) ProtoCancelResult *res = calloc(req->n_ids, sizeof(ProtoCancelResult));
        char **errors = calloc(req->n_ids, sizeof(char *));

        if (!res || !errors) {
                free(errors);
                conn_send(c, proto_reply_error(req->tag, "out of memory"));
                return;
        }
        for (size_t i = 0; i < req->n_ids; i++) {
                res[i].id = req->ids[i];
                if (manager_cancel(c->server->manager, c->uid, req->ids[i], &errors[i]) < 0 && !errors[i])
                        errors[i] = strdup("could not cancel");
                res[i].error = errors[i];
        }
        conn_send(c, proto_reply_cancel(req->tag, res, req->n_ids));
        for (size_t i = 0; i < req->n_ids; i++)
                free(errors[i]);
        free(errors);
}

static void handle_line(Conn *c, const char *line, size_t len) {
        _cleanup_(proto_request_freep) ProtoRequest *req = NULL;
        _cleanup_(proto_json_unrefp) struct json_object *tag = NULL;
        _cleanup_(freep) char *error = NULL;
        ProtoStats st;
        int r;

        /* Only a submit needs long lines, and json-c builds the whole tree
         * before any check: whoever may not submit gets no big parse. */
        if (len > SMALL_REQUEST_MAX &&
            !manager_may_submit(c->server->manager, c->uid, c->groups, c->n_groups)) {
                conn_send(c, proto_reply_error(NULL, "request of %zu bytes refused: only those who may submit "
                                                       "tasks may send requests longer than %u bytes",
                                                 len, SMALL_REQUEST_MAX));
                return;
        }
        r = proto_parse_request(line, len, &req, &tag, &error);
        if (r < 0) {
                conn_send(c, proto_reply_error(tag, "%s", error ? error : strerror(-r)));
                if (r == -E2BIG)
                        c->closing = true;
                return;
        }

        switch (req->op) {
        case PROTO_OP_PING:
                conn_send(c, proto_reply_ping(req->tag));
                break;
        case PROTO_OP_SUBMIT:
                handle_submit(c, req);
                break;
        case PROTO_OP_STATS:
                manager_stats(c->server->manager, &st);
                conn_send(c, proto_reply_stats(req->tag, &st));
                c->follow_stats = req->follow;
                break;
        case PROTO_OP_LIST:
                handle_list(c, req);
                break;
        case PROTO_OP_SHOW:
                handle_show(c, req);
                break;
        case PROTO_OP_CANCEL:
                handle_cancel(c, req);
                break;
        default:
                conn_send(c, proto_reply_error(req->tag, "unknown request"));
        }
}

static int on_conn_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        Conn *c = userdata;

        if (revents & EPOLLOUT) {
                while (c->out_off < c->out_len) {
                        ssize_t n = send(fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
                        if (n < 0) {
                                if (errno == EAGAIN || errno == EINTR)
                                        break;
                                conn_free(c);
                                return 0;
                        }
                        c->out_off += (size_t) n;
                }
        }
        if (c->closing && c->out_off >= c->out_len) {
                conn_free(c);
                return 0;
        }
        if ((revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !c->closing) {
                ssize_t n = linebuf_read(&c->in, fd);
                if (n == 0 || (n < 0 && n != -EAGAIN && n != -EINTR)) {
                        conn_free(c);
                        return 0;
                }
                for (;;) {
                        char *line;
                        size_t len;
                        int r = linebuf_pop(&c->in, &line, &len);
                        if (r == 0)
                                break;
                        if (r < 0) {
                                conn_send(c, proto_reply_error(NULL, "request longer than %u bytes",
                                                                 PROTO_LINE_MAX));
                                c->closing = true;
                                break;
                        }
                        if (len > 0)
                                handle_line(c, line, len);
                        if (c->closing)
                                break;
                }
        }
        (void) conn_update_events(c);
        return 0;
}

static int conn_credentials(Conn *c) {
        struct ucred cred;
        socklen_t l = sizeof cred;
        gid_t groups[CONN_GROUPS_MAX];
        socklen_t gl = sizeof groups;

        if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &l) < 0)
                return -errno;
        c->uid = cred.uid;
        c->gid = cred.gid;
        if (getsockopt(c->fd, SOL_SOCKET, SO_PEERGROUPS, groups, &gl) >= 0 && gl > 0) {
                c->n_groups = gl / sizeof(gid_t);
                c->groups = malloc(gl);
                if (!c->groups)
                        return -ENOMEM;
                memcpy(c->groups, groups, gl);
        }
        return 0;
}

static int on_accept(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        Server *s = userdata;
        Conn *c;
        int cfd, r;

        cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
                if (errno != EAGAIN && errno != EINTR)
                        log_warning_errno(errno, "Failed to accept a connection: %m");
                return 0;
        }
        if (s->n_conns >= CONNS_MAX) {
                log_warning("Too many clients (%u): refusing a connection", s->n_conns);
                (void) close(cfd);
                return 0;
        }
        c = calloc(1, sizeof(Conn));
        if (!c) {
                (void) close(cfd);
                return log_oom();
        }
        c->server = s;
        c->fd = cfd;
        linebuf_init(&c->in, PROTO_LINE_MAX);
        c->next = s->conns;
        if (s->conns)
                s->conns->prev = c;
        s->conns = c;
        s->n_conns++;

        r = conn_credentials(c);
        if (r < 0) {
                log_warning_errno(r, "Failed to read a client's credentials: %m");
                conn_free(c);
                return 0;
        }
        r = sd_event_add_io(s->event, &c->io, cfd, EPOLLIN, on_conn_io, c);
        if (r < 0) {
                log_warning_errno(r, "Failed to watch a client: %m");
                conn_free(c);
        }
        return 0;
}

static void task_event(Server *s, ProtoEvent e, const Task *t) {
        Conn *next;

        for (Conn *c = s->conns; c; c = next) {
                next = c->next;
                if (c->closing || !conn_follows(c, t->id, NULL))
                        continue;
                conn_send(c, proto_event_task(e, t));
                if (t->state == TASK_FINISHED)
                        conn_unfollow(c, t->id);
        }
}

static void stats_changed(Server *s, const ProtoStats *st) {
        if (s->have_last_stats && memcmp(st, &s->last_stats, sizeof *st) == 0)
                return;
        s->last_stats = *st;
        s->have_last_stats = true;
        for (Conn *c = s->conns; c; c = c->next)
                if (c->follow_stats && !c->closing)
                        conn_send(c, proto_event_stats(st));
}

void server_announce(void *userdata, ProtoEvent e, const Task *t, const ProtoStats *stats) {
        Server *s = userdata;

        task_event(s, e, t);
        stats_changed(s, stats);
}

int server_check_path(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_(closep) int fd = -1;
        struct stat st;

        if (strlen(path) >= sizeof sa.sun_path)
                return log_error_errno(ENAMETOOLONG, "Socket path too long: %s", path);
        if (lstat(path, &st) < 0) {
                if (errno == ENOENT)
                        return 0;
                return log_error_errno(errno, "Failed to look at %s: %m", path);
        }
        if (!S_ISSOCK(st.st_mode))
                return log_error_errno(EEXIST, "%s exists and is not a socket; not replacing it", path);

        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return log_error_errno(errno, "Failed to create a socket: %m");
        /* EAGAIN: a listener whose backlog is full */
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) >= 0 || errno == EAGAIN)
                return log_error_errno(EADDRINUSE, "Another benchrunnerd is listening on %s", path);
        if (errno != ECONNREFUSED)
                return log_error_errno(errno, "Failed to tell whether a daemon listens on %s: %m", path);
        return 1;
}

int server_new(sd_event *event, Manager *m, const char *path, Server **ret) {
        _cleanup_(server_freep) Server *s = NULL;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_(freep) char *dir = NULL;
        int r;

        if (strlen(path) >= sizeof sa.sun_path)
                return log_error_errno(ENAMETOOLONG, "Socket path too long: %s", path);
        strcpy(sa.sun_path, path);

        s = calloc(1, sizeof(Server));
        if (!s)
                return log_oom();
        s->fd = -1;
        s->event = sd_event_ref(event);
        s->manager = m;
        s->path = strdup(path);
        dir = strdup(path);
        if (!s->path || !dir)
                return log_oom();
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) {
                *slash = 0;
                if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                        return log_error_errno(errno, "Failed to create %s: %m", dir);
        }

        /* Only a stale socket is removed: taking the path from a daemon
         * that still listens would leave its clients talking to it and
         * every new one to us. */
        r = server_check_path(path);
        if (r < 0)
                return r;
        if (r > 0 && unlink(path) < 0 && errno != ENOENT)
                return log_error_errno(errno, "Failed to remove the stale socket %s: %m", path);

        s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (s->fd < 0)
                return log_error_errno(errno, "Failed to create a socket: %m");
        if (bind(s->fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                if (errno == EADDRINUSE)
                        return log_error_errno(errno, "Another benchrunnerd took %s meanwhile", path);
                return log_error_errno(errno, "Failed to bind %s: %m", path);
        }
        s->bound = true;
        /* everybody may connect; what they may do is decided per request */
        if (chmod(path, 0666) < 0)
                return log_error_errno(errno, "Failed to make %s accessible: %m", path);
        if (listen(s->fd, SOMAXCONN) < 0)
                return log_error_errno(errno, "Failed to listen on %s: %m", path);
        r = sd_event_add_io(event, &s->io, s->fd, EPOLLIN, on_accept, s);
        if (r < 0)
                return log_error_errno(r, "Failed to watch %s: %m", path);

        *ret = TAKE_PTR(s);
        return 0;
}

Server *server_free(Server *s) {
        if (!s)
                return NULL;
        while (s->conns)
                conn_free(s->conns);
        sd_event_source_disable_unref(s->io);
        if (s->fd >= 0)
                (void) close(s->fd);
        if (s->bound)
                (void) unlink(s->path);
        sd_event_unref(s->event);
        free(s->path);
        free(s);
        return NULL;
}
