/* util.h: small helpers every benchrunner program shares: scope-bound
 * cleanup, gettext, parsing of sizes and durations, the memory available,
 * user names; string vectors are strv.h's, included here for every user. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libintl.h>

#include "strv.h"

#define _(s) gettext(s)
#define N_(s) (s)

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

/* Hand ownership out of a _cleanup_ variable. */
#define TAKE_PTR(p)                                  \
        ({                                           \
                __typeof__(p) _p_ = (p);             \
                (p) = NULL;                          \
                _p_;                                 \
        })
#define TAKE_FD(fd)                                  \
        ({                                           \
                int _fd_ = (fd);                     \
                (fd) = -1;                           \
                _fd_;                                \
        })

/* Equal strings; NULL equals nothing. */
static inline bool streq(const char *a, const char *b) {
        return a && b && strcmp(a, b) == 0;
}

static inline void freep(void *p) {
        free(*(void **) p);
}

static inline void closep(int *fd) {
        if (*fd >= 0) {
                int saved = errno;
                (void) close(*fd);
                errno = saved;
        }
}

#define USEC_PER_SEC  UINT64_C(1000000)
#define USEC_PER_MSEC UINT64_C(1000)

/* "512M", "16G", "1.5G", "4096", "2T"; suffixes are powers of 1024 (a
 * trailing "B" or "iB" is accepted).  Returns 0 or -EINVAL / -ERANGE. */
int parse_size(const char *s, uint64_t *ret);
/* "90", "90s", "15m", "2h", "1d", "1h30m", "500ms"; a bare number is seconds.
 * Result in microseconds. */
int parse_duration(const char *s, uint64_t *ret_usec);
/* Human-readable forms, as "2.0G" and "15m"/"1h30m"/"2.5s". */
/* A retention limit: "30d", "10G", "30d,10G" (a duration, a size, or
 * both; sizes in capitals, "15m" is minutes), or "forever" (both 0).  A
 * bare number is refused (seconds or bytes?), as are 0 and one kind
 * twice.  0 for what is not given. */
int parse_keep(const char *s, uint64_t *ret_usec, uint64_t *ret_bytes);
char *format_size(char *buf, size_t len, uint64_t bytes);
char *format_duration(char *buf, size_t len, uint64_t usec);
#define FORMAT_SIZE_MAX 32
#define FORMAT_DURATION_MAX 64

/* Non-negative integer in [min, max]. */
int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *ret);

uint64_t now_usec(int clock);

/* Whether s is well-formed UTF-8 (no overlong forms, surrogates or code
 * points past U+10FFFF); if not, *ret_offset (may be NULL) is the offset of
 * the first bad byte. */
bool utf8_valid(const char *s, size_t *ret_offset);
/* The length in bytes (1 to 4) of the well-formed UTF-8 character s starts
 * with, and its code point in *ret_cp (may be NULL); 0 at the NUL and at a
 * byte that does not start one. */
size_t utf8_char(const char *s, uint32_t *ret_cp);

/* One read(2) of a small file (sysfs, cgroup, /proc) into buf, which is
 * NUL-terminated; at most len - 1 bytes. */
int read_small_file(const char *path, char *buf, size_t len);
/* A file that holds one non-negative decimal number and perhaps a '\n', as
 * sysfs and cgroup files do.  -EINVAL / -ERANGE when it holds anything else. */
int read_small_file_u64(const char *path, uint64_t *ret);

/* MemAvailable of /proc/meminfo in bytes; 0 if it cannot be read. */
uint64_t mem_available(void);
/* The memory given to benchrunner when none is named, one rule for
 * br-start and benchrunnerd: 3/4 of what is available now, so that the
 * desktop keeps room to grow while the tasks use theirs. */
static inline uint64_t mem_default(uint64_t available) {
        return available / 4 * 3;
}

/* The user name of uid from the user database (getpwuid_r, however long
 * its entry), malloc'd; NULL when it knows none, or out of memory: where a
 * name is shown, the uid is the truth. */
char *uid_to_user_name(uid_t uid);

/* An enum's names, in a table indexed by value: the name of i (NULL when
 * out of range), the value of a name (-1, the enums' _INVALID, when none). */
const char *string_table_lookup(const char * const *table, size_t n, int i);
int string_table_find(const char * const *table, size_t n, const char *s);
/* Defines PREFIX_to_string(TYPE) and PREFIX_from_string(const char *) for
 * the enum TYPE whose names are table. */
#define DEFINE_STRING_TABLE_LOOKUP(prefix, type, table)                          \
        const char *prefix##_to_string(type v) {                                 \
                return string_table_lookup(table, ELEMENTSOF(table), (int) v);   \
        }                                                                        \
        type prefix##_from_string(const char *s) {                               \
                return (type) string_table_find(table, ELEMENTSOF(table), s);    \
        }
