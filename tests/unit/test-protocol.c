/* test-protocol.c: the wire protocol both ways: every request a client can
 * build survives parsing byte for byte, every bad request is refused with a
 * message that names the field, and replies and events read back as sent. */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "check.h"
#include "protocol.h"
#include "util.h"

#define SPEC_OK "\"argv\":[\"/bin/true\"],\"cwd\":\"/tmp\""

static void json_putp(json_object **o) {
        (void) json_object_put(*o);
}

_printf_(1, 2)
static char *strf(const char *fmt, ...) {
        va_list ap;
        char *s;

        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                abort();
        va_end(ap);
        return s;
}

static char **strv_new(size_t n, ...) {
        char **l = calloc(n + 1, sizeof(char *));
        va_list ap;

        va_start(ap, n);
        for (size_t i = 0; i < n; i++)
                l[i] = strdup(va_arg(ap, const char *));
        va_end(ap);
        return l;
}

static void check_strv_eq(char * const *a, char * const *b, const char *what) {
        size_t na = strv_length(a), nb = strv_length(b);

        if (na != nb) {
                fprintf(stderr, "%s: %zu entries, expected %zu\n", what, na, nb);
                check_failures++;
                return;
        }
        for (size_t i = 0; i < na; i++)
                if (strcmp(a[i], b[i]) != 0) {
                        fprintf(stderr, "%s[%zu] differs\n", what, i);
                        check_failures++;
                }
}

static void check_str_eq_or_null(const char *a, const char *b, const char *what) {
        if ((!a) != (!b) || (a && strcmp(a, b) != 0)) {
                fprintf(stderr, "%s: \"%s\", expected \"%s\"\n", what, a ? a : "(null)", b ? b : "(null)");
                check_failures++;
        }
}

static void check_spec_eq(const Task *a, const Task *b) {
        check_strv_eq(a->argv, b->argv, "argv");
        check_strv_eq(a->env, b->env, "env");
        check_strv_eq(a->cleanup_argv, b->cleanup_argv, "cleanup");
        CHECK((!a->cleanup_argv) == (!b->cleanup_argv));
        check_str_eq_or_null(a->submit_dir, b->submit_dir, "cwd");
        check_str_eq_or_null(a->name, b->name, "name");
        CHECK_EQ_U64(a->threads, b->threads);
        CHECK_EQ_U64(a->memory_bytes, b->memory_bytes);
        CHECK_EQ_U64(a->time_limit_usec, b->time_limit_usec);
        CHECK_EQ_U64(a->cleanup_time_limit_usec, b->cleanup_time_limit_usec);
        CHECK(a->group == b->group);
        CHECK(a->priority == b->priority);
        CHECK(a->whole_cores == b->whole_cores);
        CHECK(a->in_submit_dir == b->in_submit_dir);
}

static void check_result_eq(const TaskResult *a, const TaskResult *b) {
        CHECK(a->reason == b->reason);
        CHECK(a->has_exit_code == b->has_exit_code);
        CHECK(!a->has_exit_code || a->exit_code == b->exit_code);
        CHECK(a->has_signal == b->has_signal);
        CHECK(!a->has_signal || a->signal == b->signal);
        CHECK_EQ_U64(a->started_usec, b->started_usec);
        CHECK_EQ_U64(a->finished_usec, b->finished_usec);
        CHECK_EQ_U64(a->wall_usec, b->wall_usec);
        CHECK(a->has_cpu == b->has_cpu);
        CHECK_EQ_U64(a->cpu_user_usec, b->cpu_user_usec);
        CHECK_EQ_U64(a->cpu_system_usec, b->cpu_system_usec);
        CHECK(a->has_peak_memory == b->has_peak_memory);
        CHECK_EQ_U64(a->peak_memory_bytes, b->peak_memory_bytes);
}

static void check_task_eq(const Task *a, const Task *b) {
        check_spec_eq(a, b);
        CHECK_EQ_U64((uint64_t) a->id, (uint64_t) b->id);
        CHECK_EQ_U64(a->uid, b->uid);
        CHECK_EQ_U64(a->gid, b->gid);
        CHECK(a->state == b->state);
        CHECK_EQ_U64(a->queued_usec, b->queued_usec);
        check_str_eq_or_null(a->cpus, b->cpus, "cpus");
        check_str_eq_or_null(a->unit, b->unit, "unit");
        check_str_eq_or_null(a->output_dir, b->output_dir, "output_dir");
        CHECK(a->output_truncated == b->output_truncated);
        check_result_eq(&a->main, &b->main);
        check_result_eq(&a->cleanup, &b->cleanup);
}

/* Arguments as nasty as a shell user can make them. */
static Task *nasty_task(void) {
        Task *t = task_new();

        t->argv = strv_new(13,
                           "/opt/my solver/bin/solve",
                           "arg with spaces",
                           "\"double\" and 'single' quotes",
                           "$HOME ${PATH} $(id) `id`",
                           "%s %n %% %h %i %u",
                           "back\\slash \\\\ \\n \\u0000 \\ud800",
                           "new\nline\r\n",
                           "",
                           "\ttab\x01\x1f\x7f",
                           "unicode \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80",
                           "/slashes/",
                           "--opt=a=b;c|d&e>f<g*?[h]",
                           "");
        t->env = strv_new(3, "A=1", "LONG_NAME_2=value with = and \n newline", "_X=");
        t->submit_dir = strdup("/home/u/dir with space/$x");
        t->cleanup_argv = strv_new(3, "/bin/rm", "-rf", "out dir/\"x\"");
        t->name = strdup("solver \xc3\xa9 #1 \"quoted\"");
        t->threads = 8;
        t->memory_bytes = UINT64_C(16) << 30;
        t->time_limit_usec = 15 * 60 * USEC_PER_SEC;
        t->cleanup_time_limit_usec = 30 * USEC_PER_SEC;
        t->group = -3;
        t->priority = 1000000;
        t->whole_cores = true;
        t->in_submit_dir = true;
        return t;
}

static void test_names(void) {
        for (int i = 0; i < _PROTO_OP_MAX; i++)
                CHECK(proto_op_from_string(proto_op_to_string((ProtoOp) i)) == i);
        for (int i = 0; i < _PROTO_EVENT_MAX; i++)
                CHECK(proto_event_from_string(proto_event_to_string((ProtoEvent) i)) == i);
        CHECK(proto_op_from_string("pong") == _PROTO_OP_INVALID);
        CHECK(proto_op_from_string(NULL) == _PROTO_OP_INVALID);
        CHECK(proto_op_to_string(_PROTO_OP_MAX) == NULL);
        CHECK_STREQ(proto_event_to_string(PROTO_EVENT_CLEANUP_FINISHED), "cleanup-finished");
}

static ProtoRequest *parse_ok(const char *line) {
        ProtoRequest *req = NULL;
        _cleanup_(freep) char *error = NULL;
        int r;

        r = proto_parse_request(line, strlen(line), &req, NULL, &error);
        if (r < 0) {
                fprintf(stderr, "unexpected rejection (%d: %s) of %.200s\n", r, error, line);
                check_failures++;
        }
        return req;
}

static void check_rejects_len(const char *line, size_t len, int expected, const char *words) {
        _cleanup_(proto_request_freep) ProtoRequest *req = NULL;
        _cleanup_(freep) char *error = NULL;
        int r;

        r = proto_parse_request(line, len, &req, NULL, &error);
        if (r != expected || req) {
                fprintf(stderr, "%.200s: returned %d (%s), expected %d\n", line, r, error, expected);
                check_failures++;
                return;
        }
        if (!error || !strstr(error, words) || strchr(error, '\n')) {
                fprintf(stderr, "%.200s: error \"%s\" does not say \"%s\"\n", line, error, words);
                check_failures++;
        }
}

static void check_rejects(const char *line, int expected, const char *words) {
        check_rejects_len(line, strlen(line), expected, words);
}

static void check_spec_rejected(const char *spec_fields, const char *words) {
        _cleanup_(freep) char *line = strf("{\"v\":4,\"op\":\"submit\",\"tasks\":[{%s}]}", spec_fields);
        check_rejects(line, -EINVAL, words);
}

static void test_ping(void) {
        _cleanup_(proto_request_freep) ProtoRequest *req = NULL;
        _cleanup_(proto_message_freep) ProtoMessage *m = NULL;
        _cleanup_(freep) char *reply = NULL, *line = NULL, *error = NULL;
        ProtoRequest ping = { .op = PROTO_OP_PING };

        req = parse_ok("{\"v\":4,\"op\":\"ping\",\"tag\":{\"n\":[1,\"x\"]}}");
        CHECK(req && req->op == PROTO_OP_PING);
        CHECK(req && req->tag && json_object_is_type(req->tag, json_type_object));

        reply = proto_reply_ping(req ? req->tag : NULL);
        CHECK(reply && reply[strlen(reply) - 1] == '\n');
        CHECK(reply && strstr(reply, "\"tag\":{\"n\":[1,\"x\"]}"));
        CHECK(proto_parse_message(reply, strlen(reply) - 1, &m, &error) == 0);
        CHECK(m && !m->is_event && m->ok);
        CHECK_STREQ(m ? m->version : NULL, PACKAGE_VERSION);
        CHECK(m && m->protocol == PROTOCOL_VERSION);
        CHECK(m && m->tag && json_object_equal(m->tag, req->tag));

        CHECK(proto_request_format(&ping, &line) == 0);
        CHECK_STREQ(line, "{\"v\":4,\"op\":\"ping\"}\n");
}

static void test_submit_roundtrip(void) {
        _cleanup_(task_freep) Task *t = nasty_task(), *plain = task_new();
        _cleanup_(proto_request_freep) ProtoRequest *req = NULL;
        _cleanup_(json_putp) json_object *tag = json_object_new_string("batch-1");
        _cleanup_(freep) char *line = NULL, *error = NULL;
        Task *tasks[2] = { t, plain };
        ProtoRequest out = {
                .op = PROTO_OP_SUBMIT,
                .tag = tag,
                .follow = true,
                .tasks = tasks,
                .n_tasks = 2,
        };

        plain->argv = strv_new(1, "/bin/true");
        plain->submit_dir = strdup("/");
        CHECK(proto_spec_validate(t, &error) == 0);
        CHECK(proto_spec_validate(plain, NULL) == 0);

        /* The daemon must never believe a message about who submitted. */
        t->uid = 1000;
        t->gid = 1000;

        CHECK(proto_request_format(&out, &line) == 0);
        if (!line)
                return;
        CHECK(strlen(line) > 0 && line[strlen(line) - 1] == '\n');
        CHECK(strchr(line, '\n') == line + strlen(line) - 1);
        CHECK(!strstr(line, "\"uid\"") && !strstr(line, "\"gid\""));

        req = parse_ok(line);
        if (!req)
                return;
        CHECK(req->op == PROTO_OP_SUBMIT);
        CHECK(req->follow);
        CHECK_STREQ(json_object_get_string(req->tag), "batch-1");
        CHECK_EQ_U64(req->n_tasks, 2);
        check_spec_eq(req->tasks[0], t);
        check_spec_eq(req->tasks[1], plain);
        CHECK_EQ_U64(req->tasks[0]->uid, 0);
        CHECK_EQ_U64(req->tasks[0]->gid, 0);
        CHECK_EQ_U64(req->tasks[1]->threads, 1);
        CHECK(req->tasks[1]->env == NULL);
        CHECK(req->tasks[1]->cleanup_argv == NULL);
        CHECK(req->tasks[1]->name == NULL);
}

/* What a Python script sends: defaults omitted, non-ASCII as \u escapes. */
static void test_submit_handwritten(void) {
        _cleanup_(proto_request_freep) ProtoRequest *req = NULL;

        /* "follow" inside a spec is an unknown field */
        check_rejects("{\"op\":\"submit\",\"v\":4,\"tasks\":[{" SPEC_OK ",\"follow\":null}]}",
                      -EINVAL, "tasks[0]: unknown field \"follow\"");
        req = parse_ok("  {\"op\":\"submit\",\"v\":4,\"tasks\":[{\"cwd\":\"/w\",\"argv\":[\"/bin/echo\","
                       "\"\\u00e9\\ud83d\\ude00\",\"a\\/b\",\"\\\"\\\\\\n\"],"
                       "\"env\":[],\"name\":null,\"memory\":null}],\"follow\":null}\r\n");
        if (!req)
                return;
        CHECK(!req->follow);
        CHECK_STREQ(req->tasks[0]->argv[1], "\xc3\xa9\xf0\x9f\x98\x80");
        CHECK_STREQ(req->tasks[0]->argv[2], "a/b");
        CHECK_STREQ(req->tasks[0]->argv[3], "\"\\\n");
        CHECK(req->tasks[0]->env == NULL);
        CHECK(req->tasks[0]->name == NULL);
        CHECK_EQ_U64(req->tasks[0]->memory_bytes, 0);
        CHECK_EQ_U64(req->tasks[0]->time_limit_usec, 0);
}

