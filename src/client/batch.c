/* batch.c: one line of a batch file into a task spec (batch.h).  The line
 * is read leniently, as json-c's json_tokener_parse() reads (the format
 * br-run has always taken), but for the escapes json-c would silently
 * change.  Before the protocol's parser sees it, the line's conveniences
 * become the protocol's fields: sizes and durations written as the command
 * line writes them, and the fields of the prototype's task files; then the
 * spec is checked as strictly as the daemon will check it. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "batch.h"
#include "json.h"
#include "protocol.h"
#include "util.h"

bool batch_line_strip(char *line, size_t *len) {
        size_t n = *len;

        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                line[--n] = 0;
        *len = n;
        return n > 0 && line[0] != '#';
}

/* ---- what a line may say otherwise ---- */

/* Moves o's field from to to (the protocol's name); both there is an
 * error.  1 when it moved, 0 when there was none. */
static int rename_field(json_object *o, const char *from, const char *to, char **e) {
        json_object *v = json_field(o, from);

        if (!v)
                return 0;
        if (json_field(o, to))
                return json_fail(e, -EINVAL, _("give either %s or %s, not both"), from, to);
        json_object_get(v);
        json_object_object_del(o, from);
        if (json_object_object_add(o, to, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 1;
}

static int set_u64(json_object *o, const char *key, uint64_t v) {
        if (v > INT64_MAX)
                v = INT64_MAX;   /* the protocol's parser says it is too big */
        return json_object_object_add(o, key, json_object_new_int64((int64_t) v)) < 0 ? -ENOMEM : 0;
}

/* "memory": "2G" as the command line's --memory takes it; a number stays
 * bytes. */
static int normalize_memory(json_object *o, char **e) {
        json_object *v = json_field(o, "memory");
        uint64_t bytes;

        if (!v || !json_object_is_type(v, json_type_string))
                return 0;
        if (parse_size(json_object_get_string(v), &bytes) < 0 || bytes == 0)
                return json_fail(e, -EINVAL, _("memory: not a size: %s (use 512M, 2G, ...)"),
                                 JSON_QUOTE(json_object_get_string(v)));
        return set_u64(o, "memory", bytes);
}

/* "retry_oom": ["2G", "4G"] as the command line's --retry-oom takes its
 * sizes; numbers stay bytes. */
static int normalize_retry_oom(json_object *o, char **e) {
        json_object *a = json_field(o, "retry_oom");

        if (!a || !json_object_is_type(a, json_type_array))
                return 0;   /* the protocol's parser says what is wrong */
        for (size_t i = 0, n = json_object_array_length(a); i < n; i++) {
                json_object *v = json_object_array_get_idx(a, i), *b;
                uint64_t bytes;

                if (!v || !json_object_is_type(v, json_type_string))
                        continue;
                if (parse_size(json_object_get_string(v), &bytes) < 0 || bytes == 0 || bytes > INT64_MAX)
                        return json_fail(e, -EINVAL, _("retry_oom[%zu]: not a size: %s (use 512M, 2G, ...)"), i,
                                         JSON_QUOTE(json_object_get_string(v)));
                b = json_object_new_int64((int64_t) bytes);
                if (!b || json_object_array_put_idx(a, i, b) < 0) {
                        json_object_put(b);
                        return -ENOMEM;
                }
        }
        return 0;
}

/* A duration in key: a string as the command line takes it ("15m", "90"),
 * or a number of seconds (zero_is_none: 0 means no limit, the field goes),
 * into the protocol's field us in microseconds. */
static int normalize_duration(json_object *o, const char *key, const char *us, bool zero_is_none, char **e) {
        json_object *v = json_field(o, key);
        uint64_t usec;

        if (!v)
                return 0;
        if (json_field(o, us))
                return json_fail(e, -EINVAL, _("give either %s or %s, not both"), key, us);
        if (json_object_is_type(v, json_type_string)) {
                if (parse_duration(json_object_get_string(v), &usec) < 0 || usec == 0)
                        return json_fail(e, -EINVAL, _("%s: not a duration: %s (use 90s, 15m, 2h, ...)"), key,
                                         JSON_QUOTE(json_object_get_string(v)));
        } else if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)) {
                double sec = json_object_get_double(v);
                if (!isfinite(sec) || sec < 0 || sec > (double) PROTO_TIME_LIMIT_MAX_US / USEC_PER_SEC)
                        return json_fail(e, -EINVAL, _("%s: must be between 0 and %" PRIu64 " seconds, got %s"), key,
                                         PROTO_TIME_LIMIT_MAX_US / USEC_PER_SEC, json_object_to_json_string(v));
                usec = (uint64_t) (sec * (double) USEC_PER_SEC + 0.5);
                if (usec == 0 && !zero_is_none)
                        return json_fail(e, -EINVAL, _("%s: must be more than 0 seconds"), key);
        } else
                return json_fail(e, -EINVAL, _("%s: must be a number of seconds or a string such as \"15m\""), key);
        json_object_object_del(o, key);
        return usec == 0 ? 0 : set_u64(o, us, usec);
}

/* The prototype's "env": {"VAR": "VALUE"} as the protocol's
 * ["VAR=VALUE"]; an array stays as it is. */
