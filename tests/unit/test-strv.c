/* test-strv.c: string vectors: copying, appending with and without a
 * known length, and the shell-like line br-show prints. */
#include "config.h"

#include "check.h"
#include "strv.h"
#include "util.h"

static void test_copy(void) {
        const char *l[] = { "/bin/echo", "a b", "", NULL };
        char **c = NULL;

        CHECK(strv_copy(l, &c) == 0);
        CHECK_EQ_U64(strv_length(c), 3);
        CHECK_STREQ(c[0], "/bin/echo");
        CHECK_STREQ(c[1], "a b");
        CHECK_STREQ(c[2], "");
        CHECK(c[3] == NULL);
        CHECK(c[1] != l[1]);            /* the strings are copies too */
        strv_free(c);

        c = (char **) l;
        CHECK(strv_copy(NULL, &c) == 0);
        CHECK(c == NULL);
        CHECK(strv_copy((const char *[]) { NULL }, &c) == 0);
        CHECK(c && c[0] == NULL);
        CHECK_EQ_U64(strv_length(c), 0);
        strv_free(c);

        CHECK_EQ_U64(strv_length(NULL), 0);
        strv_free(NULL);
}

static void test_push(void) {
        _cleanup_(strv_freep) char **l = NULL, **m = NULL;
        size_t n = 0;

        CHECK(strv_push_printf(&l, &n, "A=%d", 1) == 0);
        CHECK(strv_push_printf(&l, &n, "%s", "B=two") == 0);
        CHECK(strv_push_printf(&l, &n, "C=") == 0);
        CHECK_EQ_U64(n, 3);
        CHECK_EQ_U64(strv_length(l), 3);
        CHECK_STREQ(l[0], "A=1");
        CHECK_STREQ(l[1], "B=two");
        CHECK_STREQ(l[2], "C=");
        CHECK(l[3] == NULL);

        /* without a length: counted each time */
        for (int i = 0; i < 100; i++)
                CHECK(strv_push_printf(&m, NULL, "%d", i) == 0);
        CHECK_EQ_U64(strv_length(m), 100);
        CHECK_STREQ(m[0], "0");
        CHECK_STREQ(m[99], "99");
        CHECK(m[100] == NULL);
}

static void test_shell(void) {
        char *argv[] = { (char *) "/bin/echo", (char *) "a b", (char *) "it's", (char *) "x=1",
                         (char *) "new\nline", (char *) "", (char *) "plain-1.0", NULL };
        char *s = NULL;

        CHECK(strv_to_shell(argv, true, &s) == 0);
        CHECK_STREQ(s, "/bin/echo 'a b' 'it'\\''s' x=1 $'new\\nline' '' plain-1.0");
        free(s);
        CHECK(strv_to_shell(NULL, true, &s) == 0);
        CHECK(s == NULL);
        char *assign[] = { (char *) "A=1", NULL };
        CHECK(strv_to_shell(assign, true, &s) == 0);
        CHECK_STREQ(s, "'A=1'"); /* as the first word it would be an assignment */
        free(s);
        CHECK(strv_to_shell(assign, false, &s) == 0);
        CHECK_STREQ(s, "A=1");   /* not a command: an environment entry */
        free(s);
}

int main(void) {
        test_copy();
        test_push();
        test_shell();
        CHECK_DONE();
}