/* A name past ASCII that is no control (U+00A0 follows U+009F) is a name. */
static void test_name_not_control(void) {
        _cleanup_(proto_request_freep) ProtoRequest *req =
                parse_ok("{\"v\":4,\"op\":\"submit\",\"tasks\":[{" SPEC_OK ",\"name\":\"\\u00a0caf\\u00e9\"}]}");

        CHECK_STREQ(req ? req->tasks[0]->name : NULL, "\xc2\xa0" "caf\xc3\xa9");
}

static void test_submit_batches(void) {
        enum { N = 2500 };
        Task **tasks = calloc(N, sizeof(Task *));
        size_t done = 0, batches = 0;

        for (size_t i = 0; i < N; i++) {
                char arg[32];

                (void) snprintf(arg, sizeof arg, "instance-%zu.cnf", i);
                tasks[i] = task_new();
                tasks[i]->argv = strv_new(2, "/usr/bin/solver", arg);
                tasks[i]->submit_dir = strdup("/home/u");
        }
        while (done < N) {
                _cleanup_(proto_request_freep) ProtoRequest *req = NULL;
                _cleanup_(freep) char *line = NULL;
                size_t n = 0;

                CHECK(proto_submit_format_batch(NULL, tasks + done, N - done, false, NULL, &line, &n) == 0);
                CHECK(n == (batches < 2 ? 1000u : 500u));
                if (!line || n == 0)
                        break;
                req = parse_ok(line);
                CHECK(req && req->n_tasks == n);
                for (size_t i = 0; req && i < n; i++)
                        check_spec_eq(req->tasks[i], tasks[done + i]);
                done += n;
                batches++;
        }
        CHECK_EQ_U64(batches, 3);
        for (size_t i = 0; i < N; i++)
                task_free(tasks[i]);

        /* Big tasks: split by bytes, each line within the limit. */
        enum { B = 20 };
        size_t big = 128 * 1024;
        char *arg = malloc(big + 1);
        memset(arg, 'x', big);
        arg[big] = 0;
        for (size_t i = 0; i < B; i++) {
                /* 900 KiB of arguments */
                tasks[i] = task_new();
                tasks[i]->argv = strv_new(8, "/bin/cat", arg + 1024, arg + 1024, arg + 1024,
                                          arg + 1024, arg + 1024, arg + 1024, arg + 1024);
                tasks[i]->submit_dir = strdup("/");
                CHECK(proto_spec_validate(tasks[i], NULL) == 0);
        }
        done = batches = 0;
        while (done < B) {
                _cleanup_(proto_request_freep) ProtoRequest *req = NULL;
                _cleanup_(freep) char *line = NULL;
                size_t n = 0;

                CHECK(proto_submit_format_batch(NULL, tasks + done, B - done, true, NULL, &line, &n) == 0);
                if (!line || n == 0)
                        break;
                CHECK(strlen(line) - 1 <= PROTO_LINE_MAX);
                /* fuller than 9 tasks would not fit, fewer would waste space */
                CHECK(n == 9 || done + n == B);
                req = parse_ok(line);
                CHECK(req && req->n_tasks == n && req->follow);
                done += n;
                batches++;
        }
        CHECK_EQ_U64(batches, 3);

        /* A task that alone is larger than a line: refused, not truncated. */
        {
                _cleanup_(task_freep) Task *huge = task_new();
                _cleanup_(freep) char *line = NULL;
                size_t n = 0;
                char *ctl = malloc(TASK_ARG_MAX);

                memset(ctl, '\x01', TASK_ARG_MAX - 1);
                ctl[TASK_ARG_MAX - 1] = 0;
                huge->argv = calloc(14, sizeof(char *));
                huge->argv[0] = strdup("/bin/x");
                for (size_t i = 1; i < 13; i++)
                        huge->argv[i] = strdup(ctl);
                huge->submit_dir = strdup("/");
                CHECK(proto_submit_format_batch(NULL, &huge, 1, false, NULL, &line, &n) == -E2BIG);
                CHECK(!line);
                free(ctl);
        }

        for (size_t i = 0; i < B; i++)
                task_free(tasks[i]);
        free(tasks);
        free(arg);
}

