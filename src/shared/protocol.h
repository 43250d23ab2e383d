/* protocol.h: the wire protocol between benchrunnerd and its clients, and the
 * one implementation of it that both sides link.
 *
 *   client                                              benchrunnerd
 *     |  {"v":2,"op":"submit","tag":7,"tasks":[SPEC],"follow":true}\n   |
 *     | ----------------------------------------------------------->  |
 *     |  {"v":2,"ok":true,"tag":7,"ids":[42]}\n                        |
 *     | <-----------------------------------------------------------  |
 *     |  {"v":2,"event":"started","task":TASK}\n    (follow only)      |
 *     | <-----------------------------------------------------------  |
 *
 * SOCK_STREAM unix socket; one JSON object per line, '\n'-terminated; every
 * message carries "v".  Requests: ping, submit, stats, list, show, cancel,
 * hold, release, drain, import.
 * Replies come in request order; events (follow) may come between replies,
 * never before the reply that started them.  docs/protocol.md is the full
 * description for people writing clients in other languages.
 *
 * Bump PROTOCOL_VERSION when any of these change: an op, a field's name, type
 * or meaning, an event, a limit that a message valid before would now break
 * (docs/protocol.md keeps the history: 2 added list's before_id and
 * newest_first, and submit's token; 3 list's reasons, name, since_us and
 * until_us, the spec's in_submit_dir, held, retry_of, retry_oom, after and
 * after_ok, the ops hold, release and drain, the reason
 * dependency-failed; 4 TASK's backend, cluster, node and job_id, the op
 * import).
 * Adding a field to replies or events is compatible (clients ignore fields
 * they do not know); adding one to requests is not (the daemon rejects
 * unknown fields).  The error reply {"v":N,"ok":false,"error":"..."} keeps its
 * shape across all versions, so each side can tell the other what is wrong.
 *
 * Nothing here logs or touches a socket (linebuf.h splits the stream into
 * lines). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cpuset.h"
#include "task.h"

/* json-c's object, declared so that users of this header need not json-c's
 * include path.  Owned references are released with proto_json_unref(). */
struct json_object;

#define PROTOCOL_VERSION 4

/* Longest request line a client may send, not counting the '\n'.  Longer is
 * an error and the daemon closes the connection. */
#define PROTO_LINE_MAX        (8u * 1024 * 1024)
/* Longest line clients accept from the daemon.  A task that fit in a request
 * fits in a reply with room to spare; list replies are cut to stay below. */
#define PROTO_REPLY_LINE_MAX  (16u * 1024 * 1024)
#define PROTO_SUBMIT_MAX      1000     /* tasks per submit request */
#define PROTO_TOKEN_MAX       64       /* bytes of a submit token: [A-Za-z0-9._-] */
#define PROTO_IDS_MAX         10000    /* ids per cancel request */
#define PROTO_LIST_LIMIT_MAX  1000     /* tasks per list reply */
#define PROTO_GLOB_MAX        256      /* bytes of list's name pattern */
#define PROTO_TAG_MAX         1024     /* bytes of a serialized tag */
#define PROTO_JSON_DEPTH_MAX  32       /* nesting of objects and arrays */
/* Objects and arrays in one request, counted before json-c builds them
 * (json.c says what each costs).  A submit of PROTO_SUBMIT_MAX tasks holds
 * at most 4002 and a tag a few hundred, so no valid request comes close. */
#define PROTO_JSON_CONTAINERS_MAX 8192
/* A spec's env may not name variables with this prefix: the daemon sets
 * its own (BENCHRUNNER_TASK, ...) and a task must not be able to fake them. */
#define PROTO_ENV_RESERVED_PREFIX "BENCHRUNNER_"
/* Longest time limit: one year.  Keeps deadlines far from overflow. */
#define PROTO_TIME_LIMIT_MAX_US (UINT64_C(366) * 24 * 3600 * 1000000)
/* Bytes of an imported task's cluster, node and job id (a label: UTF-8,
 * no control characters), counting a terminating byte. */
