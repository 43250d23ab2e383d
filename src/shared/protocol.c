/* protocol.c: encoding and decoding of the JSON lines protocol (protocol.h,
 * docs/protocol.md), with the checks on everything a client may send.  The
 * JSON itself, with errors that name the field, is json.c's; strings are
 * byte strings, and json.c says what that takes. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "json.h"
#include "protocol.h"
#include "util.h"


static const char * const op_names[_PROTO_OP_MAX] = {
        [PROTO_OP_PING] = "ping",
        [PROTO_OP_SUBMIT] = "submit",
        [PROTO_OP_STATS] = "stats",
        [PROTO_OP_LIST] = "list",
        [PROTO_OP_SHOW] = "show",
        [PROTO_OP_CANCEL] = "cancel",
        [PROTO_OP_HOLD] = "hold",
        [PROTO_OP_RELEASE] = "release",
        [PROTO_OP_DRAIN] = "drain",
        [PROTO_OP_IMPORT] = "import",
};

static const char * const event_names[_PROTO_EVENT_MAX] = {
        [PROTO_EVENT_QUEUED] = "queued",
        [PROTO_EVENT_STARTED] = "started",
        [PROTO_EVENT_FINISHED] = "finished",
        [PROTO_EVENT_CLEANUP_FINISHED] = "cleanup-finished",
        [PROTO_EVENT_STATS] = "stats",
};

/* The fields each request may carry besides "v", "op" and "tag". */
static const char * const op_fields[_PROTO_OP_MAX][14] = {
        [PROTO_OP_PING] = { NULL },
        [PROTO_OP_SUBMIT] = { "tasks", "token", "follow", NULL },
        [PROTO_OP_STATS] = { "follow", NULL },
        [PROTO_OP_LIST] = { "states", "uid", "limit", "after_id", "before_id", "newest_first", "reasons", "name",
                            "since_us", "until_us", "series", "environment_id", NULL },
        [PROTO_OP_SHOW] = { "id", NULL },
        [PROTO_OP_CANCEL] = { "ids", NULL },
        [PROTO_OP_HOLD] = { "ids", NULL },
        [PROTO_OP_RELEASE] = { "ids", NULL },
        [PROTO_OP_DRAIN] = { "on", NULL },
        [PROTO_OP_IMPORT] = { "tasks", "token", NULL },
};

static const char * const spec_fields[] = {
        "argv", "cwd", "env", "name", "threads", "memory", "time_limit_us",
        "cleanup", "cleanup_time_limit_us", "group", "priority", "whole_cores",
        "requeue", "in_submit_dir", "held", "retry_of", "retry_oom", "after", "after_ok", "series", NULL,
};

DEFINE_STRING_TABLE_LOOKUP(proto_op, ProtoOp, op_names)

DEFINE_STRING_TABLE_LOOKUP(proto_event, ProtoEvent, event_names)

void proto_json_unref(struct json_object *o) {
        (void) json_object_put(o);
}

/* ---- messages ---- */

static int add_tag(json_object *o, json_object *tag) {
        return tag ? json_add(o, "tag", json_object_get(tag)) : 0;
}

static json_object *message_new(void) {
        _cleanup_(json_putp) json_object *o = json_object_new_object();

        if (!o || json_add_i64(o, "v", PROTOCOL_VERSION) < 0)
                return NULL;
        return TAKE_PTR(o);
}

static json_object *reply_new(json_object *tag, bool ok) {
        _cleanup_(json_putp) json_object *o = message_new();

        if (!o || json_add_bool(o, "ok", ok) < 0 || add_tag(o, tag) < 0)
                return NULL;
        return TAKE_PTR(o);
}

/* ---- task specs ---- */

static bool env_name_char(char c, bool first) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
               (!first && c >= '0' && c <= '9');
}

/* systemd's D-Bus API carries UTF-8 only: a task with other bytes could
 * never start, so it is refused here (docs/protocol.md). */
/* The errors of a task spec and of a reply are in _() (json.c says why);
 * a request's own, which only the daemon says, are not. */
static int validate_utf8(const char *s, const char *what, char **e) {
        size_t off;

        if (!s || utf8_valid(s, &off))
                return 0;
        return json_fail(e, -EINVAL, _("%s: not valid UTF-8 (byte %zu); systemd takes UTF-8 only"), what, off);
}

static int validate_argv(char * const *argv, const char *where, const char *field,
                         size_t *ret_bytes, char **e) {
        size_t n = strv_length(argv), bytes = 0;
        int r;

        if (n == 0)
                return json_fail(e, -EINVAL,
                                 strcmp(field, "cleanup") == 0 ? _("%s: must not be empty (omit it for no cleanup)")
                                                                : _("%s: must not be empty"),
                                 JSON_LABEL(where, field));
        if (n > TASK_ARGV_MAX)
                return json_fail(e, -EINVAL, _("%s: %zu arguments, at most %d"), JSON_LABEL(where, field), n,
                                 TASK_ARGV_MAX);
        if (argv[0][0] != '/')
                return json_fail(e, -EINVAL, _("%s: must be an absolute path (the client resolves the command "
                                   "against PATH), got %s"), JSON_LABEL_AT(where, field, 0), JSON_QUOTE(argv[0]));
        if (strlen(argv[0]) >= TASK_PATH_MAX)
                return json_fail(e, -EINVAL, _("%s: path too long, at most %d bytes"),
                                 JSON_LABEL_AT(where, field, 0), TASK_PATH_MAX - 1);
        for (size_t i = 0; i < n; i++) {
                size_t l = strlen(argv[i]);
                if (l >= TASK_ARG_MAX)
                        return json_fail(e, -EINVAL, _("%s: %zu bytes long, at most %d"),
                                         JSON_LABEL_AT(where, field, i), l, TASK_ARG_MAX - 1);
                r = validate_utf8(argv[i], JSON_LABEL_AT(where, field, i), e);
                if (r < 0)
                        return r;
                bytes += l + 1;
        }
        *ret_bytes = bytes;
        return 0;
}

static int validate_path(const char *p, const char *what, char **e) {
        if (!p)
                return json_fail(e, -EINVAL, _("%s: missing"), what);
        if (p[0] != '/')
                return json_fail(e, -EINVAL, _("%s: must be an absolute path, got %s"), what, JSON_QUOTE(p));
        if (strlen(p) >= TASK_PATH_MAX)
                return json_fail(e, -EINVAL, _("%s: path too long, at most %d bytes"), what, TASK_PATH_MAX - 1);
        return validate_utf8(p, what, e);
}

static int validate_range(int64_t v, int64_t min, int64_t max, const char *what, char **e) {
        if (v < min || v > max)
                return json_fail(e, -EINVAL, _("%s: must be between %" PRIi64 " and %" PRIi64 ", got %" PRIi64),
                                 what, min, max, v);
        return 0;
}

/* env: VAR=VALUE entries, none of ours; *ret_bytes as the kernel counts them. */
static int validate_env(char * const *env, const char *where, size_t *ret_bytes, char **e) {
        size_t n = strv_length(env), bytes = 0;
        int r;

        if (n > TASK_ENV_MAX)
                return json_fail(e, -EINVAL, _("%s: %zu variables, at most %d"), JSON_LABEL(where, "env"), n,
                                 TASK_ENV_MAX);
        for (size_t i = 0; i < n; i++) {
                const char *s = env[i];
                size_t k = 0, l = strlen(s);

                while (env_name_char(s[k], k == 0))
                        k++;
                if (k == 0 || s[k] != '=')
                        return json_fail(e, -EINVAL, _("%s: must be VAR=VALUE with VAR made of letters, digits "
                                           "and '_', not starting with a digit, got %s"),
                                         JSON_LABEL_AT(where, "env", i), JSON_QUOTE(s));
                if (strncmp(s, PROTO_ENV_RESERVED_PREFIX, strlen(PROTO_ENV_RESERVED_PREFIX)) == 0)
                        return json_fail(e, -EINVAL, _("%s: %.*s: variables starting with %s are set by benchrunner, "
                                           "not by the task's env"),
                                         JSON_LABEL_AT(where, "env", i), (int) (k < 64 ? k : 64), s,
                                         PROTO_ENV_RESERVED_PREFIX);
                if (l >= TASK_ARG_MAX)
                        return json_fail(e, -EINVAL, _("%s: %zu bytes long, at most %d"),
                                         JSON_LABEL_AT(where, "env", i), l, TASK_ARG_MAX - 1);
                r = validate_utf8(s, JSON_LABEL_AT(where, "env", i), e);
                if (r < 0)
                        return r;
                bytes += l + 1;
        }
        *ret_bytes = bytes;
        return 0;
}

/* A label (a name, a series): 1 to max - 1 bytes of UTF-8 without a C0,
 * DEL or C1 (U+0080..U+009F, 0xc2 0x80..0x9f) control. */
static int validate_label(const char *s, const char *field, int max, const char *where, char **e) {
        size_t l = strlen(s);

        if (l == 0)
                return json_fail(e, -EINVAL, _("%s: must not be empty"), JSON_LABEL(where, field));
        if (l >= (size_t) max)
                return json_fail(e, -EINVAL, _("%s: %zu bytes long, at most %d"), JSON_LABEL(where, field), l, max - 1);
        for (size_t i = 0; i < l; i++)
                if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f ||
                    ((unsigned char) s[i] == 0xc2 && (unsigned char) s[i + 1] >= 0x80 &&
                     (unsigned char) s[i + 1] <= 0x9f))
                        return json_fail(e, -EINVAL, _("%s: must not contain control characters"),
                                         JSON_LABEL(where, field));
        return validate_utf8(s, JSON_LABEL(where, field), e);
}

static int validate_name(const char *name, const char *where, char **e) {
        if (!name)
                return 0;
        if (!name[0])
                return json_fail(e, -EINVAL, _("%s: must not be empty (omit it for the default task-ID)"),
                                 JSON_LABEL(where, "name"));
        return validate_label(name, "name", TASK_NAME_MAX, where, e);
}

/* retry_oom: each step larger than the one before, the first larger than
 * the task's own memory (when it gives one: the daemon checks the default
 * it fills in). */
static int validate_retry_oom(const Task *t, const char *where, char **e) {
        if (t->n_retry_oom > TASK_RETRY_OOM_MAX)
                return json_fail(e, -EINVAL, _("%s: %zu steps, at most %d"), JSON_LABEL(where, "retry_oom"),
                                 t->n_retry_oom, TASK_RETRY_OOM_MAX);
        for (size_t i = 0; i < t->n_retry_oom; i++) {
                uint64_t before = i > 0 ? t->retry_oom[i - 1] : t->memory_bytes;

                if (t->retry_oom[i] > (uint64_t) INT64_MAX)
                        return json_fail(e, -EINVAL, _("%s: too large"), JSON_LABEL_AT(where, "retry_oom", i));
                if (t->retry_oom[i] <= before)
                        return json_fail(e, -EINVAL,
                                         i > 0 ? _("%s: %" PRIu64 " bytes, not more than the step before (%" PRIu64 ")")
                                               : _("%s: %" PRIu64 " bytes, not more than the task's memory (%" PRIu64 ")"),
                                         JSON_LABEL_AT(where, "retry_oom", i), t->retry_oom[i], before);
        }
        return 0;
}