static void test_rejections(void) {
        _cleanup_(freep) char *line = NULL;

        /* not a request */
        check_rejects("", -EBADMSG, "empty");
        check_rejects("   ", -EBADMSG, "empty");
        check_rejects("{\"v\":4,\"op\":\"ping\"", -EBADMSG, "invalid JSON");
        check_rejects("{\"v\":4,\"op\":\"ping\"} {}", -EBADMSG, "invalid JSON");
        check_rejects("{\"v\":4,\"op\":\"ping\",}", -EBADMSG, "invalid JSON");
        check_rejects("[1,2]", -EBADMSG, "JSON object");
        check_rejects("\"ping\"", -EBADMSG, "JSON object");
        check_rejects_len("{\"v\":4,\"op\":\"ping\"}\0", 20, -EBADMSG, "NUL byte");
        /* a line ends the value on it: json-c alone would wait for more
         * digits of 2, or for the end of null */
        check_rejects("2", -EBADMSG, "a request must be a JSON object");
        check_rejects("-1.5", -EBADMSG, "a request must be a JSON object");
        check_rejects("null", -EBADMSG, "a request must be a JSON object");
        check_rejects(" true", -EBADMSG, "a request must be a JSON object");
        check_rejects_len("2{}", 1, -EBADMSG, "a request must be a JSON object");
        check_rejects("[1,2", -EBADMSG, "invalid JSON: the request ends inside a value");
        check_rejects("{\"v\":4,\"op\":\"ping\",\"tag\":12", -EBADMSG, "ends inside a value");
        check_rejects("{\"v\":4,\"op\":\"ping\",\"tag\":nul", -EBADMSG, "ends inside a value");
        check_rejects("{\"v\":4,\"op\":\"ping\",\"tag\":tru}", -EBADMSG, "invalid JSON at byte");

        /* version and op */
        check_rejects("{\"op\":\"ping\"}", -EINVAL, "\"v\"");
        check_rejects("{\"v\":\"1\",\"op\":\"ping\"}", -EINVAL, "v: must be an integer");
        check_rejects("{\"v\":5,\"op\":\"ping\"}", -EPROTONOSUPPORT, "version 5, benchrunnerd speaks version 4");
        check_rejects("{\"v\":1,\"op\":\"ping\"}", -EPROTONOSUPPORT, "version 1, benchrunnerd speaks version 4");
        check_rejects("{\"v\":0,\"op\":\"frobnicate\",\"x\":1}", -EPROTONOSUPPORT, "version 0");
        check_rejects("{\"v\":9223372036854775808,\"op\":\"ping\"}", -EPROTONOSUPPORT,
                      "the request's version is out of range, benchrunnerd speaks version 4");
        check_rejects("{\"v\":18446744073709551616,\"op\":\"ping\"}", -EPROTONOSUPPORT, "out of range");
        check_rejects("{\"v\":9223372036854775807,\"op\":\"ping\"}", -EPROTONOSUPPORT,
                      "version 9223372036854775807, benchrunnerd");
        check_rejects("{\"v\":4}", -EINVAL, "op: missing");
        check_rejects("{\"v\":4,\"op\":7}", -EINVAL, "op: must be a string");
        check_rejects("{\"v\":4,\"op\":\"frobnicate\"}", -EINVAL, "unknown op \"frobnicate\"");
        check_rejects("{\"v\":4,\"op\":\"ping\",\"extra\":true}", -EINVAL, "unknown field \"extra\"");
        check_rejects("{\"v\":4,\"op\":\"show\",\"id\":1,\"follow\":true}", -EINVAL, "unknown field \"follow\"");

        /* submit as a whole */
        check_rejects("{\"v\":4,\"op\":\"submit\"}", -EINVAL, "tasks: missing");
        check_rejects("{\"v\":4,\"op\":\"submit\",\"tasks\":[]}", -EINVAL, "tasks: must not be empty");
        check_rejects("{\"v\":4,\"op\":\"submit\",\"tasks\":{}}", -EINVAL, "tasks: must be an array");
        check_rejects("{\"v\":4,\"op\":\"submit\",\"tasks\":[7]}", -EINVAL, "tasks[0]: must be an object");
        check_rejects("{\"v\":4,\"op\":\"submit\",\"tasks\":[{" SPEC_OK "}],\"follow\":\"yes\"}",
                      -EINVAL, "follow: must be true or false");
        check_rejects("{\"v\":4,\"op\":\"submit\",\"uid\":0,\"tasks\":[{" SPEC_OK "}]}",
                      -EINVAL, "unknown field \"uid\"");
        /* all or nothing: one bad spec anywhere rejects the request */
        check_rejects("{\"v\":4,\"op\":\"submit\",\"tasks\":[{" SPEC_OK "},{" SPEC_OK "},"
                      "{\"argv\":[\"true\"],\"cwd\":\"/\"}]}", -EINVAL, "tasks[2].argv[0]: must be an absolute path");

        /* oversized batch */
        {
                size_t n = PROTO_SUBMIT_MAX + 1, size = n * 64 + 64, k;
                char *s = malloc(size);

                k = (size_t) snprintf(s, size, "{\"v\":4,\"op\":\"submit\",\"tasks\":[");
                for (size_t i = 0; i < n; i++)
                        k += (size_t) snprintf(s + k, size - k, "%s{" SPEC_OK "}", i ? "," : "");
                (void) snprintf(s + k, size - k, "]}");
                check_rejects(s, -EINVAL, "1001 tasks in one request, at most 1000");
                free(s);
        }

        /* specs */
        check_spec_rejected("\"cwd\":\"/tmp\"", "tasks[0].argv: missing");
        check_spec_rejected("\"argv\":null,\"cwd\":\"/tmp\"", "tasks[0].argv: missing");
        check_spec_rejected("\"argv\":[],\"cwd\":\"/tmp\"", "tasks[0].argv: must not be empty");
        check_spec_rejected("\"argv\":\"/bin/true\",\"cwd\":\"/tmp\"", "tasks[0].argv: must be an array of strings");
        check_spec_rejected("\"argv\":[\"/bin/echo\",3],\"cwd\":\"/tmp\"", "tasks[0].argv[1]: must be a string");
        check_spec_rejected("\"argv\":[\"bin/true\"],\"cwd\":\"/tmp\"", "tasks[0].argv[0]: must be an absolute path");
        check_spec_rejected("\"argv\":[\"\"],\"cwd\":\"/tmp\"", "tasks[0].argv[0]: must be an absolute path");
        check_spec_rejected("\"argv\":[\"/bin/echo\",\"a\\u0000b\"],\"cwd\":\"/tmp\"",
                            "tasks[0].argv[1]: must not contain NUL");
        check_spec_rejected("\"argv\":[\"/bin/true\"]", "tasks[0].cwd: missing");
        check_spec_rejected("\"argv\":[\"/bin/true\"],\"cwd\":\"tmp\"", "tasks[0].cwd: must be an absolute path");
        check_spec_rejected("\"argv\":[\"/bin/true\"],\"cwd\":\"/t\\u0000mp\"", "tasks[0].cwd: must not contain NUL");
        check_spec_rejected(SPEC_OK ",\"env\":[\"1X=2\"]", "tasks[0].env[0]: must be VAR=VALUE");
        check_spec_rejected(SPEC_OK ",\"env\":[\"A=1\",\"A-B=1\"]", "tasks[0].env[1]: must be VAR=VALUE");
        check_spec_rejected(SPEC_OK ",\"env\":[\"=x\"]", "tasks[0].env[0]: must be VAR=VALUE");
        check_spec_rejected(SPEC_OK ",\"env\":[\"NOVALUE\"]", "tasks[0].env[0]: must be VAR=VALUE");
        check_spec_rejected(SPEC_OK ",\"env\":[\"A=\\u0000\"]", "tasks[0].env[0]: must not contain NUL");
        check_spec_rejected(SPEC_OK ",\"env\":\"A=1\"", "tasks[0].env: must be an array of strings");
        /* the daemon's own variables cannot be set or faked */
        check_spec_rejected(SPEC_OK ",\"env\":[\"BENCHRUNNER_TASK=1\"]",
                            "tasks[0].env[0]: BENCHRUNNER_TASK: variables starting with BENCHRUNNER_ are set by "
                            "benchrunner");
        check_spec_rejected(SPEC_OK ",\"env\":[\"A=1\",\"BENCHRUNNER_=\"]", "tasks[0].env[1]: BENCHRUNNER_:");
        check_spec_rejected(SPEC_OK ",\"env\":[\"BENCHRUNNER_STATUS=exited 0\"]", "tasks[0].env[0]: BENCHRUNNER_STATUS:");
        check_spec_rejected(SPEC_OK ",\"name\":\"\"", "tasks[0].name: must not be empty");
        check_spec_rejected(SPEC_OK ",\"name\":\"a\\nb\"", "tasks[0].name: must not contain control characters");
        check_spec_rejected(SPEC_OK ",\"name\":\"a\\u0000\"", "tasks[0].name: must not contain NUL");
        /* C1 controls too: U+009B is CSI, U+0085 NEL, as escapes and as bytes */
        check_spec_rejected(SPEC_OK ",\"name\":\"a\\u009b2J\"", "tasks[0].name: must not contain control characters");
        check_spec_rejected(SPEC_OK ",\"name\":\"\\u0085\"", "tasks[0].name: must not contain control characters");
        check_spec_rejected(SPEC_OK ",\"name\":\"a\xc2\x80\"", "tasks[0].name: must not contain control characters");
        check_spec_rejected(SPEC_OK ",\"name\":\"\\u007f\"", "tasks[0].name: must not contain control characters");
        check_spec_rejected(SPEC_OK ",\"name\":5", "tasks[0].name: must be a string");
        check_spec_rejected(SPEC_OK ",\"threads\":-1", "tasks[0].threads: must be between 1 and 4096, got -1");
        check_spec_rejected(SPEC_OK ",\"threads\":0", "tasks[0].threads: must be between 1 and 4096, got 0");
        check_spec_rejected(SPEC_OK ",\"threads\":4097", "tasks[0].threads: must be between 1 and 4096");
        check_spec_rejected(SPEC_OK ",\"threads\":\"2\"", "tasks[0].threads: must be an integer");
        check_spec_rejected(SPEC_OK ",\"threads\":2.0", "tasks[0].threads: must be an integer");
        check_spec_rejected(SPEC_OK ",\"threads\":true", "tasks[0].threads: must be an integer");
        check_spec_rejected(SPEC_OK ",\"memory\":-1", "tasks[0].memory: must be between 0 and");
        check_spec_rejected(SPEC_OK ",\"memory\":1.5e9", "tasks[0].memory: must be an integer");
        check_spec_rejected(SPEC_OK ",\"memory\":99999999999999999999", "tasks[0].memory: must be between");
        check_spec_rejected(SPEC_OK ",\"memory\":9223372036854775808", "tasks[0].memory: must be between");
        check_spec_rejected(SPEC_OK ",\"time_limit_us\":0", "tasks[0].time_limit_us: must be between 1");
        check_spec_rejected(SPEC_OK ",\"time_limit_us\":-5", "tasks[0].time_limit_us: must be between 1");
        check_spec_rejected(SPEC_OK ",\"time_limit_us\":31708800000001", "tasks[0].time_limit_us: must be between 1");
        check_spec_rejected(SPEC_OK ",\"cleanup_time_limit_us\":0", "tasks[0].cleanup_time_limit_us");
        check_spec_rejected(SPEC_OK ",\"cleanup\":[]", "tasks[0].cleanup: must not be empty (omit it");
        check_spec_rejected(SPEC_OK ",\"cleanup\":[\"rm\",\"-rf\"]", "tasks[0].cleanup[0]: must be an absolute path");
        check_spec_rejected(SPEC_OK ",\"cleanup\":\"/bin/rm -rf x\"", "tasks[0].cleanup: must be an array");
        check_spec_rejected(SPEC_OK ",\"group\":1000001", "tasks[0].group: must be between -1000000 and 1000000");
        check_spec_rejected(SPEC_OK ",\"priority\":-1000001", "tasks[0].priority: must be between");
        check_spec_rejected(SPEC_OK ",\"priority\":\"high\"", "tasks[0].priority: must be an integer");
        check_spec_rejected(SPEC_OK ",\"whole_cores\":1", "tasks[0].whole_cores: must be true or false");
        check_spec_rejected(SPEC_OK ",\"in_submit_dir\":\"yes\"", "tasks[0].in_submit_dir: must be true or false");
        check_spec_rejected(SPEC_OK ",\"threds\":2", "tasks[0]: unknown field \"threds\"");
        check_spec_rejected(SPEC_OK ",\"uid\":0", "tasks[0]: unknown field \"uid\"");
        check_spec_rejected(SPEC_OK ",\"gid\":0", "tasks[0]: unknown field \"gid\"");
        check_spec_rejected(SPEC_OK ",\"id\":5", "tasks[0]: unknown field \"id\"");

        /* lone surrogates would silently become U+FFFD: refused */
        check_spec_rejected("\"argv\":[\"/bin/echo\",\"\\udcff\"],\"cwd\":\"/\"", "lone UTF-16 surrogate \\udcff");
        /* bytes systemd would refuse: refused at submit, naming the field */
        check_spec_rejected("\"argv\":[\"/bin/echo\",\"a\xff\"],\"cwd\":\"/\"",
                            "tasks[0].argv[1]: not valid UTF-8 (byte 1)");
        check_spec_rejected("\"argv\":[\"/bin/echo\",\"\xc0\x80\"],\"cwd\":\"/\"", "argv[1]: not valid UTF-8");
        check_spec_rejected("\"argv\":[\"/bin/echo\",\"\xed\xa0\x80\"],\"cwd\":\"/\"", "argv[1]: not valid UTF-8");
        check_spec_rejected("\"argv\":[\"/bin/echo\"],\"cleanup\":[\"/bin/x\xfe\"],\"cwd\":\"/\"",
                            "tasks[0].cleanup[0]: not valid UTF-8");
        check_spec_rejected("\"argv\":[\"/bin/echo\"],\"env\":[\"A=\xff\"],\"cwd\":\"/\"",
                            "tasks[0].env[0]: not valid UTF-8");
        check_spec_rejected("\"argv\":[\"/bin/echo\"],\"cwd\":\"/\xff\"", "tasks[0].cwd: not valid UTF-8");
        check_spec_rejected("\"argv\":[\"/bin/echo\"],\"name\":\"n\xf8\",\"cwd\":\"/\"",
                            "tasks[0].name: not valid UTF-8");
        check_spec_rejected("\"argv\":[\"/bin/echo\",\"\\ud800x\"],\"cwd\":\"/\"", "lone UTF-16 surrogate \\ud800");
        check_spec_rejected("\"argv\":[\"/bin/echo\",\"\\ud800\\u0041\"],\"cwd\":\"/\"", "surrogate");
        check_spec_rejected("\"argv\":[\"/bin/echo\",\"\\\\udcff\\u0000\"],\"cwd\":\"/\"", "must not contain NUL");

        /* counts and sizes */
        {
                size_t n = TASK_ARGV_MAX + 1, size = n * 8 + 128, k;
                char *s = malloc(size);

                k = (size_t) snprintf(s, size, "\"cwd\":\"/\",\"argv\":[\"/bin/true\"");
                for (size_t i = 1; i < n; i++)
                        k += (size_t) snprintf(s + k, size - k, ",\"a\"");
                (void) snprintf(s + k, size - k, "]");
                check_spec_rejected(s, "tasks[0].argv: 4097 entries, at most 4096");
                free(s);
        }
        {
                char *arg = malloc(TASK_ARG_MAX + 1);

                memset(arg, 'a', TASK_ARG_MAX);
                arg[TASK_ARG_MAX] = 0;
                free(line);
                line = strf("\"cwd\":\"/\",\"argv\":[\"/bin/echo\",\"%s\"]", arg);
                check_spec_rejected(line, "tasks[0].argv[1]: 131072 bytes long, at most 131071");
                free(line);
                /* fine alone, too much together with the environment */
                arg[TASK_ARG_MAX - 1] = 0;
                line = strf("\"cwd\":\"/\",\"argv\":[\"/bin/echo\",\"%s\",\"%s\",\"%s\",\"%s\"],"
                            "\"env\":[\"A=%s\",\"B=%s\",\"C=%s\",\"D=%s\"]",
                            arg, arg, arg, arg, arg + 2, arg + 2, arg + 2, arg + 2);
                check_spec_rejected(line, "tasks[0]: argv and env take");
                free(line);
                line = strf("\"cwd\":\"/\",\"argv\":[\"/bin/echo\"],\"cleanup\":[\"/bin/rm\",\"%s\",\"%s\","
                            "\"%s\",\"%s\",\"%s\",\"%s\",\"%s\",\"%s\"]",
                            arg, arg, arg, arg, arg, arg, arg, arg);
                check_spec_rejected(line, "tasks[0]: cleanup and env take");
                free(line);
                line = NULL;
                free(arg);
        }
        {
                char name[TASK_NAME_MAX + 1];

                memset(name, 'n', TASK_NAME_MAX);
                name[TASK_NAME_MAX] = 0;
                line = strf(SPEC_OK ",\"name\":\"%s\"", name);
                check_spec_rejected(line, "tasks[0].name: 256 bytes long, at most 255");
                free(line);
                name[TASK_NAME_MAX - 1] = 0;
                line = strf("{\"v\":4,\"op\":\"submit\",\"tasks\":[{" SPEC_OK ",\"name\":\"%s\"}]}", name);
                proto_request_free(parse_ok(line));
                free(line);
                line = NULL;
        }
        {
                char *path = malloc(TASK_PATH_MAX + 1);

                memset(path, 'p', TASK_PATH_MAX);
                path[0] = '/';
                path[TASK_PATH_MAX] = 0;
                line = strf("\"argv\":[\"/bin/true\"],\"cwd\":\"%s\"", path);
                check_spec_rejected(line, "tasks[0].cwd: path too long");
                free(line);
                line = strf("\"argv\":[\"%s\"],\"cwd\":\"/\"", path);
                check_spec_rejected(line, "tasks[0].argv[0]: path too long");
                free(line);
                line = NULL;
                free(path);
        }
        {
                size_t n = TASK_ENV_MAX + 1, size = n * 8 + 128, k;
                char *s = malloc(size);

                k = (size_t) snprintf(s, size, SPEC_OK ",\"env\":[");
                for (size_t i = 0; i < n; i++)
                        k += (size_t) snprintf(s + k, size - k, "%s\"A=1\"", i ? "," : "");
                (void) snprintf(s + k, size - k, "]");
                check_spec_rejected(s, "tasks[0].env: 257 entries, at most 256");
                free(s);
        }

        /* the line limit: exactly at it is fine, one byte more is not */
        {
                char *s = malloc(PROTO_LINE_MAX + 2);
                const char *ping = "{\"v\":4,\"op\":\"ping\"";
                size_t l = strlen(ping);

                memcpy(s, ping, l);
                memset(s + l, ' ', PROTO_LINE_MAX - l - 1);
                s[PROTO_LINE_MAX - 1] = '}';
                s[PROTO_LINE_MAX] = 0;
                proto_request_free(parse_ok(s));
                s[PROTO_LINE_MAX - 1] = ' ';
                s[PROTO_LINE_MAX] = '}';
                s[PROTO_LINE_MAX + 1] = 0;
                check_rejects(s, -E2BIG, "request too long: 8388609 bytes, at most 8388608");
                free(s);
        }

        /* too deep */
        {
                char deep[256] = "{\"v\":4,\"op\":\"ping\",\"tag\":";
                size_t k = strlen(deep);

                for (int i = 0; i < 40; i++)
                        deep[k++] = '[';
                for (int i = 0; i < 40; i++)
                        deep[k++] = ']';
                deep[k++] = '}';
                deep[k] = 0;
                check_rejects(deep, -EBADMSG, "invalid JSON");
        }

        /* the other ops */
        check_rejects("{\"v\":4,\"op\":\"show\"}", -EINVAL, "id: missing");
        check_rejects("{\"v\":4,\"op\":\"show\",\"id\":0}", -EINVAL, "id: must be between 1 and");
        check_rejects("{\"v\":4,\"op\":\"show\",\"id\":\"5\"}", -EINVAL, "id: must be an integer");
        check_rejects("{\"v\":4,\"op\":\"cancel\"}", -EINVAL, "ids: missing");
        check_rejects("{\"v\":4,\"op\":\"cancel\",\"ids\":[]}", -EINVAL, "ids: must not be empty");
        check_rejects("{\"v\":4,\"op\":\"cancel\",\"ids\":5}", -EINVAL, "ids: must be an array");
        check_rejects("{\"v\":4,\"op\":\"cancel\",\"ids\":[1,-2]}", -EINVAL, "ids[1]: must be between 1");
        check_rejects("{\"v\":4,\"op\":\"stats\",\"follow\":1}", -EINVAL, "follow: must be true or false");
        check_rejects("{\"v\":4,\"op\":\"list\",\"states\":[]}", -EINVAL, "states: must not be empty");
        check_rejects("{\"v\":4,\"op\":\"list\",\"states\":[\"done\"]}", -EINVAL, "states[0]: unknown state \"done\"");
        check_rejects("{\"v\":4,\"op\":\"list\",\"states\":\"queued\"}", -EINVAL, "states: must be an array");
        check_rejects("{\"v\":4,\"op\":\"list\",\"uid\":-1}", -EINVAL, "uid: must be between 0 and 4294967294");
        check_rejects("{\"v\":4,\"op\":\"list\",\"uid\":4294967295}", -EINVAL, "uid: must be between");
        check_rejects("{\"v\":4,\"op\":\"list\",\"limit\":0}", -EINVAL, "limit: must be between 1");
        check_rejects("{\"v\":4,\"op\":\"list\",\"after_id\":-1}", -EINVAL, "after_id: must be between 0");
        check_rejects("{\"v\":4,\"op\":\"list\",\"before_id\":0}", -EINVAL,
                      "before_id: must be between 1 and 9223372036854775807, got 0");
        check_rejects("{\"v\":4,\"op\":\"list\",\"before_id\":-5}", -EINVAL, "before_id: must be between 1");
        check_rejects("{\"v\":4,\"op\":\"list\",\"before_id\":9223372036854775808}", -EINVAL,
                      "before_id: must be between 1");
        check_rejects("{\"v\":4,\"op\":\"list\",\"before_id\":\"7\"}", -EINVAL, "before_id: must be an integer");
        check_rejects("{\"v\":4,\"op\":\"list\",\"before_id\":2.0}", -EINVAL, "before_id: must be an integer");
        check_rejects("{\"v\":4,\"op\":\"list\",\"newest_first\":1}", -EINVAL, "newest_first: must be true or false");
        check_rejects("{\"v\":4,\"op\":\"list\",\"newest_first\":\"true\"}", -EINVAL,
                      "newest_first: must be true or false");
        check_rejects("{\"v\":4,\"op\":\"show\",\"id\":1,\"newest_first\":true}", -EINVAL,
                      "unknown field \"newest_first\"");
        check_rejects("{\"v\":4,\"op\":\"list\",\"user\":\"root\"}", -EINVAL, "unknown field \"user\"");
        check_rejects("{\"v\":4,\"op\":\"hold\"}", -EINVAL, "ids: missing");
        check_rejects("{\"v\":4,\"op\":\"release\",\"ids\":[0]}", -EINVAL, "ids[0]: must be between 1");
        check_rejects("{\"v\":4,\"op\":\"drain\"}", -EINVAL, "on: missing");
        check_rejects("{\"v\":4,\"op\":\"drain\",\"on\":1}", -EINVAL, "on: must be true or false");
        check_rejects("{\"v\":4,\"op\":\"drain\",\"on\":true,\"ids\":[1]}", -EINVAL, "unknown field \"ids\"");
        check_rejects("{\"v\":4,\"op\":\"list\",\"reasons\":[]}", -EINVAL, "reasons: must not be empty");
        check_rejects("{\"v\":4,\"op\":\"list\",\"reasons\":\"oom\"}", -EINVAL, "reasons: must be an array");
        check_rejects("{\"v\":4,\"op\":\"list\",\"reasons\":[\"crashed\"]}", -EINVAL,
                      "reasons[0]: unknown reason \"crashed\"");
        check_rejects("{\"v\":4,\"op\":\"list\",\"reasons\":[1]}", -EINVAL, "reasons[0]: must be a string");
        check_rejects("{\"v\":4,\"op\":\"list\",\"name\":\"\"}", -EINVAL, "name: must be a pattern of 1 to 256");
        check_rejects("{\"v\":4,\"op\":\"list\",\"name\":7}", -EINVAL, "name: must be a string");
        check_rejects("{\"v\":4,\"op\":\"list\",\"since_us\":-1}", -EINVAL, "since_us: must be between 0");
        check_rejects("{\"v\":4,\"op\":\"list\",\"until_us\":\"1h\"}", -EINVAL, "until_us: must be an integer");
        {
                char big[400];
                snprintf(big, sizeof big, "{\"v\":4,\"op\":\"list\",\"name\":\"%0257d\"}", 0);
                check_rejects(big, -EINVAL, "name: must be a pattern of 1 to 256 bytes");
        }
}