#define PROTO_IMPORT_LABEL_MAX 256
/* What an imported result may say (docs/protocol.md, import): a record of
 * a batch script tells these and no other. */
#define PROTO_IMPORT_REASONS \
        ((1u << TASK_REASON_EXITED) | (1u << TASK_REASON_SIGNALED) | (1u << TASK_REASON_TIME_LIMIT) | \
         (1u << TASK_REASON_OOM) | (1u << TASK_REASON_INTERRUPTED) | (1u << TASK_REASON_CANCELLED))

typedef enum ProtoOp {
        PROTO_OP_PING,
        PROTO_OP_SUBMIT,
        PROTO_OP_STATS,
        PROTO_OP_LIST,
        PROTO_OP_SHOW,
        PROTO_OP_CANCEL,
        PROTO_OP_HOLD,          /* ids: held ones stay queued, but do not start */
        PROTO_OP_RELEASE,       /* ids: held ones may start again */
        PROTO_OP_DRAIN,         /* on: start nothing new (root and the owner) */
        PROTO_OP_IMPORT,        /* tasks that ran elsewhere, with their results (br-import) */
        _PROTO_OP_MAX,
        _PROTO_OP_INVALID = -1,
} ProtoOp;

typedef enum ProtoEvent {
        PROTO_EVENT_QUEUED,
        PROTO_EVENT_STARTED,
        PROTO_EVENT_FINISHED,           /* main command ended */
        PROTO_EVENT_CLEANUP_FINISHED,
        PROTO_EVENT_STATS,
        _PROTO_EVENT_MAX,
        _PROTO_EVENT_INVALID = -1,      /* an event this program does not know */
} ProtoEvent;

const char *proto_op_to_string(ProtoOp op);
ProtoOp proto_op_from_string(const char *s);
const char *proto_event_to_string(ProtoEvent e);
ProtoEvent proto_event_from_string(const char *s);

void proto_json_unref(struct json_object *o);
static inline void proto_json_unrefp(struct json_object **o) {
        proto_json_unref(*o);
}

/* Groups a stats message lists by name, highest first; the tasks of lower
 * groups are summed.  Users choose groups, so without a bound one stats
 * event per change could carry a million of them. */
#define PROTO_STATS_GROUPS_MAX 64

typedef struct ProtoGroupCount {
        int64_t group;
        uint64_t queued;
} ProtoGroupCount;

/* The counters of a stats reply or event.  Compare two with
 * proto_stats_equal(), not memcmp(): the struct has padding. */
typedef struct ProtoStats {
        uint64_t running;        /* main command running */
        uint64_t cleanup;        /* cleanup command running */
        uint64_t queued;
        uint64_t threads_busy;
        uint64_t threads_total;
        uint64_t memory_used;    /* bytes */
        uint64_t memory_total;
        uint64_t held;           /* queued tasks that are held (not in queued) */
        uint64_t waiting;        /* queued tasks waiting for their dependencies (in neither) */
        uint64_t draining;       /* 1: nothing new starts */
        /* Added in version 3 without a bump (fields of replies); a daemon
         * from before sends neither: cpus stays empty, has_groups false. */
        CpuSet cpus;             /* the CPU threads given to benchrunner */
        bool has_groups;
        size_t n_groups;         /* queued_by_group: groups[0..n_groups), highest first */
        ProtoGroupCount groups[PROTO_STATS_GROUPS_MAX];
        uint64_t queued_other_groups;  /* queued in groups below the listed ones */
} ProtoStats;

bool proto_stats_equal(const ProtoStats *a, const ProtoStats *b);

/* One line of a cancel reply; error NULL means cancelled. */
typedef struct ProtoCancelResult {
        int64_t id;
        const char *error;
} ProtoCancelResult;

/* A request, as the daemon gets it from proto_parse_request() or as a client
 * fills it in (on the stack, borrowing its pointers) for
 * proto_request_format(). */