/* after: task ids, each once; after_ok only with them. */
static int validate_after(const Task *t, const char *where, char **e) {
        if (t->n_after > TASK_AFTER_MAX)
                return json_fail(e, -EINVAL, _("%s: %zu tasks, at most %d"), JSON_LABEL(where, "after"), t->n_after,
                                 TASK_AFTER_MAX);
        for (size_t i = 0; i < t->n_after; i++) {
                if (t->after[i] < 1)
                        return json_fail(e, -EINVAL, _("%s: not a task id: %" PRIi64),
                                         JSON_LABEL_AT(where, "after", i), t->after[i]);
                for (size_t k = 0; k < i; k++)
                        if (t->after[k] == t->after[i])
                                return json_fail(e, -EINVAL, _("%s: task %" PRIi64 " is named twice"),
                                                 JSON_LABEL_AT(where, "after", i), t->after[i]);
        }
        if (t->after_ok && t->n_after == 0)
                return json_fail(e, -EINVAL, _("%s: needs the tasks to wait for in after"),
                                 JSON_LABEL(where, "after_ok"));
        return 0;
}

static int validate_spec(const Task *t, const char *where, char **e) {
        size_t argv_bytes = 0, cleanup_bytes = 0, env_bytes = 0;
        int r;

        r = validate_argv(t->argv, where, "argv", &argv_bytes, e);
        if (r < 0)
                return r;
        if (t->cleanup_argv) {
                r = validate_argv(t->cleanup_argv, where, "cleanup", &cleanup_bytes, e);
                if (r < 0)
                        return r;
        }
        r = validate_env(t->env, where, &env_bytes, e);
        if (r < 0)
                return r;
        /* What one execve() gets, as the kernel counts ARG_MAX. */
        if (argv_bytes + env_bytes > TASK_ARGV_BYTES_MAX)
                return json_fail(e, -EINVAL, _("%s: argv and env take %zu bytes together, at most %d"),
                                 where[0] ? where : "task", argv_bytes + env_bytes, TASK_ARGV_BYTES_MAX);
        if (cleanup_bytes + env_bytes > TASK_ARGV_BYTES_MAX)
                return json_fail(e, -EINVAL, _("%s: cleanup and env take %zu bytes together, at most %d"),
                                 where[0] ? where : "task", cleanup_bytes + env_bytes, TASK_ARGV_BYTES_MAX);

        r = validate_path(t->submit_dir, JSON_LABEL(where, "cwd"), e);
        if (r < 0)
                return r;
        r = validate_name(t->name, where, e);
        if (r < 0)
                return r;
        if (t->series && (r = validate_label(t->series, "series", TASK_SERIES_MAX, where, e)) < 0)
                return r;
        r = validate_range(t->threads, 1, TASK_THREADS_MAX, JSON_LABEL(where, "threads"), e);
        if (r < 0)
                return r;
        if (t->memory_bytes > (uint64_t) INT64_MAX)
                return json_fail(e, -EINVAL, _("%s: too large"), JSON_LABEL(where, "memory"));
        if (t->time_limit_usec > PROTO_TIME_LIMIT_MAX_US)
                return json_fail(e, -EINVAL, _("%s: at most %" PRIu64 " (a year)"),
                                 JSON_LABEL(where, "time_limit_us"), PROTO_TIME_LIMIT_MAX_US);
        if (t->cleanup_time_limit_usec > PROTO_TIME_LIMIT_MAX_US)
                return json_fail(e, -EINVAL, _("%s: at most %" PRIu64 " (a year)"),
                                 JSON_LABEL(where, "cleanup_time_limit_us"), PROTO_TIME_LIMIT_MAX_US);
        r = validate_range(t->group, TASK_PRIORITY_MIN, TASK_PRIORITY_MAX, JSON_LABEL(where, "group"), e);
        if (r < 0)
                return r;
        r = validate_range(t->priority, TASK_PRIORITY_MIN, TASK_PRIORITY_MAX, JSON_LABEL(where, "priority"), e);
        if (r < 0)
                return r;
        r = validate_retry_oom(t, where, e);
        if (r < 0)
                return r;
        return validate_after(t, where, e);
}

int proto_spec_validate(const Task *t, char **ret_error) {
        return validate_spec(t, "", ret_error);
}

/* Optional fields of an object, labelled where.key in errors: absent (or
 * null) leaves *ret alone and returns 0; read, 1. */
static int opt_int(json_object *o, const char *key, const char *where, int64_t min, int64_t max, int64_t *ret,
                   char **e) {
        json_object *v = json_field(o, key);
        int r;

        if (!v)
                return 0;
        r = json_get_int(v, JSON_LABEL(where, key), min, max, ret, e);
        return r < 0 ? r : 1;
}

static int opt_bool(json_object *o, const char *key, const char *where, bool *ret, char **e) {
        json_object *v = json_field(o, key);
        int r;

        if (!v)
                return 0;
        r = json_get_bool(v, JSON_LABEL(where, key), ret, e);
        return r < 0 ? r : 1;
}

static int opt_string(json_object *o, const char *key, const char *where, char **ret, char **e) {
        json_object *v = json_field(o, key);
        int r;

        if (!v)
                return 0;
        r = json_get_string(v, JSON_LABEL(where, key), ret, e);
        return r < 0 ? r : 1;
}

static int opt_strv(json_object *o, const char *key, const char *where, size_t max_n, char ***ret, char **e) {
        json_object *v = json_field(o, key);
        int r;

        if (!v)
                return 0;
        r = json_get_strv(v, JSON_LABEL(where, key), max_n, ret, e);
        return r < 0 ? r : 1;
}

/* An array of at most max_n integers in [min, max]: *ret (malloc'd, NULL
 * for an empty one) and *ret_n. */
static int opt_ints(json_object *o, const char *key, const char *where, size_t max_n, int64_t min, int64_t max,
                    int64_t **ret, size_t *ret_n, char **e) {
        json_object *v = json_field(o, key);
        _cleanup_(freep) int64_t *a = NULL;
        size_t n;
        int r;

        if (!v)
                return 0;
        if (!json_object_is_type(v, json_type_array))
                return json_fail(e, -EINVAL, _("%s: must be an array of integers"), JSON_LABEL(where, key));
        n = json_object_array_length(v);
        if (n > max_n)
                return json_fail(e, -EINVAL, _("%s: %zu elements, at most %zu"), JSON_LABEL(where, key), n, max_n);
        if (n > 0 && !(a = calloc(n, sizeof *a)))
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                r = json_get_int(json_object_array_get_idx(v, i), JSON_LABEL_AT(where, key, i), min, max, &a[i], e);
                if (r < 0)
                        return r;
        }
        free(*ret);
        *ret = TAKE_PTR(a);
        *ret_n = n;
        return 1;
}

/* The fields a spec and a TASK share, read in this order (the first bad one
 * is reported).  A spec (from a client) must have positive time limits when
 * it has them; a TASK says "none" with null. */
static int spec_fields_from_json(json_object *o, const char *where, bool spec, Task *t, char **e) {
        const int64_t limit_max = (int64_t) PROTO_TIME_LIMIT_MAX_US;
        int64_t threads = t->threads, memory = (int64_t) t->memory_bytes, group = t->group,
                priority = t->priority, time_limit = (int64_t) t->time_limit_usec,
                cleanup_time_limit = (int64_t) t->cleanup_time_limit_usec;
        int r;

        if ((r = opt_strv(o, "argv", where, TASK_ARGV_MAX, &t->argv, e)) < 0 ||
            (r = opt_string(o, "cwd", where, &t->submit_dir, e)) < 0 ||
            (r = opt_strv(o, "env", where, TASK_ENV_MAX, &t->env, e)) < 0 ||
            (r = opt_string(o, "name", where, &t->name, e)) < 0 ||
            (r = opt_int(o, "threads", where, 1, TASK_THREADS_MAX, &threads, e)) < 0 ||
            (r = opt_int(o, "memory", where, 0, INT64_MAX, &memory, e)) < 0 ||
            (r = opt_int(o, "time_limit_us", where, spec, limit_max, &time_limit, e)) < 0 ||
            (r = opt_strv(o, "cleanup", where, TASK_ARGV_MAX, &t->cleanup_argv, e)) < 0 ||
            (r = opt_int(o, "cleanup_time_limit_us", where, spec, limit_max, &cleanup_time_limit, e)) < 0 ||
            (r = opt_int(o, "group", where, TASK_PRIORITY_MIN, TASK_PRIORITY_MAX, &group, e)) < 0 ||
            (r = opt_int(o, "priority", where, TASK_PRIORITY_MIN, TASK_PRIORITY_MAX, &priority, e)) < 0 ||
            (r = opt_bool(o, "whole_cores", where, &t->whole_cores, e)) < 0 ||
            (r = opt_bool(o, "requeue", where, &t->requeue, e)) < 0 ||
            (r = opt_bool(o, "in_submit_dir", where, &t->in_submit_dir, e)) < 0 ||
            (r = opt_bool(o, "held", where, &t->held, e)) < 0 ||
            (r = opt_ints(o, "retry_oom", where, TASK_RETRY_OOM_MAX, 1, INT64_MAX, (int64_t **) &t->retry_oom,
                          &t->n_retry_oom, e)) < 0 ||
            (r = opt_ints(o, "after", where, TASK_AFTER_MAX, 1, INT64_MAX, &t->after, &t->n_after, e)) < 0 ||
            (r = opt_bool(o, "after_ok", where, &t->after_ok, e)) < 0 ||
            (r = opt_string(o, "series", where, &t->series, e)) < 0)
                return r;
        if (t->env && !t->env[0]) {
                strv_free(t->env);
                t->env = NULL;
        }
        t->threads = (unsigned) threads;
        t->memory_bytes = (uint64_t) memory;
        t->time_limit_usec = (uint64_t) time_limit;
        t->cleanup_time_limit_usec = (uint64_t) cleanup_time_limit;
        t->group = (int) group;
        t->priority = (int) priority;
        return 0;
}

/* Types and field names only: what a client may still complete (argv[0]
 * resolved against PATH, cwd filled in) before validating. */
static int spec_parse(json_object *o, const char *where, Task **ret, char **e) {
        _cleanup_(task_freep) Task *t = NULL;
        int r;

        if (!json_object_is_type(o, json_type_object))
                return json_fail(e, -EINVAL, _("%s: must be an object (a task spec)"), where[0] ? where : "task");
        r = json_check_fields(o, spec_fields, where[0] ? where : "task", e);
        if (r < 0)
                return r;

        t = task_new();
        if (!t)
                return -ENOMEM;
        r = spec_fields_from_json(o, where, true, t, e);
        if (r < 0)
                return r;
        /* in a spec: the task this one retries (the daemon links it to the
         * first attempt); in a TASK: that first attempt */
        r = opt_int(o, "retry_of", where, 1, INT64_MAX, &t->retry_of, e);
        if (r < 0)
                return r;
        if (!t->argv)
                return json_fail(e, -EINVAL, _("%s: missing (the command, argv[0] an absolute path)"),
                                 JSON_LABEL(where, "argv"));
        /* uid and gid stay 0: the daemon takes them from the peer credentials. */
        *ret = TAKE_PTR(t);
        return 0;
}

int proto_spec_from_json(json_object *o, Task **ret, char **ret_error) {
        return spec_parse(o, "", ret, ret_error);
}

static int spec_from_json(json_object *o, const char *where, Task **ret, char **e) {
        _cleanup_(task_freep) Task *t = NULL;
        int r;

        r = spec_parse(o, where, &t, e);
        if (r < 0)
                return r;
        if (!t->submit_dir)
                return json_fail(e, -EINVAL, _("%s: missing (the directory the task was submitted from)"),
                                 JSON_LABEL(where, "cwd"));
        r = validate_spec(t, where, e);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(t);
        return 0;
}