/* Error messages quote what the client sent, as UTF-8 whatever it sent. */
static void test_quotes_are_utf8(void) {
        _cleanup_(proto_request_freep) ProtoRequest *req = NULL;
        _cleanup_(freep) char *error = NULL;
        char s[1024];
        size_t off;
        int k;

        check_rejects("{\"v\":4,\"op\":\"p\xffng\"}", -EINVAL, "unknown op \"p?ng\"");
        check_rejects("{\"v\":4,\"op\":\"p\xc0\xafng\"}", -EINVAL, "unknown op \"p??ng\"");
        check_rejects("{\"v\":4,\"op\":\"\xed\xa0\x80\"}", -EINVAL, "unknown op \"???\"");
        check_rejects("{\"v\":4,\"op\":\"caf\xc3\xa9\"}", -EINVAL, "unknown op \"caf\xc3\xa9\"");
        check_rejects("{\"v\":4,\"op\":\"\xf0\x9f\x98\"}", -EINVAL, "unknown op \"???\"");
        /* cut at a character boundary */
        k = snprintf(s, sizeof s, "{\"v\":4,\"op\":\"x");
        for (int i = 0; i < 100; i++)
                k += snprintf(s + k, sizeof s - (size_t) k, "\xe2\x82\xac");
        (void) snprintf(s + k, sizeof s - (size_t) k, "\"}");
        CHECK(proto_parse_request(s, strlen(s), &req, NULL, &error) == -EINVAL);
        CHECK(error && strstr(error, "unknown op \"x\xe2\x82\xac") && strstr(error, "...\""));
        CHECK(error && utf8_valid(error, &off));
}

/* json-c would build every object and array before any check: a request
 * holds at most PROTO_JSON_CONTAINERS_MAX of them, counted first. */
static void test_containers(void) {
        size_t size = 16u << 20, k;
        _cleanup_(freep) char *s = malloc(size);
        _cleanup_(proto_request_freep) ProtoRequest *req = NULL;
        _cleanup_(freep) char *error = NULL;

        CHECK(s);
        if (!s)
                return;
        /* 8192 are fine (the tag is too long, and that is the error) */
        k = (size_t) snprintf(s, size, "{\"v\":4,\"op\":\"ping\",\"tag\":[");
        for (size_t i = 0; i < PROTO_JSON_CONTAINERS_MAX - 2; i++)
                k += (size_t) snprintf(s + k, size - k, "%s{}", i ? "," : "");
        (void) snprintf(s + k, size - k, "]}");
        check_rejects(s, -EINVAL, "tag: ");
        /* one more is not, and is refused before it is parsed */
        k = (size_t) snprintf(s, size, "{\"v\":4,\"op\":\"ping\",\"tag\":[");
        for (size_t i = 0; i < PROTO_JSON_CONTAINERS_MAX - 1; i++)
                k += (size_t) snprintf(s + k, size - k, "%s[]", i ? "," : "");
        (void) snprintf(s + k, size - k, "]}");
        check_rejects_len(s, strlen(s), -EBADMSG, "request refused: more than 8192 objects and arrays");
        /* 2.8 million, as fast */
        k = (size_t) snprintf(s, size, "{\"v\":4,\"op\":\"ping\",\"tag\":[{}");
        while (k + 8 < PROTO_LINE_MAX)
                k += (size_t) snprintf(s + k, size - k, ",{}");
        (void) snprintf(s + k, size - k, "]}");
        check_rejects_len(s, strlen(s), -EBADMSG, "more than 8192 objects and arrays");
        /* brackets in strings, escaped quotes among them, are not counted */
        k = (size_t) snprintf(s, size, "{\"v\":4,\"op\":\"submit\",\"tasks\":[{\"argv\":[\"/bin/echo\",\"");
        for (size_t i = 0; i < 20000; i++)
                k += (size_t) snprintf(s + k, size - k, "\\\"{[");
        (void) snprintf(s + k, size - k, "\"],\"cwd\":\"/\"}]}");
        CHECK(proto_parse_request(s, strlen(s), &req, NULL, &error) == 0);
        CHECK(req && req->n_tasks == 1 && strlen(req->tasks[0]->argv[1]) == 60000);
        proto_request_free(TAKE_PTR(req));
        /* the largest submit: 1000 tasks of argv, env and cleanup */
        k = (size_t) snprintf(s, size, "{\"v\":4,\"op\":\"submit\",\"tag\":[[],[],{}],\"tasks\":[");
        for (size_t i = 0; i < PROTO_SUBMIT_MAX; i++)
                k += (size_t) snprintf(s + k, size - k, "%s{" SPEC_OK ",\"env\":[\"A=1\"],\"cleanup\":[\"/bin/true\"]}",
                                       i ? "," : "");
        (void) snprintf(s + k, size - k, "]}");
        CHECK(proto_parse_request(s, strlen(s), &req, NULL, &error) == 0);
        CHECK(req && req->n_tasks == PROTO_SUBMIT_MAX);
}

static void test_error_echoes_tag(void) {
        _cleanup_(proto_request_freep) ProtoRequest *req = NULL;
        _cleanup_(json_putp) json_object *tag = NULL;
        _cleanup_(freep) char *error = NULL, *reply = NULL, *big = NULL;
        _cleanup_(proto_message_freep) ProtoMessage *m = NULL;
        const char *line = "{\"v\":5,\"op\":\"ping\",\"tag\":\"t-1\"}";

        CHECK(proto_parse_request(line, strlen(line), &req, &tag, &error) == -EPROTONOSUPPORT);
        CHECK(!req);
        CHECK_STREQ(tag ? json_object_get_string(tag) : NULL, "t-1");
        reply = proto_reply_error(tag, "%s", error);
        CHECK(reply && strstr(reply, "\"ok\":false") && strstr(reply, "\"tag\":\"t-1\""));
        CHECK(proto_parse_message(reply, strlen(reply) - 1, &m, NULL) == 0);
        CHECK(m && !m->ok && m->tag);
        CHECK(m && m->error && strstr(m->error, "version 5") && strstr(m->error, "version 4"));

        /* a tag too big to echo is refused, not echoed */
        proto_json_unref(TAKE_PTR(tag));
        free(TAKE_PTR(error));
        {
                char s[PROTO_TAG_MAX + 64];
                int k = snprintf(s, sizeof s, "{\"v\":4,\"op\":\"ping\",\"tag\":\"");
                memset(s + k, 't', PROTO_TAG_MAX);
                strcpy(s + k + PROTO_TAG_MAX, "\"}");
                CHECK(proto_parse_request(s, strlen(s), &req, &tag, &error) == -EINVAL);
                CHECK(!tag);
                CHECK(error && strstr(error, "tag: "));
        }

        /* error replies are one line whatever the daemon passes */
        big = proto_reply_error(NULL, "two\nlines\tand %d", 3);
        CHECK_STREQ(big, "{\"v\":4,\"ok\":false,\"error\":\"two lines and 3\"}\n");
}