static int normalize_env(json_object *o, char **e) {
        json_object *v = json_field(o, "env"), *a;

        if (!v || !json_object_is_type(v, json_type_object))
                return 0;
        a = json_object_new_array();
        if (!a)
                return -ENOMEM;
        json_object_object_foreach(v, key, val) {
                _cleanup_(freep) char *s = NULL;
                json_object *str;

                if (!json_object_is_type(val, json_type_string)) {
                        json_object_put(a);
                        return json_fail(e, -EINVAL, _("env.%s: must be a string"), JSON_QUOTE(key));
                }
                if (!key[0] || strchr(key, '=')) {
                        json_object_put(a);
                        return json_fail(e, -EINVAL, _("env: not a variable name: %s"), JSON_QUOTE(key));
                }
                if (asprintf(&s, "%s=%s", key, json_object_get_string(val)) < 0 ||
                    !(str = json_object_new_string(s)) || json_object_array_add(a, str) < 0) {
                        json_object_put(a);
                        return -ENOMEM;
                }
        }
        return json_object_object_add(o, "env", a) < 0 ? -ENOMEM : 0;
}

/* The prototype's task files: "command", "cleanup_command" (an empty one:
 * none), "memory_mb" (0: the default share), "watchdog" and
 * "cleanup_watchdog" (seconds, 0: none), "priority_group", "env" as an
 * object.  "name", "threads" and "priority" mean what they mean here. */
static int normalize_seed(json_object *o, char **e) {
        json_object *v;
        int r;

        if ((r = rename_field(o, "command", "argv", e)) < 0)
                return r;
        v = json_field(o, "cleanup_command");
        if (v && (json_object_is_type(v, json_type_null) ||
                  (json_object_is_type(v, json_type_array) && json_object_array_length(v) == 0)))
                json_object_object_del(o, "cleanup_command");
        if ((r = rename_field(o, "cleanup_command", "cleanup", e)) < 0 ||
            (r = rename_field(o, "priority_group", "group", e)) < 0)
                return r;
        v = json_field(o, "memory_mb");
        if (v) {
                int64_t mb;
                if (json_field(o, "memory"))
                        return json_fail(e, -EINVAL, _("give either %s or %s, not both"), "memory_mb", "memory");
                r = json_get_int(v, "memory_mb", 0, INT64_MAX / (1024 * 1024), &mb, e);
                if (r < 0)
                        return r;
                json_object_object_del(o, "memory_mb");
                if (mb > 0 && (r = set_u64(o, "memory", (uint64_t) mb * 1024 * 1024)) < 0)
                        return r;
        }
        if ((r = normalize_duration(o, "watchdog", "time_limit_us", true, e)) < 0 ||
            (r = normalize_duration(o, "cleanup_watchdog", "cleanup_time_limit_us", true, e)) < 0)
                return r;
        return normalize_env(o, e);
}

static int normalize(json_object *o, char **e) {
        int r;

        if ((r = normalize_seed(o, e)) < 0 ||
            (r = normalize_memory(o, e)) < 0 ||
            (r = normalize_retry_oom(o, e)) < 0 ||
            (r = normalize_duration(o, "time_limit", "time_limit_us", false, e)) < 0 ||
            (r = normalize_duration(o, "cleanup_time_limit", "cleanup_time_limit_us", false, e)) < 0)
                return r;
        return 0;
}

int batch_line_parse(const char *line, const char *cwd, Task **ret, char **ret_error) {
        _cleanup_(proto_json_unrefp) struct json_object *o = json_tokener_parse(line);
        _cleanup_(task_freep) Task *t = NULL;
        int r;

        if (!o || !json_object_is_type(o, json_type_object))
                return -EBADMSG;
        /* json-c has turned a lone "\udc80" into U+FFFD: refused, as the
         * daemon refuses it, rather than an argument changed without a word */
        r = json_check_surrogates(line, strlen(line), ret_error);
        if (r < 0)
                return r;
        r = normalize(o, ret_error);
        if (r < 0)
                return r;
        r = proto_spec_from_json(o, &t, ret_error);
        if (r < 0)
                return r;
        if (!t->submit_dir && cwd && !(t->submit_dir = strdup(cwd)))
                return -ENOMEM;
        *ret = TAKE_PTR(t);
        return 0;
}

/* What a string can take in JSON at most: every byte a \u00XX escape,
 * the quotes and a comma. */
static size_t json_bound(const char *s) {
        return s ? 6 * strlen(s) + 3 : 0;
}

static size_t strv_bound(char * const *v) {
        size_t n = 2;
        for (; v && *v; v++)
                n += json_bound(*v);
        return n;
}

/* Room for the field names and numbers of one task in a request. */
#define TASK_JSON_FIXED 2048

int batch_task_check(Task *t, char **ret_error) {
        _cleanup_(freep) char *request = NULL;
        size_t k, bound;
        int r;

        r = proto_spec_validate(t, ret_error);
        if (r < 0)
                return r;
        /* formatted only when it might not fit: most tasks are far below */
        bound = TASK_JSON_FIXED + strv_bound(t->argv) + strv_bound(t->env) + strv_bound(t->cleanup_argv) +
                json_bound(t->name) + json_bound(t->submit_dir) + json_bound(t->submit_token);
        if (bound < PROTO_LINE_MAX)
                return 0;
        return proto_submit_format_batch(NULL, &t, 1, true, NULL, &request, &k);
}