static json_object *json_new_i64s(const int64_t *v, size_t n) {
        _cleanup_(json_putp) json_object *a = json_object_new_array();

        if (!a)
                return NULL;
        for (size_t i = 0; i < n; i++)
                if (json_array_add(a, json_object_new_int64(v[i])) < 0)
                        return NULL;
        return TAKE_PTR(a);
}

static json_object *json_new_u64s(const uint64_t *v, size_t n) {
        return json_new_i64s((const int64_t *) v, n);   /* each at most INT64_MAX (validate_retry_oom()) */
}

json_object *proto_spec_to_json(const Task *t) {
        _cleanup_(json_putp) json_object *o = json_object_new_object();

        if (!o ||
            json_add(o, "argv", json_new_strv(t->argv)) < 0 ||
            json_add_str(o, "cwd", t->submit_dir) < 0 ||
            (t->env && t->env[0] && json_add(o, "env", json_new_strv(t->env)) < 0) ||
            (t->name && json_add_str(o, "name", t->name) < 0) ||
            json_add_u64(o, "threads", t->threads) < 0 ||
            (t->memory_bytes && json_add_u64(o, "memory", t->memory_bytes) < 0) ||
            (t->time_limit_usec && json_add_u64(o, "time_limit_us", t->time_limit_usec) < 0) ||
            (t->cleanup_argv && json_add(o, "cleanup", json_new_strv(t->cleanup_argv)) < 0) ||
            (t->cleanup_time_limit_usec &&
             json_add_u64(o, "cleanup_time_limit_us", t->cleanup_time_limit_usec) < 0) ||
            json_add_i64(o, "group", t->group) < 0 ||
            json_add_i64(o, "priority", t->priority) < 0 ||
            json_add_bool(o, "whole_cores", t->whole_cores) < 0 ||
            (t->requeue && json_add_bool(o, "requeue", true) < 0) ||
            (t->in_submit_dir && json_add_bool(o, "in_submit_dir", true) < 0) ||
            (t->held && json_add_bool(o, "held", true) < 0) ||
            (t->retry_of > 0 && json_add_i64(o, "retry_of", t->retry_of) < 0) ||
            (t->n_retry_oom && json_add(o, "retry_oom", json_new_u64s(t->retry_oom, t->n_retry_oom)) < 0) ||
            (t->n_after && json_add(o, "after", json_new_i64s(t->after, t->n_after)) < 0) ||
            (t->after_ok && json_add_bool(o, "after_ok", true) < 0) ||
            (t->series && json_add_str(o, "series", t->series) < 0))
                return NULL;
        return TAKE_PTR(o);
}

/* ---- tasks in full ---- */

static bool result_is_empty(const TaskResult *r) {
        return r->reason == TASK_REASON_NONE && !r->has_exit_code && !r->has_signal &&
               r->started_usec == 0 && r->finished_usec == 0 && r->wall_usec == 0 &&
               !r->has_cpu && !r->has_peak_memory;
}

static json_object *result_to_json(const TaskResult *r) {
        _cleanup_(json_putp) json_object *o = json_object_new_object();

        if (!o ||
            json_add_str(o, "reason", r->reason == TASK_REASON_NONE ? NULL : task_reason_to_string(r->reason)) < 0 ||
            (r->has_exit_code ? json_add_i64(o, "exit_code", r->exit_code) : json_add_null(o, "exit_code")) < 0 ||
            (r->has_signal ? json_add_i64(o, "signal", r->signal) : json_add_null(o, "signal")) < 0 ||
            json_add_u64_or_null(o, "started_at_us", r->started_usec) < 0 ||
            json_add_u64_or_null(o, "finished_at_us", r->finished_usec) < 0 ||
            json_add_u64(o, "wall_us", r->wall_usec) < 0 ||
            (r->has_cpu ? json_add_u64(o, "cpu_user_us", r->cpu_user_usec)
                        : json_add_null(o, "cpu_user_us")) < 0 ||
            (r->has_cpu ? json_add_u64(o, "cpu_system_us", r->cpu_system_usec)
                        : json_add_null(o, "cpu_system_us")) < 0 ||
            (r->has_peak_memory ? json_add_u64(o, "peak_memory_bytes", r->peak_memory_bytes)
                                : json_add_null(o, "peak_memory_bytes")) < 0)
                return NULL;
        return TAKE_PTR(o);
}

static int add_result(json_object *o, const char *key, const TaskResult *r) {
        return result_is_empty(r) ? json_add_null(o, key) : json_add(o, key, result_to_json(r));
}

/* ---- what a task ran in and beside (protocol 3) ---- */

static const char * const pressure_names[_TASK_PRESSURE_MAX] = {
        [TASK_PRESSURE_CPU] = "cpu",
        [TASK_PRESSURE_MEMORY] = "memory",
        [TASK_PRESSURE_IO] = "io",
};

static json_object *pressure_to_json(const TaskPressure *p) {
        _cleanup_(json_putp) json_object *o = NULL;

        for (int k = 0; k < _TASK_PRESSURE_MAX; k++) {
                json_object *one;

                if (!p[k].has_some && !p[k].has_full)
                        continue;
                if (!o && !(o = json_object_new_object()))
                        return NULL;
                one = json_object_new_object();
                if (!one || json_add(o, pressure_names[k], one) < 0 ||
                    (p[k].has_some ? json_add_u64(one, "some_us", p[k].some_usec) : json_add_null(one, "some_us")) < 0 ||
                    (p[k].has_full ? json_add_u64(one, "full_us", p[k].full_usec) : json_add_null(one, "full_us")) < 0)
                        return NULL;
        }
        return TAKE_PTR(o);   /* NULL: none known (or ENOMEM: the caller tells) */
}

/* "environment_id", "environment" (the record, in show), "warnings",
 * "numa_nodes", "pressure", "throttled", "tasks_beside", and where it ran:
 * "backend", "cluster", "node", "job_id": null where not known. */
static int add_record(json_object *o, const Task *t) {
        json_object *p;

        if (json_add_u64_or_null(o, "environment_id", (uint64_t) t->environment_id) < 0 ||
            (t->warnings ? json_add_strv(o, "warnings", t->warnings) : json_add_null(o, "warnings")) < 0 ||
            json_add_str(o, "numa_nodes", t->numa_nodes) < 0 ||
            json_add_str(o, "backend", t->backend) < 0 || json_add_str(o, "cluster", t->cluster) < 0 ||
            json_add_str(o, "node", t->node) < 0 || json_add_str(o, "job_id", t->job_id) < 0 ||
            (t->has_beside ? json_add_u64(o, "tasks_beside", t->tasks_beside) : json_add_null(o, "tasks_beside")) < 0)
                return -ENOMEM;
        if (t->environment) {
                json_object *env = json_tokener_parse(t->environment);
                if (env && json_add(o, "environment", env) < 0)
                        return -ENOMEM;
        }
        p = pressure_to_json(t->pressure);
        if (p ? json_add(o, "pressure", p) < 0 : json_add_null(o, "pressure") < 0)
                return -ENOMEM;
        if (t->has_throttled) {
                json_object *th = json_object_new_object();
                if (!th || json_add(o, "throttled", th) < 0 || json_add_u64(th, "periods", t->nr_throttled) < 0 ||
                    json_add_u64(th, "usec", t->throttled_usec) < 0)
                        return -ENOMEM;
        } else if (json_add_null(o, "throttled") < 0)
                return -ENOMEM;
        return 0;
}

static int get_u64_field(json_object *o, const char *key, const char *where, uint64_t *ret, char **e);

static int record_from_json(json_object *o, const char *where, Task *t, char **e) {
        json_object *v;
        uint64_t x;
        int r;

        if ((r = get_u64_field(o, "environment_id", where, &x, e)) < 0)
                return r;
        t->environment_id = x > INT64_MAX ? 0 : (int64_t) x;
        if ((v = json_field(o, "environment")) && json_object_is_type(v, json_type_object) &&
            !(t->environment = strdup(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN))))
                return -ENOMEM;
        if ((r = opt_strv(o, "warnings", where, 64, &t->warnings, e)) < 0 ||
            (r = opt_string(o, "numa_nodes", where, &t->numa_nodes, e)) < 0 ||
            (r = opt_string(o, "backend", where, &t->backend, e)) < 0 ||
            (r = opt_string(o, "cluster", where, &t->cluster, e)) < 0 ||
            (r = opt_string(o, "node", where, &t->node, e)) < 0 ||
            (r = opt_string(o, "job_id", where, &t->job_id, e)) < 0)
                return r;
        if ((v = json_field(o, "tasks_beside")) && !json_object_is_type(v, json_type_null)) {
                if ((r = get_u64_field(o, "tasks_beside", where, &t->tasks_beside, e)) < 0)
                        return r;
                t->has_beside = true;
        }
        if ((v = json_field(o, "pressure")) && json_object_is_type(v, json_type_object))
                for (int k = 0; k < _TASK_PRESSURE_MAX; k++) {
                        json_object *one = json_field(v, pressure_names[k]);
                        if (!one || !json_object_is_type(one, json_type_object))
                                continue;
                        if ((r = get_u64_field(one, "some_us", where, &t->pressure[k].some_usec, e)) < 0 ||
                            (r = get_u64_field(one, "full_us", where, &t->pressure[k].full_usec, e)) < 0)
                                return r;
                        t->pressure[k].has_some = json_field(one, "some_us") != NULL;
                        t->pressure[k].has_full = json_field(one, "full_us") != NULL;
                }
        if ((v = json_field(o, "throttled")) && json_object_is_type(v, json_type_object)) {
                if ((r = get_u64_field(v, "periods", where, &t->nr_throttled, e)) < 0 ||
                    (r = get_u64_field(v, "usec", where, &t->throttled_usec, e)) < 0)
                        return r;
                t->has_throttled = true;
        }
        return 0;
}

bool proto_may_see_env(uid_t viewer, const Task *t) {
        return viewer == 0 || viewer == t->uid;
}

/* "VAR=VALUE" entries as "VAR". */
static json_object *env_names_to_json(char * const *env) {
        _cleanup_(json_putp) json_object *a = json_object_new_array();

        if (!a)
                return NULL;
        for (size_t i = 0; env && env[i]; i++) {
                size_t k = strcspn(env[i], "=");
                json_object *s = json_object_new_string_len(env[i], (int) k);

                if (!s || json_array_add(a, s) < 0)
                        return NULL;
        }
        return TAKE_PTR(a);
}

