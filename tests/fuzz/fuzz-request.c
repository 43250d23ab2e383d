/* fuzz-request.c: libFuzzer target for both decoders of the protocol: the
 * daemon's (proto_parse_request(), what any local user can send) and the
 * client's (proto_parse_message(), what the daemon sends back).  Each input
 * is one line, as linebuf.c hands it over, without its '\n'.
 *
 * Besides ASan, UBSan and LeakSanitizer, it checks what the protocol
 * promises: an error comes with a message (unless out of memory), the
 * daemon's error reply to a bad request is a line the client reads, with
 * the request's tag; a request parsed, formatted again and parsed again
 * comes out the same; a TASK read and written again reads the same.
 * Anything else is a bug: abort(), and libFuzzer keeps the input.
 * docs/fuzzing.md says how to build and run it. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "protocol.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define fuzz_assert(expr)                                                               \
        do {                                                                            \
                if (!(expr)) {                                                          \
                        fprintf(stderr, "%s:%d: broken: %s\n", __FILE__, __LINE__, #expr); \
                        abort();                                                        \
                }                                                                       \
        } while (0)

static bool known_error(int r) {
        return r == -E2BIG || r == -EBADMSG || r == -EPROTONOSUPPORT || r == -EINVAL || r == -ENOMEM;
}

static char *text_of(struct json_object *o) {
        const char *s = o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN) : NULL;
        char *c = s ? strdup(s) : NULL;

        fuzz_assert(!o || c);   /* ENOMEM is not expected here: fail loudly */
        return c;
}

/* The line as proto_request_format() writes it; NULL for -E2BIG. */
static char *format_request(const ProtoRequest *req) {
        char *line = NULL;
        int r = proto_request_format(req, &line);

        fuzz_assert(r == 0 || r == -E2BIG);
        return r == 0 ? line : NULL;
}

static void check_error_reply(int r, struct json_object *tag, const char *error) {
        _cleanup_(freep) char *line = proto_reply_error(tag, "%s", error ? error : strerror(-r));
        _cleanup_(proto_message_freep) ProtoMessage *m = NULL;
        _cleanup_(freep) char *e = NULL, *sent = NULL, *got = NULL;
        size_t len;

        fuzz_assert(line);
        len = strlen(line);
        fuzz_assert(len > 0 && line[len - 1] == '\n' && !memchr(line, '\n', len - 1));
        r = proto_parse_message(line, len - 1, &m, &e);
        if (r < 0)
                fprintf(stderr, "the client cannot read the error reply (%s): %s", e ? e : "", line);
        fuzz_assert(r == 0);
        fuzz_assert(!m->is_event && !m->ok && m->error);
        sent = text_of(tag);
        got = text_of(m->tag);
        fuzz_assert(!sent == !got);
        fuzz_assert(!sent || strcmp(sent, got) == 0);
}

static void check_request_roundtrip(const ProtoRequest *req) {
        _cleanup_(freep) char *line1 = format_request(req), *line2 = NULL, *e = NULL;
        _cleanup_(proto_request_freep) ProtoRequest *again = NULL;
        _cleanup_(proto_json_unrefp) struct json_object *tag = NULL;
        int r;

        if (!line1)
                return;
        r = proto_parse_request(line1, strlen(line1) - 1, &again, &tag, &e);
        if (r < 0)
                fprintf(stderr, "a formatted request does not parse (%s): %s", e ? e : "", line1);
        fuzz_assert(r == 0);
        fuzz_assert(again->op == req->op && again->n_tasks == req->n_tasks && again->n_ids == req->n_ids);
        line2 = format_request(again);
        fuzz_assert(line2);
        if (strcmp(line1, line2) != 0)
                fprintf(stderr, "formatted twice, differs:\n%s%s", line1, line2);
        fuzz_assert(strcmp(line1, line2) == 0);
}