static void test_other_requests(void) {
        _cleanup_(proto_request_freep) ProtoRequest *req = NULL;
        _cleanup_(freep) char *line = NULL;

        req = parse_ok("{\"v\":4,\"op\":\"list\"}");
        CHECK(req && req->op == PROTO_OP_LIST && req->state_mask == 0 && !req->has_uid);
        CHECK(req && req->limit == PROTO_LIST_LIMIT_MAX && req->after_id == 0);
        proto_request_free(TAKE_PTR(req));

        req = parse_ok("{\"v\":4,\"op\":\"list\",\"states\":[\"queued\",\"finished\",\"queued\"],"
                       "\"uid\":1000,\"limit\":50,\"after_id\":1234,\"tag\":null}");
        CHECK(req && req->state_mask == ((1u << TASK_QUEUED) | (1u << TASK_FINISHED)));
        CHECK(req && req->has_uid && req->uid == 1000 && req->limit == 50 && req->after_id == 1234);
        CHECK(req && !req->tag);
        if (req) {
                CHECK(proto_request_format(req, &line) == 0);
                CHECK_STREQ(line, "{\"v\":4,\"op\":\"list\",\"states\":[\"queued\",\"finished\"],"
                                  "\"uid\":1000,\"limit\":50,\"after_id\":1234}\n");
        }
        proto_request_free(TAKE_PTR(req));
        free(TAKE_PTR(line));

        /* newest first, paged with before_id; both omitted when not set */
        req = parse_ok("{\"v\":4,\"op\":\"list\"}");
        CHECK(req && !req->newest_first && req->before_id == 0);
        proto_request_free(TAKE_PTR(req));
        req = parse_ok("{\"v\":4,\"op\":\"list\",\"newest_first\":null,\"before_id\":null}");
        CHECK(req && !req->newest_first && req->before_id == 0);
        proto_request_free(TAKE_PTR(req));
        req = parse_ok("{\"v\":4,\"op\":\"list\",\"newest_first\":false}");
        CHECK(req && !req->newest_first);
        if (req) {
                CHECK(proto_request_format(req, &line) == 0);
                CHECK_STREQ(line, "{\"v\":4,\"op\":\"list\",\"limit\":1000}\n");
        }
        proto_request_free(TAKE_PTR(req));
        free(TAKE_PTR(line));
        req = parse_ok("{\"v\":4,\"op\":\"list\",\"states\":[\"finished\"],\"limit\":20,"
                       "\"newest_first\":true,\"before_id\":9223372036854775807,\"after_id\":3}");
        CHECK(req && req->newest_first && req->before_id == INT64_MAX && req->after_id == 3 && req->limit == 20);
        if (req) {
                CHECK(proto_request_format(req, &line) == 0);
                CHECK_STREQ(line, "{\"v\":4,\"op\":\"list\",\"states\":[\"finished\"],\"limit\":20,"
                                  "\"after_id\":3,\"before_id\":9223372036854775807,\"newest_first\":true}\n");
        }
        proto_request_free(TAKE_PTR(req));
        free(TAKE_PTR(line));
        {
                /* as a client builds it */
                ProtoRequest r = { .op = PROTO_OP_LIST, .newest_first = true, .before_id = 42, .limit = 5 };
                CHECK(proto_request_format(&r, &line) == 0);
                CHECK_STREQ(line, "{\"v\":4,\"op\":\"list\",\"limit\":5,\"before_id\":42,\"newest_first\":true}\n");
                req = line ? parse_ok(line) : NULL;
                CHECK(req && req->newest_first && req->before_id == 42 && req->limit == 5 && req->after_id == 0);
                proto_request_free(TAKE_PTR(req));
                free(TAKE_PTR(line));
        }

        /* protocol 3: the main command's reasons, a name pattern, a time range */
        req = parse_ok("{\"v\":4,\"op\":\"list\",\"reasons\":[\"oom\",\"time-limit\",\"oom\"],"
                       "\"name\":\"inst-*\",\"since_us\":1000,\"until_us\":2000}");
        CHECK(req && req->reason_mask == ((1u << TASK_REASON_OOM) | (1u << TASK_REASON_TIME_LIMIT)));
        CHECK(req && req->name_glob && strcmp(req->name_glob, "inst-*") == 0);
        CHECK(req && req->since_usec == 1000 && req->until_usec == 2000);
        if (req) {
                CHECK(proto_request_format(req, &line) == 0);
                CHECK_STREQ(line, "{\"v\":4,\"op\":\"list\",\"limit\":1000,\"name\":\"inst-*\",\"since_us\":1000,"
                                  "\"until_us\":2000,\"reasons\":[\"oom\",\"time-limit\"]}\n");
        }
        proto_request_free(TAKE_PTR(req));
        free(TAKE_PTR(line));
        req = parse_ok("{\"v\":4,\"op\":\"list\",\"series\":\"s-1\",\"environment_id\":3}");
        CHECK(req && req->series && strcmp(req->series, "s-1") == 0 && req->environment_id == 3);
        if (req) {
                CHECK(proto_request_format(req, &line) == 0);
                CHECK_STREQ(line, "{\"v\":4,\"op\":\"list\",\"limit\":1000,\"series\":\"s-1\",\"environment_id\":3}\n");
        }
        proto_request_free(TAKE_PTR(req));
        free(TAKE_PTR(line));
        check_rejects("{\"v\":4,\"op\":\"list\",\"series\":\"\"}", -EINVAL, "series: must be a label of 1 to 127");
        check_rejects("{\"v\":4,\"op\":\"list\",\"environment_id\":0}", -EINVAL, "environment_id: must be between 1");
        req = parse_ok("{\"v\":4,\"op\":\"list\",\"reasons\":null,\"name\":null,\"since_us\":null}");
        CHECK(req && !req->reason_mask && !req->name_glob && !req->since_usec);
        proto_request_free(TAKE_PTR(req));

        req = parse_ok("{\"v\":4,\"op\":\"list\",\"limit\":100000}");
        CHECK(req && req->limit == PROTO_LIST_LIMIT_MAX);
        proto_request_free(TAKE_PTR(req));

        req = parse_ok("{\"v\":4,\"op\":\"list\",\"uid\":0}");
        CHECK(req && req->has_uid && req->uid == 0);
        proto_request_free(TAKE_PTR(req));

        /* hold and release take ids as cancel does; drain takes on */
        req = parse_ok("{\"v\":4,\"op\":\"hold\",\"ids\":[4,5]}");
        CHECK(req && req->op == PROTO_OP_HOLD && req->n_ids == 2 && req->ids[1] == 5);
        if (req) {
                CHECK(proto_request_format(req, &line) == 0);
                CHECK_STREQ(line, "{\"v\":4,\"op\":\"hold\",\"ids\":[4,5]}\n");
        }
        proto_request_free(TAKE_PTR(req));
        free(TAKE_PTR(line));
        req = parse_ok("{\"v\":4,\"op\":\"release\",\"ids\":[9]}");
        CHECK(req && req->op == PROTO_OP_RELEASE && req->n_ids == 1 && req->ids[0] == 9);
        proto_request_free(TAKE_PTR(req));
        req = parse_ok("{\"v\":4,\"op\":\"drain\",\"on\":true}");
        CHECK(req && req->op == PROTO_OP_DRAIN && req->on);
        if (req) {
                CHECK(proto_request_format(req, &line) == 0);
                CHECK_STREQ(line, "{\"v\":4,\"op\":\"drain\",\"on\":true}\n");
        }
        proto_request_free(TAKE_PTR(req));
        free(TAKE_PTR(line));
        req = parse_ok("{\"v\":4,\"op\":\"drain\",\"on\":false}");
        CHECK(req && req->op == PROTO_OP_DRAIN && !req->on);
        proto_request_free(TAKE_PTR(req));

        req = parse_ok("{\"v\":4,\"op\":\"stats\",\"follow\":true}");
        CHECK(req && req->op == PROTO_OP_STATS && req->follow);
        proto_request_free(TAKE_PTR(req));

        req = parse_ok("{\"v\":4,\"op\":\"show\",\"id\":9223372036854775807}");
        CHECK(req && req->op == PROTO_OP_SHOW && req->id == INT64_MAX);
        proto_request_free(TAKE_PTR(req));

        req = parse_ok("{\"v\":4,\"op\":\"cancel\",\"ids\":[3,1,2]}");
        CHECK(req && req->op == PROTO_OP_CANCEL && req->n_ids == 3);
        CHECK(req && req->ids[0] == 3 && req->ids[1] == 1 && req->ids[2] == 2);
        if (req) {
                CHECK(proto_request_format(req, &line) == 0);
                CHECK_STREQ(line, "{\"v\":4,\"op\":\"cancel\",\"ids\":[3,1,2]}\n");
        }
        proto_request_free(TAKE_PTR(req));
        free(TAKE_PTR(line));

        {
                ProtoRequest r = { .op = PROTO_OP_STATS, .follow = true };
                CHECK(proto_request_format(&r, &line) == 0);
                CHECK_STREQ(line, "{\"v\":4,\"op\":\"stats\",\"follow\":true}\n");
                free(TAKE_PTR(line));
        }
        {
                ProtoRequest r = { .op = PROTO_OP_SHOW, .id = 42 };
                CHECK(proto_request_format(&r, &line) == 0);
                CHECK_STREQ(line, "{\"v\":4,\"op\":\"show\",\"id\":42}\n");
                free(TAKE_PTR(line));
        }
        {
                ProtoRequest r = { .op = PROTO_OP_CANCEL };
                CHECK(proto_request_format(&r, &line) == -EINVAL);
                r.op = PROTO_OP_SUBMIT;
                CHECK(proto_request_format(&r, &line) == -EINVAL);
                r.op = _PROTO_OP_MAX;
                CHECK(proto_request_format(&r, &line) == -EINVAL);
                CHECK(!line);
        }
}

static Task *full_task(void) {
        Task *t = nasty_task();

        t->id = 4242;
        t->uid = 0;
        t->gid = 100;
        t->state = TASK_FINISHED;
        t->queued_usec = UINT64_C(1700000000000000);
        t->cpus = strdup("2-3,18-19");
        t->unit = strdup("benchrunner-task-4242.service");
        t->output_dir = strdup("/var/lib/benchrunner/output/4242");
        t->output_truncated = true;
        t->main = (TaskResult) {
                .reason = TASK_REASON_SIGNALED,
                .has_signal = true,
                .signal = 9,
                .started_usec = UINT64_C(1700000001000000),
                .finished_usec = UINT64_C(1700000901000000),
                .wall_usec = UINT64_C(900000000),
                .has_cpu = true,
                .cpu_user_usec = UINT64_C(3500000000),
                .cpu_system_usec = 12,
                .has_peak_memory = true,
                .peak_memory_bytes = UINT64_C(17179869184),
        };
        t->cleanup = (TaskResult) {
                .reason = TASK_REASON_EXITED,
                .has_exit_code = true,
                .exit_code = 0,
                .started_usec = UINT64_C(1700000901500000),
                .finished_usec = UINT64_C(1700000902000000),
                .wall_usec = 500000,
        };
        return t;
}

static ProtoMessage *message_ok(const char *line) {
        ProtoMessage *m = NULL;
        _cleanup_(freep) char *error = NULL;
        size_t len = strlen(line);
        int r;

        CHECK(len > 0 && line[len - 1] == '\n');
        r = proto_parse_message(line, len - 1, &m, &error);
        if (r < 0) {
                fprintf(stderr, "message rejected (%d: %s): %.200s\n", r, error, line);
                check_failures++;
        }
        return m;
}

/* line is a message with a task in it, which reads back as t. */
static ProtoMessage *task_message_ok(const char *line, const Task *t) {
        ProtoMessage *m = line ? message_ok(line) : NULL;

        CHECK(m && m->task);
        if (m && m->task)
                check_task_eq(m->task, t);
        return m;
}

static void test_task_json(void) {
        _cleanup_(task_freep) Task *t = full_task(), *queued = task_new();
        _cleanup_(proto_message_freep) ProtoMessage *m = NULL;
        _cleanup_(freep) char *line = NULL;

        line = proto_event_task(PROTO_EVENT_CLEANUP_FINISHED, t);
        CHECK(line && strstr(line, "\"event\":\"cleanup-finished\""));
        CHECK(line && strstr(line, "\"user\":\"root\""));
        CHECK(line && strstr(line, "\"state\":\"finished\""));
        CHECK(line && strstr(line, "\"reason\":\"signaled\""));
        CHECK(line && strstr(line, "\"exit_code\":null,\"signal\":9"));
        CHECK(line && strstr(line, "\"cwd\":\"/home/u/dir with space/$x\""));
        m = task_message_ok(line, t);
        CHECK(m && m->is_event && m->event == PROTO_EVENT_CLEANUP_FINISHED);
        proto_message_free(TAKE_PTR(m));
        free(TAKE_PTR(line));

        /* a fresh task: unknowns are null, and read back as unknown */
        queued->id = 1;
        queued->uid = 4000000000u;
        queued->argv = strv_new(1, "/bin/true");
        queued->submit_dir = strdup("/");
        queued->queued_usec = 5;
        line = proto_event_task(PROTO_EVENT_QUEUED, queued);
        CHECK(line && strstr(line, "\"name\":null"));
        CHECK(line && strstr(line, "\"user\":null"));
        CHECK(line && strstr(line, "\"env\":[]"));
        CHECK(line && strstr(line, "\"cleanup\":null"));
        CHECK(line && strstr(line, "\"time_limit_us\":null"));
        CHECK(line && strstr(line, "\"cpus\":null"));
        CHECK(line && strstr(line, "\"result\":null,\"cleanup_result\":null"));
        m = task_message_ok(line, queued);
        CHECK(m && m->event == PROTO_EVENT_QUEUED);
        proto_message_free(TAKE_PTR(m));
        free(TAKE_PTR(line));

        CHECK(proto_event_task(PROTO_EVENT_STATS, queued) == NULL);

        /* show reply, and a client that ignores fields it does not know */
        {
                _cleanup_(json_putp) json_object *o = proto_task_to_json(t, false);
                _cleanup_(task_freep) Task *back = NULL;

                CHECK(o != NULL);
                json_object_object_add(o, "added_in_a_later_version", json_object_new_int(1));
                CHECK(proto_task_from_json(o, &back, NULL) == 0);
                if (back)
                        check_task_eq(back, t);
                json_object_object_add(o, "state", json_object_new_string("sleeping"));
                task_free(TAKE_PTR(back));
                CHECK(proto_task_from_json(o, &back, NULL) == -EBADMSG);
        }
        /* the user name travels with the task: the daemon's word, not what
         * the reader's system calls that uid */
        {
                _cleanup_(task_freep) Task *named = task_new(), *back = NULL;
                _cleanup_(json_putp) json_object *o = NULL;

                CHECK(named != NULL);
                if (named) {
                        named->id = 2;
                        named->uid = 4000000000u;
                        named->user = strdup("someone-else");
                        named->argv = strv_new(1, "/bin/true");
                        named->submit_dir = strdup("/");
                        o = proto_task_to_json(named, false);
                }
                CHECK(o && proto_task_from_json(o, &back, NULL) == 0);
                CHECK(back && back->user && strcmp(back->user, "someone-else") == 0);
        }
        line = proto_reply_show(NULL, t, 0);
        m = task_message_ok(line, t);
        CHECK(m && !m->is_event && m->ok);
}

/* Another user sees env's names, never its values (issue 11): in show and
 * list replies alike; the owner and root see them. */