json_object *proto_task_to_json(const Task *t, bool hide_env) {
        _cleanup_(json_putp) json_object *o = json_object_new_object();
        /* the name recorded with the task (at submit, or by the daemon that
         * sent it), else the one this system knows */
        _cleanup_(freep) char *user = t->user ? strdup(t->user) : uid_to_user_name(t->uid);

        if (!o ||
            json_add_i64(o, "id", t->id) < 0 ||
            json_add_str(o, "name", t->name) < 0 ||
            json_add_u64(o, "uid", t->uid) < 0 ||
            json_add_u64(o, "gid", t->gid) < 0 ||
            json_add_str(o, "user", user) < 0 ||
            json_add_str(o, "state", task_state_to_string(t->state)) < 0 ||
            json_add_strv(o, "argv", t->argv) < 0 ||
            json_add(o, "env", hide_env ? env_names_to_json(t->env) : json_new_strv(t->env)) < 0 ||
            ((hide_env || t->env_hidden) && json_add_bool(o, "env_hidden", true) < 0) ||
            json_add_str(o, "cwd", t->submit_dir) < 0 ||
            json_add_strv(o, "cleanup", t->cleanup_argv) < 0 ||
            json_add_u64(o, "threads", t->threads) < 0 ||
            json_add_u64(o, "memory", t->memory_bytes) < 0 ||
            json_add_u64_or_null(o, "time_limit_us", t->time_limit_usec) < 0 ||
            json_add_u64_or_null(o, "cleanup_time_limit_us", t->cleanup_time_limit_usec) < 0 ||
            json_add_i64(o, "group", t->group) < 0 ||
            json_add_i64(o, "priority", t->priority) < 0 ||
            json_add_bool(o, "whole_cores", t->whole_cores) < 0 ||
            json_add_bool(o, "requeue", t->requeue) < 0 ||
            json_add_bool(o, "in_submit_dir", t->in_submit_dir) < 0 ||
            json_add_bool(o, "held", t->held) < 0 ||
            json_add_u64(o, "attempt", t->attempt ? t->attempt : 1) < 0 ||
            json_add_u64_or_null(o, "retry_of", (uint64_t) t->retry_of) < 0 ||
            json_add_u64_or_null(o, "next_attempt", (uint64_t) t->next_attempt) < 0 ||
            json_add(o, "retry_oom", json_new_u64s(t->retry_oom, t->n_retry_oom)) < 0 ||
            json_add(o, "after", json_new_i64s(t->after, t->n_after)) < 0 ||
            json_add_bool(o, "after_ok", t->after_ok) < 0 ||
            json_add_bool(o, "waiting", t->waiting) < 0 ||
            json_add_str(o, "series", t->series) < 0 ||
            json_add_u64_or_null(o, "queued_at_us", t->queued_usec) < 0 ||
            json_add_str(o, "cpus", t->cpus) < 0 ||
            json_add_str(o, "unit", t->unit) < 0 ||
            json_add_str(o, "output_dir", t->output_dir) < 0 ||
            json_add_bool(o, "output_truncated", t->output_truncated) < 0 ||
            (t->has_output_bytes ? json_add_u64(o, "output_bytes", t->output_bytes)
                                 : json_add_null(o, "output_bytes")) < 0 ||
            json_add_u64_or_null(o, "output_removed_at_us", t->output_removed_usec) < 0 ||
            add_result(o, "result", &t->main) < 0 ||
            add_result(o, "cleanup_result", &t->cleanup) < 0 ||
            add_record(o, t) < 0)
                return NULL;
        return TAKE_PTR(o);
}

/* For result fields: absent is 0 / not had. */
static int get_u64_field(json_object *o, const char *key, const char *where, uint64_t *ret, char **e) {
        int64_t x = 0;
        int r;

        r = opt_int(o, key, where, 0, INT64_MAX, &x, e);
        if (r < 0)
                return r;
        *ret = (uint64_t) x;
        return 0;
}

static int get_optional_int(json_object *o, const char *key, const char *where, bool *has, int *ret, char **e) {
        int64_t x;
        int r;

        *has = false;
        r = opt_int(o, key, where, INT_MIN, INT_MAX, &x, e);
        if (r <= 0)
                return r;
        *has = true;
        *ret = (int) x;
        return 0;
}

static int result_from_json(json_object *o, const char *where, TaskResult *ret, char **e) {
        _cleanup_(freep) char *reason = NULL;
        TaskResult res = {};
        json_object *v;
        int r;

        if (!o)
                goto done;
        if (!json_object_is_type(o, json_type_object))
                return json_fail(e, -EINVAL, _("%s: must be an object"), where);
        if ((v = json_field(o, "reason"))) {
                r = json_get_string(v, JSON_LABEL(where, "reason"), &reason, e);
                if (r < 0)
                        return r;
                res.reason = task_reason_from_string(reason);
                if (res.reason < 0)
                        return json_fail(e, -EINVAL, _("%s: unknown reason %s"), JSON_LABEL(where, "reason"),
                                         JSON_QUOTE(reason));
        }
        if ((r = get_optional_int(o, "exit_code", where, &res.has_exit_code, &res.exit_code, e)) < 0 ||
            (r = get_optional_int(o, "signal", where, &res.has_signal, &res.signal, e)) < 0 ||
            (r = get_u64_field(o, "started_at_us", where, &res.started_usec, e)) < 0 ||
            (r = get_u64_field(o, "finished_at_us", where, &res.finished_usec, e)) < 0 ||
            (r = get_u64_field(o, "wall_us", where, &res.wall_usec, e)) < 0 ||
            (r = get_u64_field(o, "cpu_user_us", where, &res.cpu_user_usec, e)) < 0 ||
            (r = get_u64_field(o, "cpu_system_us", where, &res.cpu_system_usec, e)) < 0 ||
            (r = get_u64_field(o, "peak_memory_bytes", where, &res.peak_memory_bytes, e)) < 0)
                return r;
        res.has_cpu = json_field(o, "cpu_user_us") || json_field(o, "cpu_system_us");
        res.has_peak_memory = json_field(o, "peak_memory_bytes");
done:
        *ret = res;
        return 0;
}

static int task_from_json(json_object *o, const char *where, Task **ret, char **e) {
        _cleanup_(task_freep) Task *t = NULL;
        _cleanup_(freep) char *state = NULL;
        json_object *v;
        int64_t x;
        int r;

        if (!json_object_is_type(o, json_type_object))
                return json_fail(e, -EINVAL, _("%s: must be an object"), where);
        t = task_new();
        if (!t)
                return -ENOMEM;
        r = spec_fields_from_json(o, where, false, t, e);
        if (r < 0)
                return r;
        if (!t->argv || !t->argv[0])
                return json_fail(e, -EINVAL, _("%s: missing"), JSON_LABEL(where, "argv"));

        v = json_field(o, "id");
        if (!v)
                return json_fail(e, -EINVAL, _("%s: missing"), JSON_LABEL(where, "id"));
        r = json_get_int(v, JSON_LABEL(where, "id"), 0, INT64_MAX, &t->id, e);
        if (r < 0)
                return r;
        if ((v = json_field(o, "uid"))) {
                r = json_get_int(v, JSON_LABEL(where, "uid"), 0, UINT32_MAX - 1, &x, e);
                if (r < 0)
                        return r;
                t->uid = (uid_t) x;
        }
        if ((v = json_field(o, "gid"))) {
                r = json_get_int(v, JSON_LABEL(where, "gid"), 0, UINT32_MAX - 1, &x, e);
                if (r < 0)
                        return r;
                t->gid = (gid_t) x;
        }
        if ((v = json_field(o, "user")) && (r = json_get_string(v, JSON_LABEL(where, "user"), &t->user, e)) < 0)
                return r;
        v = json_field(o, "state");
        if (!v)
                return json_fail(e, -EINVAL, _("%s: missing"), JSON_LABEL(where, "state"));
        r = json_get_string(v, JSON_LABEL(where, "state"), &state, e);
        if (r < 0)
                return r;
        t->state = task_state_from_string(state);
        if (t->state < 0)
                return json_fail(e, -EINVAL, _("%s: unknown state %s"), JSON_LABEL(where, "state"), JSON_QUOTE(state));
        r = get_u64_field(o, "queued_at_us", where, &t->queued_usec, e);
        if (r < 0)
                return r;
        {
                uint64_t attempt = 0, retry_of = 0, next = 0;
                if ((r = get_u64_field(o, "attempt", where, &attempt, e)) < 0 ||
                    (r = get_u64_field(o, "retry_of", where, &retry_of, e)) < 0 ||
                    (r = get_u64_field(o, "next_attempt", where, &next, e)) < 0)
                        return r;
                if (attempt > UINT_MAX)
                        return json_fail(e, -EINVAL, _("%s: attempt or retry_of out of range"), where);
                t->attempt = (unsigned) attempt;
                t->retry_of = (int64_t) retry_of;
                t->next_attempt = (int64_t) next;
        }
        if ((v = json_field(o, "waiting")) &&
            (r = json_get_bool(v, JSON_LABEL(where, "waiting"), &t->waiting, e)) < 0)
                return r;
        if ((v = json_field(o, "cpus")) && (r = json_get_string(v, JSON_LABEL(where, "cpus"), &t->cpus, e)) < 0)
                return r;
        if ((v = json_field(o, "unit")) && (r = json_get_string(v, JSON_LABEL(where, "unit"), &t->unit, e)) < 0)
                return r;
        if ((v = json_field(o, "output_dir")) &&
            (r = json_get_string(v, JSON_LABEL(where, "output_dir"), &t->output_dir, e)) < 0)
                return r;
        if ((v = json_field(o, "output_truncated")) &&
            (r = json_get_bool(v, JSON_LABEL(where, "output_truncated"), &t->output_truncated, e)) < 0)
                return r;
        if ((v = json_field(o, "output_bytes")) && !json_object_is_type(v, json_type_null)) {
                r = get_u64_field(o, "output_bytes", where, &t->output_bytes, e);
                if (r < 0)
                        return r;
                t->has_output_bytes = true;
        }
        r = get_u64_field(o, "output_removed_at_us", where, &t->output_removed_usec, e);
        if (r < 0)
                return r;
        if ((v = json_field(o, "env_hidden")) &&
            (r = json_get_bool(v, JSON_LABEL(where, "env_hidden"), &t->env_hidden, e)) < 0)
                return r;
        r = result_from_json(json_field(o, "result"), JSON_LABEL(where, "result"), &t->main, e);
        if (r < 0)
                return r;
        r = result_from_json(json_field(o, "cleanup_result"), JSON_LABEL(where, "cleanup_result"), &t->cleanup, e);
        if (r < 0)
                return r;
        r = record_from_json(o, where, t, e);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(t);
        return 0;
}

int proto_task_from_json(json_object *o, Task **ret, char **ret_error) {
        int r = task_from_json(o, "task", ret, ret_error);
        return r == -EINVAL ? -EBADMSG : r;
}

/* ---- requests ---- */

ProtoRequest *proto_request_free(ProtoRequest *req) {
        if (!req)
                return NULL;
        (void) json_object_put(req->tag);
        for (size_t i = 0; req->tasks && i < req->n_tasks; i++)
                task_free(req->tasks[i]);
        free(req->tasks);
        free(req->ids);
        free(req->token);
        free(req->name_glob);
        free(req->series);
        free(req);
        return NULL;
}

static bool token_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '_' || c == '-';
}

static int get_token(json_object *v, char **ret, char **e) {
        _cleanup_(freep) char *t = NULL;
        int r;

        r = json_get_string(v, "token", &t, e);
        if (r < 0)
                return r;
        if (t[0] == 0 || strlen(t) > PROTO_TOKEN_MAX)
                return json_fail(e, -EINVAL, "token: must be 1 to %d characters", PROTO_TOKEN_MAX);
        for (const char *p = t; *p; p++)
                if (!token_char(*p))
                        return json_fail(e, -EINVAL, "token: may hold only letters, digits, '.', '_' and '-'");
        *ret = TAKE_PTR(t);
        return 0;
}

/* The field key, which must be an array of 1 to max elements (of what: in
 * its error); hint ends the error of one too long. */
static int required_array(json_object *o, const char *key, const char *of, size_t max, const char *hint,
                          json_object **ret, size_t *ret_n, char **e) {
        json_object *v = json_field(o, key);
        size_t n;

        if (!v)
                return json_fail(e, -EINVAL, "%s: missing", key);
        if (!json_object_is_type(v, json_type_array))
                return json_fail(e, -EINVAL, "%s: must be an array of %s", key, of);
        n = json_object_array_length(v);
        if (n == 0)
                return json_fail(e, -EINVAL, "%s: must not be empty", key);
        if (n > max)
                return json_fail(e, -EINVAL, "%s: %zu %s in one request, at most %zu%s", key, n, key, max, hint);
        *ret = v;
        *ret_n = n;
        return 0;
}