static void fuzz_request(const char *line, size_t len) {
        _cleanup_(proto_request_freep) ProtoRequest *req = NULL;
        _cleanup_(proto_json_unrefp) struct json_object *tag = NULL;
        _cleanup_(freep) char *error = NULL;
        int r;

        r = proto_parse_request(line, len, &req, &tag, &error);
        if (r < 0) {
                fuzz_assert(known_error(r));
                fuzz_assert(!req);
                fuzz_assert(error || r == -ENOMEM);
                check_error_reply(r, tag, error);
                return;
        }
        fuzz_assert(r == 0 && req && !error);
        fuzz_assert(req->op >= 0 && req->op < _PROTO_OP_MAX);
        fuzz_assert(req->op != PROTO_OP_SUBMIT || (req->n_tasks >= 1 && req->n_tasks <= PROTO_SUBMIT_MAX));
        fuzz_assert(req->op != PROTO_OP_CANCEL || (req->n_ids >= 1 && req->n_ids <= PROTO_IDS_MAX));
        for (size_t i = 0; i < req->n_tasks; i++) {
                _cleanup_(freep) char *e = NULL;

                fuzz_assert(req->tasks[i]->uid == 0 && req->tasks[i]->gid == 0);
                fuzz_assert(proto_spec_validate(req->tasks[i], &e) == 0);
        }
        check_request_roundtrip(req);
}

/* A TASK written and read back reads the same (with a user name set, so
 * that proto_task_to_json() does not ask the user database), also as
 * another user gets it (env names only): what a client prints again stays
 * hidden. */
static void check_task_roundtrip_as(Task *t, bool hide_env) {
        _cleanup_(proto_json_unrefp) struct json_object *o1 = NULL, *o2 = NULL;
        _cleanup_(task_freep) Task *again = NULL;
        _cleanup_(freep) char *e = NULL, *s1 = NULL, *s2 = NULL;
        int r;

        o1 = proto_task_to_json(t, hide_env);
        fuzz_assert(o1);
        r = proto_task_from_json(o1, &again, &e);
        s1 = text_of(o1);
        if (r < 0)
                fprintf(stderr, "a TASK written does not read back (%s): %s\n", e ? e : "", s1);
        fuzz_assert(r == 0);
        o2 = proto_task_to_json(again, false);
        fuzz_assert(o2);
        s2 = text_of(o2);
        if (strcmp(s1, s2) != 0)
                fprintf(stderr, "TASK written twice, differs:\n%s\n%s\n", s1, s2);
        fuzz_assert(strcmp(s1, s2) == 0);
        fuzz_assert(!hide_env || !t->env || again->env_hidden);
}

static void check_task_roundtrip(Task *t) {
        if (!t->user) {
                t->user = strdup("fuzz");
                fuzz_assert(t->user);
        }
        check_task_roundtrip_as(t, false);
        check_task_roundtrip_as(t, true);
}

static void fuzz_message(const char *line, size_t len) {
        _cleanup_(proto_message_freep) ProtoMessage *m = NULL;
        _cleanup_(freep) char *error = NULL;
        int r;

        r = proto_parse_message(line, len, &m, &error);
        if (r < 0) {
                fuzz_assert(r == -EBADMSG || r == -EPROTONOSUPPORT || r == -E2BIG || r == -ENOMEM);
                fuzz_assert(!m);
                fuzz_assert(error || r == -ENOMEM);
                return;
        }
        fuzz_assert(m && !error);
        fuzz_assert(m->is_event || m->ok || m->error);
        if (m->task)
                check_task_roundtrip(m->task);
        for (size_t i = 0; i < m->n_tasks; i++)
                check_task_roundtrip(m->tasks[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        /* a copy of its own, so that ASan sees a read past the end */
        char *line = malloc(size ? size : 1);

        if (!line)
                return 0;
        memcpy(line, data, size);
        fuzz_request(line, size);
        fuzz_message(line, size);
        free(line);
        return 0;
}
