/* protocol.c: encoding and decoding of the JSON lines protocol (protocol.h,
 * docs/protocol.md), with the checks on everything a client may send.
 *
 * Strings are byte strings: json-c passes bytes that are not UTF-8 through
 * unchanged both ways, which is what Unix arguments need.  Two things it does
 * not do for us: it decodes "\u0000" into a string that C cannot hold (we
 * refuse it), and it silently turns a lone UTF-16 surrogate escape such as
 * "\udc80" into U+FFFD, which would change an argument without a word (we
 * refuse those too, before json-c sees them). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json.h>

#include "protocol.h"
#include "util.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define ADD_FLAGS (JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_KEY_IS_CONSTANT)
#define LABEL_MAX 96
#define QUOTE_MAX 64

static const char * const op_names[_PROTO_OP_MAX] = {
        [PROTO_OP_PING] = "ping",
        [PROTO_OP_SUBMIT] = "submit",
        [PROTO_OP_STATS] = "stats",
        [PROTO_OP_LIST] = "list",
        [PROTO_OP_SHOW] = "show",
        [PROTO_OP_CANCEL] = "cancel",
};

static const char * const event_names[_PROTO_EVENT_MAX] = {
        [PROTO_EVENT_QUEUED] = "queued",
        [PROTO_EVENT_STARTED] = "started",
        [PROTO_EVENT_FINISHED] = "finished",
        [PROTO_EVENT_CLEANUP_FINISHED] = "cleanup-finished",
        [PROTO_EVENT_STATS] = "stats",
};

/* The fields each request may carry besides "v", "op" and "tag". */
static const char * const op_fields[_PROTO_OP_MAX][5] = {
        [PROTO_OP_PING] = { NULL },
        [PROTO_OP_SUBMIT] = { "tasks", "follow", NULL },
        [PROTO_OP_STATS] = { "follow", NULL },
        [PROTO_OP_LIST] = { "states", "uid", "limit", "after_id", NULL },
        [PROTO_OP_SHOW] = { "id", NULL },
        [PROTO_OP_CANCEL] = { "ids", NULL },
};

static const char * const spec_fields[] = {
        "argv", "cwd", "env", "name", "threads", "memory", "time_limit_us",
        "cleanup", "cleanup_time_limit_us", "group", "priority", "whole_cores",
        NULL,
};

const char *proto_op_to_string(ProtoOp op) {
        if (op < 0 || op >= _PROTO_OP_MAX)
                return NULL;
        return op_names[op];
}

ProtoOp proto_op_from_string(const char *s) {
        for (int i = 0; s && i < _PROTO_OP_MAX; i++)
                if (strcmp(op_names[i], s) == 0)
                        return (ProtoOp) i;
        return _PROTO_OP_INVALID;
}

const char *proto_event_to_string(ProtoEvent e) {
        if (e < 0 || e >= _PROTO_EVENT_MAX)
                return NULL;
        return event_names[e];
}

ProtoEvent proto_event_from_string(const char *s) {
        for (int i = 0; s && i < _PROTO_EVENT_MAX; i++)
                if (strcmp(event_names[i], s) == 0)
                        return (ProtoEvent) i;
        return _PROTO_EVENT_INVALID;
}

void proto_json_unref(struct json_object *o) {
        (void) json_object_put(o);
}

static void json_putp(json_object **o) {
        (void) json_object_put(*o);
}

static void tokener_freep(json_tokener **t) {
        if (*t)
                json_tokener_free(*t);
}

static void free_stringp(char **s) {
        free(*s);
}

/* ---- error messages ---- */

/* Sets *ret_error (if wanted) and returns r.  Only -ENOMEM comes back
 * without a message. */
_printf_(3, 4)
static int fail(char **ret_error, int r, const char *fmt, ...) {
        va_list ap;
        char *s;

        if (!ret_error)
                return r;
        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        if (!s)
                return -ENOMEM;
        *ret_error = s;
        return r;
}

/* A user's string, short and printable, in quotes, for an error message.
 * Cut at a character boundary so that the message stays valid UTF-8 when
 * the string was. */
static const char *quote(char *buf, size_t size, const char *s) {
        size_t i, j = 0;

        buf[j++] = '"';
        for (i = 0; s[i] && j + 5 < size; i++) {
                unsigned char c = (unsigned char) s[i];
                buf[j++] = c < 0x20 || c == 0x7f ? '?' : (char) c;
        }
        if (s[i]) {
                if (((unsigned char) s[i] & 0xc0) == 0x80) {
                        while (j > 1 && ((unsigned char) buf[j - 1] & 0xc0) == 0x80)
                                j--;
                        if (j > 1 && ((unsigned char) buf[j - 1] & 0xc0) == 0xc0)
                                j--;
                }
                memcpy(buf + j, "...", 3);
                j += 3;
        }
        buf[j++] = '"';
        buf[j] = 0;
        return buf;
}
#define QUOTE(s) quote((char[QUOTE_MAX]) {}, QUOTE_MAX, (s))

/* "tasks[3].argv[2]" from where "tasks[3]", field "argv", index 2. */
static const char *label(char *buf, size_t size, const char *where, const char *field, ssize_t index) {
        int n = snprintf(buf, size, "%s%s%s", where, where[0] ? "." : "", field);
        if (index >= 0 && n >= 0 && (size_t) n < size)
                (void) snprintf(buf + n, size - (size_t) n, "[%zd]", index);
        return buf;
}
#define LABEL(where, field) label((char[LABEL_MAX]) {}, LABEL_MAX, (where), (field), -1)
#define LABEL_AT(where, field, i) label((char[LABEL_MAX]) {}, LABEL_MAX, (where), (field), (ssize_t) (i))

/* ---- building JSON ---- */

