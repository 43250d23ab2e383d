/* server.c: the daemon's unix socket.  Each connection (Conn) is a client
 * with a line buffer for requests, a queue of outgoing lines, the identity the
 * kernel vouches for (SO_PEERCRED, SO_PEERGROUPS) and what it follows. */
#include "config.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "linebuf.h"
#include "idmap.h"
#include "log.h"
#include "manager.h"
#include "server.h"
#include "util.h"

/* Limits on what a client may cost (the protocol's limits on what it may
 * say are in protocol.h).  Root is held to none of the per-uid ones.
 *
 * Connections: at most UID_CONNS_MAX per uid, and in all what
 * RLIMIT_NOFILE leaves after FD_RESERVE descriptors (capped at CONNS_MAX):
 * the database, the bus, the history thread and the output files opened for
 * each task that starts must never be the ones that run out.  Whoever is
 * over a cap is accepted, told so in one line and closed at once. */
#define CONNS_MAX 16384u
#define UID_CONNS_MAX 64u
#define FD_RESERVE 1024u
/* accept4() out of descriptors (or memory) leaves the connection in the
 * backlog and the socket readable: stop listening this long rather than
 * spin. */
#define ACCEPT_PAUSE_USEC (100 * USEC_PER_MSEC)
#define ACCEPT_BATCH 64
/* Input: the longest request of someone who may not submit (a cancel of
 * PROTO_IDS_MAX ids fits easily); longer ones are skipped as they arrive.
 * Unfinished input held for one uid's connections, together: a connection
 * that would go past it is dropped. */
#define SMALL_REQUEST_MAX (1024u * 1024)
#define UID_IN_MAX (16u * 1024 * 1024)
#define UID_IN_MAX_SUBMIT (32u * 1024 * 1024)
/* Output: no further request of a client is handled while more than
 * CONN_OUT_PAUSE of its output waits, so it has at most one request's
 * replies queued (and one more request read); events queued behind them past CONN_EVENTS_MAX drop it,
 * and so does any line that takes its uid's queued output past UID_OUT_MAX. */
#define CONN_OUT_PAUSE (64u * 1024)
#define CONN_EVENTS_MAX (4u * 1024 * 1024)
#define UID_OUT_MAX (64u * 1024 * 1024)
/* An empty output buffer larger than this is given back. */
#define CONN_OUT_KEEP (64u * 1024)
#define CONN_GROUPS_MAX 1024

/* What one uid's connections hold, for the per-uid caps. */
typedef struct UidUse {
        uid_t uid;
        unsigned n_conns;
        size_t in_bytes;
        size_t out_bytes;
        struct UidUse *next;
} UidUse;

typedef enum {
        LINE_REPLY,     /* a reply, or events that are part of it (a submit's catch-up) */
        LINE_EVENT,     /* an event the client did not ask for just now */
} LineKind;

typedef struct Conn {
        Server *server;
        int fd;
        sd_event_source *io;
        LineBuf in;
        char *out;
        size_t out_len, out_off, out_alloc;
        uint64_t queued, sent;    /* bytes ever queued and sent */
        uint64_t reply_end;       /* queued when the last reply was */
        size_t in_counted, out_counted;   /* what use holds for us */
        UidUse *use;
        uid_t uid;
        gid_t gid;
        gid_t *groups;
        size_t n_groups;
        bool may_submit;
        bool follow_stats;
        IdMap follow;             /* task ids this client follows (a batch: thousands) */
        bool closing;             /* close once the output is written */
        bool dead;                /* dropped: freed by the reaper */
        struct Conn *prev, *next;
} Conn;

struct Server {
        sd_event *event;
        Manager *manager;
        int fd;
        char *path;
        bool bound;               /* path is ours to remove */
        sd_event_source *io;
        sd_event_source *accept_timer;
        sd_event_source *reaper;
        Conn *conns;
        unsigned n_conns, conns_max;
        UidUse *uses;
        ProtoStats last_stats;
        bool have_last_stats;
};

static UidUse *uid_use_get(Server *s, uid_t uid) {
        UidUse *u;

        for (u = s->uses; u; u = u->next)
                if (u->uid == uid)
                        return u;
        u = calloc(1, sizeof(UidUse));
        if (!u)
                return NULL;
        u->uid = uid;
        u->next = s->uses;
        s->uses = u;
        return u;
}