/* The tasks array of a submit or an import, each element read by one
 * from_json. */
static int parse_tasks(json_object *o, ProtoRequest *req, const char *of, const char *hint,
                       int (*from_json)(json_object *, const char *, Task **, char **), char **e) {
        json_object *v;
        size_t n;
        int r;

        r = required_array(o, "tasks", of, PROTO_SUBMIT_MAX, hint, &v, &n, e);
        if (r < 0)
                return r;
        req->tasks = calloc(n, sizeof(Task *));
        if (!req->tasks)
                return -ENOMEM;
        req->n_tasks = n;
        for (size_t i = 0; i < n; i++) {
                char where[32];

                (void) snprintf(where, sizeof where, "tasks[%zu]", i);
                r = from_json(json_object_array_get_idx(v, i), where, &req->tasks[i], e);
                if (r < 0)
                        return r;
        }
        if ((v = json_field(o, "token")))
                return get_token(v, &req->token, e);
        return 0;
}

static int parse_submit(json_object *o, ProtoRequest *req, char **e) {
        json_object *v;
        int r;

        r = parse_tasks(o, req, "task specs", ": split the batch", spec_from_json, e);
        if (r < 0)
                return r;
        if ((v = json_field(o, "follow")))
                return json_get_bool(v, "follow", &req->follow, e);
        return 0;
}

/* ---- import: tasks that ran elsewhere (br-import), with their results ---- */

static const char * const import_fields[] = {
        "spec", "result", "cleanup_result", "cluster", "node", "job_id", NULL,
};
/* RESULT's fields as a client sends them: wall_us is not one, the daemon
 * takes finished_at_us - started_at_us */
static const char * const import_result_fields[] = {
        "reason", "exit_code", "signal", "started_at_us", "finished_at_us", "cpu_user_us", "cpu_system_us",
        "peak_memory_bytes", NULL,
};

/* A result as an import gives it: the reasons a record can tell, an exit
 * code a shell can see, a signal there is, and times in order.  Whether
 * they lie in the future is the daemon's check (it has the clock). */
static int import_result_from_json(json_object *o, const char *where, TaskResult *ret, char **e) {
        TaskResult res;
        int r;

        if (!json_object_is_type(o, json_type_object))
                return json_fail(e, -EINVAL, _("%s: must be an object (a RESULT)"), where);
        r = json_check_fields(o, import_result_fields, where, e);
        if (r < 0)
                return r;
        if (!json_field(o, "reason"))
                return json_fail(e, -EINVAL, _("%s: missing"), JSON_LABEL(where, "reason"));
        r = result_from_json(o, where, &res, e);
        if (r < 0)
                return r;
        if (res.reason <= TASK_REASON_NONE || !(PROTO_IMPORT_REASONS & (1u << res.reason)))
                return json_fail(e, -EINVAL, _("%s: %s is not a reason an imported task can have (exited, "
                                               "signaled, time-limit, oom, interrupted or cancelled)"),
                                 JSON_LABEL(where, "reason"),
                                 res.reason > TASK_REASON_NONE ? task_reason_to_string(res.reason) : "null");
        if (res.has_exit_code && (res.exit_code < 0 || res.exit_code > 255))
                return json_fail(e, -EINVAL, _("%s: must be 0 to 255, got %d"), JSON_LABEL(where, "exit_code"),
                                 res.exit_code);
        if (res.has_signal && (res.signal < 1 || res.signal > 64))
                return json_fail(e, -EINVAL, _("%s: must be 1 to 64, got %d"), JSON_LABEL(where, "signal"),
                                 res.signal);
        if (res.reason == TASK_REASON_EXITED && (!res.has_exit_code || res.has_signal))
                return json_fail(e, -EINVAL, _("%s: exited needs an exit_code and no signal"),
                                 JSON_LABEL(where, "reason"));
        if (res.reason == TASK_REASON_SIGNALED && (!res.has_signal || res.has_exit_code))
                return json_fail(e, -EINVAL, _("%s: signaled needs a signal and no exit_code"),
                                 JSON_LABEL(where, "reason"));
        if (res.finished_usec != 0 && res.started_usec == 0)
                return json_fail(e, -EINVAL, _("%s: finished_at_us without started_at_us"), where);
        if (res.finished_usec != 0 && res.finished_usec < res.started_usec)
                return json_fail(e, -EINVAL, _("%s: finished_at_us is before started_at_us"), where);
        res.wall_usec = res.finished_usec ? res.finished_usec - res.started_usec : 0;
        *ret = res;
        return 0;
}

static int import_label(json_object *o, const char *key, const char *where, char **ret, char **e) {
        int r = opt_string(o, key, where, ret, e);

        if (r <= 0)
                return r;
        return validate_label(*ret, key, PROTO_IMPORT_LABEL_MAX, where, e);
}

/* One task of an import: {"spec": SPEC, "result": RESULT, "cleanup_result":
 * RESULT, "cluster", "node", "job_id"}: the spec checked as a submit's,
 * and refused where it names what only this daemon does (dependencies,
 * attempts, holding, an OOM ladder). */
static int import_from_json(json_object *o, const char *where, Task **ret, char **e) {
        _cleanup_(task_freep) Task *t = NULL;
        char spec_where[JSON_LABEL_MAX];
        json_object *v;
        int r;

        if (!json_object_is_type(o, json_type_object))
                return json_fail(e, -EINVAL, _("%s: must be an object (a task and its result)"), where);
        r = json_check_fields(o, import_fields, where, e);
        if (r < 0)
                return r;
        v = json_field(o, "spec");
        if (!v)
                return json_fail(e, -EINVAL, _("%s: missing"), JSON_LABEL(where, "spec"));
        (void) snprintf(spec_where, sizeof spec_where, "%s", JSON_LABEL(where, "spec"));
        r = spec_from_json(v, spec_where, &t, e);
        if (r < 0)
                return r;
        if (t->n_after > 0 || t->retry_of > 0 || t->n_retry_oom > 0 || t->held || t->requeue)
                return json_fail(e, -EINVAL, _("%s: after, retry_of, retry_oom, held and requeue are this "
                                               "daemon's own: an imported task ran elsewhere"),
                                 spec_where);
        v = json_field(o, "result");
        if (!v)
                return json_fail(e, -EINVAL, _("%s: missing (how the main command ended)"),
                                 JSON_LABEL(where, "result"));
        r = import_result_from_json(v, JSON_LABEL(where, "result"), &t->main, e);
        if (r < 0)
                return r;
        if ((v = json_field(o, "cleanup_result"))) {
                if (!t->cleanup_argv)
                        return json_fail(e, -EINVAL, _("%s: the task has no cleanup command"),
                                         JSON_LABEL(where, "cleanup_result"));
                r = import_result_from_json(v, JSON_LABEL(where, "cleanup_result"), &t->cleanup, e);
                if (r < 0)
                        return r;
                if (t->cleanup.started_usec != 0 &&
                    (t->main.finished_usec == 0 || t->cleanup.started_usec < t->main.finished_usec))
                        return json_fail(e, -EINVAL, _("%s: the cleanup command started before the main "
                                                       "command ended"),
                                         JSON_LABEL(where, "cleanup_result"));
        }
        if ((r = import_label(o, "cluster", where, &t->cluster, e)) < 0 ||
            (r = import_label(o, "node", where, &t->node, e)) < 0 ||
            (r = import_label(o, "job_id", where, &t->job_id, e)) < 0)
                return r;
        t->backend = strdup("slurm-export");
        if (!t->backend)
                return -ENOMEM;
        t->state = TASK_FINISHED;
        *ret = TAKE_PTR(t);
        return 0;
}

static int parse_import(json_object *o, ProtoRequest *req, char **e) {
        return parse_tasks(o, req, "tasks with their results", ": split the import", import_from_json, e);
}

static int parse_list(json_object *o, ProtoRequest *req, char **e) {
        json_object *v;
        int64_t x;
        int r;

        if ((v = json_field(o, "states"))) {
                size_t n;

                if (!json_object_is_type(v, json_type_array))
                        return json_fail(e, -EINVAL, "states: must be an array of strings");
                n = json_object_array_length(v);
                if (n == 0)
                        return json_fail(e, -EINVAL, "states: must not be empty (omit it for all states)");
                for (size_t i = 0; i < n; i++) {
                        json_object *s = json_object_array_get_idx(v, i);
                        TaskState st;

                        if (!json_object_is_type(s, json_type_string))
                                return json_fail(e, -EINVAL, "states[%zu]: must be a string", i);
                        st = task_state_from_string(json_object_get_string(s));
                        if (st < 0)
                                return json_fail(e, -EINVAL, "states[%zu]: unknown state %s "
                                                 "(queued, running, cleanup, finished)",
                                                 i, JSON_QUOTE(json_object_get_string(s)));
                        req->state_mask |= 1u << st;
                }
        }
        r = opt_int(o, "uid", "", 0, UINT32_MAX - 1, &x, e);
        if (r < 0)
                return r;
        if (r > 0) {
                req->has_uid = true;
                req->uid = (uid_t) x;
        }
        req->limit = PROTO_LIST_LIMIT_MAX;
        r = opt_int(o, "limit", "", 1, UINT32_MAX, &x, e);
        if (r < 0)
                return r;
        if (r > 0 && x < PROTO_LIST_LIMIT_MAX)
                req->limit = (unsigned) x;
        r = opt_int(o, "after_id", "", 0, INT64_MAX, &req->after_id, e);
        if (r < 0)
                return r;
        r = opt_int(o, "before_id", "", 1, INT64_MAX, &req->before_id, e);
        if (r < 0)
                return r;
        r = opt_bool(o, "newest_first", "", &req->newest_first, e);
        if (r < 0)
                return r;
        if ((v = json_field(o, "reasons"))) {
                size_t n;

                if (!json_object_is_type(v, json_type_array))
                        return json_fail(e, -EINVAL, "reasons: must be an array of strings");
                n = json_object_array_length(v);
                if (n == 0)
                        return json_fail(e, -EINVAL, "reasons: must not be empty (omit it for any reason)");
                for (size_t i = 0; i < n; i++) {
                        json_object *s = json_object_array_get_idx(v, i);
                        TaskReason rs;

                        if (!json_object_is_type(s, json_type_string))
                                return json_fail(e, -EINVAL, "reasons[%zu]: must be a string", i);
                        rs = task_reason_from_string(json_object_get_string(s));
                        if (rs <= TASK_REASON_NONE)
                                return json_fail(e, -EINVAL, "reasons[%zu]: unknown reason %s", i,
                                                 JSON_QUOTE(json_object_get_string(s)));
                        req->reason_mask |= 1u << rs;
                }
        }
        r = opt_string(o, "name", "", &req->name_glob, e);
        if (r < 0)
                return r;
        if (req->name_glob && (!req->name_glob[0] || strlen(req->name_glob) > PROTO_GLOB_MAX))
                return json_fail(e, -EINVAL, "name: must be a pattern of 1 to %u bytes", PROTO_GLOB_MAX);
        r = opt_int(o, "since_us", "", 0, INT64_MAX, &x, e);
        if (r < 0)
                return r;
        req->since_usec = r > 0 ? (uint64_t) x : 0;
        r = opt_int(o, "until_us", "", 0, INT64_MAX, &x, e);
        if (r < 0)
                return r;
        req->until_usec = r > 0 ? (uint64_t) x : 0;
        r = opt_string(o, "series", "", &req->series, e);
        if (r < 0)
                return r;
        if (req->series && (!req->series[0] || strlen(req->series) >= TASK_SERIES_MAX))
                return json_fail(e, -EINVAL, "series: must be a label of 1 to %d bytes", TASK_SERIES_MAX - 1);
        r = opt_int(o, "environment_id", "", 1, INT64_MAX, &req->environment_id, e);
        return r < 0 ? r : 0;
}