/* Adds v (owned) under a literal key; v NULL means allocation failed. */
static int add(json_object *o, const char *key, json_object *v) {
        if (!v)
                return -ENOMEM;
        if (json_object_object_add_ex(o, key, v, ADD_FLAGS) < 0) {
                (void) json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static int add_null(json_object *o, const char *key) {
        return json_object_object_add_ex(o, key, NULL, ADD_FLAGS) < 0 ? -ENOMEM : 0;
}

static int add_str(json_object *o, const char *key, const char *s) {
        return s ? add(o, key, json_object_new_string(s)) : add_null(o, key);
}

static int add_i64(json_object *o, const char *key, int64_t v) {
        return add(o, key, json_object_new_int64(v));
}

static int add_u64(json_object *o, const char *key, uint64_t v) {
        return add(o, key, json_object_new_uint64(v));
}

/* For fields where 0 means "unknown" or "none". */
static int add_u64_or_null(json_object *o, const char *key, uint64_t v) {
        return v ? add_u64(o, key, v) : add_null(o, key);
}

static int add_bool(json_object *o, const char *key, bool v) {
        return add(o, key, json_object_new_boolean(v));
}

static int array_add(json_object *a, json_object *v) {
        if (!v)
                return -ENOMEM;
        if (json_object_array_add(a, v) < 0) {
                (void) json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

static json_object *strv_to_json(char * const *l) {
        _cleanup_(json_putp) json_object *a = json_object_new_array();

        if (!a)
                return NULL;
        for (size_t i = 0; l && l[i]; i++)
                if (array_add(a, json_object_new_string(l[i])) < 0)
                        return NULL;
        return TAKE_PTR(a);
}

/* NULL list -> null; for argv-like fields where "none" differs from "empty". */
static int add_strv(json_object *o, const char *key, char * const *l) {
        return l ? add(o, key, strv_to_json(l)) : add_null(o, key);
}

static int add_tag(json_object *o, json_object *tag) {
        return tag ? add(o, "tag", json_object_get(tag)) : 0;
}

static json_object *message_new(void) {
        _cleanup_(json_putp) json_object *o = json_object_new_object();

        if (!o || add_i64(o, "v", PROTOCOL_VERSION) < 0)
                return NULL;
        return TAKE_PTR(o);
}

static json_object *reply_new(json_object *tag, bool ok) {
        _cleanup_(json_putp) json_object *o = message_new();

        if (!o || add_bool(o, "ok", ok) < 0 || add_tag(o, tag) < 0)
                return NULL;
        return TAKE_PTR(o);
}

static const char *serialize(json_object *o, size_t *ret_len) {
        return json_object_to_json_string_length(o, JSON_FLAGS, ret_len);
}

/* The object as a malloc'd line with its '\n'; consumes o. */
static char *finish(json_object *o) {
        _cleanup_(json_putp) json_object *owned = o;
        const char *s;
        size_t len;
        char *line;

        if (!o)
                return NULL;
        s = serialize(o, &len);
        if (!s)
                return NULL;
        line = malloc(len + 2);
        if (!line)
                return NULL;
        memcpy(line, s, len);
        line[len] = '\n';
        line[len + 1] = 0;
        return line;
}

/* ---- reading JSON ---- */

/* The value of key; NULL when absent or null (the same to us). */
static json_object *get(json_object *o, const char *key) {
        json_object *v = NULL;

        (void) json_object_object_get_ex(o, key, &v);
        return v;
}

/* json-c keeps integers as int64 or uint64 and saturates beyond; every
 * integer of the protocol fits in int64, so one reader does. */
static int get_int(json_object *v, const char *what, int64_t min, int64_t max, int64_t *ret, char **e) {
        int64_t x;

        if (!json_object_is_type(v, json_type_int))
                return fail(e, -EINVAL, "%s: must be an integer", what);
        x = json_object_get_int64(v);
        if (x < min || x > max ||
            (x == INT64_MAX && json_object_get_uint64(v) != (uint64_t) INT64_MAX))
                return fail(e, -EINVAL, "%s: must be between %" PRIi64 " and %" PRIi64 ", got %s",
                            what, min, max, json_object_to_json_string_ext(v, JSON_FLAGS));
        *ret = x;
        return 0;
}

static int get_bool(json_object *v, const char *what, bool *ret, char **e) {
        if (!json_object_is_type(v, json_type_boolean))
                return fail(e, -EINVAL, "%s: must be true or false", what);
        *ret = json_object_get_boolean(v);
        return 0;
}

static int get_string(json_object *v, const char *what, char **ret, char **e) {
        const char *s;
        size_t len;
        char *c;

        if (!json_object_is_type(v, json_type_string))
                return fail(e, -EINVAL, "%s: must be a string", what);
        s = json_object_get_string(v);
        len = (size_t) json_object_get_string_len(v);
        if (memchr(s, 0, len))
                return fail(e, -EINVAL, "%s: must not contain NUL (\\u0000)", what);
        c = strndup(s, len);
        if (!c)
                return -ENOMEM;
        *ret = c;
        return 0;
}

static int get_strv(json_object *v, const char *what, size_t max_n, char ***ret, char **e) {
        _cleanup_(strv_freep) char **l = NULL;
        size_t n;
        int r;

        if (!json_object_is_type(v, json_type_array))
                return fail(e, -EINVAL, "%s: must be an array of strings", what);
        n = json_object_array_length(v);
        if (n > max_n)
                return fail(e, -EINVAL, "%s: %zu entries, at most %zu", what, n, max_n);
        l = calloc(n + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                r = get_string(json_object_array_get_idx(v, i),
                               label((char[LABEL_MAX]) {}, LABEL_MAX, "", what, (ssize_t) i), &l[i], e);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static int check_fields(json_object *o, const char * const *allowed, const char *where, char **e) {
        struct json_object_iterator i = json_object_iter_begin(o), end = json_object_iter_end(o);

        for (; !json_object_iter_equal(&i, &end); json_object_iter_next(&i)) {
                const char *key = json_object_iter_peek_name(&i);
                bool found = false;

                for (size_t k = 0; allowed[k] && !found; k++)
                        found = strcmp(allowed[k], key) == 0;
                if (!found)
                        return fail(e, -EINVAL, "%s: unknown field %s", where, QUOTE(key));
        }
        return 0;
}

static bool is_space(char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int hex4(const char *s, size_t len, unsigned *ret) {
        unsigned v = 0;

        if (len < 4)
                return -EINVAL;
        for (size_t i = 0; i < 4; i++) {
                char c = s[i];
                unsigned d;
                if (c >= '0' && c <= '9')
                        d = (unsigned) (c - '0');
                else if (c >= 'a' && c <= 'f')
                        d = (unsigned) (c - 'a' + 10);
                else if (c >= 'A' && c <= 'F')
                        d = (unsigned) (c - 'A' + 10);
                else
                        return -EINVAL;
                v = v * 16 + d;
        }
        *ret = v;
        return 0;
}

/* Refuses "\uD800".."\uDFFF" escapes that are not a high-low pair, which
 * json-c would replace with U+FFFD (Python's default json.dumps writes
 * surrogateescape'd bytes that way).  Runs on text json-c accepted; json-c
 * also takes single-quoted strings, so both quotes are tracked. */
static int check_surrogates(const char *s, size_t len, char **e) {
        char quote_char = 0;

        for (size_t i = 0; i < len; i++) {
                unsigned hi, lo;

                if (!quote_char) {
                        if (s[i] == '"' || s[i] == '\'')
                                quote_char = s[i];
                        continue;
                }
                if (s[i] == quote_char) {
                        quote_char = 0;
                        continue;
                }
                if (s[i] != '\\' || i + 1 >= len)
                        continue;
                i++;
                if (s[i] != 'u' || hex4(s + i + 1, len - i - 1, &hi) < 0)
                        continue;
                i += 4;
                if (hi < 0xd800 || hi > 0xdfff)
                        continue;
                if (hi <= 0xdbff && i + 6 < len && s[i + 1] == '\\' && s[i + 2] == 'u' &&
                    hex4(s + i + 3, len - i - 3, &lo) >= 0 && lo >= 0xdc00 && lo <= 0xdfff) {
                        i += 6;
                        continue;
                }
                return fail(e, -EINVAL,
                            "lone UTF-16 surrogate \\u%04x at byte %zu: send bytes that are not UTF-8 "
                            "as they are, not as escapes (Python: json.dumps(..., ensure_ascii=False)"
                            ".encode(\"utf-8\", \"surrogateescape\"))", hi, i - 5);
        }
        return 0;
}

/* One JSON object from one line. */
static int parse_object(const char *line, size_t len, const char *what, json_object **ret, char **e) {
        _cleanup_(tokener_freep) json_tokener *tok = NULL;
        _cleanup_(json_putp) json_object *o = NULL;
        enum json_tokener_error jerr;
        const char *nul;
        size_t end;

        if (len > INT_MAX)
                return fail(e, -E2BIG, "%s too long: %zu bytes", what, len);
        nul = memchr(line, 0, len);
        if (nul)
                return fail(e, -EBADMSG, "invalid JSON: NUL byte at byte %zu", (size_t) (nul - line));
        end = 0;
        while (end < len && is_space(line[end]))
                end++;
        if (end == len)
                return fail(e, -EBADMSG, "empty %s", what);

        tok = json_tokener_new_ex(PROTO_JSON_DEPTH_MAX);
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        o = json_tokener_parse_ex(tok, line, (int) len);
        jerr = json_tokener_get_error(tok);
        if (jerr == json_tokener_continue)
                return fail(e, -EBADMSG, "invalid JSON: the %s ends inside a value", what);
        if (jerr != json_tokener_success)
                return fail(e, -EBADMSG, "invalid JSON at byte %zu: %s",
                            json_tokener_get_parse_end(tok), json_tokener_error_desc(jerr));
        for (end = json_tokener_get_parse_end(tok); end < len; end++)
                if (!is_space(line[end]))
                        return fail(e, -EBADMSG, "invalid JSON at byte %zu: more after the object", end);
        if (!json_object_is_type(o, json_type_object))
                return fail(e, -EBADMSG, "a %s must be a JSON object", what);
        *ret = TAKE_PTR(o);
        return 0;
}

/* ---- task specs ---- */

static bool env_name_char(char c, bool first) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
               (!first && c >= '0' && c <= '9');
}

static int validate_argv(char * const *argv, const char *where, const char *field,
                         size_t *ret_bytes, char **e) {
        size_t n = strv_length(argv), bytes = 0;

        if (n == 0)
                return fail(e, -EINVAL, "%s: must not be empty%s", LABEL(where, field),
                            strcmp(field, "cleanup") == 0 ? " (omit it for no cleanup)" : "");
        if (n > TASK_ARGV_MAX)
                return fail(e, -EINVAL, "%s: %zu arguments, at most %d", LABEL(where, field), n, TASK_ARGV_MAX);
        if (argv[0][0] != '/')
                return fail(e, -EINVAL, "%s: must be an absolute path (the client resolves the command "
                            "against PATH), got %s", LABEL_AT(where, field, 0), QUOTE(argv[0]));
        if (strlen(argv[0]) >= TASK_PATH_MAX)
                return fail(e, -EINVAL, "%s: path too long, at most %d bytes",
                            LABEL_AT(where, field, 0), TASK_PATH_MAX - 1);
        for (size_t i = 0; i < n; i++) {
                size_t l = strlen(argv[i]);
                if (l >= TASK_ARG_MAX)
                        return fail(e, -EINVAL, "%s: %zu bytes long, at most %d",
                                    LABEL_AT(where, field, i), l, TASK_ARG_MAX - 1);
                bytes += l + 1;
        }
        *ret_bytes = bytes;
        return 0;
}

static int validate_path(const char *p, const char *what, char **e) {
        if (!p)
                return fail(e, -EINVAL, "%s: missing", what);
        if (p[0] != '/')
                return fail(e, -EINVAL, "%s: must be an absolute path, got %s", what, QUOTE(p));
        if (strlen(p) >= TASK_PATH_MAX)
                return fail(e, -EINVAL, "%s: path too long, at most %d bytes", what, TASK_PATH_MAX - 1);
        return 0;
}

static int validate_range(int64_t v, int64_t min, int64_t max, const char *what, char **e) {
        if (v < min || v > max)
                return fail(e, -EINVAL, "%s: must be between %" PRIi64 " and %" PRIi64 ", got %" PRIi64,
                            what, min, max, v);
        return 0;
}

static int validate_spec(const Task *t, const char *where, char **e) {
        size_t argv_bytes, cleanup_bytes = 0, env_bytes = 0, n;
        int r;

        r = validate_argv(t->argv, where, "argv", &argv_bytes, e);
        if (r < 0)
                return r;
        if (t->cleanup_argv) {
                r = validate_argv(t->cleanup_argv, where, "cleanup", &cleanup_bytes, e);
                if (r < 0)
                        return r;
        }

        n = strv_length(t->env);
        if (n > TASK_ENV_MAX)
                return fail(e, -EINVAL, "%s: %zu variables, at most %d", LABEL(where, "env"), n, TASK_ENV_MAX);
        for (size_t i = 0; i < n; i++) {
                const char *s = t->env[i];
                size_t k = 0, l = strlen(s);

                while (env_name_char(s[k], k == 0))
                        k++;
                if (k == 0 || s[k] != '=')
                        return fail(e, -EINVAL, "%s: must be VAR=VALUE with VAR made of letters, digits "
                                    "and '_', not starting with a digit, got %s",
                                    LABEL_AT(where, "env", i), QUOTE(s));
                if (strncmp(s, PROTO_ENV_RESERVED_PREFIX, strlen(PROTO_ENV_RESERVED_PREFIX)) == 0)
                        return fail(e, -EINVAL, "%s: %.*s: variables starting with " PROTO_ENV_RESERVED_PREFIX
                                    " are set by benchrunner, not by the task's env",
                                    LABEL_AT(where, "env", i), (int) (k < 64 ? k : 64), s);
                if (l >= TASK_ARG_MAX)
                        return fail(e, -EINVAL, "%s: %zu bytes long, at most %d",
                                    LABEL_AT(where, "env", i), l, TASK_ARG_MAX - 1);
                env_bytes += l + 1;
        }
        /* What one execve() gets, as the kernel counts ARG_MAX. */
        if (argv_bytes + env_bytes > TASK_ARGV_BYTES_MAX)
                return fail(e, -EINVAL, "%s: argv and env take %zu bytes together, at most %d",
                            where[0] ? where : "task", argv_bytes + env_bytes, TASK_ARGV_BYTES_MAX);
        if (cleanup_bytes + env_bytes > TASK_ARGV_BYTES_MAX)
                return fail(e, -EINVAL, "%s: cleanup and env take %zu bytes together, at most %d",
                            where[0] ? where : "task", cleanup_bytes + env_bytes, TASK_ARGV_BYTES_MAX);

        r = validate_path(t->submit_dir, LABEL(where, "cwd"), e);
        if (r < 0)
                return r;

        if (t->name) {
                size_t l = strlen(t->name);
                if (l == 0)
                        return fail(e, -EINVAL, "%s: must not be empty (omit it for the default task-ID)",
                                    LABEL(where, "name"));
                if (l >= TASK_NAME_MAX)
                        return fail(e, -EINVAL, "%s: %zu bytes long, at most %d",
                                    LABEL(where, "name"), l, TASK_NAME_MAX - 1);
                for (size_t i = 0; i < l; i++)
                        if ((unsigned char) t->name[i] < 0x20 || t->name[i] == 0x7f)
                                return fail(e, -EINVAL, "%s: must not contain control characters",
                                            LABEL(where, "name"));
        }

        r = validate_range(t->threads, 1, TASK_THREADS_MAX, LABEL(where, "threads"), e);
        if (r < 0)
                return r;
        if (t->memory_bytes > (uint64_t) INT64_MAX)
                return fail(e, -EINVAL, "%s: too large", LABEL(where, "memory"));
        if (t->time_limit_usec > PROTO_TIME_LIMIT_MAX_US)
                return fail(e, -EINVAL, "%s: at most %" PRIu64 " (a year)",
                            LABEL(where, "time_limit_us"), PROTO_TIME_LIMIT_MAX_US);
        if (t->cleanup_time_limit_usec > PROTO_TIME_LIMIT_MAX_US)
                return fail(e, -EINVAL, "%s: at most %" PRIu64 " (a year)",
                            LABEL(where, "cleanup_time_limit_us"), PROTO_TIME_LIMIT_MAX_US);
        r = validate_range(t->group, TASK_PRIORITY_MIN, TASK_PRIORITY_MAX, LABEL(where, "group"), e);
        if (r < 0)
                return r;
        return validate_range(t->priority, TASK_PRIORITY_MIN, TASK_PRIORITY_MAX, LABEL(where, "priority"), e);
}

int proto_spec_validate(const Task *t, char **ret_error) {
        return validate_spec(t, "", ret_error);
}

/* The fields a spec and a TASK share.  A spec (from a client) must have
 * positive time limits when it has them; a TASK says "none" with null. */
static int spec_fields_from_json(json_object *o, const char *where, bool spec, Task *t, char **e) {
        json_object *v;
        int64_t x;
        int r;

        if ((v = get(o, "argv"))) {
                r = get_strv(v, LABEL(where, "argv"), TASK_ARGV_MAX, &t->argv, e);
                if (r < 0)
                        return r;
        }
        if ((v = get(o, "cwd"))) {
                r = get_string(v, LABEL(where, "cwd"), &t->submit_dir, e);
                if (r < 0)
                        return r;
        }
        if ((v = get(o, "env"))) {
                r = get_strv(v, LABEL(where, "env"), TASK_ENV_MAX, &t->env, e);
                if (r < 0)
                        return r;
                if (!t->env[0]) {
                        strv_free(t->env);
                        t->env = NULL;
                }
        }
        if ((v = get(o, "name"))) {
                r = get_string(v, LABEL(where, "name"), &t->name, e);
                if (r < 0)
                        return r;
        }
        if ((v = get(o, "threads"))) {
                r = get_int(v, LABEL(where, "threads"), 1, TASK_THREADS_MAX, &x, e);
                if (r < 0)
                        return r;
                t->threads = (unsigned) x;
        }
        if ((v = get(o, "memory"))) {
                r = get_int(v, LABEL(where, "memory"), 0, INT64_MAX, &x, e);
                if (r < 0)
                        return r;
                t->memory_bytes = (uint64_t) x;
        }
        if ((v = get(o, "time_limit_us"))) {
                r = get_int(v, LABEL(where, "time_limit_us"), spec, (int64_t) PROTO_TIME_LIMIT_MAX_US, &x, e);
                if (r < 0)
                        return r;
                t->time_limit_usec = (uint64_t) x;
        }
        if ((v = get(o, "cleanup"))) {
                r = get_strv(v, LABEL(where, "cleanup"), TASK_ARGV_MAX, &t->cleanup_argv, e);
                if (r < 0)
                        return r;
        }
        if ((v = get(o, "cleanup_time_limit_us"))) {
                r = get_int(v, LABEL(where, "cleanup_time_limit_us"), spec,
                            (int64_t) PROTO_TIME_LIMIT_MAX_US, &x, e);
                if (r < 0)
                        return r;
                t->cleanup_time_limit_usec = (uint64_t) x;
        }
        if ((v = get(o, "group"))) {
                r = get_int(v, LABEL(where, "group"), TASK_PRIORITY_MIN, TASK_PRIORITY_MAX, &x, e);
                if (r < 0)
                        return r;
                t->group = (int) x;
        }
        if ((v = get(o, "priority"))) {
                r = get_int(v, LABEL(where, "priority"), TASK_PRIORITY_MIN, TASK_PRIORITY_MAX, &x, e);
                if (r < 0)
                        return r;
                t->priority = (int) x;
        }
        if ((v = get(o, "whole_cores"))) {
                r = get_bool(v, LABEL(where, "whole_cores"), &t->whole_cores, e);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Types and field names only: what a client may still complete (argv[0]
 * resolved against PATH, cwd filled in) before validating. */
static int spec_parse(json_object *o, const char *where, Task **ret, char **e) {
        _cleanup_(task_freep) Task *t = NULL;
        int r;

        if (!json_object_is_type(o, json_type_object))
                return fail(e, -EINVAL, "%s: must be an object (a task spec)", where[0] ? where : "task");
        r = check_fields(o, spec_fields, where[0] ? where : "task", e);
        if (r < 0)
                return r;

        t = task_new();
        if (!t)
                return -ENOMEM;
        r = spec_fields_from_json(o, where, true, t, e);
        if (r < 0)
                return r;
        if (!t->argv)
                return fail(e, -EINVAL, "%s: missing (the command, argv[0] an absolute path)",
                            LABEL(where, "argv"));
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
                return fail(e, -EINVAL, "%s: missing (the directory the task was submitted from)",
                            LABEL(where, "cwd"));
        r = validate_spec(t, where, e);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(t);
        return 0;
}

json_object *proto_spec_to_json(const Task *t) {
        _cleanup_(json_putp) json_object *o = json_object_new_object();

        if (!o ||
            add(o, "argv", strv_to_json(t->argv)) < 0 ||
            add_str(o, "cwd", t->submit_dir) < 0 ||
            (t->env && t->env[0] && add(o, "env", strv_to_json(t->env)) < 0) ||
            (t->name && add_str(o, "name", t->name) < 0) ||
            add_u64(o, "threads", t->threads) < 0 ||
            (t->memory_bytes && add_u64(o, "memory", t->memory_bytes) < 0) ||
            (t->time_limit_usec && add_u64(o, "time_limit_us", t->time_limit_usec) < 0) ||
            (t->cleanup_argv && add(o, "cleanup", strv_to_json(t->cleanup_argv)) < 0) ||
            (t->cleanup_time_limit_usec &&
             add_u64(o, "cleanup_time_limit_us", t->cleanup_time_limit_usec) < 0) ||
            add_i64(o, "group", t->group) < 0 ||
            add_i64(o, "priority", t->priority) < 0 ||
            add_bool(o, "whole_cores", t->whole_cores) < 0)
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
            add_str(o, "reason", r->reason == TASK_REASON_NONE ? NULL : task_reason_to_string(r->reason)) < 0 ||
            (r->has_exit_code ? add_i64(o, "exit_code", r->exit_code) : add_null(o, "exit_code")) < 0 ||
            (r->has_signal ? add_i64(o, "signal", r->signal) : add_null(o, "signal")) < 0 ||
            add_u64_or_null(o, "started_at_us", r->started_usec) < 0 ||
            add_u64_or_null(o, "finished_at_us", r->finished_usec) < 0 ||
            add_u64(o, "wall_us", r->wall_usec) < 0 ||
            (r->has_cpu ? add_u64(o, "cpu_user_us", r->cpu_user_usec)
                        : add_null(o, "cpu_user_us")) < 0 ||
            (r->has_cpu ? add_u64(o, "cpu_system_us", r->cpu_system_usec)
                        : add_null(o, "cpu_system_us")) < 0 ||
            (r->has_peak_memory ? add_u64(o, "peak_memory_bytes", r->peak_memory_bytes)
                                : add_null(o, "peak_memory_bytes")) < 0)
                return NULL;
        return TAKE_PTR(o);
}

static int add_result(json_object *o, const char *key, const TaskResult *r) {
        return result_is_empty(r) ? add_null(o, key) : add(o, key, result_to_json(r));
}

/* The user name of uid, or NULL (unknown, or out of memory: the name is
 * a courtesy, the uid is the truth). */
static char *user_name(uid_t uid) {
        long sz = sysconf(_SC_GETPW_R_SIZE_MAX);
        size_t size = sz > 0 ? (size_t) sz : 1024;

        for (;;) {
                _cleanup_(free_stringp) char *buf = malloc(size);
                struct passwd pw, *result = NULL;
                int r;

                if (!buf)
                        return NULL;
                r = getpwuid_r(uid, &pw, buf, size, &result);
                if (r == ERANGE && size < 1024 * 1024) {
                        size *= 2;
                        continue;
                }
                if (r != 0 || !result)
                        return NULL;
                return strdup(result->pw_name);
        }
}

json_object *proto_task_to_json(const Task *t) {
        _cleanup_(json_putp) json_object *o = json_object_new_object();
        /* the name recorded with the task (at submit, or by the daemon that
         * sent it), else the one this system knows */
        _cleanup_(free_stringp) char *user = t->user ? strdup(t->user) : user_name(t->uid);

        if (!o ||
            add_i64(o, "id", t->id) < 0 ||
            add_str(o, "name", t->name) < 0 ||
            add_u64(o, "uid", t->uid) < 0 ||
            add_u64(o, "gid", t->gid) < 0 ||
            add_str(o, "user", user) < 0 ||
            add_str(o, "state", task_state_to_string(t->state)) < 0 ||
            add_strv(o, "argv", t->argv) < 0 ||
            add(o, "env", strv_to_json(t->env)) < 0 ||
            add_str(o, "cwd", t->submit_dir) < 0 ||
            add_strv(o, "cleanup", t->cleanup_argv) < 0 ||
            add_u64(o, "threads", t->threads) < 0 ||
            add_u64(o, "memory", t->memory_bytes) < 0 ||
            add_u64_or_null(o, "time_limit_us", t->time_limit_usec) < 0 ||
            add_u64_or_null(o, "cleanup_time_limit_us", t->cleanup_time_limit_usec) < 0 ||
            add_i64(o, "group", t->group) < 0 ||
            add_i64(o, "priority", t->priority) < 0 ||
            add_bool(o, "whole_cores", t->whole_cores) < 0 ||
            add_u64_or_null(o, "queued_at_us", t->queued_usec) < 0 ||
            add_str(o, "cpus", t->cpus) < 0 ||
            add_str(o, "unit", t->unit) < 0 ||
            add_str(o, "output_dir", t->output_dir) < 0 ||
            add_bool(o, "output_truncated", t->output_truncated) < 0 ||
            add_result(o, "result", &t->main) < 0 ||
            add_result(o, "cleanup_result", &t->cleanup) < 0)
                return NULL;
        return TAKE_PTR(o);
}

static int get_u64_field(json_object *o, const char *key, const char *where, uint64_t *ret, char **e) {
        json_object *v = get(o, key);
        int64_t x;
        int r;

        if (!v) {
                *ret = 0;
                return 0;
        }
        r = get_int(v, LABEL(where, key), 0, INT64_MAX, &x, e);
        if (r < 0)
                return r;
        *ret = (uint64_t) x;
        return 0;
}

static int get_optional_int(json_object *o, const char *key, const char *where, bool *has, int *ret, char **e) {
        json_object *v = get(o, key);
        int64_t x;
        int r;

        *has = false;
        if (!v)
                return 0;
        r = get_int(v, LABEL(where, key), INT_MIN, INT_MAX, &x, e);
        if (r < 0)
                return r;
        *has = true;
        *ret = (int) x;
        return 0;
}

static int result_from_json(json_object *o, const char *where, TaskResult *ret, char **e) {
        _cleanup_(free_stringp) char *reason = NULL;
        TaskResult res = {};
        json_object *v;
        int r;

        if (!o)
                goto done;
        if (!json_object_is_type(o, json_type_object))
                return fail(e, -EINVAL, "%s: must be an object", where);
        if ((v = get(o, "reason"))) {
                r = get_string(v, LABEL(where, "reason"), &reason, e);
                if (r < 0)
                        return r;
                res.reason = task_reason_from_string(reason);
                if (res.reason < 0)
                        return fail(e, -EINVAL, "%s: unknown reason %s", LABEL(where, "reason"), QUOTE(reason));
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
        res.has_cpu = get(o, "cpu_user_us") || get(o, "cpu_system_us");
        res.has_peak_memory = get(o, "peak_memory_bytes");
done:
        *ret = res;
        return 0;
}

static int task_from_json(json_object *o, const char *where, Task **ret, char **e) {
        _cleanup_(task_freep) Task *t = NULL;
        _cleanup_(free_stringp) char *state = NULL;
        json_object *v;
        int64_t x;
        int r;

        if (!json_object_is_type(o, json_type_object))
                return fail(e, -EINVAL, "%s: must be an object", where);
        t = task_new();
        if (!t)
                return -ENOMEM;
        r = spec_fields_from_json(o, where, false, t, e);
        if (r < 0)
                return r;
        if (!t->argv || !t->argv[0])
                return fail(e, -EINVAL, "%s: missing", LABEL(where, "argv"));

        v = get(o, "id");
        if (!v)
                return fail(e, -EINVAL, "%s: missing", LABEL(where, "id"));
        r = get_int(v, LABEL(where, "id"), 0, INT64_MAX, &t->id, e);
        if (r < 0)
                return r;
        if ((v = get(o, "uid"))) {
                r = get_int(v, LABEL(where, "uid"), 0, UINT32_MAX - 1, &x, e);
                if (r < 0)
                        return r;
                t->uid = (uid_t) x;
        }
        if ((v = get(o, "gid"))) {
                r = get_int(v, LABEL(where, "gid"), 0, UINT32_MAX - 1, &x, e);
                if (r < 0)
                        return r;
                t->gid = (gid_t) x;
        }
        if ((v = get(o, "user")) && (r = get_string(v, LABEL(where, "user"), &t->user, e)) < 0)
                return r;
        v = get(o, "state");
        if (!v)
                return fail(e, -EINVAL, "%s: missing", LABEL(where, "state"));
        r = get_string(v, LABEL(where, "state"), &state, e);
        if (r < 0)
                return r;
        t->state = task_state_from_string(state);
        if (t->state < 0)
                return fail(e, -EINVAL, "%s: unknown state %s", LABEL(where, "state"), QUOTE(state));
        r = get_u64_field(o, "queued_at_us", where, &t->queued_usec, e);
        if (r < 0)
                return r;
        if ((v = get(o, "cpus")) && (r = get_string(v, LABEL(where, "cpus"), &t->cpus, e)) < 0)
                return r;
        if ((v = get(o, "unit")) && (r = get_string(v, LABEL(where, "unit"), &t->unit, e)) < 0)
                return r;
        if ((v = get(o, "output_dir")) && (r = get_string(v, LABEL(where, "output_dir"), &t->output_dir, e)) < 0)
                return r;
        if ((v = get(o, "output_truncated")) &&
            (r = get_bool(v, LABEL(where, "output_truncated"), &t->output_truncated, e)) < 0)
                return r;
        r = result_from_json(get(o, "result"), LABEL(where, "result"), &t->main, e);
        if (r < 0)
                return r;
        r = result_from_json(get(o, "cleanup_result"), LABEL(where, "cleanup_result"), &t->cleanup, e);
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
        free(req);
        return NULL;
}

static int parse_submit(json_object *o, ProtoRequest *req, char **e) {
        json_object *v = get(o, "tasks");
        size_t n;
        int r;

        if (!v)
                return fail(e, -EINVAL, "tasks: missing");
        if (!json_object_is_type(v, json_type_array))
                return fail(e, -EINVAL, "tasks: must be an array of task specs");
        n = json_object_array_length(v);
        if (n == 0)
                return fail(e, -EINVAL, "tasks: must not be empty");
        if (n > PROTO_SUBMIT_MAX)
                return fail(e, -EINVAL, "tasks: %zu tasks in one request, at most %d: split the batch",
                            n, PROTO_SUBMIT_MAX);
        req->tasks = calloc(n, sizeof(Task *));
        if (!req->tasks)
                return -ENOMEM;
        req->n_tasks = n;
        for (size_t i = 0; i < n; i++) {
                char where[32];

                (void) snprintf(where, sizeof where, "tasks[%zu]", i);
                r = spec_from_json(json_object_array_get_idx(v, i), where, &req->tasks[i], e);
                if (r < 0)
                        return r;
        }
        if ((v = get(o, "follow")))
                return get_bool(v, "follow", &req->follow, e);
        return 0;
}

static int parse_list(json_object *o, ProtoRequest *req, char **e) {
        json_object *v;
        int64_t x;
        int r;

        if ((v = get(o, "states"))) {
                size_t n;

                if (!json_object_is_type(v, json_type_array))
                        return fail(e, -EINVAL, "states: must be an array of strings");
                n = json_object_array_length(v);
                if (n == 0)
                        return fail(e, -EINVAL, "states: must not be empty (omit it for all states)");
                for (size_t i = 0; i < n; i++) {
                        json_object *s = json_object_array_get_idx(v, i);
                        TaskState st;

                        if (!json_object_is_type(s, json_type_string))
                                return fail(e, -EINVAL, "states[%zu]: must be a string", i);
                        st = task_state_from_string(json_object_get_string(s));
                        if (st < 0)
                                return fail(e, -EINVAL, "states[%zu]: unknown state %s "
                                            "(queued, running, cleanup, finished)",
                                            i, QUOTE(json_object_get_string(s)));
                        req->state_mask |= 1u << st;
                }
        }
        if ((v = get(o, "uid"))) {
                r = get_int(v, "uid", 0, UINT32_MAX - 1, &x, e);
                if (r < 0)
                        return r;
                req->has_uid = true;
                req->uid = (uid_t) x;
        }
        req->limit = PROTO_LIST_LIMIT_MAX;
        if ((v = get(o, "limit"))) {
                r = get_int(v, "limit", 1, UINT32_MAX, &x, e);
                if (r < 0)
                        return r;
                if (x < PROTO_LIST_LIMIT_MAX)
                        req->limit = (unsigned) x;
        }
        if ((v = get(o, "after_id"))) {
                r = get_int(v, "after_id", 0, INT64_MAX, &req->after_id, e);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_cancel(json_object *o, ProtoRequest *req, char **e) {
        json_object *v = get(o, "ids");
        size_t n;
        int r;

        if (!v)
                return fail(e, -EINVAL, "ids: missing");
        if (!json_object_is_type(v, json_type_array))
                return fail(e, -EINVAL, "ids: must be an array of task ids");
        n = json_object_array_length(v);
        if (n == 0)
                return fail(e, -EINVAL, "ids: must not be empty");
        if (n > PROTO_IDS_MAX)
                return fail(e, -EINVAL, "ids: %zu ids in one request, at most %d", n, PROTO_IDS_MAX);
        req->ids = calloc(n, sizeof(int64_t));
        if (!req->ids)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                r = get_int(json_object_array_get_idx(v, i), LABEL_AT("", "ids", i), 1, INT64_MAX,
                            &req->ids[i], e);
                if (r < 0)
                        return r;
                req->n_ids++;
        }
        return 0;
}

int proto_parse_request(const char *line, size_t len, ProtoRequest **ret,
                        json_object **ret_tag, char **ret_error) {
        _cleanup_(json_putp) json_object *o = NULL;
        _cleanup_(proto_request_freep) ProtoRequest *req = NULL;
        const char * const common[] = { "v", "op", "tag", NULL };
        const char *allowed[ELEMENTSOF(common) + ELEMENTSOF(op_fields[0])];
        json_object *v, *tag;
        size_t n = 0, tag_len;
        int64_t x;
        ProtoOp op;
        int r;

        if (ret_tag)
                *ret_tag = NULL;
        if (len > PROTO_LINE_MAX)
                return fail(ret_error, -E2BIG, "request too long: %zu bytes, at most %u", len, PROTO_LINE_MAX);
        r = parse_object(line, len, "request", &o, ret_error);
        if (r < 0)
                return r;

        tag = get(o, "tag");
        if (tag) {
                if (!serialize(tag, &tag_len))
                        return -ENOMEM;
                if (tag_len > PROTO_TAG_MAX)
                        return fail(ret_error, -EINVAL, "tag: %zu bytes, at most %d", tag_len, PROTO_TAG_MAX);
                if (ret_tag)
                        *ret_tag = json_object_get(tag);
        }

        v = get(o, "v");
        if (!v)
                return fail(ret_error, -EINVAL,
                            "missing \"v\": every request carries the protocol version (benchrunnerd speaks %d)",
                            PROTOCOL_VERSION);
        if (!json_object_is_type(v, json_type_int))
                return fail(ret_error, -EINVAL, "v: must be an integer, the protocol version");
        x = json_object_get_int64(v);
        if (x != PROTOCOL_VERSION)
                return fail(ret_error, -EPROTONOSUPPORT,
                            "protocol version mismatch: the request has version %" PRIi64
                            ", benchrunnerd speaks version %d", x, PROTOCOL_VERSION);

        r = check_surrogates(line, len, ret_error);
        if (r < 0)
                return r;

        v = get(o, "op");
        if (!v)
                return fail(ret_error, -EINVAL, "op: missing (ping, submit, stats, list, show or cancel)");
        if (!json_object_is_type(v, json_type_string))
                return fail(ret_error, -EINVAL, "op: must be a string");
        op = proto_op_from_string(json_object_get_string(v));
        if (op < 0)
                return fail(ret_error, -EINVAL, "op: unknown op %s (ping, submit, stats, list, show or cancel)",
                            QUOTE(json_object_get_string(v)));

        for (size_t i = 0; common[i]; i++)
                allowed[n++] = common[i];
        for (size_t i = 0; op_fields[op][i]; i++)
                allowed[n++] = op_fields[op][i];
        allowed[n] = NULL;
        r = check_fields(o, allowed, op_names[op], ret_error);
        if (r < 0)
                return r;

        req = calloc(1, sizeof(ProtoRequest));
        if (!req)
                return -ENOMEM;
        req->op = op;
        req->tag = json_object_get(tag);

        switch (op) {
        case PROTO_OP_PING:
                break;
        case PROTO_OP_SUBMIT:
                r = parse_submit(o, req, ret_error);
                break;
        case PROTO_OP_STATS:
                if ((v = get(o, "follow")))
                        r = get_bool(v, "follow", &req->follow, ret_error);
                break;
        case PROTO_OP_LIST:
                r = parse_list(o, req, ret_error);
                break;
        case PROTO_OP_SHOW:
                v = get(o, "id");
                if (!v)
                        return fail(ret_error, -EINVAL, "id: missing");
                r = get_int(v, "id", 1, INT64_MAX, &req->id, ret_error);
                break;
        case PROTO_OP_CANCEL:
                r = parse_cancel(o, req, ret_error);
                break;
        default:
                return -EINVAL;
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(req);
        return 0;
}

static json_object *request_to_json(const ProtoRequest *req) {
        _cleanup_(json_putp) json_object *o = message_new();
        _cleanup_(json_putp) json_object *a = NULL;

        if (!o ||
            add_str(o, "op", proto_op_to_string(req->op)) < 0 ||
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
                        if (array_add(a, proto_spec_to_json(req->tasks[i])) < 0)
                                return NULL;
                if (add(o, "tasks", TAKE_PTR(a)) < 0 ||
                    (req->follow && add_bool(o, "follow", true) < 0))
                        return NULL;
                break;
        case PROTO_OP_STATS:
                if (req->follow && add_bool(o, "follow", true) < 0)
                        return NULL;
                break;
        case PROTO_OP_LIST:
                if (req->state_mask) {
                        a = json_object_new_array();
                        if (!a)
                                return NULL;
                        for (int s = 0; s < _TASK_STATE_MAX; s++)
                                if ((req->state_mask & (1u << s)) &&
                                    array_add(a, json_object_new_string(task_state_to_string((TaskState) s))) < 0)
                                        return NULL;
                        if (add(o, "states", TAKE_PTR(a)) < 0)
                                return NULL;
                }
                if ((req->has_uid && add_u64(o, "uid", req->uid) < 0) ||
                    (req->limit && add_u64(o, "limit", req->limit) < 0) ||
                    (req->after_id && add_i64(o, "after_id", req->after_id) < 0))
                        return NULL;
                break;
        case PROTO_OP_SHOW:
                if (add_i64(o, "id", req->id) < 0)
                        return NULL;
                break;
        case PROTO_OP_CANCEL:
                a = json_object_new_array();
                if (!a)
                        return NULL;
                for (size_t i = 0; i < req->n_ids; i++)
                        if (array_add(a, json_object_new_int64(req->ids[i])) < 0)
                                return NULL;
                if (add(o, "ids", TAKE_PTR(a)) < 0)
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
        if (req->op == PROTO_OP_SUBMIT && (req->n_tasks == 0 || !req->tasks))
                return -EINVAL;
        if (req->op == PROTO_OP_SUBMIT && req->n_tasks > PROTO_SUBMIT_MAX)
                return -E2BIG;
        if (req->op == PROTO_OP_CANCEL && (req->n_ids == 0 || !req->ids))
                return -EINVAL;
        if (req->op == PROTO_OP_CANCEL && req->n_ids > PROTO_IDS_MAX)
                return -E2BIG;

        o = request_to_json(req);
        if (!o)
                return -ENOMEM;
        line = finish(TAKE_PTR(o));
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
                              bool follow, char **ret, size_t *ret_n) {
        ProtoRequest req = {
                .op = PROTO_OP_SUBMIT,
                .tag = tag,
                .follow = follow,
                .tasks = (Task **) tasks,
                .n_tasks = 1,
        };
        _cleanup_(free_stringp) char *one = NULL;
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

                if (!spec || !serialize(spec, &len))
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
        return finish(reply_new(tag, true));
}

char *proto_reply_error(json_object *tag, const char *fmt, ...) {
        _cleanup_(json_putp) json_object *o = reply_new(tag, false);
        _cleanup_(free_stringp) char *s = NULL;
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
        if (add_str(o, "error", s) < 0)
                return NULL;
        return finish(TAKE_PTR(o));
}

char *proto_reply_ping(json_object *tag) {
        _cleanup_(json_putp) json_object *o = reply_new(tag, true);

        if (!o ||
            add_str(o, "version", PACKAGE_VERSION) < 0 ||
            add_i64(o, "protocol", PROTOCOL_VERSION) < 0)
                return NULL;
        return finish(TAKE_PTR(o));
}

char *proto_reply_submit(json_object *tag, const int64_t *ids, size_t n) {
        _cleanup_(json_putp) json_object *o = reply_new(tag, true);
        _cleanup_(json_putp) json_object *a = json_object_new_array();

        if (!o || !a)
                return NULL;
        for (size_t i = 0; i < n; i++)
                if (array_add(a, json_object_new_int64(ids[i])) < 0)
                        return NULL;
        if (add(o, "ids", TAKE_PTR(a)) < 0)
                return NULL;
        return finish(TAKE_PTR(o));
}

static int add_stats(json_object *o, const ProtoStats *s) {
        if (add_u64(o, "running", s->running) < 0 ||
            add_u64(o, "cleanup", s->cleanup) < 0 ||
            add_u64(o, "queued", s->queued) < 0 ||
            add_u64(o, "threads_busy", s->threads_busy) < 0 ||
            add_u64(o, "threads_total", s->threads_total) < 0 ||
            add_u64(o, "memory_used", s->memory_used) < 0 ||
            add_u64(o, "memory_total", s->memory_total) < 0)
                return -ENOMEM;
        return 0;
}

char *proto_reply_stats(json_object *tag, const ProtoStats *s) {
        _cleanup_(json_putp) json_object *o = reply_new(tag, true);

        if (!o || add_stats(o, s) < 0)
                return NULL;
        return finish(TAKE_PTR(o));
}

char *proto_reply_list(json_object *tag, Task * const *tasks, size_t n, bool more, size_t *ret_n) {
        _cleanup_(json_putp) json_object *o = reply_new(tag, true);
        _cleanup_(json_putp) json_object *a = json_object_new_array();
        size_t total, k;

        if (!o || !a)
                return NULL;
        /* Room for the envelope: v, ok, a tag of at most PROTO_TAG_MAX,
         * "tasks":[], "more":true. */
        total = PROTO_TAG_MAX + 64;
        for (k = 0; k < n; k++) {
                _cleanup_(json_putp) json_object *t = proto_task_to_json(tasks[k]);
                size_t len;

                if (!t || !serialize(t, &len))
                        return NULL;
                if (k > 0 && total + len + 1 > PROTO_REPLY_LINE_MAX) {
                        more = true;
                        break;
                }
                total += len + 1;
                if (array_add(a, TAKE_PTR(t)) < 0)
                        return NULL;
        }
        if (add(o, "tasks", TAKE_PTR(a)) < 0 || add_bool(o, "more", more) < 0)
                return NULL;
        if (ret_n)
                *ret_n = k;
        return finish(TAKE_PTR(o));
}

char *proto_reply_show(json_object *tag, const Task *t) {
        _cleanup_(json_putp) json_object *o = reply_new(tag, true);

        if (!o || add(o, "task", proto_task_to_json(t)) < 0)
                return NULL;
        return finish(TAKE_PTR(o));
}

char *proto_reply_cancel(json_object *tag, const ProtoCancelResult *results, size_t n) {
        _cleanup_(json_putp) json_object *o = reply_new(tag, true);
        _cleanup_(json_putp) json_object *a = json_object_new_array();

        if (!o || !a)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                _cleanup_(json_putp) json_object *r = json_object_new_object();

                if (!r ||
                    add_i64(r, "id", results[i].id) < 0 ||
                    add_bool(r, "ok", !results[i].error) < 0 ||
                    (results[i].error && add_str(r, "error", results[i].error) < 0) ||
                    array_add(a, TAKE_PTR(r)) < 0)
                        return NULL;
        }
        if (add(o, "results", TAKE_PTR(a)) < 0)
                return NULL;
        return finish(TAKE_PTR(o));
}

char *proto_event_task(ProtoEvent e, const Task *t) {
        _cleanup_(json_putp) json_object *o = NULL;

        if (e < 0 || e >= _PROTO_EVENT_MAX || e == PROTO_EVENT_STATS)
                return NULL;
        o = message_new();
        if (!o ||
            add_str(o, "event", event_names[e]) < 0 ||
            add(o, "task", proto_task_to_json(t)) < 0)
                return NULL;
        return finish(TAKE_PTR(o));
}

char *proto_event_stats(const ProtoStats *s) {
        _cleanup_(json_putp) json_object *o = message_new();

        if (!o ||
            add_str(o, "event", event_names[PROTO_EVENT_STATS]) < 0 ||
            add_stats(o, s) < 0)
                return NULL;
        return finish(TAKE_PTR(o));
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

static int stats_from_json(json_object *o, ProtoStats *ret, char **e) {
        ProtoStats s = {};
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
                json_object *v = get(o, fields[i].key);
                int64_t x;

                if (!v)
                        return fail(e, -EINVAL, "%s: missing", fields[i].key);
                r = get_int(v, fields[i].key, 0, INT64_MAX, &x, e);
                if (r < 0)
                        return r;
                *fields[i].value = (uint64_t) x;
        }
        *ret = s;
        return 0;
}

static int message_fields(json_object *o, ProtoMessage *m, char **e) {
        json_object *v;
        int64_t x;
        int r;

        if ((v = get(o, "version")) && (r = get_string(v, "version", &m->version, e)) < 0)
                return r;
        if ((v = get(o, "protocol"))) {
                r = get_int(v, "protocol", 0, INT_MAX, &x, e);
                if (r < 0)
                        return r;
                m->protocol = (unsigned) x;
        }
        if ((v = get(o, "ids"))) {
                size_t n;

                if (!json_object_is_type(v, json_type_array))
                        return fail(e, -EINVAL, "ids: must be an array");
                n = json_object_array_length(v);
                m->ids = calloc(n ? n : 1, sizeof(int64_t));
                if (!m->ids)
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++) {
                        r = get_int(json_object_array_get_idx(v, i), LABEL_AT("", "ids", i),
                                    1, INT64_MAX, &m->ids[i], e);
                        if (r < 0)
                                return r;
                        m->n_ids++;
                }
        }
        if (get(o, "running")) {
                r = stats_from_json(o, &m->stats, e);
                if (r < 0)
                        return r;
                m->has_stats = true;
        }
        if ((v = get(o, "task"))) {
                r = task_from_json(v, "task", &m->task, e);
                if (r < 0)
                        return r;
        }
        if ((v = get(o, "tasks"))) {
                size_t n;

                if (!json_object_is_type(v, json_type_array))
                        return fail(e, -EINVAL, "tasks: must be an array");
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
        }
        if ((v = get(o, "more")) && (r = get_bool(v, "more", &m->more, e)) < 0)
                return r;
        if ((v = get(o, "results"))) {
                size_t n;

                if (!json_object_is_type(v, json_type_array))
                        return fail(e, -EINVAL, "results: must be an array");
                n = json_object_array_length(v);
                m->results = calloc(n ? n : 1, sizeof(ProtoCancelResult));
                if (!m->results)
                        return -ENOMEM;
                m->n_results = n;
                for (size_t i = 0; i < n; i++) {
                        json_object *res = json_object_array_get_idx(v, i), *w;
                        bool ok = false;
                        char *err = NULL;

                        if (!json_object_is_type(res, json_type_object))
                                return fail(e, -EINVAL, "results[%zu]: must be an object", i);
                        if (!(w = get(res, "id")))
                                return fail(e, -EINVAL, "results[%zu].id: missing", i);
                        r = get_int(w, "results.id", 1, INT64_MAX, &m->results[i].id, e);
                        if (r < 0)
                                return r;
                        if (!(w = get(res, "ok")))
                                return fail(e, -EINVAL, "results[%zu].ok: missing", i);
                        r = get_bool(w, "results.ok", &ok, e);
                        if (r < 0)
                                return r;
                        if (!ok) {
                                w = get(res, "error");
                                if (w) {
                                        r = get_string(w, "results.error", &err, e);
                                        if (r < 0)
                                                return r;
                                } else {
                                        err = strdup("failed");
                                        if (!err)
                                                return -ENOMEM;
                                }
                        }
                        m->results[i].error = err;
                }
        }
        return 0;
}

int proto_parse_message(const char *line, size_t len, ProtoMessage **ret, char **ret_error) {
        _cleanup_(json_putp) json_object *o = NULL;
        ProtoMessage *m = NULL;
        json_object *v, *ok, *err;
        int64_t x;
        int r;

        if (len > PROTO_REPLY_LINE_MAX)
                return fail(ret_error, -E2BIG, "message from benchrunnerd too long: %zu bytes, at most %u",
                            len, PROTO_REPLY_LINE_MAX);
        r = parse_object(line, len, "message", &o, ret_error);
        if (r < 0)
                return r;

        m = calloc(1, sizeof(ProtoMessage));
        if (!m)
                return -ENOMEM;
        m->event = _PROTO_EVENT_INVALID;

        v = get(o, "v");
        if (!v || !json_object_is_type(v, json_type_int)) {
                r = fail(ret_error, -EBADMSG, "message from benchrunnerd without a protocol version");
                goto bad;
        }
        x = json_object_get_int64(v);
        ok = get(o, "ok");
        err = get(o, "error");
        if (x != PROTOCOL_VERSION) {
                /* An error reply reads the same in every version. */
                if (ok && json_object_is_type(ok, json_type_boolean) && !json_object_get_boolean(ok) &&
                    err && json_object_is_type(err, json_type_string)) {
                        r = get_string(err, "error", &m->error, ret_error);
                        if (r < 0)
                                goto bad;
                        *ret = m;
                        return 0;
                }
                r = fail(ret_error, -EPROTONOSUPPORT,
                         "protocol version mismatch: benchrunnerd speaks version %" PRIi64
                         ", this program version %d", x, PROTOCOL_VERSION);
                goto bad;
        }

        v = get(o, "event");
        if (v) {
                m->is_event = true;
                if (!json_object_is_type(v, json_type_string)) {
                        r = fail(ret_error, -EBADMSG, "event: must be a string");
                        goto bad;
                }
                m->event = proto_event_from_string(json_object_get_string(v));
                if (m->event == PROTO_EVENT_STATS) {
                        r = stats_from_json(o, &m->stats, ret_error);
                        if (r < 0)
                                goto bad;
                        m->has_stats = true;
                } else if (m->event >= 0) {
                        v = get(o, "task");
                        if (!v) {
                                r = fail(ret_error, -EBADMSG, "%s event without a task",
                                         event_names[m->event]);
                                goto bad;
                        }
                        r = task_from_json(v, "task", &m->task, ret_error);
                        if (r < 0)
                                goto bad;
                }
                *ret = m;
                return 0;
        }

        if (!ok || !json_object_is_type(ok, json_type_boolean)) {
                r = fail(ret_error, -EBADMSG, "reply from benchrunnerd without \"ok\"");
                goto bad;
        }
        m->ok = json_object_get_boolean(ok);
        m->tag = json_object_get(get(o, "tag"));
        if (!m->ok) {
                if (err)
                        r = get_string(err, "error", &m->error, ret_error);
                else
                        r = (m->error = strdup("unknown error")) ? 0 : -ENOMEM;
                if (r < 0)
                        goto bad;
                *ret = m;
                return 0;
        }
        r = message_fields(o, m, ret_error);
        if (r < 0)
                goto bad;
        *ret = m;
        return 0;

bad:
        proto_message_free(m);
        return r == -EINVAL ? -EBADMSG : r;
}