static void uid_use_put(Server *s, UidUse *u) {
        if (!u || --u->n_conns > 0)
                return;
        for (UidUse **p = &s->uses; *p; p = &(*p)->next)
                if (*p == u) {
                        *p = u->next;
                        free(u);
                        return;
                }
}

/* Tells use what c holds now. */
static void conn_account(Conn *c) {
        size_t in = linebuf_pending(&c->in), out = c->out_len - c->out_off;

        c->use->in_bytes = c->use->in_bytes - c->in_counted + in;
        c->use->out_bytes = c->use->out_bytes - c->out_counted + out;
        c->in_counted = in;
        c->out_counted = out;
}

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
        sd_event_source_disable_unref(c->io);
        if (c->fd >= 0)
                (void) close(c->fd);
        linebuf_done(&c->in);
        free(c->out);
        if (c->use) {
                c->out_len = c->out_off = 0;
                conn_account(c);
                if (!c->dead)
                        s->n_conns--;
                uid_use_put(s, c->use);
        }
        free(c->groups);
        idmap_done(&c->follow);
        free(c);
}

/* One line to a client we are about to close or refuse, if its socket
 * takes it now; nothing waits for it. */
static void send_last_words(int fd, char *line) {
        if (line)
                (void) send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT);
        free(line);
}

/* Drops c now: its descriptor, its buffers and its place under the caps
 * go at once, whatever the peer does; the struct itself goes on the next
 * turn of the loop, as callers up the stack may still hold it.  line (may
 * be NULL, taken) is sent first if the socket takes it. */
static void conn_kill(Conn *c, char *line) {
        if (c->dead) {
                free(line);
                return;
        }
        if (c->fd >= 0)
                send_last_words(c->fd, line);
        else
                free(line);
        /* disabled first: sd-event takes it out of epoll while the
         * descriptor is still ours */
        (void) sd_event_source_set_enabled(c->io, SD_EVENT_OFF);
        if (c->fd >= 0)
                (void) close(c->fd);
        c->fd = -1;
        linebuf_done(&c->in);
        free(c->out);
        c->out = NULL;
        c->out_len = c->out_off = c->out_alloc = 0;
        conn_account(c);
        c->dead = true;
        c->server->n_conns--;
        (void) sd_event_source_set_enabled(c->server->reaper, SD_EVENT_ONESHOT);
}

static int on_reap(sd_event_source *source, void *userdata) {
        Server *s = userdata;
        Conn *next;

        for (Conn *c = s->conns; c; c = next) {
                next = c->next;
                if (c->dead)
                        conn_free(c);
        }
        return 0;
}

static bool conn_paused(const Conn *c) {
        return c->out_len - c->out_off > CONN_OUT_PAUSE;
}

/* How much may be read now: as much as makes the longest line this client
 * may send and one byte more (which proves a line too long).  While
 * requests wait for the client to read its replies, that is one more
 * request, not any number: a client may send its next request before it
 * reads the last one's events (br-run does), and must not be left blocked
 * in its write. */
static size_t conn_line_room(const Conn *c) {
        size_t pending = linebuf_pending(&c->in);

        return pending < c->in.max + 1 ? c->in.max + 1 - pending : 0;
}

/* The same within its uid's share of unfinished input; 0 when the share
 * is used up. */
static size_t conn_read_room(const Conn *c) {
        size_t room = conn_line_room(c), uid_max;

        if (c->uid == 0)
                return room;
        uid_max = c->may_submit ? UID_IN_MAX_SUBMIT : UID_IN_MAX;
        if (c->use->in_bytes >= uid_max)
                return 0;
        return room < uid_max - c->use->in_bytes ? room : uid_max - c->use->in_bytes;
}

static int conn_update_events(Conn *c) {
        uint32_t ev = c->closing || conn_line_room(c) == 0 ? 0 : EPOLLIN;

        if (c->dead)
                return 0;
        if (c->out_len > c->out_off)
                ev |= EPOLLOUT;
        return sd_event_source_set_io_events(c->io, ev);
}

/* Queues one line (takes it), or drops the client when it has fallen too
 * far behind. */