static void test_env_hidden(void) {
        _cleanup_(task_freep) Task *t = task_new(), *back = NULL;
        _cleanup_(proto_message_freep) ProtoMessage *m = NULL;
        _cleanup_(freep) char *line = NULL;

        CHECK(t != NULL);
        if (!t)
                return;
        t->id = 5;
        t->uid = 1000;
        t->gid = 1000;
        t->state = TASK_QUEUED;
        t->argv = strv_new(1, "/bin/true");
        t->submit_dir = strdup("/");
        t->env = strv_new(2, "API_TOKEN=s3cr3t=x", "EMPTY=");

        line = proto_reply_show(NULL, t, 1001);
        CHECK(line && !strstr(line, "s3cr3t"));
        CHECK(line && strstr(line, "\"env\":[\"API_TOKEN\",\"EMPTY\"]"));
        CHECK(line && strstr(line, "\"env_hidden\":true"));
        CHECK(line && proto_parse_message(line, strlen(line), &m, NULL) == 0);
        CHECK(m && m->task && m->task->env_hidden && m->task->env &&
              strcmp(m->task->env[0], "API_TOKEN") == 0);
        /* a client that prints the task again keeps it hidden */
        if (m && m->task) {
                _cleanup_(json_putp) json_object *o = proto_task_to_json(m->task, false);
                const char *s = o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN) : NULL;
                CHECK(s && strstr(s, "\"env_hidden\":true"));
        }
        proto_message_free(TAKE_PTR(m));
        free(TAKE_PTR(line));

        for (uid_t viewer = 0; viewer <= 1000; viewer += 1000) {
                line = proto_reply_show(NULL, t, viewer);
                CHECK(line && strstr(line, "API_TOKEN=s3cr3t=x") && !strstr(line, "env_hidden"));
                free(TAKE_PTR(line));
        }
        {
                Task *tasks[] = { t };
                size_t n = 0;

                line = proto_reply_list(NULL, tasks, 1, 1001, false, &n);
                CHECK(n == 1 && line && !strstr(line, "s3cr3t") && strstr(line, "\"env_hidden\":true"));
                free(TAKE_PTR(line));
                line = proto_reply_list(NULL, tasks, 1, 1000, false, &n);
                CHECK(n == 1 && line && strstr(line, "s3cr3t"));
        }
}

static void test_replies(void) {
        _cleanup_(proto_message_freep) ProtoMessage *m = NULL;
        _cleanup_(freep) char *line = NULL;
        _cleanup_(json_putp) json_object *tag = json_object_new_int(77);
        const int64_t ids[] = { 10, 11, 12 };
        ProtoStats s = { 3, 1, 2500, 8, 16, UINT64_C(8) << 30, UINT64_C(32) << 30 };

        line = proto_reply_ok(tag);
        CHECK_STREQ(line, "{\"v\":4,\"ok\":true,\"tag\":77}\n");
        free(TAKE_PTR(line));

        line = proto_reply_submit(tag, ids, 3);
        CHECK_STREQ(line, "{\"v\":4,\"ok\":true,\"tag\":77,\"ids\":[10,11,12]}\n");
        m = line ? message_ok(line) : NULL;
        CHECK(m && m->ok && m->n_ids == 3 && m->ids[2] == 12);
        CHECK(m && m->tag && json_object_get_int(m->tag) == 77);
        proto_message_free(TAKE_PTR(m));
        free(TAKE_PTR(line));

        line = proto_reply_stats(NULL, &s);
        CHECK_STREQ(line, "{\"v\":4,\"ok\":true,\"running\":3,\"cleanup\":1,\"queued\":2500,\"threads_busy\":8,"
                          "\"threads_total\":16,\"memory_used\":8589934592,\"memory_total\":34359738368,"
                          "\"held\":0,\"waiting\":0,\"draining\":false}\n");
        m = line ? message_ok(line) : NULL;
        CHECK(m && m->has_stats && !m->is_event && proto_stats_equal(&m->stats, &s));
        CHECK(m && cpuset_empty(&m->stats.cpus) && !m->stats.has_groups);
        proto_message_free(TAKE_PTR(m));
        free(TAKE_PTR(line));
        /* held and draining: protocol 3; a reply without them reads as 0 */
        s.held = 7;
        s.draining = 1;
        line = proto_reply_stats(NULL, &s);
        CHECK(line && strstr(line, "\"held\":7,\"waiting\":0,\"draining\":true}"));
        m = line ? message_ok(line) : NULL;
        CHECK(m && m->has_stats && m->stats.held == 7 && m->stats.draining == 1);
        proto_message_free(TAKE_PTR(m));
        free(TAKE_PTR(line));
        m = message_ok("{\"v\":4,\"ok\":true,\"running\":3,\"cleanup\":1,\"queued\":2500,\"threads_busy\":8,"
                       "\"threads_total\":16,\"memory_used\":8589934592,\"memory_total\":34359738368}\n");
        CHECK(m && m->has_stats && m->stats.held == 0 && m->stats.draining == 0);
        s.held = 0;
        s.draining = 0;
        proto_message_free(TAKE_PTR(m));
        free(TAKE_PTR(line));

        line = proto_event_stats(&s);
        m = line ? message_ok(line) : NULL;
        CHECK(m && m->is_event && m->event == PROTO_EVENT_STATS && m->has_stats);
        CHECK(m && proto_stats_equal(&m->stats, &s));
        proto_message_free(TAKE_PTR(m));
        free(TAKE_PTR(line));

        /* the daemon's CPUs and the queue by group (br-top's) */
        {
                ProtoStats g = s, back;

                CHECK(cpuset_parse("2-7", &g.cpus) == 0);
                g.has_groups = true;
                g.n_groups = 2;
                g.groups[0] = (ProtoGroupCount) { 5, 2000 };
                g.groups[1] = (ProtoGroupCount) { -3, 499 };
                g.queued_other_groups = 1;
                line = proto_event_stats(&g);
                CHECK_STREQ(line, "{\"v\":4,\"event\":\"stats\",\"running\":3,\"cleanup\":1,\"queued\":2500,"
                                  "\"threads_busy\":8,\"threads_total\":16,\"memory_used\":8589934592,"
                                  "\"memory_total\":34359738368,\"held\":0,\"waiting\":0,\"draining\":false,\"cpus\":\"2-7\","
                                  "\"queued_by_group\":"
                                  "[{\"group\":5,\"queued\":2000},{\"group\":-3,\"queued\":499}],"
                                  "\"queued_other_groups\":1}\n");
                m = line ? message_ok(line) : NULL;
                CHECK(m && m->has_stats && proto_stats_equal(&m->stats, &g));
                CHECK(!proto_stats_equal(&s, &g));
                back = g;
                back.groups[1].queued++;
                CHECK(!proto_stats_equal(&back, &g));
                proto_message_free(TAKE_PTR(m));
                free(TAKE_PTR(line));

                /* more groups than we keep: the rest summed */
                _cleanup_(freep) char *many = strdup("{\"v\":4,\"event\":\"stats\",\"running\":0,\"cleanup\":0,"
                                                     "\"queued\":70,\"threads_busy\":0,\"threads_total\":1,"
                                                     "\"memory_used\":0,\"memory_total\":1,\"queued_by_group\":[");
                for (int i = 0; many && i < 70; i++) {
                        char *n = NULL;
                        CHECK(asprintf(&n, "%s%s{\"group\":%d,\"queued\":1}", many, i ? "," : "", 100 - i) > 0);
                        free(many);
                        many = n;
                }
                char *n = NULL;
                CHECK(asprintf(&n, "%s],\"queued_other_groups\":3}\n", many) > 0);
                free(many);
                many = n;
                m = many ? message_ok(many) : NULL;
                CHECK(m && m->stats.has_groups && m->stats.n_groups == PROTO_STATS_GROUPS_MAX);
                CHECK(m && m->stats.groups[63].group == 37 && m->stats.queued_other_groups == 3 + 70 - 64);
                proto_message_free(TAKE_PTR(m));

                /* a bad list of groups or CPUs is a bad message */
                const char *bad[] = {
                        "\"cpus\":\"x\"",
                        "\"queued_by_group\":{}",
                        "\"queued_by_group\":[1]",
                        "\"queued_by_group\":[{\"queued\":1}]",
                        "\"queued_by_group\":[{\"group\":1,\"queued\":-1}]",
                };
                for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                        _cleanup_(freep) char *l = NULL, *error = NULL;
                        ProtoMessage *x = NULL;
                        CHECK(asprintf(&l, "{\"v\":4,\"event\":\"stats\",\"running\":0,\"cleanup\":0,\"queued\":0,"
                                           "\"threads_busy\":0,\"threads_total\":1,\"memory_used\":0,"
                                           "\"memory_total\":1,%s}", bad[i]) > 0);
                        CHECK(l && proto_parse_message(l, strlen(l), &x, &error) < 0);
                        proto_message_free(x);
                }
        }

        {
                const ProtoCancelResult results[] = {
                        { 5, NULL },
                        { 6, "not your task" },
                        { 7, "no such task" },
                };
                line = proto_reply_cancel(NULL, results, 3);
                CHECK_STREQ(line, "{\"v\":4,\"ok\":true,\"results\":[{\"id\":5,\"ok\":true},"
                                  "{\"id\":6,\"ok\":false,\"error\":\"not your task\"},"
                                  "{\"id\":7,\"ok\":false,\"error\":\"no such task\"}]}\n");
                m = line ? message_ok(line) : NULL;
                CHECK(m && m->n_results == 3);
                CHECK(m && m->results[0].id == 5 && !m->results[0].error);
                CHECK(m && m->results[1].id == 6);
                CHECK_STREQ(m ? m->results[1].error : NULL, "not your task");
                proto_message_free(TAKE_PTR(m));
                free(TAKE_PTR(line));
        }

        /* list: in order, "more" as the daemon says */
        {
                Task *tasks[3];
                size_t n = 0;

                for (size_t i = 0; i < 3; i++) {
                        tasks[i] = task_new();
                        tasks[i]->id = (int64_t) i + 1;
                        tasks[i]->argv = strv_new(1, "/bin/true");
                        tasks[i]->submit_dir = strdup("/");
                }
                line = proto_reply_list(tag, tasks, 3, 0, true, &n);
                CHECK_EQ_U64(n, 3);
                m = line ? message_ok(line) : NULL;
                CHECK(m && m->n_tasks == 3 && m->more);
                for (size_t i = 0; m && i < m->n_tasks && i < 3; i++)
                        check_task_eq(m->tasks[i], tasks[i]);
                proto_message_free(TAKE_PTR(m));
                free(TAKE_PTR(line));

                line = proto_reply_list(NULL, tasks, 0, 0, false, &n);
                CHECK_STREQ(line, "{\"v\":4,\"ok\":true,\"tasks\":[],\"more\":false}\n");
                CHECK_EQ_U64(n, 0);
                free(TAKE_PTR(line));
                for (size_t i = 0; i < 3; i++)
                        task_free(tasks[i]);
        }

        /* list: cut below the reply line limit, and says so */
        {
                enum { N = 24 };
                Task *tasks[N];
                size_t n = 0;
                char *arg = malloc(1000 * 1000 + 1);

                memset(arg, 'y', 1000 * 1000);
                arg[1000 * 1000] = 0;
                for (size_t i = 0; i < N; i++) {
                        tasks[i] = task_new();
                        tasks[i]->id = (int64_t) i + 1;
                        tasks[i]->argv = strv_new(2, "/bin/echo", arg);
                        tasks[i]->submit_dir = strdup("/");
                }
                line = proto_reply_list(NULL, tasks, N, 0, false, &n);
                CHECK(line && strlen(line) - 1 <= PROTO_REPLY_LINE_MAX);
                CHECK(n >= 15 && n < N);
                m = line ? message_ok(line) : NULL;
                CHECK(m && m->more && m->n_tasks == n);
                CHECK(m && m->n_tasks > 0 && m->tasks[m->n_tasks - 1]->id == (int64_t) n);
                proto_message_free(TAKE_PTR(m));
                free(TAKE_PTR(line));
                for (size_t i = 0; i < N; i++)
                        task_free(tasks[i]);
                free(arg);
        }
}

