/* check.h: the few assertion macros the unit tests use.  A failed check
 * prints where and what, and the test exits 1 at the end. */
#pragma once

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int check_failures;

/* One failed check: "FILE:LINE: " and what, on one line. */
static inline void __attribute__((format(printf, 3, 4)))
check_failed(const char *file, int line, const char *fmt, ...) {
        va_list ap;

        fprintf(stderr, "%s:%d: ", file, line);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        check_failures++;
}

#define CHECK(expr)                                                                  \
        do {                                                                         \
                if (!(expr))                                                         \
                        check_failed(__FILE__, __LINE__, "check failed: %s", #expr); \
        } while (0)

#define CHECK_EQ_U64(a, b)                                                           \
        do {                                                                         \
                uint64_t _a = (a), _b = (b);                                         \
                if (_a != _b)                                                        \
                        check_failed(__FILE__, __LINE__, "%s == %" PRIu64 ", expected %" PRIu64, \
                                     #a, _a, _b);                                    \
        } while (0)

#define CHECK_STREQ(a, b)                                                            \
        do {                                                                         \
                const char *_a = (a), *_b = (b);                                     \
                if (!_a || !_b || strcmp(_a, _b) != 0)                               \
                        check_failed(__FILE__, __LINE__, "%s == \"%s\", expected \"%s\"", \
                                     #a, _a ? _a : "(null)", _b ? _b : "(null)");    \
        } while (0)

/* expr returns a negative errno value when it fails */
#define CHECK_OK(expr)                                                               \
        do {                                                                         \
                int _r = (expr);                                                     \
                if (_r < 0)                                                          \
                        check_failed(__FILE__, __LINE__, "%s failed: %s", #expr, strerror(-_r)); \
        } while (0)

#define CHECK_DONE()                                                                 \
        do {                                                                         \
                if (check_failures)                                                  \
                        fprintf(stderr, "%d check(s) failed\n", check_failures);     \
                return check_failures ? 1 : 0;                                       \
        } while (0)