static void conn_send(Conn *c, char *line, LineKind kind) {
        uint64_t behind;
        size_t n;

        if (!line) {
                log_oom();
                return;
        }
        if (c->dead) {
                free(line);
                return;
        }
        n = strlen(line);
        if (c->out_off > 0 && c->out_off == c->out_len)
                c->out_off = c->out_len = 0;
        /* events queued since the last reply, not yet sent */
        behind = c->queued - (c->sent > c->reply_end ? c->sent : c->reply_end);
        if (kind == LINE_EVENT && behind + n > CONN_EVENTS_MAX) {
                log_warning("Client of uid " UID_FMT " does not read its events: dropping it", c->uid);
                free(line);
                conn_kill(c, NULL);
                return;
        }
        if (c->uid != 0 && c->use->out_bytes + n > UID_OUT_MAX) {
                log_warning("Clients of uid " UID_FMT " leave %zu bytes unread: dropping one", c->uid,
                            c->use->out_bytes);
                free(line);
                conn_kill(c, NULL);
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
        c->queued += n;
        if (kind == LINE_REPLY)
                c->reply_end = c->queued;
        free(line);
        conn_account(c);
        (void) conn_update_events(c);
}

static bool conn_follows(Conn *c, int64_t id) {
        return idmap_get(&c->follow, id) != NULL;
}

static int conn_follow(Conn *c, int64_t id) {
        return idmap_put(&c->follow, id, c);
}

static void conn_unfollow(Conn *c, int64_t id) {
        (void) idmap_remove(&c->follow, id);
}

/* Events a client that follows a task from now on has missed. */
static void conn_catch_up(Conn *c, const Task *t) {
        conn_send(c, proto_event_task(PROTO_EVENT_QUEUED, t), LINE_REPLY);
        if (t->state == TASK_QUEUED)
                return;
        if (t->main.started_usec || t->main.reason != TASK_REASON_NONE)
                conn_send(c, proto_event_task(PROTO_EVENT_STARTED, t), LINE_REPLY);
        if (t->main.reason != TASK_REASON_NONE)
                conn_send(c, proto_event_task(PROTO_EVENT_FINISHED, t), LINE_REPLY);
        if (t->state == TASK_FINISHED && t->cleanup.reason != TASK_REASON_NONE)
                conn_send(c, proto_event_task(PROTO_EVENT_CLEANUP_FINISHED, t), LINE_REPLY);
}

/* submit, and import: finished tasks of the connection's user from a
 * cluster (br-import). Who may submit may import. */
static void handle_submit(Conn *c, ProtoRequest *req, bool import) {
        Server *s = c->server;
        _cleanup_(freep) int64_t *ids = NULL;
        _cleanup_(freep) char *error = NULL;
        int r;

        if (!manager_may_submit(s->manager, c->uid, c->groups, c->n_groups)) {
                conn_send(c, proto_reply_error(req->tag,
                                                 "permission denied: only root, the user who started benchrunner "
                                                 "and members of its group may %s tasks",
                                                 import ? "import" : "submit"), LINE_REPLY);
                return;
        }
        ids = calloc(req->n_tasks, sizeof(int64_t));
        if (!ids) {
                conn_send(c, proto_reply_error(req->tag, "out of memory"), LINE_REPLY);
                return;
        }
        for (size_t i = 0; req->token && i < req->n_tasks; i++)
                if (!(req->tasks[i]->submit_token = strdup(req->token))) {
                        conn_send(c, proto_reply_error(req->tag, "out of memory"), LINE_REPLY);
                        return;
                }
        if (import)
                r = manager_import(s->manager, c->uid, c->gid, req->tasks, req->n_tasks, ids, &error);
        else
                r = manager_submit(s->manager, c->uid, c->gid, req->tasks, req->n_tasks, ids, &error);
        if (r < 0) {
                conn_send(c, proto_reply_error(req->tag, "%s", error ? error : strerror(-r)), LINE_REPLY);
                return;
        }
        /* the manager owns the tasks now */
        for (size_t i = 0; i < req->n_tasks; i++)
                req->tasks[i] = NULL;

        conn_send(c, proto_reply_submit(req->tag, ids, req->n_tasks), LINE_REPLY);
        if (import || !req->follow)
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
                conn_send(c, proto_reply_error(req->tag, "no task %" PRId64, req->id), LINE_REPLY);
                return;
        }
        if (r < 0) {
                conn_send(c, proto_reply_error(req->tag, "could not read task %" PRId64 ": %s", req->id,
                                                 strerror(-r)), LINE_REPLY);
                return;
        }
        conn_send(c, proto_reply_show(req->tag, t, c->uid), LINE_REPLY);
        if (owned)
                task_free(t);
}