static int parse_cancel(json_object *o, ProtoRequest *req, char **e) {
        json_object *v;
        size_t n;
        int r;

        r = required_array(o, "ids", "task ids", PROTO_IDS_MAX, "", &v, &n, e);
        if (r < 0)
                return r;
        req->ids = calloc(n, sizeof(int64_t));
        if (!req->ids)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                r = json_get_int(json_object_array_get_idx(v, i), JSON_LABEL_AT("", "ids", i), 1, INT64_MAX,
                                 &req->ids[i], e);
                if (r < 0)
                        return r;
                req->n_ids++;
        }
        return 0;
}

/* The tag, checked first, so that even an error reply echoes it. */
static int parse_tag(json_object *o, json_object **ret_tag, char **e) {
        json_object *tag = json_field(o, "tag");
        size_t len;

        if (!tag)
                return 0;
        if (!json_serialize(tag, &len))
                return -ENOMEM;
        if (len > PROTO_TAG_MAX)
                return json_fail(e, -EINVAL, "tag: %zu bytes, at most %d", len, PROTO_TAG_MAX);
        if (ret_tag)
                *ret_tag = json_object_get(tag);
        return 0;
}

static int check_version(json_object *o, char **e) {
        json_object *v = json_field(o, "v");
        int64_t x;

        if (!v)
                return json_fail(e, -EINVAL,
                                 "missing \"v\": every request carries the protocol version (benchrunnerd speaks %d)",
                                 PROTOCOL_VERSION);
        if (!json_object_is_type(v, json_type_int))
                return json_fail(e, -EINVAL, "v: must be an integer, the protocol version");
        x = json_object_get_int64(v);
        /* json-c holds larger integers as uint64 and saturates the int64 */
        if (x == INT64_MAX && json_object_get_uint64(v) != (uint64_t) INT64_MAX)
                return json_fail(e, -EPROTONOSUPPORT,
                                 "protocol version mismatch: the request's version is out of range, "
                                 "benchrunnerd speaks version %d", PROTOCOL_VERSION);
        if (x != PROTOCOL_VERSION)
                return json_fail(e, -EPROTONOSUPPORT,
                                 "protocol version mismatch: the request has version %" PRIi64
                                 ", benchrunnerd speaks version %d", x, PROTOCOL_VERSION);
        return 0;
}

/* The op, with a check that the request carries only its fields. */
static int parse_op(json_object *o, ProtoOp *ret, char **e) {
        const char * const common[] = { "v", "op", "tag", NULL };
        const char *allowed[ELEMENTSOF(common) + ELEMENTSOF(op_fields[0])];
        json_object *v = json_field(o, "op");
        size_t n = 0;
        ProtoOp op;
        int r;

        if (!v)
                return json_fail(e, -EINVAL, "op: missing (ping, submit, stats, list, show or cancel)");
        if (!json_object_is_type(v, json_type_string))
                return json_fail(e, -EINVAL, "op: must be a string");
        op = proto_op_from_string(json_object_get_string(v));
        if (op < 0)
                return json_fail(e, -EINVAL, "op: unknown op %s (ping, submit, stats, list, show or cancel)",
                                 JSON_QUOTE(json_object_get_string(v)));

        for (size_t i = 0; common[i]; i++)
                allowed[n++] = common[i];
        for (size_t i = 0; op_fields[op][i]; i++)
                allowed[n++] = op_fields[op][i];
        allowed[n] = NULL;
        r = json_check_fields(o, allowed, op_names[op], e);
        if (r < 0)
                return r;
        *ret = op;
        return 0;
}

static int parse_op_fields(json_object *o, ProtoRequest *req, char **e) {
        json_object *v;

        switch (req->op) {
        case PROTO_OP_PING:
                return 0;
        case PROTO_OP_SUBMIT:
                return parse_submit(o, req, e);
        case PROTO_OP_STATS:
                v = json_field(o, "follow");
                return v ? json_get_bool(v, "follow", &req->follow, e) : 0;
        case PROTO_OP_LIST:
                return parse_list(o, req, e);
        case PROTO_OP_SHOW:
                v = json_field(o, "id");
                if (!v)
                        return json_fail(e, -EINVAL, "id: missing");
                return json_get_int(v, "id", 1, INT64_MAX, &req->id, e);
        case PROTO_OP_CANCEL:
        case PROTO_OP_HOLD:
        case PROTO_OP_RELEASE:
                return parse_cancel(o, req, e);
        case PROTO_OP_DRAIN:
                v = json_field(o, "on");
                if (!v)
                        return json_fail(e, -EINVAL, "on: missing");
                return json_get_bool(v, "on", &req->on, e);
        case PROTO_OP_IMPORT:
                return parse_import(o, req, e);
        default:
                return -EINVAL;
        }
}

int proto_parse_request(const char *line, size_t len, ProtoRequest **ret,
                        json_object **ret_tag, char **ret_error) {
        _cleanup_(json_putp) json_object *o = NULL;
        _cleanup_(proto_request_freep) ProtoRequest *req = NULL;
        ProtoOp op = 0;   /* gcc -O2 cannot see parse_op() set it */
        int r;

        if (ret_tag)
                *ret_tag = NULL;
        if (len > PROTO_LINE_MAX)
                return json_fail(ret_error, -E2BIG, "request too long: %zu bytes, at most %u", len, PROTO_LINE_MAX);
        r = json_check_containers(line, len, PROTO_JSON_CONTAINERS_MAX, "request", ret_error);
        if (r < 0)
                return r;
        r = json_from_line(line, len, "request", PROTO_JSON_DEPTH_MAX, &o, ret_error);
        if (r < 0)
                return r;
        r = parse_tag(o, ret_tag, ret_error);
        if (r < 0)
                return r;
        r = check_version(o, ret_error);
        if (r < 0)
                return r;
        r = json_check_surrogates(line, len, ret_error);
        if (r < 0)
                return r;
        r = parse_op(o, &op, ret_error);
        if (r < 0)
                return r;

        req = calloc(1, sizeof(ProtoRequest));
        if (!req)
                return -ENOMEM;
        req->op = op;
        req->tag = json_object_get(json_field(o, "tag"));
        r = parse_op_fields(o, req, ret_error);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(req);
        return 0;
}

/* An import's RESULT: what result_to_json() gives, less wall_us (the
 * daemon's own sum). */
static json_object *import_result_to_json(const TaskResult *r) {
        json_object *o = result_to_json(r);

        if (o)
                json_object_object_del(o, "wall_us");
        return o;
}

static json_object *import_to_json(const Task *t) {
        _cleanup_(json_putp) json_object *o = json_object_new_object();

        if (!o || json_add(o, "spec", proto_spec_to_json(t)) < 0 ||
            json_add(o, "result", import_result_to_json(&t->main)) < 0 ||
            (!result_is_empty(&t->cleanup) && json_add(o, "cleanup_result", import_result_to_json(&t->cleanup)) < 0) ||
            (t->cluster && json_add_str(o, "cluster", t->cluster) < 0) ||
            (t->node && json_add_str(o, "node", t->node) < 0) ||
            (t->job_id && json_add_str(o, "job_id", t->job_id) < 0))
                return NULL;
        return TAKE_PTR(o);
}

static json_object *request_to_json(const ProtoRequest *req) {
        _cleanup_(json_putp) json_object *o = message_new();
        _cleanup_(json_putp) json_object *a = NULL;

        if (!o ||
            json_add_str(o, "op", proto_op_to_string(req->op)) < 0 ||
            add_tag(o, req->tag) < 0)
                return NULL;

        switch (req->op) {
        case PROTO_OP_PING:
                break;
        case PROTO_OP_SUBMIT:
                a = json_object_new_array();
                if (!a)
                        return NULL;
                for (size_t i = 0; i < req->n_tasks; i++)
                        if (json_array_add(a, proto_spec_to_json(req->tasks[i])) < 0)
                                return NULL;
                if (json_add(o, "tasks", TAKE_PTR(a)) < 0 ||
                    (req->token && json_add_str(o, "token", req->token) < 0) ||
                    (req->follow && json_add_bool(o, "follow", true) < 0))
                        return NULL;
                break;
        case PROTO_OP_IMPORT:
                a = json_object_new_array();
                if (!a)
                        return NULL;
                for (size_t i = 0; i < req->n_tasks; i++)
                        if (json_array_add(a, import_to_json(req->tasks[i])) < 0)
                                return NULL;
                if (json_add(o, "tasks", TAKE_PTR(a)) < 0 ||
                    (req->token && json_add_str(o, "token", req->token) < 0))
                        return NULL;
                break;
        case PROTO_OP_STATS:
                if (req->follow && json_add_bool(o, "follow", true) < 0)
                        return NULL;
                break;
        case PROTO_OP_LIST:
                if (req->state_mask) {
                        a = json_object_new_array();
                        if (!a)
                                return NULL;
                        for (int s = 0; s < _TASK_STATE_MAX; s++)
                                if ((req->state_mask & (1u << s)) &&
                                    json_array_add(a, json_object_new_string(task_state_to_string((TaskState) s))) < 0)
                                        return NULL;
                        if (json_add(o, "states", TAKE_PTR(a)) < 0)
                                return NULL;
                }
                if ((req->has_uid && json_add_u64(o, "uid", req->uid) < 0) ||
                    (req->limit && json_add_u64(o, "limit", req->limit) < 0) ||
                    (req->after_id && json_add_i64(o, "after_id", req->after_id) < 0) ||
                    (req->before_id && json_add_i64(o, "before_id", req->before_id) < 0) ||
                    (req->newest_first && json_add_bool(o, "newest_first", true) < 0) ||
                    (req->name_glob && json_add_str(o, "name", req->name_glob) < 0) ||
                    (req->since_usec && json_add_u64(o, "since_us", req->since_usec) < 0) ||
                    (req->until_usec && json_add_u64(o, "until_us", req->until_usec) < 0) ||
                    (req->series && json_add_str(o, "series", req->series) < 0) ||
                    (req->environment_id && json_add_i64(o, "environment_id", req->environment_id) < 0))
                        return NULL;
                if (req->reason_mask) {
                        a = json_object_new_array();
                        if (!a)
                                return NULL;
                        for (int rs = TASK_REASON_NONE + 1; rs < _TASK_REASON_MAX; rs++)
                                if ((req->reason_mask & (1u << rs)) &&
                                    json_array_add(a, json_object_new_string(task_reason_to_string((TaskReason) rs))) < 0)
                                        return NULL;
                        if (json_add(o, "reasons", TAKE_PTR(a)) < 0)
                                return NULL;
                }
                break;
        case PROTO_OP_SHOW:
                if (json_add_i64(o, "id", req->id) < 0)
                        return NULL;
                break;
        case PROTO_OP_DRAIN:
                if (json_add_bool(o, "on", req->on) < 0)
                        return NULL;
                break;
        case PROTO_OP_CANCEL:
        case PROTO_OP_HOLD:
        case PROTO_OP_RELEASE:
                a = json_object_new_array();
                if (!a)
                        return NULL;
                for (size_t i = 0; i < req->n_ids; i++)
                        if (json_array_add(a, json_object_new_int64(req->ids[i])) < 0)
                                return NULL;
                if (json_add(o, "ids", TAKE_PTR(a)) < 0)
                        return NULL;
                break;
        default:
                return NULL;
        }
        return TAKE_PTR(o);
}

