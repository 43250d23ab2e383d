/* batch.c: one line of a batch file into a task spec (batch.h).  The line
 * is read leniently, as json-c's json_tokener_parse() reads (the format
 * br-run has always taken), but for the escapes json-c would silently
 * change; the spec in it is checked as strictly as the daemon will check
 * it. */
#include "config.h"

#include <errno.h>
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