typedef struct ProtoRequest {
        ProtoOp op;
        struct json_object *tag;   /* echoed in the reply; NULL for none */
        bool follow;               /* submit, stats */
        char *token;               /* submit, import: the client's name for this request, or NULL: a
                                    * request sent again with the same token (after a lost
                                    * connection) is stored once and answered with the same ids */

        /* submit: specs only.  uid and gid are 0 here whatever the message
         * says; the daemon sets them from the socket's peer credentials.
         * import: the specs with their results (main, cleanup), cluster,
         * node and job_id, state finished and backend "slurm-export";
         * checked as far as a parser can (the clock is the daemon's). */
        Task **tasks;
        size_t n_tasks;

        int64_t *ids;              /* cancel, hold, release */
        size_t n_ids;

        int64_t id;                /* show */
        bool on;                   /* drain */

        /* list */
        unsigned state_mask;       /* 1u << TaskState for each state wanted; 0 = all */
        bool has_uid;
        uid_t uid;
        unsigned limit;            /* parsed: 1..PROTO_LIST_LIMIT_MAX; formatted: 0 = omit */
        int64_t after_id;          /* only tasks with a larger id; 0 = from the first */
        int64_t before_id;         /* only tasks with a smaller id; 0 = no bound */
        bool newest_first;         /* descending id order (page on with before_id) */
        unsigned reason_mask;      /* 1u << TaskReason of the main command for each wanted; 0 = any */
        char *name_glob;           /* only names matching this GLOB (sqlite's, case-sensitive);
                                    * NULL = any.  A task without a name matches as "task-ID" */
        uint64_t since_usec;       /* only tasks queued at or after; 0 = no bound */
        uint64_t until_usec;       /* only tasks queued before; 0 = no bound */
        char *series;              /* only this series; NULL = any */
        int64_t environment_id;    /* only tasks that started in this environment; 0 = any */
} ProtoRequest;

/* Frees a request that proto_parse_request() returned (with its tasks and
 * tag); not for a client's borrowed one. */
ProtoRequest *proto_request_free(ProtoRequest *req);
static inline void proto_request_freep(ProtoRequest **req) {
        if (*req)
                proto_request_free(*req);
}

/* Daemon side: parses and checks one request line (without its '\n').
 * Checks syntax, types, version and every range that does not depend on the
 * daemon's configuration; the daemon still checks memory and threads against
 * what it has and fills in uid and gid.
 *
 * Returns 0 and *ret, or a negative errno and *ret_error, one line for the
 * client:  -E2BIG (line too long: close the connection after replying),
 * -EBADMSG (not a JSON object), -EPROTONOSUPPORT (other version),
 * -EINVAL (bad op or field), -ENOMEM (then *ret_error may be NULL).
 * *ret_tag (may be NULL) receives the request's tag as a new reference,
 * whether parsing succeeded or not, so that even an error reply echoes it. */
int proto_parse_request(const char *line, size_t len, ProtoRequest **ret,
                        struct json_object **ret_tag, char **ret_error);

/* Checks a task spec as the daemon will on submit (without the daemon's
 * capacity): argv, cwd, env, name, limits and ranges.  Error messages name
 * the JSON field, as "argv[0]: must be an absolute path, got \"ls\"". */
int proto_spec_validate(const Task *t, char **ret_error);

/* Client side: the request as one '\n'-terminated line (malloc'd).
 * -E2BIG if it is longer than PROTO_LINE_MAX or has too many tasks or ids,
 * -EINVAL for an op it cannot format (no tasks, no ids). */
int proto_request_format(const ProtoRequest *req, char **ret);

/* Client side: a submit request of as many of tasks[0..n) as fit in one
 * line and PROTO_SUBMIT_MAX; *ret_n says how many.  Call again with the
 * rest.  -E2BIG if tasks[0] alone does not fit. */
int proto_submit_format_batch(struct json_object *tag, Task * const *tasks, size_t n,
                              bool follow, const char *token, char **ret, size_t *ret_n);

/* Whether viewer may see the values of t's environment: root and the task's
 * owner only.  Others see the names ("env_hidden"); values can be secrets
 * (br-run -e TOKEN copies the caller's). */