int proto_request_format(const ProtoRequest *req, char **ret) {
        _cleanup_(json_putp) json_object *o = NULL;
        char *line;

        if (req->op < 0 || req->op >= _PROTO_OP_MAX)
                return -EINVAL;
        bool with_tasks = req->op == PROTO_OP_SUBMIT || req->op == PROTO_OP_IMPORT;
        if (with_tasks && (req->n_tasks == 0 || !req->tasks))
                return -EINVAL;
        if (with_tasks && req->n_tasks > PROTO_SUBMIT_MAX)
                return -E2BIG;
        bool with_ids = req->op == PROTO_OP_CANCEL || req->op == PROTO_OP_HOLD || req->op == PROTO_OP_RELEASE;
        if (with_ids && (req->n_ids == 0 || !req->ids))
                return -EINVAL;
        if (with_ids && req->n_ids > PROTO_IDS_MAX)
                return -E2BIG;

        o = request_to_json(req);
        if (!o)
                return -ENOMEM;
        line = json_line(TAKE_PTR(o));
        if (!line)
                return -ENOMEM;
        if (strlen(line) - 1 > PROTO_LINE_MAX) {
                free(line);
                return -E2BIG;
        }
        *ret = line;
        return 0;
}

int proto_submit_format_batch(json_object *tag, Task * const *tasks, size_t n,
                              bool follow, const char *token, char **ret, size_t *ret_n) {
        ProtoRequest req = {
                .op = PROTO_OP_SUBMIT,
                .tag = tag,
                .follow = follow,
                .token = (char *) token,
                .tasks = (Task **) tasks,
                .n_tasks = 1,
        };
        _cleanup_(freep) char *one = NULL;
        size_t k, total;
        int r;

        if (n == 0)
                return -EINVAL;
        /* The request with tasks[0] alone; each further spec adds its own
         * length and a comma (json-c writes plain arrays as [a,b]). */
        r = proto_request_format(&req, &one);
        if (r < 0)
                return r;
        total = strlen(one) - 1;
        for (k = 1; k < n && k < PROTO_SUBMIT_MAX; k++) {
                _cleanup_(json_putp) json_object *spec = proto_spec_to_json(tasks[k]);
                size_t len;

                if (!spec || !json_serialize(spec, &len))
                        return -ENOMEM;
                if (total + len + 1 > PROTO_LINE_MAX)
                        break;
                total += len + 1;
        }
        if (k == 1) {
                *ret = TAKE_PTR(one);
                *ret_n = 1;
                return 0;
        }
        /* The estimate is exact for json-c as it is; should it ever be
         * short, send fewer tasks rather than fail. */
        for (;;) {
                req.n_tasks = k;
                r = proto_request_format(&req, ret);
                if (r != -E2BIG || k == 1)
                        break;
                k--;
        }
        if (r < 0)
                return r;
        *ret_n = k;
        return 0;
}

/* ---- replies and events ---- */

char *proto_reply_ok(json_object *tag) {
        return json_line(reply_new(tag, true));
}

char *proto_reply_error(json_object *tag, const char *fmt, ...) {
        _cleanup_(json_putp) json_object *o = reply_new(tag, false);
        _cleanup_(freep) char *s = NULL;
        va_list ap;
        int r;

        if (!o)
                return NULL;
        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0)
                return NULL;
        /* One line, whatever the caller passed in. */
        for (char *p = s; *p; p++)
                if ((unsigned char) *p < 0x20)
                        *p = ' ';
        if (json_add_str(o, "error", s) < 0)
                return NULL;
        return json_line(TAKE_PTR(o));
}

char *proto_reply_ping(json_object *tag) {
        _cleanup_(json_putp) json_object *o = reply_new(tag, true);

        if (!o ||
            json_add_str(o, "version", PACKAGE_VERSION) < 0 ||
            json_add_i64(o, "protocol", PROTOCOL_VERSION) < 0)
                return NULL;
        return json_line(TAKE_PTR(o));
}

char *proto_reply_submit(json_object *tag, const int64_t *ids, size_t n) {
        _cleanup_(json_putp) json_object *o = reply_new(tag, true);
        _cleanup_(json_putp) json_object *a = json_object_new_array();

        if (!o || !a)
                return NULL;
        for (size_t i = 0; i < n; i++)
                if (json_array_add(a, json_object_new_int64(ids[i])) < 0)
                        return NULL;
        if (json_add(o, "ids", TAKE_PTR(a)) < 0)
                return NULL;
        return json_line(TAKE_PTR(o));
}

bool proto_stats_equal(const ProtoStats *a, const ProtoStats *b) {
        if (a->running != b->running || a->cleanup != b->cleanup || a->queued != b->queued ||
            a->threads_busy != b->threads_busy || a->threads_total != b->threads_total ||
            a->memory_used != b->memory_used || a->memory_total != b->memory_total ||
            a->held != b->held || a->waiting != b->waiting || a->draining != b->draining ||
            !cpuset_equal(&a->cpus, &b->cpus) || a->has_groups != b->has_groups ||
            a->n_groups != b->n_groups || a->queued_other_groups != b->queued_other_groups)
                return false;
        for (size_t i = 0; i < a->n_groups && i < PROTO_STATS_GROUPS_MAX; i++)
                if (a->groups[i].group != b->groups[i].group || a->groups[i].queued != b->groups[i].queued)
                        return false;
        return true;
}

static int add_groups(json_object *o, const ProtoStats *s) {
        _cleanup_(json_putp) json_object *a = json_object_new_array();

        if (!a)
                return -ENOMEM;
        for (size_t i = 0; i < s->n_groups && i < PROTO_STATS_GROUPS_MAX; i++) {
                _cleanup_(json_putp) json_object *g = json_object_new_object();

                if (!g ||
                    json_add_i64(g, "group", s->groups[i].group) < 0 ||
                    json_add_u64(g, "queued", s->groups[i].queued) < 0 ||
                    json_array_add(a, TAKE_PTR(g)) < 0)
                        return -ENOMEM;
        }
        if (json_add(o, "queued_by_group", TAKE_PTR(a)) < 0 ||
            json_add_u64(o, "queued_other_groups", s->queued_other_groups) < 0)
                return -ENOMEM;
        return 0;
}

static int add_stats(json_object *o, const ProtoStats *s) {
        _cleanup_(freep) char *cpus = NULL;

        if (json_add_u64(o, "running", s->running) < 0 ||
            json_add_u64(o, "cleanup", s->cleanup) < 0 ||
            json_add_u64(o, "queued", s->queued) < 0 ||
            json_add_u64(o, "threads_busy", s->threads_busy) < 0 ||
            json_add_u64(o, "threads_total", s->threads_total) < 0 ||
            json_add_u64(o, "memory_used", s->memory_used) < 0 ||
            json_add_u64(o, "memory_total", s->memory_total) < 0 ||
            json_add_u64(o, "held", s->held) < 0 ||
            json_add_u64(o, "waiting", s->waiting) < 0 ||
            json_add_bool(o, "draining", s->draining != 0) < 0)
                return -ENOMEM;
        if (!cpuset_empty(&s->cpus)) {
                cpus = cpuset_format(&s->cpus);
                if (!cpus || json_add_str(o, "cpus", cpus) < 0)
                        return -ENOMEM;
        }
        if (s->has_groups && add_groups(o, s) < 0)
                return -ENOMEM;
        return 0;
}

char *proto_reply_stats(json_object *tag, const ProtoStats *s) {
        _cleanup_(json_putp) json_object *o = reply_new(tag, true);

        if (!o || add_stats(o, s) < 0)
                return NULL;
        return json_line(TAKE_PTR(o));
}

char *proto_reply_list(json_object *tag, Task * const *tasks, size_t n, uid_t viewer, bool more,
                       size_t *ret_n) {
        _cleanup_(json_putp) json_object *o = reply_new(tag, true);
        _cleanup_(json_putp) json_object *a = json_object_new_array();
        size_t total, k;

        if (!o || !a)
                return NULL;
        /* Room for the envelope: v, ok, a tag of at most PROTO_TAG_MAX,
         * "tasks":[], "more":true. */
        total = PROTO_TAG_MAX + 64;
        for (k = 0; k < n; k++) {
                _cleanup_(json_putp) json_object *t =
                        proto_task_to_json(tasks[k], !proto_may_see_env(viewer, tasks[k]));
                size_t len;

                if (!t || !json_serialize(t, &len))
                        return NULL;
                if (k > 0 && total + len + 1 > PROTO_REPLY_LINE_MAX) {
                        more = true;
                        break;
                }
                total += len + 1;
                if (json_array_add(a, TAKE_PTR(t)) < 0)
                        return NULL;
        }
        if (json_add(o, "tasks", TAKE_PTR(a)) < 0 || json_add_bool(o, "more", more) < 0)
                return NULL;
        if (ret_n)
                *ret_n = k;
        return json_line(TAKE_PTR(o));
}

char *proto_reply_show(json_object *tag, const Task *t, uid_t viewer) {
        _cleanup_(json_putp) json_object *o = reply_new(tag, true);

        if (!o || json_add(o, "task", proto_task_to_json(t, !proto_may_see_env(viewer, t))) < 0)
                return NULL;
        return json_line(TAKE_PTR(o));
}

char *proto_reply_cancel(json_object *tag, const ProtoCancelResult *results, size_t n) {
        _cleanup_(json_putp) json_object *o = reply_new(tag, true);
        _cleanup_(json_putp) json_object *a = json_object_new_array();

        if (!o || !a)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                _cleanup_(json_putp) json_object *r = json_object_new_object();

                if (!r ||
                    json_add_i64(r, "id", results[i].id) < 0 ||
                    json_add_bool(r, "ok", !results[i].error) < 0 ||
                    (results[i].error && json_add_str(r, "error", results[i].error) < 0) ||
                    json_array_add(a, TAKE_PTR(r)) < 0)
                        return NULL;
        }
        if (json_add(o, "results", TAKE_PTR(a)) < 0)
                return NULL;
        return json_line(TAKE_PTR(o));
}

char *proto_event_task(ProtoEvent e, const Task *t) {
        _cleanup_(json_putp) json_object *o = NULL;

        if (e < 0 || e >= _PROTO_EVENT_MAX || e == PROTO_EVENT_STATS)
                return NULL;
        o = message_new();
        if (!o ||
            json_add_str(o, "event", event_names[e]) < 0 ||
            json_add(o, "task", proto_task_to_json(t, false)) < 0)
                return NULL;
        return json_line(TAKE_PTR(o));
}

char *proto_event_stats(const ProtoStats *s) {
        _cleanup_(json_putp) json_object *o = message_new();

        if (!o ||
            json_add_str(o, "event", event_names[PROTO_EVENT_STATS]) < 0 ||
            add_stats(o, s) < 0)
                return NULL;
        return json_line(TAKE_PTR(o));
}

/* ---- messages from the daemon ---- */

ProtoMessage *proto_message_free(ProtoMessage *m) {
        if (!m)
                return NULL;
        (void) json_object_put(m->tag);
        free(m->error);
        free(m->version);
        free(m->ids);
        task_free(m->task);
        for (size_t i = 0; m->tasks && i < m->n_tasks; i++)
                task_free(m->tasks[i]);
        free(m->tasks);
        for (size_t i = 0; m->results && i < m->n_results; i++)
                free((char *) m->results[i].error);
        free(m->results);
        free(m);
        return NULL;
}

