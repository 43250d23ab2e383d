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

/* line must be refused with an error that holds what. */
static void check_refused(const char *line, const char *what) {
        Task *t;
        char *e;
        int r = parse(line, &t, &e);

        if (r != -EINVAL || t || !e || !strstr(e, what))
                check_failed(__FILE__, __LINE__, "%s: r=%d, error \"%s\", expected one with \"%s\"", line, r,
                             e ? e : "(none)", what);
        free(e);
        task_free(t);
}

/* A line of the prototype's task files, every field of it. */
static void test_seed(void) {
        Task *t;
        char *e;

        CHECK_OK(parse("{\"name\":\"s1\",\"command\":[\"solver\",\"a.cnf\"],\"threads\":2,\"memory_mb\":64,"
                       "\"cleanup_command\":[\"rm\",\"-f\",\"out\"],\"watchdog\":90,\"cleanup_watchdog\":5,"
                       "\"priority\":3,\"priority_group\":2,\"env\":{\"FOO\":\"bar\",\"EMPTY\":\"\"}}",
                       &t, &e));
        CHECK(t && !e);
        if (t) {
                CHECK_STREQ(t->name, "s1");
                CHECK_STREQ(t->argv[0], "solver");
                CHECK_STREQ(t->argv[1], "a.cnf");
                CHECK(!t->argv[2]);
                CHECK_EQ_U64(t->threads, 2);
                CHECK_EQ_U64(t->memory_bytes, 64 * 1024 * 1024);
                CHECK(t->cleanup_argv && t->cleanup_argv[2] && !t->cleanup_argv[3]);
                CHECK_STREQ(t->cleanup_argv ? t->cleanup_argv[0] : NULL, "rm");
                CHECK_EQ_U64(t->time_limit_usec, 90 * USEC_PER_SEC);
                CHECK_EQ_U64(t->cleanup_time_limit_usec, 5 * USEC_PER_SEC);
                CHECK_EQ_U64(t->priority, 3);
                CHECK_EQ_U64(t->group, 2);
                CHECK(t->env && t->env[0] && t->env[1] && !t->env[2]);
                CHECK_STREQ(t->env ? t->env[0] : NULL, "FOO=bar");
                CHECK_STREQ(t->env ? t->env[1] : NULL, "EMPTY=");
        }
        task_free(t);

        /* 0 is none: no time limits, the default memory; an empty cleanup
         * command is none */
        CHECK_OK(parse("{\"command\":[\"x\"],\"memory_mb\":0,\"watchdog\":0,\"cleanup_watchdog\":0,"
                       "\"cleanup_command\":[],\"env\":{}}", &t, &e));
        CHECK(t && !e);
        if (t) {
                CHECK_EQ_U64(t->memory_bytes, 0);
                CHECK_EQ_U64(t->time_limit_usec, 0);
                CHECK_EQ_U64(t->cleanup_time_limit_usec, 0);
                CHECK(!t->cleanup_argv);
                CHECK(!t->env);
        }
        task_free(t);

        check_refused("{\"command\":[\"x\"],\"argv\":[\"y\"]}", "give either command or argv");
        check_refused("{\"command\":[\"x\"],\"memory_mb\":64,\"memory\":\"1G\"}", "either memory_mb or memory");
        check_refused("{\"command\":[\"x\"],\"memory_mb\":-1}", "memory_mb: must be between 0");
        check_refused("{\"command\":[\"x\"],\"memory_mb\":\"64\"}", "memory_mb: must be an integer");
        check_refused("{\"command\":[\"x\"],\"watchdog\":-5}", "watchdog: must be between 0 and");
        check_refused("{\"command\":[\"x\"],\"watchdog\":true}", "watchdog: must be a number of seconds");
        check_refused("{\"command\":[\"x\"],\"env\":{\"A\":1}}", "env.\"A\": must be a string");
        check_refused("{\"command\":[\"x\"],\"env\":{\"\":\"v\"}}", "env: not a variable name");
        check_refused("{\"command\":[\"x\"],\"env\":{\"A=B\":\"v\"}}", "env: not a variable name");
        check_refused("{\"command\":\"x\"}", "argv: must be an array of strings");
        check_refused("{\"command\":[\"x\"],\"priority_group\":1,\"group\":1}", "either priority_group or group");
        /* the prototype's names for our fields, nothing else */
        check_refused("{\"command\":[\"x\"],\"memory_gb\":1}", "unknown field \"memory_gb\"");
}

/* Sizes and durations as the command line writes them. */
static void test_units(void) {
        Task *t;
        char *e;

        CHECK_OK(parse("{\"argv\":[\"x\"],\"memory\":\"64M\",\"time_limit\":\"15m\","
                       "\"cleanup_time_limit\":\"90\"}", &t, &e));
        CHECK(t && !e);
        if (t) {
                CHECK_EQ_U64(t->memory_bytes, 64 * 1024 * 1024);
                CHECK_EQ_U64(t->time_limit_usec, 15 * 60 * USEC_PER_SEC);
                CHECK_EQ_U64(t->cleanup_time_limit_usec, 90 * USEC_PER_SEC);
        }
        task_free(t);
        /* numbers: memory in bytes, durations in seconds (fractions too) */
        CHECK_OK(parse("{\"argv\":[\"x\"],\"memory\":1048576,\"time_limit\":2.5,\"cleanup_time_limit\":2}", &t, &e));
        CHECK(t && !e);
        if (t) {
                CHECK_EQ_U64(t->memory_bytes, 1048576);
                CHECK_EQ_U64(t->time_limit_usec, 2500000);
                CHECK_EQ_U64(t->cleanup_time_limit_usec, 2 * USEC_PER_SEC);
        }
        task_free(t);
        CHECK_OK(parse("{\"argv\":[\"x\"],\"memory\":\"2G\",\"time_limit_us\":5000000}", &t, &e));
        CHECK_EQ_U64(t ? t->memory_bytes : 0, UINT64_C(2) << 30);
        CHECK_EQ_U64(t ? t->time_limit_usec : 0, 5 * USEC_PER_SEC);
        task_free(t);

        check_refused("{\"argv\":[\"x\"],\"memory\":\"64Q\"}", "memory: not a size: \"64Q\"");
        check_refused("{\"argv\":[\"x\"],\"memory\":\"0\"}", "memory: not a size");
        check_refused("{\"argv\":[\"x\"],\"time_limit\":\"soon\"}", "time_limit: not a duration: \"soon\"");
        check_refused("{\"argv\":[\"x\"],\"time_limit\":0}", "time_limit: must be more than 0 seconds");
        check_refused("{\"argv\":[\"x\"],\"time_limit\":1e30}", "time_limit: must be between 0 and");
        check_refused("{\"argv\":[\"x\"],\"time_limit\":\"1m\",\"time_limit_us\":5}",
                      "give either time_limit or time_limit_us");
        check_refused("{\"argv\":[\"x\"],\"cleanup_time_limit\":[1]}", "cleanup_time_limit: must be a number");
}

int main(void) {
        test_strip();
        test_parse();
        test_check();
        test_seed();
        test_units();
        CHECK_DONE();
}