static void handle_list(Conn *c, ProtoRequest *req) {
        Task **tasks = NULL;
        size_t n = 0;
        int r;

        r = manager_list_tasks(c->server->manager, req, &tasks, &n);
        if (r < 0) {
                conn_send(c, proto_reply_error(req->tag, "could not list tasks: %s", strerror(-r)), LINE_REPLY);
                return;
        }
        size_t limit = req->limit ? req->limit : PROTO_LIST_LIMIT_MAX;
        conn_send(c, proto_reply_list(req->tag, tasks, n, c->uid, n >= limit, NULL), LINE_REPLY);
        for (size_t i = 0; i < n; i++)
                task_free(tasks[i]);
        free(tasks);
}

/* cancel, hold and release: the manager's answer for each id, in one
 * reply. */
static int ids_op(Manager *m, ProtoOp op, uid_t uid, int64_t id, char **ret_error) {
        switch (op) {
        case PROTO_OP_HOLD:
                return manager_hold(m, uid, id, true, ret_error);
        case PROTO_OP_RELEASE:
                return manager_hold(m, uid, id, false, ret_error);
        default:
                return manager_cancel(m, uid, id, ret_error);
        }
}

static void handle_ids(Conn *c, ProtoRequest *req) {
        _cleanup_(freep) ProtoCancelResult *res = calloc(req->n_ids, sizeof(ProtoCancelResult));
        char **errors = calloc(req->n_ids, sizeof(char *));

        if (!res || !errors) {
                free(errors);
                conn_send(c, proto_reply_error(req->tag, "out of memory"), LINE_REPLY);
                return;
        }
        for (size_t i = 0; i < req->n_ids; i++) {
                res[i].id = req->ids[i];
                if (ids_op(c->server->manager, req->op, c->uid, req->ids[i], &errors[i]) < 0 && !errors[i])
                        errors[i] = strdup(req->op == PROTO_OP_HOLD      ? "could not hold"
                                           : req->op == PROTO_OP_RELEASE ? "could not release"
                                                                         : "could not cancel");
                res[i].error = errors[i];
        }
        conn_send(c, proto_reply_cancel(req->tag, res, req->n_ids), LINE_REPLY);
        for (size_t i = 0; i < req->n_ids; i++)
                free(errors[i]);
        free(errors);
}

static void handle_drain(Conn *c, ProtoRequest *req) {
        _cleanup_(freep) char *error = NULL;
        ProtoStats st;

        if (manager_drain(c->server->manager, c->uid, req->on, &error) < 0) {
                conn_send(c, proto_reply_error(req->tag, "%s", error ? error : "could not drain"), LINE_REPLY);
                return;
        }
        manager_stats(c->server->manager, &st);
        conn_send(c, proto_reply_stats(req->tag, &st), LINE_REPLY);
}

static void handle_line(Conn *c, const char *line, size_t len) {
        _cleanup_(proto_request_freep) ProtoRequest *req = NULL;
        _cleanup_(proto_json_unrefp) struct json_object *tag = NULL;
        _cleanup_(freep) char *error = NULL;
        ProtoStats st;
        int r;

        r = proto_parse_request(line, len, &req, &tag, &error);
        if (r < 0) {
                conn_send(c, proto_reply_error(tag, "%s", error ? error : strerror(-r)), LINE_REPLY);
                if (r == -E2BIG)
                        c->closing = true;
                return;
        }

        switch (req->op) {
        case PROTO_OP_PING:
                conn_send(c, proto_reply_ping(req->tag), LINE_REPLY);
                break;
        case PROTO_OP_SUBMIT:
                handle_submit(c, req, false);
                break;
        case PROTO_OP_STATS:
                manager_stats(c->server->manager, &st);
                conn_send(c, proto_reply_stats(req->tag, &st), LINE_REPLY);
                c->follow_stats = req->follow;
                break;
        case PROTO_OP_LIST:
                handle_list(c, req);
                break;
        case PROTO_OP_SHOW:
                handle_show(c, req);
                break;
        case PROTO_OP_CANCEL:
        case PROTO_OP_HOLD:
        case PROTO_OP_RELEASE:
                handle_ids(c, req);
                break;
        case PROTO_OP_DRAIN:
                handle_drain(c, req);
                break;
        case PROTO_OP_IMPORT:
                handle_submit(c, req, true);
                break;
        default:
                conn_send(c, proto_reply_error(req->tag, "unknown request"), LINE_REPLY);
        }
}

/* Handles the lines already received, as long as the client reads its
 * replies. */
