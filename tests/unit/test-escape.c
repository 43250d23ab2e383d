/* test-escape.c: what br-show, br-list and every error line make of a
 * hostile string: no byte that a terminal takes as a control reaches it,
 * and the escapes give the bytes back in bash's $'...'. */
#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "escape.h"
#include "util.h"

static char *esc(const char *s, EscapeFlags flags) {
        char *e = NULL;
        CHECK_OK(escape_text(s, flags, &e));
        return e;
}

#define CHECK_ESC(s, flags, expected)                  \
        do {                                           \
                char *_e = esc((s), (flags));          \
                CHECK_STREQ(_e, (expected));           \
                free(_e);                              \
        } while (0)

/* No byte of s is a C0 control, DEL or the start of a C1 control. */
static bool terminal_safe(const char *s) {
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if (*p < 0x20 || *p == 0x7f || (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f))
                        return false;
        return true;
}

static void test_plain(void) {
        CHECK_ESC("", 0, "");
        CHECK_ESC("bench-1 /home/a b", 0, "bench-1 /home/a b");
        CHECK_ESC("caf\xc3\xa9 \xe2\x80\xa6 \xf0\x9f\x98\x80", 0, "caf\xc3\xa9 \xe2\x80\xa6 \xf0\x9f\x98\x80");
        CHECK_ESC("it's", 0, "it's");
        CHECK_ESC("a\\b", 0, "a\\\\b");   /* or a "\e" typed by a user would look like ESC */
        CHECK(!escape_needed("caf\xc3\xa9 a\\b it's", 0));
}

static void test_controls(void) {
        /* the title, the clear screen, CSI as U+009B */
        CHECK_ESC("\x1b]0;x\x07", 0, "\\e]0;x\\x07");
        CHECK_ESC("\x1b[2J", 0, "\\e[2J");
        CHECK_ESC("a\xc2\x9b" "2J", 0, "a\\xc2\\x9b2J");
        CHECK_ESC("\xc2\x80\xc2\x9f\xc2\xa0", 0, "\\xc2\\x80\\xc2\\x9f\xc2\xa0");   /* U+00A0 is printable */
        CHECK_ESC("\t\n\r\x01\x7f", 0, "\\t\\n\\r\\x01\\x7f");
        CHECK(escape_needed("\x1b", 0));
        CHECK(escape_needed("x\xc2\x9b", 0));
        CHECK(escape_needed("\x7f", 0));
}

static void test_not_utf8(void) {
        CHECK_ESC("\x9b" "2J", 0, "\\x9b2J");               /* 8-bit CSI alone */
        CHECK_ESC("\xff\xfe", 0, "\\xff\\xfe");
        CHECK_ESC("\xc0\xaf", 0, "\\xc0\\xaf");             /* overlong '/' */
        CHECK_ESC("\xed\xa0\x80", 0, "\\xed\\xa0\\x80");    /* a surrogate */
        CHECK_ESC("\xe2\x80", 0, "\\xe2\\x80");             /* cut short at the end */
        CHECK_ESC("\xc3" "A", 0, "\\xc3" "A");
        CHECK(escape_needed("\xff", 0));
}

static void test_flags(void) {
        CHECK_ESC("it's", ESCAPE_QUOTE, "it\\'s");
        CHECK_ESC("caf\xc3\xa9", ESCAPE_NON_ASCII, "caf\\xc3\\xa9");
        /* in a terminal that is not UTF-8, 0x9b of U+011B would be CSI */
        CHECK_ESC("\xc4\x9b", ESCAPE_NON_ASCII, "\\xc4\\x9b");
        CHECK(escape_needed("caf\xc3\xa9", ESCAPE_NON_ASCII));
        CHECK(!escape_needed("it's", ESCAPE_QUOTE));
}

static void test_locale(void) {
        CHECK(setlocale(LC_CTYPE, "C") != NULL);
        CHECK(escape_flags_for_locale() == ESCAPE_NON_ASCII);
        if (setlocale(LC_CTYPE, "C.UTF-8"))
                CHECK(escape_flags_for_locale() == 0);
        else
                fprintf(stderr, "no C.UTF-8 locale here: its part skipped\n");
        (void) setlocale(LC_CTYPE, "C");
}

/* Every one of the 255 bytes, alone and after 0xc2: nothing unsafe gets
 * through, in either mode. */
static void test_all_bytes(void) {
        for (unsigned b = 1; b < 256; b++)
                for (int flags = 0; flags <= (ESCAPE_QUOTE | ESCAPE_NON_ASCII); flags++) {
                        char s[3] = { (char) b }, t[3] = { (char) 0xc2, (char) b };
                        char *e = esc(s, (EscapeFlags) flags), *f = esc(t, (EscapeFlags) flags);
                        CHECK(e && terminal_safe(e));
                        CHECK(f && terminal_safe(f));
                        free(e);
                        free(f);
                }
}

static void test_shell(void) {
        char *argv[] = { (char *) "/bin/printf", (char *) "\x1b]0;x\x07", (char *) "it's \xc2\x9b",
                         (char *) "caf\xc3\xa9", (char *) "\xff", NULL };
        char *s = NULL;

        CHECK_OK(strv_to_shell_full(argv, true, 0, &s));
        CHECK_STREQ(s, "/bin/printf $'\\e]0;x\\x07' $'it\\'s \\xc2\\x9b' 'caf\xc3\xa9' $'\\xff'");
        CHECK(s && terminal_safe(s));
        free(s);
        CHECK_OK(strv_to_shell_full(argv, true, ESCAPE_NON_ASCII, &s));
        CHECK_STREQ(s, "/bin/printf $'\\e]0;x\\x07' $'it\\'s \\xc2\\x9b' $'caf\\xc3\\xa9' $'\\xff'");
        free(s);
}

static void test_json(void) {
        char *s = NULL;

        CHECK_OK(escape_json("{\"name\":\"a\xc2\x9b\x7f\xc2\xa0\xc3\xa9\\u001b\xff\"}", &s));
        CHECK_STREQ(s, "{\"name\":\"a\\u009b\\u007f\xc2\xa0\xc3\xa9\\u001b\xff\"}");
        free(s);
        CHECK_OK(escape_json("\xc2", &s));   /* cut short: left as it is, read no further */
        CHECK_STREQ(s, "\xc2");
        free(s);
}

int main(void) {
        test_plain();
        test_controls();
        test_not_utf8();
        test_flags();
        test_locale();
        test_all_bytes();
        test_shell();
        test_json();
        CHECK_DONE();
}
