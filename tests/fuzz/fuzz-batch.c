/* fuzz-batch.c: libFuzzer target for br-run --batch's reader: each input
 * is a batch file, split into lines as getline() does, each line taken
 * through src/client/batch.c as br-run takes it (batch_line_strip(),
 * batch_line_parse(), the commands resolved, batch_task_check()).
 *
 * Besides ASan, UBSan and LeakSanitizer, it checks what br-run promises:
 * a line it accepts is a task the daemon accepts, the same one.  Command
 * resolution is pretended (no file system): "x" becomes "/usr/bin/x",
 * "./x" "/home/fuzz/./x".  docs/fuzzing.md says how to build and run it. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "batch.h"
#include "protocol.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CWD "/home/fuzz"
#define FUZZ_LINES_MAX 64

#define fuzz_assert(expr)                                                               \
        do {                                                                            \
                if (!(expr)) {                                                          \
                        fprintf(stderr, "%s:%d: broken: %s\n", __FILE__, __LINE__, #expr); \
                        abort();                                                        \
                }                                                                       \
        } while (0)

/* What client_resolve_command() would make of argv[0], were it there. */
static void resolve(char **argv) {
        char *p;

        if (!argv || !argv[0] || !argv[0][0] || argv[0][0] == '/')
                return;
        if (asprintf(&p, "%s/%s", strchr(argv[0], '/') ? FUZZ_CWD : "/usr/bin", argv[0]) < 0)
                abort();
        free(argv[0]);
        argv[0] = p;
}

static char *spec_text(const Task *t) {
        _cleanup_(proto_json_unrefp) struct json_object *o = proto_spec_to_json(t);
        const char *s = o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN) : NULL;
        char *c = s ? strdup(s) : NULL;

        fuzz_assert(c);
        return c;
}

/* The request br-run would send for t alone, as the daemon reads it. */
static void check_daemon_accepts(Task *t) {
        _cleanup_(freep) char *line = NULL, *e = NULL, *sent = NULL, *got = NULL;
        _cleanup_(proto_request_freep) ProtoRequest *req = NULL;
        _cleanup_(proto_json_unrefp) struct json_object *tag = NULL;
        size_t k;
        int r;

        r = proto_submit_format_batch(NULL, &t, 1, true, "br-run-fuzz", &line, &k);
        fuzz_assert(r == 0 && k == 1);
        r = proto_parse_request(line, strlen(line) - 1, &req, &tag, &e);
        if (r < 0)
                fprintf(stderr, "br-run took a line the daemon refuses (%s): %s", e ? e : "", line);
        fuzz_assert(r == 0);
        fuzz_assert(req->op == PROTO_OP_SUBMIT && req->n_tasks == 1 && req->follow);
        sent = spec_text(t);
        got = spec_text(req->tasks[0]);
        if (strcmp(sent, got) != 0)
                fprintf(stderr, "the daemon reads another task:\n%s\n%s\n", sent, got);
        fuzz_assert(strcmp(sent, got) == 0);
}

static void fuzz_line(const char *data, size_t size) {
        _cleanup_(freep) char *line = malloc(size + 1), *e = NULL;
        _cleanup_(task_freep) Task *t = NULL;
        size_t len = size;
        int r;

        fuzz_assert(line);
        memcpy(line, data, size);
        line[size] = 0;
        if (!batch_line_strip(line, &len))
                return;
        fuzz_assert(len > 0 && len <= size && line[len] == 0);
        r = batch_line_parse(line, FUZZ_CWD, &t, &e);
        if (r < 0) {
                fuzz_assert(r == -EBADMSG || r == -EINVAL || r == -ENOMEM);
                fuzz_assert(!t);
                fuzz_assert(r != -EBADMSG || !e);
                return;
        }
        fuzz_assert(t && !e && t->argv && t->submit_dir);
        resolve(t->argv);
        resolve(t->cleanup_argv);
        r = batch_task_check(t, &e);
        if (r < 0) {
                fuzz_assert(r == -EINVAL || r == -E2BIG || r == -ENOMEM);
                return;
        }
        fuzz_assert(!e);
        check_daemon_accepts(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *p = (const char *) data, *end = p + size;

        /* as getline() splits: each line with its '\n', the last one may lack it */
        for (unsigned n = 0; p < end && n < FUZZ_LINES_MAX; n++) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                size_t l = nl ? (size_t) (nl - p) + 1 : (size_t) (end - p);

                fuzz_line(p, l);
                p += l;
        }
        return 0;
}