static void conn_process(Conn *c) {
        while (!c->dead && !c->closing && !conn_paused(c)) {
                char *line;
                size_t len;
                int r = linebuf_pop(&c->in, &line, &len);

                if (r == 0)
                        break;
                if (r < 0 && !c->may_submit) {
                        /* Only a submit needs long lines, and json-c builds
                         * the whole tree before any check: whoever may not
                         * submit gets neither a big parse nor a big buffer. */
                        conn_send(c, proto_reply_error(NULL, "request refused: only those who may submit tasks "
                                                               "may send requests longer than %u bytes",
                                                         SMALL_REQUEST_MAX), LINE_REPLY);
                        linebuf_skip_line(&c->in);
                        continue;
                }
                if (r < 0) {
                        conn_send(c, proto_reply_error(NULL, "request longer than %u bytes", PROTO_LINE_MAX),
                                  LINE_REPLY);
                        c->closing = true;
                        break;
                }
                /* an empty line too: one reply for every line, so that a
                 * client that counts replies stays in step */
                handle_line(c, line, len);
        }
        if (c->dead)
                return;
        if (c->closing)
                linebuf_done(&c->in);
        else
                linebuf_release(&c->in);
        conn_account(c);
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
                        c->sent += (size_t) n;
                }
                if (c->out_off == c->out_len) {
                        c->out_off = c->out_len = 0;
                        if (c->out_alloc > CONN_OUT_KEEP) {
                                free(c->out);
                                c->out = NULL;
                                c->out_alloc = 0;
                        }
                }
                conn_account(c);
                /* requests that waited for the client to read */
                conn_process(c);
        }
        if (c->dead)
                return 0;
        if (c->closing && c->out_off >= c->out_len) {
                conn_free(c);
                return 0;
        }
        if ((revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !c->closing && conn_line_room(c) > 0) {
                size_t room = conn_read_room(c);
                ssize_t n;

                if (room == 0) {
                        log_warning("Clients of uid " UID_FMT " hold %zu bytes of unfinished requests: dropping one",
                                    c->uid, c->use->in_bytes);
                        conn_kill(c, proto_reply_error(NULL, "dropped: your connections hold too many unfinished "
                                                               "requests"));
                        return 0;
                }
                n = linebuf_read_max(&c->in, fd, room);
                if (n == 0 || (n < 0 && n != -EAGAIN && n != -EINTR)) {
                        conn_free(c);
                        return 0;
                }
                conn_account(c);
                conn_process(c);
                if (c->dead)
                        return 0;
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

static int on_accept_resume(sd_event_source *source, uint64_t usec, void *userdata) {
        Server *s = userdata;

        return sd_event_source_set_enabled(s->io, SD_EVENT_ON);
}

/* Out of descriptors or memory: the connection stays in the backlog and the
 * socket stays readable, so listening stops for a moment instead. */
static void accept_pause(Server *s, int error) {
        int r;

        log_warning_errno(error, "Failed to accept a connection, pausing %" PRIu64 " ms: %m",
                          ACCEPT_PAUSE_USEC / USEC_PER_MSEC);
        (void) sd_event_source_set_enabled(s->io, SD_EVENT_OFF);
        if (s->accept_timer) {
                r = sd_event_source_set_time_relative(s->accept_timer, ACCEPT_PAUSE_USEC);
                if (r >= 0)
                        r = sd_event_source_set_enabled(s->accept_timer, SD_EVENT_ONESHOT);
        } else
                r = sd_event_add_time_relative(s->event, &s->accept_timer, CLOCK_MONOTONIC, ACCEPT_PAUSE_USEC, 0,
                                               on_accept_resume, s);
        if (r < 0) {
                log_warning_errno(r, "Failed to arm the accept timer, listening again at once: %m");
                (void) sd_event_source_set_enabled(s->io, SD_EVENT_ON);
        }
}

static int conn_new(Server *s, int cfd) {
        Conn *c;
        UidUse *use;
        int r;

        c = calloc(1, sizeof(Conn));
        if (!c) {
                (void) close(cfd);
                return log_oom();
        }
        c->server = s;
        c->fd = cfd;
        c->next = s->conns;
        if (s->conns)
                s->conns->prev = c;
        s->conns = c;
        linebuf_init(&c->in, SMALL_REQUEST_MAX);

        r = conn_credentials(c);
        if (r < 0) {
                log_warning_errno(r, "Failed to read a client's credentials: %m");
                conn_free(c);
                return 0;
        }
        if (s->n_conns >= s->conns_max) {
                log_warning("Too many clients (%u): refusing one of uid " UID_FMT, s->n_conns, c->uid);
                send_last_words(cfd, proto_reply_error(NULL, "too many connections to benchrunnerd (%u)",
                                                       s->conns_max));
                conn_free(c);
                return 0;
        }
        use = uid_use_get(s, c->uid);
        if (!use) {
                conn_free(c);
                return log_oom();
        }
        if (c->uid != 0 && use->n_conns >= UID_CONNS_MAX) {
                /* not logged: the user who does this would fill the journal */
                send_last_words(cfd, proto_reply_error(NULL, "too many connections of uid " UID_FMT " (at most %u)",
                                                       c->uid, UID_CONNS_MAX));
                conn_free(c);
                return 0;
        }
        use->n_conns++;
        c->use = use;
        s->n_conns++;
        c->may_submit = manager_may_submit(s->manager, c->uid, c->groups, c->n_groups);
        if (c->may_submit)
                linebuf_init(&c->in, PROTO_LINE_MAX);

        r = sd_event_add_io(s->event, &c->io, cfd, EPOLLIN, on_conn_io, c);
        if (r < 0) {
                log_warning_errno(r, "Failed to watch a client: %m");
                conn_free(c);
        }
        return 0;
}

static int on_accept(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        Server *s = userdata;

        for (unsigned i = 0; i < ACCEPT_BATCH; i++) {
                int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

                if (cfd < 0) {
                        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                                accept_pause(s, errno);
                        else if (errno == ECONNABORTED || errno == EPROTO)
                                continue;
                        else if (errno != EAGAIN && errno != EINTR)
                                log_warning_errno(errno, "Failed to accept a connection: %m");
                        return 0;
                }
                (void) conn_new(s, cfd);
        }
        return 0;
}

static void task_event(Server *s, ProtoEvent e, const Task *t) {
        Conn *next;

        for (Conn *c = s->conns; c; c = next) {
                next = c->next;
                if (c->closing || c->dead || !conn_follows(c, t->id))
                        continue;
                conn_send(c, proto_event_task(e, t), LINE_EVENT);
                if (t->state == TASK_FINISHED) {
                        conn_unfollow(c, t->id);
                        /* its next attempt (an oom with a ladder left, an
                         * interruption) is the same task to the client: it
                         * hears of it from its queued event on, which the
                         * manager announces right after this end */
                        if (t->next_attempt > 0 && conn_follow(c, t->next_attempt) < 0)
                                log_oom();
                }
        }
}

static void stats_changed(Server *s, const ProtoStats *st) {
        if (s->have_last_stats && proto_stats_equal(st, &s->last_stats))
                return;
        s->last_stats = *st;
        s->have_last_stats = true;
        for (Conn *c = s->conns; c; c = c->next)
                if (c->follow_stats && !c->closing && !c->dead)
                        conn_send(c, proto_event_stats(st), LINE_EVENT);
}

void server_announce(void *userdata, ProtoEvent e, const Task *t, const ProtoStats *stats) {
        Server *s = userdata;

        if (t)
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

/* What RLIMIT_NOFILE (raised at start, see benchrunnerd.c) leaves for
 * clients after FD_RESERVE, or half of it when it is small. */
static unsigned conns_max(void) {
        struct rlimit rl;
        rlim_t n;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
                return CONNS_MAX;
        n = rl.rlim_cur > 2 * FD_RESERVE ? rl.rlim_cur - FD_RESERVE : rl.rlim_cur / 2;
        return n < CONNS_MAX ? (unsigned) n : CONNS_MAX;
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
        r = sd_event_add_defer(event, &s->reaper, on_reap, s);
        if (r >= 0)
                r = sd_event_source_set_enabled(s->reaper, SD_EVENT_OFF);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the event loop: %m");
        s->conns_max = conns_max();
        log_debug("Accepting at most %u clients, %u per user but root", s->conns_max, UID_CONNS_MAX);

        *ret = TAKE_PTR(s);
        return 0;
}

Server *server_free(Server *s) {
        if (!s)
                return NULL;
        while (s->conns)
                conn_free(s->conns);
        sd_event_source_disable_unref(s->io);
        sd_event_source_disable_unref(s->accept_timer);
        sd_event_source_disable_unref(s->reaper);
        if (s->fd >= 0)
                (void) close(s->fd);
        if (s->bound)
                (void) unlink(s->path);
        sd_event_unref(s->event);
        free(s->path);
        free(s);
        return NULL;
}
