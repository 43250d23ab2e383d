/* check.h: the few assertion macros the unit tests use.  A failed check
 * prints where and what, and the test exits 1 at the end. */
#pragma once

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int check_failures;

#define CHECK(expr)                                                                  \
        do {                                                                         \
                if (!(expr)) {                                                       \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,       \
                                __LINE__, #expr);                                    \
                        check_failures++;                                            \
                }                                                                    \
        } while (0)

#define CHECK_EQ_U64(a, b)                                                           \
        do {                                                                         \
                uint64_t _a = (a), _b = (b);                                         \
                if (_a != _b) {                                                      \
                        fprintf(stderr, "%s:%d: %s == %" PRIu64 ", expected %" PRIu64 "\n", \
                                __FILE__, __LINE__, #a, _a, _b);                     \
                        check_failures++;                                            \
                }                                                                    \
        } while (0)

#define CHECK_STREQ(a, b)                                                            \
        do {                                                                         \
                const char *_a = (a), *_b = (b);                                     \
                if (!_a || !_b || strcmp(_a, _b) != 0) {                             \
                        fprintf(stderr, "%s:%d: %s == \"%s\", expected \"%s\"\n",    \
                                __FILE__, __LINE__, #a, _a ? _a : "(null)",          \
                                _b ? _b : "(null)");                                 \
                        check_failures++;                                            \
                }                                                                    \
        } while (0)

#define CHECK_DONE()                                                                 \
        do {                                                                         \
                if (check_failures)                                                  \
                        fprintf(stderr, "%d check(s) failed\n", check_failures);     \
                return check_failures ? 1 : 0;                                       \
        } while (0)