static void test_messages(void) {
        _cleanup_(proto_message_freep) ProtoMessage *m = NULL;
        _cleanup_(freep) char *error = NULL;
        const char *s;

#define PARSE(str) proto_parse_message((str), strlen(str), &m, &error)

        /* an error from a daemon of another version still reaches the user */
        s = "{\"v\":5,\"ok\":false,\"error\":\"protocol version mismatch: the request has version 4, "
            "benchrunnerd speaks version 5\"}";
        CHECK(PARSE(s) == 0);
        CHECK(m && !m->ok && m->error && strstr(m->error, "speaks version 5"));
        proto_message_free(TAKE_PTR(m));

        s = "{\"v\":5,\"ok\":true,\"something\":\"new\"}";
        CHECK(PARSE(s) == -EPROTONOSUPPORT);
        CHECK(!m && error && strstr(error, "benchrunnerd speaks version 5, this program version 4"));
        free(TAKE_PTR(error));

        /* events we do not know are for skipping, not failing */
        s = "{\"v\":4,\"event\":\"migrated\",\"task\":{\"whatever\":1}}";
        CHECK(PARSE(s) == 0);
        CHECK(m && m->is_event && m->event == _PROTO_EVENT_INVALID && !m->task);
        proto_message_free(TAKE_PTR(m));

        /* reply fields we do not know are ignored */
        s = "{\"v\":4,\"ok\":true,\"ids\":[1],\"warning\":\"new\"}";
        CHECK(PARSE(s) == 0);
        CHECK(m && m->ok && m->n_ids == 1);
        proto_message_free(TAKE_PTR(m));

        CHECK(PARSE("{\"ok\":true}") == -EBADMSG);
        free(TAKE_PTR(error));
        CHECK(PARSE("{\"v\":4}") == -EBADMSG);
        free(TAKE_PTR(error));
        CHECK(PARSE("{\"v\":4,\"ok\":true,\"ids\":[\"x\"]}") == -EBADMSG);
        CHECK(error && strstr(error, "ids[0]"));
        free(TAKE_PTR(error));
        CHECK(PARSE("{\"v\":4,\"event\":\"started\"}") == -EBADMSG);
        free(TAKE_PTR(error));
        CHECK(PARSE("{\"v\":4,\"ok\":true,\"running\":1}") == -EBADMSG);
        CHECK(error && strstr(error, "cleanup: missing"));
        free(TAKE_PTR(error));
        CHECK(PARSE("not json") == -EBADMSG);
        free(TAKE_PTR(error));
        CHECK(PARSE("{\"v\":4,\"ok\":false}") == 0);
        CHECK(m && !m->ok && m->error);
        proto_message_free(TAKE_PTR(m));
#undef PARSE
}

static void test_spec_json(void) {
        _cleanup_(task_freep) Task *t = task_new();
        _cleanup_(json_putp) json_object *o = NULL;
        _cleanup_(freep) char *error = NULL;

        t->argv = strv_new(2, "/usr/bin/env", "x");
        t->submit_dir = strdup("/srv");
        o = proto_spec_to_json(t);
        CHECK_STREQ(o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN) : NULL,
                    "{\"argv\":[\"\\/usr\\/bin\\/env\",\"x\"],\"cwd\":\"\\/srv\",\"threads\":1,"
                    "\"group\":0,\"priority\":0,\"whole_cores\":false}");

        /* client-side validation gives the daemon's words */
        free(t->argv[0]);
        t->argv[0] = strdup("env");
        CHECK(proto_spec_validate(t, &error) == -EINVAL);
        CHECK(error && strncmp(error, "argv[0]: must be an absolute path", 33) == 0);
        free(TAKE_PTR(error));
        free(t->argv[0]);
        t->argv[0] = strdup("/usr/bin/env");
        t->threads = 0;
        CHECK(proto_spec_validate(t, &error) == -EINVAL);
        CHECK(error && strstr(error, "threads"));
        free(TAKE_PTR(error));
        t->threads = 1;
        free(t->submit_dir);
        t->submit_dir = NULL;
        CHECK(proto_spec_validate(t, &error) == -EINVAL);
        CHECK_STREQ(error, "cwd: missing");
        free(TAKE_PTR(error));

        /* BENCHRUNNER_* is the daemon's: refused, with the variable named;
         * the prefix elsewhere in a name, or in another case, is fine */
        t->submit_dir = strdup("/srv");
        t->env = strv_new(3, "OMP_NUM_THREADS=1", "MY_BENCHRUNNER_TASK=1", "benchrunner_task=1");
        CHECK(proto_spec_validate(t, &error) == 0);
        free(TAKE_PTR(error));
        strv_free(t->env);
        t->env = strv_new(2, "OMP_NUM_THREADS=1", "BENCHRUNNER_CPUS=0-63");
        CHECK(proto_spec_validate(t, &error) == -EINVAL);
        CHECK_STREQ(error, "env[1]: BENCHRUNNER_CPUS: variables starting with BENCHRUNNER_ are set by "
                    "benchrunner, not by the task's env");
}

/* A batch file line, as br-run reads it before resolving the command. */
static void test_spec_from_json(void) {
        _cleanup_(task_freep) Task *t = NULL;
        _cleanup_(freep) char *error = NULL;
        json_object *o;

        o = json_tokener_parse("{\"argv\":[\"solver\",\"a b.cnf\"],\"threads\":2,\"time_limit_us\":900000000}");
        CHECK(proto_spec_from_json(o, &t, &error) == 0);
        json_object_put(o);
        CHECK(t && strcmp(t->argv[1], "a b.cnf") == 0 && t->threads == 2);
        CHECK(t && t->time_limit_usec == 900000000 && !t->submit_dir);
        CHECK(t && proto_spec_validate(t, &error) == -EINVAL);
        CHECK(error && strstr(error, "argv[0]: must be an absolute path"));
        free(TAKE_PTR(error));
        if (t) {
                free(t->argv[0]);
                t->argv[0] = strdup("/usr/bin/solver");
                t->submit_dir = strdup("/data");
                CHECK(proto_spec_validate(t, &error) == 0);
        }
        task_free(TAKE_PTR(t));

        o = json_tokener_parse("{\"argv\":[\"/bin/true\"],\"thread\":2}");
        CHECK(proto_spec_from_json(o, &t, &error) == -EINVAL);
        CHECK_STREQ(error, "task: unknown field \"thread\"");
        json_object_put(o);
        free(TAKE_PTR(error));

        o = json_tokener_parse("{\"cwd\":\"/\"}");
        CHECK(proto_spec_from_json(o, &t, &error) == -EINVAL);
        CHECK(error && strncmp(error, "argv: missing", 13) == 0);
        json_object_put(o);
        free(TAKE_PTR(error));

        o = json_tokener_parse("{\"argv\":[\"/bin/true\"],\"time_limit_us\":0}");
        CHECK(proto_spec_from_json(o, &t, &error) == -EINVAL);
        CHECK(error && strncmp(error, "time_limit_us: must be between 1", 32) == 0);
        json_object_put(o);
        CHECK(!t);
}

/* Retry and dependencies: the spec's retry_of, retry_oom, after and
 * after_ok, parsed, checked and formatted back; the TASK's next_attempt and
 * waiting; the reason dependency-failed. */
static void test_retry_and_after(void) {
        _cleanup_(proto_request_freep) ProtoRequest *req = NULL;
        _cleanup_(proto_message_freep) ProtoMessage *m = NULL;
        _cleanup_(freep) char *line = NULL, *error = NULL;
        _cleanup_(task_freep) Task *back = NULL;
        Task *t;

        req = parse_ok("{\"v\":4,\"op\":\"submit\",\"tasks\":[{" SPEC_OK ",\"memory\":1024,"
                       "\"retry_of\":7,\"retry_oom\":[2048,4096],\"after\":[3,5],\"after_ok\":true}]}");
        t = req && req->n_tasks == 1 ? req->tasks[0] : NULL;
        CHECK(t && t->retry_of == 7 && t->n_retry_oom == 2 && t->retry_oom[0] == 2048 && t->retry_oom[1] == 4096);
        CHECK(t && t->n_after == 2 && t->after[0] == 3 && t->after[1] == 5 && t->after_ok);
        if (t) {
                _cleanup_(json_putp) json_object *o = proto_spec_to_json(t);
                const char *s = o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN) : "";
                CHECK(strstr(s, "\"retry_of\":7,\"retry_oom\":[2048,4096],\"after\":[3,5],\"after_ok\":true"));
        }

        check_spec_rejected(SPEC_OK ",\"memory\":4096,\"retry_oom\":[4096]",
                            "tasks[0].retry_oom[0]: 4096 bytes, not more than the task's memory (4096)");
        check_spec_rejected(SPEC_OK ",\"retry_oom\":[4096,4096]",
                            "tasks[0].retry_oom[1]: 4096 bytes, not more than the step before (4096)");
        check_spec_rejected(SPEC_OK ",\"retry_oom\":[0]", "tasks[0].retry_oom[0]: must be between 1");
        check_spec_rejected(SPEC_OK ",\"retry_oom\":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]",
                            "tasks[0].retry_oom: 17 elements, at most 16");
        check_spec_rejected(SPEC_OK ",\"retry_oom\":\"2G\"", "tasks[0].retry_oom: must be an array of integers");
        check_spec_rejected(SPEC_OK ",\"after\":[3,4,3]", "tasks[0].after[2]: task 3 is named twice");
        check_spec_rejected(SPEC_OK ",\"after\":[0]", "tasks[0].after[0]: must be between 1");
        check_spec_rejected(SPEC_OK ",\"after_ok\":true", "tasks[0].after_ok: needs the tasks to wait for in after");
        check_spec_rejected(SPEC_OK ",\"retry_of\":0", "tasks[0].retry_of: must be between 1");
        {
                _cleanup_(freep) char *many = strdup("[1");
                for (int i = 2; i <= TASK_AFTER_MAX + 1; i++) {
                        char *n = strf("%s,%d", many, i);
                        free(many);
                        many = n;
                }
                _cleanup_(freep) char *spec = strf(SPEC_OK ",\"after\":%s]", many);
                check_spec_rejected(spec, "tasks[0].after: 65 elements, at most 64");
        }

        /* a TASK: the fields and the reason read back */
        t->id = 9;
        t->state = TASK_FINISHED;
        t->next_attempt = 12;
        t->main.reason = TASK_REASON_DEPENDENCY_FAILED;
        line = proto_event_task(PROTO_EVENT_FINISHED, t);
        CHECK(line && strstr(line, "\"next_attempt\":12,\"retry_oom\":[2048,4096],\"after\":[3,5],"
                                   "\"after_ok\":true,\"waiting\":false"));
        CHECK(line && strstr(line, "\"reason\":\"dependency-failed\""));
        CHECK(line && proto_parse_message(line, strlen(line) - 1, &m, &error) == 0);
        back = m ? TAKE_PTR(m->task) : NULL;
        CHECK(back && back->next_attempt == 12 && back->retry_of == 7 && back->n_retry_oom == 2 &&
              back->retry_oom[1] == 4096 && back->n_after == 2 && back->after[1] == 5 && back->after_ok &&
              !back->waiting && back->main.reason == TASK_REASON_DEPENDENCY_FAILED);
        free(TAKE_PTR(line));
        proto_message_free(TAKE_PTR(m));
        t->state = TASK_QUEUED;
        t->waiting = true;
        t->next_attempt = 0;
        t->n_retry_oom = 0;
        line = proto_event_task(PROTO_EVENT_QUEUED, t);
        CHECK(line && strstr(line, "\"next_attempt\":null,\"retry_oom\":[],"));
        CHECK(line && strstr(line, "\"waiting\":true"));
        CHECK(line && proto_parse_message(line, strlen(line) - 1, &m, &error) == 0);
        CHECK(m && m->task && m->task->waiting && m->task->next_attempt == 0 && m->task->n_retry_oom == 0);
        CHECK(task_reason_from_string("dependency-failed") == TASK_REASON_DEPENDENCY_FAILED);
}

/* A submit request's token: parsed, checked, formatted back. */
static void test_submit_token(void) {
        _cleanup_(proto_request_freep) ProtoRequest *req = NULL;
        _cleanup_(freep) char *line = NULL;
        char long_token[PROTO_TOKEN_MAX + 2], bad[256];
        Task *t;
        size_t n;

        req = parse_ok("{\"v\":4,\"op\":\"submit\",\"tasks\":[{\"argv\":[\"/bin/true\"],\"cwd\":\"/\"}],"
                       "\"token\":\"br-run-0a1B.x_-\"}");
        CHECK(req && req->token && strcmp(req->token, "br-run-0a1B.x_-") == 0);
        if (req) {
                CHECK(proto_request_format(req, &line) == 0);
                CHECK(line && strstr(line, "\"token\":\"br-run-0a1B.x_-\""));
        }
        proto_request_free(TAKE_PTR(req));
        free(TAKE_PTR(line));
        req = parse_ok("{\"v\":4,\"op\":\"submit\",\"tasks\":[{\"argv\":[\"/bin/true\"],\"cwd\":\"/\"}]}");
        CHECK(req && !req->token);
        if (req) {
                t = req->tasks[0];
                CHECK(proto_submit_format_batch(NULL, &t, 1, false, "tok", &line, &n) == 0 && n == 1);
                CHECK(line && strstr(line, "\"token\":\"tok\""));
        }

        memset(long_token, 'a', sizeof long_token - 1);
        long_token[sizeof long_token - 1] = 0;
        snprintf(bad, sizeof bad, "{\"v\":4,\"op\":\"submit\",\"tasks\":[{\"argv\":[\"/bin/true\"],\"cwd\":\"/\"}],\"token\":\"%s\"}",
                 long_token);
        check_rejects(bad, -EINVAL, "token: must be 1 to 64 characters");
        check_rejects("{\"v\":4,\"op\":\"submit\",\"tasks\":[{\"argv\":[\"/bin/true\"],\"cwd\":\"/\"}],\"token\":\"\"}",
                      -EINVAL, "token: must be 1 to 64 characters");
        check_rejects("{\"v\":4,\"op\":\"submit\",\"tasks\":[{\"argv\":[\"/bin/true\"],\"cwd\":\"/\"}],\"token\":\"a b\"}",
                      -EINVAL, "token: may hold only letters");
        check_rejects("{\"v\":4,\"op\":\"submit\",\"tasks\":[{\"argv\":[\"/bin/true\"],\"cwd\":\"/\"}],\"token\":7}",
                      -EINVAL, "token: must be a string");
        check_rejects("{\"v\":4,\"op\":\"list\",\"token\":\"x\"}", -EINVAL, "unknown field \"token\"");
}

