/* test-batch.c: br-run's batch lines (src/client/batch.c): which lines hold
 * a task, what a line reads into, and which errors br-run tells apart. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "check.h"
#include "protocol.h"
#include "util.h"

static void check_strip(const char *in, bool task, const char *out) {
        char *s = strdup(in);
        size_t len = strlen(s);
        bool b = batch_line_strip(s, &len);

        if (b != task)
                check_failed(__FILE__, __LINE__, "batch_line_strip(\"%s\") == %d, expected %d", in, b, task);
        CHECK_STREQ(s, out);
        CHECK_EQ_U64(len, strlen(out));
        free(s);
}

static void test_strip(void) {
        check_strip("{}\n", true, "{}");
        check_strip("{}\r\n", true, "{}");
        check_strip("{}\n\r\n", true, "{}");
        check_strip("{}", true, "{}");
        check_strip("\n", false, "");
        check_strip("\r\n", false, "");
        check_strip("", false, "");
        check_strip("# a comment\n", false, "# a comment");
        check_strip(" # not a comment\n", true, " # not a comment");
}

/* r and the error of line, with cwd "/home/u". */
static int parse(const char *line, Task **ret, char **ret_error) {
        *ret = NULL;
        *ret_error = NULL;
        return batch_line_parse(line, "/home/u", ret, ret_error);
}

static void test_parse(void) {
        Task *t;
        char *e;

        CHECK_OK(parse("{\"argv\":[\"solver\",\"a.cnf\"],\"name\":\"x\",\"priority\":5}", &t, &e));
        CHECK(t && !e);
        if (t) {
                CHECK_STREQ(t->argv[0], "solver");
                CHECK_STREQ(t->argv[1], "a.cnf");
                CHECK(!t->argv[2]);
                CHECK_STREQ(t->submit_dir, "/home/u");
                CHECK_STREQ(t->name, "x");
                CHECK_EQ_U64(t->priority, 5);
                CHECK_EQ_U64(t->uid, 0);
        }
        task_free(t);

        /* a cwd of its own stays */
        CHECK_OK(parse("{\"argv\":[\"/bin/true\"],\"cwd\":\"/data\"}", &t, &e));
        CHECK_STREQ(t ? t->submit_dir : NULL, "/data");
        task_free(t);

        /* json_tokener_parse()'s leniency, as br-run has always had it */
        CHECK_OK(parse("{'argv':['/bin/true']} trailing", &t, &e));
        task_free(t);

        CHECK(parse("[1,2]", &t, &e) == -EBADMSG && !t && !e);
        CHECK(parse("not json", &t, &e) == -EBADMSG && !e);
        CHECK(parse("", &t, &e) == -EBADMSG && !e);

        /* json-c would hand over U+FFFD for a lone surrogate: refused, as
         * the daemon refuses it; a pair is a character */
        CHECK(parse("{\"argv\":[\"/bin/echo\",\"\\udc80\"]}", &t, &e) == -EINVAL && !t);
        CHECK(e && strstr(e, "lone UTF-16 surrogate \\udc80"));
        free(e);
        CHECK(parse("{'argv':['/bin/echo','\\ud800x']}", &t, &e) == -EINVAL && !t);
        free(e);
        CHECK_OK(parse("{\"argv\":[\"/bin/echo\",\"\\ud83d\\ude00\"]}", &t, &e));
        CHECK_STREQ(t ? t->argv[1] : NULL, "\xf0\x9f\x98\x80");
        task_free(t);

        CHECK(parse("{\"argv\":[\"/bin/true\"],\"thread\":2}", &t, &e) == -EINVAL && !t);
        CHECK(e && strstr(e, "unknown field \"thread\""));
        free(e);
        CHECK(parse("{\"name\":\"x\"}", &t, &e) == -EINVAL);
        CHECK(e && strstr(e, "argv: missing"));
        free(e);
        CHECK(parse("{\"argv\":\"/bin/true\"}", &t, &e) == -EINVAL);
        CHECK(e && strstr(e, "argv: must be an array of strings"));
        free(e);
}

static void test_check(void) {
        Task *t;
        char *e;

        CHECK_OK(parse("{\"argv\":[\"/bin/true\"],\"threads\":4}", &t, &e));
        CHECK_OK(batch_task_check(t, &e));
        CHECK(!e);
        task_free(t);

        /* argv[0] not resolved: what the daemon would say */
        CHECK_OK(parse("{\"argv\":[\"true\"]}", &t, &e));
        CHECK(batch_task_check(t, &e) == -EINVAL);
        CHECK(e && strstr(e, "argv[0]: must be an absolute path"));
        free(e);
        e = NULL;
        task_free(t);

        CHECK_OK(parse("{\"argv\":[\"/bin/true\"],\"env\":[\"BENCHRUNNER_TASK=1\"]}", &t, &e));
        CHECK(batch_task_check(t, &e) == -EINVAL);
        CHECK(e && strstr(e, "env[0]: BENCHRUNNER_TASK"));
        free(e);
        task_free(t);

        /* no cwd given and none to fill in */
        CHECK_OK(batch_line_parse("{\"argv\":[\"/bin/true\"]}", NULL, &t, &e));
        CHECK(batch_task_check(t, &e) == -EINVAL);
        CHECK(e && strstr(e, "cwd: missing"));
        free(e);
        task_free(t);
}

int main(void) {
        test_strip();
        test_parse();
        test_check();
        CHECK_DONE();
}