/* The fields a daemon of version 3 may leave out: cpus, queued_by_group,
 * queued_other_groups.  A newer daemon listing more groups than we keep
 * has the rest summed, as it would have done itself. */
static int stats_extra_from_json(json_object *o, ProtoStats *s, char **e) {
        _cleanup_(freep) char *cpus = NULL;
        json_object *a;
        int64_t x = 0;
        int r;

        r = opt_string(o, "cpus", "", &cpus, e);
        if (r < 0)
                return r;
        if (cpus && cpuset_parse(cpus, &s->cpus) < 0)
                return json_fail(e, -EINVAL, _("cpus: not a CPU list: %s"), JSON_QUOTE(cpus));
        a = json_field(o, "queued_by_group");
        if (!a)
                return 0;
        if (!json_object_is_type(a, json_type_array))
                return json_fail(e, -EINVAL, _("queued_by_group: must be an array"));
        r = opt_int(o, "queued_other_groups", "", 0, INT64_MAX, &x, e);
        if (r < 0)
                return r;
        s->queued_other_groups = (uint64_t) x;
        for (size_t i = 0, n = json_object_array_length(a); i < n; i++) {
                json_object *g = json_object_array_get_idx(a, i), *v;
                const char *where = JSON_LABEL_AT("", "queued_by_group", i);
                int64_t group, queued;

                if (!json_object_is_type(g, json_type_object))
                        return json_fail(e, -EINVAL, _("%s: must be an object"), where);
                if (!(v = json_field(g, "group")))
                        return json_fail(e, -EINVAL, _("%s: missing"), JSON_LABEL(where, "group"));
                r = json_get_int(v, JSON_LABEL(where, "group"), INT64_MIN, INT64_MAX, &group, e);
                if (r < 0)
                        return r;
                if (!(v = json_field(g, "queued")))
                        return json_fail(e, -EINVAL, _("%s: missing"), JSON_LABEL(where, "queued"));
                r = json_get_int(v, JSON_LABEL(where, "queued"), 0, INT64_MAX, &queued, e);
                if (r < 0)
                        return r;
                if (s->n_groups < PROTO_STATS_GROUPS_MAX)
                        s->groups[s->n_groups++] = (ProtoGroupCount) { group, (uint64_t) queued };
                else
                        s->queued_other_groups += (uint64_t) queued;
        }
        s->has_groups = true;
        return 0;
}

static int stats_from_json(json_object *o, ProtoStats *ret, char **e) {
        ProtoStats s = {};
        json_object *v;
        const struct {
                const char *key;
                uint64_t *value;
        } fields[] = {
                { "running", &s.running },
                { "cleanup", &s.cleanup },
                { "queued", &s.queued },
                { "threads_busy", &s.threads_busy },
                { "threads_total", &s.threads_total },
                { "memory_used", &s.memory_used },
                { "memory_total", &s.memory_total },
        };
        int r;

        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                int64_t x;

                v = json_field(o, fields[i].key);
                if (!v)
                        return json_fail(e, -EINVAL, _("%s: missing"), fields[i].key);
                r = json_get_int(v, fields[i].key, 0, INT64_MAX, &x, e);
                if (r < 0)
                        return r;
                *fields[i].value = (uint64_t) x;
        }
        /* added in protocol 3 */
        v = json_field(o, "held");
        if (v) {
                int64_t x;
                r = json_get_int(v, "held", 0, INT64_MAX, &x, e);
                if (r < 0)
                        return r;
                s.held = (uint64_t) x;
        }
        v = json_field(o, "waiting");
        if (v) {
                int64_t x;
                r = json_get_int(v, "waiting", 0, INT64_MAX, &x, e);
                if (r < 0)
                        return r;
                s.waiting = (uint64_t) x;
        }
        v = json_field(o, "draining");
        if (v) {
                bool b;
                r = json_get_bool(v, "draining", &b, e);
                if (r < 0)
                        return r;
                s.draining = b;
        }
        r = stats_extra_from_json(o, &s, e);
        if (r < 0)
                return r;
        *ret = s;
        return 0;
}

static int ids_from_json(json_object *v, ProtoMessage *m, char **e) {
        size_t n;
        int r;

        if (!json_object_is_type(v, json_type_array))
                return json_fail(e, -EINVAL, _("ids: must be an array"));
        n = json_object_array_length(v);
        m->ids = calloc(n ? n : 1, sizeof(int64_t));
        if (!m->ids)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                r = json_get_int(json_object_array_get_idx(v, i), JSON_LABEL_AT("", "ids", i),
                                 1, INT64_MAX, &m->ids[i], e);
                if (r < 0)
                        return r;
                m->n_ids++;
        }
        return 0;
}

static int tasks_from_json(json_object *v, ProtoMessage *m, char **e) {
        size_t n;
        int r;

        if (!json_object_is_type(v, json_type_array))
                return json_fail(e, -EINVAL, _("tasks: must be an array"));
        n = json_object_array_length(v);
        m->tasks = calloc(n ? n : 1, sizeof(Task *));
        if (!m->tasks)
                return -ENOMEM;
        m->n_tasks = n;
        for (size_t i = 0; i < n; i++) {
                char where[32];

                (void) snprintf(where, sizeof where, "tasks[%zu]", i);
                r = task_from_json(json_object_array_get_idx(v, i), where, &m->tasks[i], e);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* results[i] of a cancel reply; error set (owned) unless it was cancelled. */
static int cancel_result_from_json(json_object *res, size_t i, ProtoCancelResult *ret, char **e) {
        json_object *w;
        bool ok = false;
        char *err = NULL;
        int r;

        if (!json_object_is_type(res, json_type_object))
                return json_fail(e, -EINVAL, _("results[%zu]: must be an object"), i);
        if (!(w = json_field(res, "id")))
                return json_fail(e, -EINVAL, _("results[%zu].id: missing"), i);
        r = json_get_int(w, "results.id", 1, INT64_MAX, &ret->id, e);
        if (r < 0)
                return r;
        if (!(w = json_field(res, "ok")))
                return json_fail(e, -EINVAL, _("results[%zu].ok: missing"), i);
        r = json_get_bool(w, "results.ok", &ok, e);
        if (r < 0)
                return r;
        if (ok)
                return 0;
        w = json_field(res, "error");
        if (w) {
                r = json_get_string(w, "results.error", &err, e);
                if (r < 0)
                        return r;
        } else {
                err = strdup(_("failed"));
                if (!err)
                        return -ENOMEM;
        }
        ret->error = err;
        return 0;
}

static int results_from_json(json_object *v, ProtoMessage *m, char **e) {
        size_t n;
        int r;

        if (!json_object_is_type(v, json_type_array))
                return json_fail(e, -EINVAL, _("results: must be an array"));
        n = json_object_array_length(v);
        m->results = calloc(n ? n : 1, sizeof(ProtoCancelResult));
        if (!m->results)
                return -ENOMEM;
        m->n_results = n;
        for (size_t i = 0; i < n; i++) {
                r = cancel_result_from_json(json_object_array_get_idx(v, i), i, &m->results[i], e);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The fields of a successful reply: whichever are there. */
static int message_fields(json_object *o, ProtoMessage *m, char **e) {
        json_object *v;
        int64_t protocol = 0;
        int r;

        if ((r = opt_string(o, "version", "", &m->version, e)) < 0 ||
            (r = opt_int(o, "protocol", "", 0, INT_MAX, &protocol, e)) < 0)
                return r;
        m->protocol = (unsigned) protocol;
        if ((v = json_field(o, "ids")) && (r = ids_from_json(v, m, e)) < 0)
                return r;
        if (json_field(o, "running")) {
                r = stats_from_json(o, &m->stats, e);
                if (r < 0)
                        return r;
                m->has_stats = true;
        }
        if ((v = json_field(o, "task")) && (r = task_from_json(v, "task", &m->task, e)) < 0)
                return r;
        if ((v = json_field(o, "tasks")) && (r = tasks_from_json(v, m, e)) < 0)
                return r;
        if ((r = opt_bool(o, "more", "", &m->more, e)) < 0)
                return r;
        if ((v = json_field(o, "results")) && (r = results_from_json(v, m, e)) < 0)
                return r;
        return 0;
}

/* A message of another version: only an error reply reads the same in
 * every version. */
static int message_other_version(json_object *o, int64_t version, ProtoMessage *m, char **e) {
        json_object *ok = json_field(o, "ok"), *err = json_field(o, "error");

        if (ok && json_object_is_type(ok, json_type_boolean) && !json_object_get_boolean(ok) &&
            err && json_object_is_type(err, json_type_string))
                return json_get_string(err, "error", &m->error, e);
        return json_fail(e, -EPROTONOSUPPORT,
                         _("protocol version mismatch: benchrunnerd speaks version %" PRIi64
                             ", this program version %d"), version, PROTOCOL_VERSION);
}

static int message_event(json_object *o, ProtoMessage *m, char **e) {
        json_object *v = json_field(o, "event");
        int r;

        m->is_event = true;
        if (!json_object_is_type(v, json_type_string))
                return json_fail(e, -EBADMSG, _("event: must be a string"));
        m->event = proto_event_from_string(json_object_get_string(v));
        if (m->event == PROTO_EVENT_STATS) {
                r = stats_from_json(o, &m->stats, e);
                if (r < 0)
                        return r;
                m->has_stats = true;
        } else if (m->event >= 0) {
                v = json_field(o, "task");
                if (!v)
                        return json_fail(e, -EBADMSG, _("%s event without a task"), event_names[m->event]);
                return task_from_json(v, "task", &m->task, e);
        }
        return 0;
}

static int message_reply(json_object *o, ProtoMessage *m, char **e) {
        json_object *ok = json_field(o, "ok"), *err = json_field(o, "error");

        if (!ok || !json_object_is_type(ok, json_type_boolean))
                return json_fail(e, -EBADMSG, _("reply from benchrunnerd without \"ok\""));
        m->ok = json_object_get_boolean(ok);
        m->tag = json_object_get(json_field(o, "tag"));
        if (!m->ok) {
                if (err)
                        return json_get_string(err, "error", &m->error, e);
                m->error = strdup(_("unknown error"));
                return m->error ? 0 : -ENOMEM;
        }
        return message_fields(o, m, e);
}

int proto_parse_message(const char *line, size_t len, ProtoMessage **ret, char **ret_error) {
        _cleanup_(json_putp) json_object *o = NULL;
        _cleanup_(proto_message_freep) ProtoMessage *m = NULL;
        json_object *v;
        int r;

        if (len > PROTO_REPLY_LINE_MAX)
                return json_fail(ret_error, -E2BIG, _("message from benchrunnerd too long: %zu bytes, at most %u"),
                                 len, PROTO_REPLY_LINE_MAX);
        r = json_from_line(line, len, "message", PROTO_JSON_DEPTH_MAX, &o, ret_error);
        if (r < 0)
                return r;

        m = calloc(1, sizeof(ProtoMessage));
        if (!m)
                return -ENOMEM;
        m->event = _PROTO_EVENT_INVALID;
        v = json_field(o, "v");
        if (!v || !json_object_is_type(v, json_type_int))
                r = json_fail(ret_error, -EBADMSG, _("message from benchrunnerd without a protocol version"));
        else if (json_object_get_int64(v) != PROTOCOL_VERSION)
                r = message_other_version(o, json_object_get_int64(v), m, ret_error);
        else if (json_field(o, "event"))
                r = message_event(o, m, ret_error);
        else
                r = message_reply(o, m, ret_error);
        if (r < 0)
                return r == -EINVAL ? -EBADMSG : r;
        *ret = TAKE_PTR(m);
        return 0;
}