/* What a task ran in and beside, through a TASK and back; unknown stays
 * unknown (null), a known 0 stays 0. */
static void test_record(void) {
        _cleanup_(task_freep) Task *t = full_task(), *u = full_task();
        _cleanup_(freep) char *line = NULL, *line2 = NULL, *error = NULL;
        _cleanup_(proto_message_freep) ProtoMessage *m = NULL, *m2 = NULL;

        t->series = strdup("s-1");
        t->environment_id = 4;
        t->environment = strdup("{\"kernel\":\"6.1\",\"smt\":null}");
        t->warnings = strv_new(2, "boost is on", "CPU 3 runs the powersave governor");
        t->numa_nodes = strdup("1");
        t->pressure[TASK_PRESSURE_MEMORY] = (TaskPressure) { .has_some = true, .some_usec = 0, .has_full = true, .full_usec = 7 };
        t->has_throttled = true;
        t->nr_throttled = 2;
        t->throttled_usec = 30;
        t->has_beside = true;
        t->tasks_beside = 0;
        line = proto_event_task(PROTO_EVENT_FINISHED, t);
        CHECK(line && strstr(line, "\"environment_id\":4,\"warnings\":[\"boost is on\",\"CPU 3 runs the powersave governor\"],"
                                   "\"numa_nodes\":\"1\",\"backend\":null,\"cluster\":null,\"node\":null,\"job_id\":null,\"tasks_beside\":0,\"environment\":{\"kernel\":\"6.1\",\"smt\":null},"
                                   "\"pressure\":{\"memory\":{\"some_us\":0,\"full_us\":7}},\"throttled\":{\"periods\":2,\"usec\":30}"));
        CHECK(line && strstr(line, "\"series\":\"s-1\""));
        CHECK(line && proto_parse_message(line, strlen(line) - 1, &m, &error) == 0);
        if (m && m->task) {
                Task *b = m->task;
                CHECK(b->environment_id == 4 && b->environment && strstr(b->environment, "\"kernel\":\"6.1\""));
                CHECK(b->warnings && strv_length(b->warnings) == 2);
                CHECK_STREQ(b->numa_nodes, "1");
                CHECK(b->pressure[TASK_PRESSURE_MEMORY].has_some && b->pressure[TASK_PRESSURE_MEMORY].some_usec == 0);
                CHECK(b->pressure[TASK_PRESSURE_MEMORY].has_full && b->pressure[TASK_PRESSURE_MEMORY].full_usec == 7);
                CHECK(!b->pressure[TASK_PRESSURE_CPU].has_some && !b->pressure[TASK_PRESSURE_IO].has_full);
                CHECK(b->has_throttled && b->nr_throttled == 2 && b->throttled_usec == 30);
                CHECK(b->has_beside && b->tasks_beside == 0);
                CHECK_STREQ(b->series, "s-1");
        }
        /* nothing known: nulls */
        line2 = proto_event_task(PROTO_EVENT_FINISHED, u);
        CHECK(line2 && strstr(line2, "\"environment_id\":null,\"warnings\":null,\"numa_nodes\":null,\"backend\":null,\"cluster\":null,\"node\":null,\"job_id\":null,\"tasks_beside\":null,"
                                     "\"pressure\":null,\"throttled\":null"));
        CHECK(line2 && proto_parse_message(line2, strlen(line2) - 1, &m2, NULL) == 0);
        CHECK(m2 && m2->task && !m2->task->has_beside && !m2->task->warnings && !m2->task->has_throttled);
        /* a series is a label */
        check_spec_rejected(SPEC_OK ",\"series\":\"\"", "tasks[0].series: must not be empty");
        check_spec_rejected(SPEC_OK ",\"series\":\"a\\nb\"", "tasks[0].series: must not contain control characters");
}

/* import: a task that ran elsewhere and its results, parsed, formatted
 * and parsed again; what a record cannot say, refused. */
#define IMPORT_RESULT "\"result\":{\"reason\":\"exited\",\"exit_code\":3,\"started_at_us\":1000,\"finished_at_us\":3500}"

static void check_import_rejected(const char *task_fields, const char *words) {
        _cleanup_(freep) char *line = strf("{\"v\":4,\"op\":\"import\",\"tasks\":[{%s}]}", task_fields);
        check_rejects(line, -EINVAL, words);
}

static void test_import(void) {
        _cleanup_(proto_request_freep) ProtoRequest *req = NULL, *again = NULL;
        _cleanup_(freep) char *line = NULL;
        Task *t;

        CHECK_STREQ(proto_op_to_string(PROTO_OP_IMPORT), "import");
        req = parse_ok("{\"v\":4,\"op\":\"import\",\"token\":\"br-import-1\",\"tasks\":[{\"spec\":{" SPEC_OK
                       ",\"memory\":1048576,\"cleanup\":[\"/bin/true\"]}," IMPORT_RESULT ","
                       "\"cleanup_result\":{\"reason\":\"signaled\",\"signal\":15,\"started_at_us\":4000,"
                       "\"finished_at_us\":4100,\"cpu_user_us\":7,\"cpu_system_us\":1},"
                       "\"node\":\"n17\",\"cluster\":\"c1\",\"job_id\":\"4711\"}]}");
        CHECK(req && req->op == PROTO_OP_IMPORT && req->n_tasks == 1 && req->token &&
              strcmp(req->token, "br-import-1") == 0);
        if (!req)
                return;
        t = req->tasks[0];
        CHECK(t->state == TASK_FINISHED && t->uid == 0);
        CHECK_STREQ(t->backend, "slurm-export");
        CHECK_STREQ(t->node, "n17");
        CHECK_STREQ(t->cluster, "c1");
        CHECK_STREQ(t->job_id, "4711");
        CHECK(t->main.reason == TASK_REASON_EXITED && t->main.has_exit_code && t->main.exit_code == 3);
        CHECK(t->main.started_usec == 1000 && t->main.finished_usec == 3500 && t->main.wall_usec == 2500);
        CHECK(t->cleanup.reason == TASK_REASON_SIGNALED && t->cleanup.has_signal && t->cleanup.signal == 15);
        CHECK(t->cleanup.has_cpu && t->cleanup.cpu_user_usec == 7 && t->cleanup.wall_usec == 100);
        CHECK(proto_request_format(req, &line) == 0);
        CHECK(line && !strstr(line, "wall_us") && strstr(line, "\"op\":\"import\""));
        if (line) {
                again = parse_ok(line);
                CHECK(again && again->n_tasks == 1);
                if (again) {
                        check_spec_eq(again->tasks[0], t);
                        check_result_eq(&again->tasks[0]->main, &t->main);
                        check_result_eq(&again->tasks[0]->cleanup, &t->cleanup);
                        CHECK_STREQ(again->tasks[0]->job_id, "4711");
                }
        }
        /* interrupted: started, never ended */
        proto_request_free(TAKE_PTR(again));
        again = parse_ok("{\"v\":4,\"op\":\"import\",\"tasks\":[{\"spec\":{" SPEC_OK "},"
                         "\"result\":{\"reason\":\"interrupted\",\"started_at_us\":5}}]}");
        CHECK(again && again->tasks[0]->main.reason == TASK_REASON_INTERRUPTED && again->tasks[0]->main.wall_usec == 0);

        /* refusals */
        check_rejects("{\"v\":4,\"op\":\"import\",\"tasks\":[]}", -EINVAL, "tasks: must not be empty");
        check_rejects("{\"v\":4,\"op\":\"import\",\"tasks\":[{\"spec\":{" SPEC_OK "}," IMPORT_RESULT "}],\"follow\":true}",
                      -EINVAL, "unknown field \"follow\"");
        check_import_rejected(IMPORT_RESULT, "tasks[0].spec: missing");
        check_import_rejected("\"spec\":{" SPEC_OK "}", "tasks[0].result: missing");
        check_import_rejected("\"spec\":{\"argv\":[\"true\"],\"cwd\":\"/tmp\"}," IMPORT_RESULT,
                              "tasks[0].spec.argv[0]: must be an absolute path");
        check_import_rejected("\"spec\":{" SPEC_OK "}," IMPORT_RESULT ",\"uid\":0", "unknown field \"uid\"");
        check_import_rejected("\"spec\":{" SPEC_OK ",\"after\":[3]}," IMPORT_RESULT, "an imported task ran elsewhere");
        check_import_rejected("\"spec\":{" SPEC_OK ",\"held\":true}," IMPORT_RESULT, "an imported task ran elsewhere");
        check_import_rejected("\"spec\":{" SPEC_OK "},\"result\":{\"reason\":\"failed-to-start\"}",
                              "tasks[0].result.reason: failed-to-start is not a reason an imported task can have");
        check_import_rejected("\"spec\":{" SPEC_OK "},\"result\":{\"reason\":\"dependency-failed\"}",
                              "is not a reason an imported task can have");
        check_import_rejected("\"spec\":{" SPEC_OK "},\"result\":{\"exit_code\":0}", "tasks[0].result.reason: missing");
        check_import_rejected("\"spec\":{" SPEC_OK "},\"result\":{\"reason\":\"exited\",\"exit_code\":256}",
                              "tasks[0].result.exit_code: must be 0 to 255, got 256");
        check_import_rejected("\"spec\":{" SPEC_OK "},\"result\":{\"reason\":\"exited\",\"exit_code\":-1}",
                              "tasks[0].result.exit_code: must be 0 to 255");
        check_import_rejected("\"spec\":{" SPEC_OK "},\"result\":{\"reason\":\"signaled\",\"signal\":0}",
                              "tasks[0].result.signal: must be 1 to 64, got 0");
        check_import_rejected("\"spec\":{" SPEC_OK "},\"result\":{\"reason\":\"signaled\",\"signal\":65}",
                              "tasks[0].result.signal: must be 1 to 64");
        check_import_rejected("\"spec\":{" SPEC_OK "},\"result\":{\"reason\":\"exited\"}",
                              "exited needs an exit_code");
        check_import_rejected("\"spec\":{" SPEC_OK "},\"result\":{\"reason\":\"exited\",\"exit_code\":0,"
                              "\"started_at_us\":10,\"finished_at_us\":9}", "finished_at_us is before started_at_us");
        check_import_rejected("\"spec\":{" SPEC_OK "},\"result\":{\"reason\":\"exited\",\"exit_code\":0,"
                              "\"finished_at_us\":9}", "finished_at_us without started_at_us");
        check_import_rejected("\"spec\":{" SPEC_OK "},\"result\":{\"reason\":\"exited\",\"exit_code\":0,\"wall_us\":5}",
                              "unknown field \"wall_us\"");
        check_import_rejected("\"spec\":{" SPEC_OK "}," IMPORT_RESULT ",\"cleanup_result\":{\"reason\":\"exited\","
                              "\"exit_code\":0}", "tasks[0].cleanup_result: the task has no cleanup command");
        check_import_rejected("\"spec\":{" SPEC_OK ",\"cleanup\":[\"/bin/true\"]}," IMPORT_RESULT
                              ",\"cleanup_result\":{\"reason\":\"exited\",\"exit_code\":0,\"started_at_us\":3000}",
                              "the cleanup command started before the main command ended");
        check_import_rejected("\"spec\":{" SPEC_OK "}," IMPORT_RESULT ",\"node\":\"a\\nb\"",
                              "tasks[0].node: must not contain control characters");
        check_import_rejected("\"spec\":{" SPEC_OK "}," IMPORT_RESULT ",\"job_id\":\"\"", "tasks[0].job_id: must not be empty");
}

int main(void) {
        test_names();
        test_ping();
        test_submit_roundtrip();
        test_submit_handwritten();
        test_name_not_control();
        test_submit_batches();
        test_submit_token();
        test_retry_and_after();
        test_record();
        test_import();
        test_rejections();
        test_error_echoes_tag();
        test_quotes_are_utf8();
        test_containers();
        test_other_requests();
        test_spec_json();
        test_spec_from_json();
        test_task_json();
        test_replies();
        test_env_hidden();
        test_messages();
        CHECK_DONE();
}