bool proto_may_see_env(uid_t viewer, const Task *t);

/* A task's spec (the fields a client submits) and a task in full (what the
 * daemon reports).  NULL on ENOMEM.  proto_task_to_json() looks up the user
 * name of t->uid (getpwuid_r); with hide_env (or t->env_hidden) it gives
 * env's names only, and "env_hidden": true. */
struct json_object *proto_spec_to_json(const Task *t);
struct json_object *proto_task_to_json(const Task *t, bool hide_env);
/* Reads a spec as a client finds it in a batch file: field names and types
 * are checked (unknown fields are typos), argv must be there; the rest is
 * for proto_spec_validate() once the client has resolved argv[0] and filled
 * in cwd.  -EINVAL with *ret_error (may be NULL). */
int proto_spec_from_json(struct json_object *o, Task **ret, char **ret_error);
/* Reads a TASK object as the daemon sends it; fields it does not know are
 * ignored.  -EBADMSG with *ret_error (may be NULL) on a malformed one. */
int proto_task_from_json(struct json_object *o, Task **ret, char **ret_error);

/* Daemon side: replies and events as malloc'd '\n'-terminated lines; NULL on
 * ENOMEM.  tag is borrowed and may be NULL. */
char *proto_reply_ok(struct json_object *tag);
char *proto_reply_error(struct json_object *tag, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
char *proto_reply_ping(struct json_object *tag);
char *proto_reply_submit(struct json_object *tag, const int64_t *ids, size_t n);
char *proto_reply_stats(struct json_object *tag, const ProtoStats *s);
/* Takes tasks in the order listed (ascending ids, or descending for
 * newest_first), as many as stay below PROTO_REPLY_LINE_MAX (at least one);
 * *ret_n (may be NULL) says how many.  "more" is set when the caller says so
 * or when the reply was cut. */
/* For the connection of viewer: env values only as proto_may_see_env()
 * allows. */
char *proto_reply_list(struct json_object *tag, Task * const *tasks, size_t n,
                       uid_t viewer, bool more, size_t *ret_n);
char *proto_reply_show(struct json_object *tag, const Task *t, uid_t viewer);
char *proto_reply_cancel(struct json_object *tag, const ProtoCancelResult *results, size_t n);
/* A task event (not PROTO_EVENT_STATS) and the stats event. */
char *proto_event_task(ProtoEvent e, const Task *t);
char *proto_event_stats(const ProtoStats *s);

/* Client side: one line from the daemon, a reply or an event. */
typedef struct ProtoMessage {
        bool is_event;
        ProtoEvent event;          /* is_event; _PROTO_EVENT_INVALID for one we do not know: skip it */
        struct json_object *tag;   /* replies */
        bool ok;                   /* replies */
        char *error;               /* !ok */

        char *version;             /* ping: the daemon's package version */
        unsigned protocol;         /* ping */
        int64_t *ids;              /* submit */
        size_t n_ids;
        bool has_stats;            /* stats reply and event */
        ProtoStats stats;
        Task *task;                /* show, task events */
        Task **tasks;              /* list */
        size_t n_tasks;
        bool more;                 /* list: ask again with after_id = last id
                                    * (before_id = last id for newest_first) */
        ProtoCancelResult *results;  /* cancel; error strings owned */
        size_t n_results;
} ProtoMessage;

ProtoMessage *proto_message_free(ProtoMessage *m);
static inline void proto_message_freep(ProtoMessage **m) {
        if (*m)
                proto_message_free(*m);
}

/* Parses one line from the daemon (without its '\n').  An error reply is a
 * success here (m->ok false, m->error set), also from a daemon of another
 * protocol version, so its words reach the user.  -EBADMSG,
 * -EPROTONOSUPPORT (other version, not an error reply), -E2BIG, -ENOMEM,
 * with *ret_error (may be NULL). */
int proto_parse_message(const char *line, size_t len, ProtoMessage **ret, char **ret_error);
