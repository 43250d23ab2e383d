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

int batch_task_check(Task *t, char **ret_error) {
        _cleanup_(freep) char *request = NULL;
        size_t k;
        int r;

        r = proto_spec_validate(t, ret_error);
        if (r < 0)
                return r;
        return proto_submit_format_batch(NULL, &t, 1, true, NULL, &request, &k);
}
