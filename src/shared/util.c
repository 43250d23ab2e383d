/* util.c: parsing and formatting of sizes and durations, small files, the
 * memory available. */
#include "config.h"

#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util.h"

/* Parses a decimal number with an optional fraction, as integer part and
 * fraction scaled by 10^9, without floating point so large byte counts stay
 * exact.  Advances *p past the number. */
static int parse_decimal(const char **p, uint64_t *ret_int, uint64_t *ret_frac_nano) {
        const char *s = *p;
        uint64_t v = 0, frac = 0, scale = UINT64_C(100000000);
        bool digits = false;

        while (isdigit((unsigned char) *s)) {
                unsigned d = (unsigned) (*s - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
                digits = true;
                s++;
        }
        if (*s == '.') {
                s++;
                while (isdigit((unsigned char) *s)) {
                        frac += (uint64_t) (*s - '0') * scale;
                        scale /= 10;
                        digits = true;
                        s++;
                }
        }
        if (!digits)
                return -EINVAL;
        *p = s;
        *ret_int = v;
        *ret_frac_nano = frac;
        return 0;
}

static int scale_add(uint64_t v, uint64_t frac_nano, uint64_t mult, uint64_t *acc) {
        uint64_t r;

        if (mult != 0 && v > UINT64_MAX / mult)
                return -ERANGE;
        r = v * mult;
        /* frac_nano < 1e9, mult <= 2^50: split to avoid overflow */
        uint64_t f = (mult / UINT64_C(1000000000)) * frac_nano +
                     (mult % UINT64_C(1000000000)) * frac_nano / UINT64_C(1000000000);
        if (r > UINT64_MAX - f)
                return -ERANGE;
        r += f;
        if (*acc > UINT64_MAX - r)
                return -ERANGE;
        *acc += r;
        return 0;
}

int parse_size(const char *s, uint64_t *ret) {
        static const struct {
                char c;
                uint64_t mult;
        } suffixes[] = {
                { 'K', UINT64_C(1) << 10 }, { 'M', UINT64_C(1) << 20 }, { 'G', UINT64_C(1) << 30 },
                { 'T', UINT64_C(1) << 40 }, { 'P', UINT64_C(1) << 50 },
        };
        uint64_t v, frac, mult = 1, acc = 0;
        int r;

        if (!s)
                return -EINVAL;
        while (isspace((unsigned char) *s))
                s++;
        r = parse_decimal(&s, &v, &frac);
        if (r < 0)
                return r;
        if (*s) {
                bool found = false;
                for (size_t i = 0; i < ELEMENTSOF(suffixes); i++)
                        if (toupper((unsigned char) *s) == suffixes[i].c) {
                                mult = suffixes[i].mult;
                                found = true;
                                s++;
                                break;
                        }
                if (found && *s == 'i')
                        s++;
                if (*s == 'B' || (*s == 'b' && !found))
                        s++;
                if (*s)
                        return -EINVAL;
        }
        if (mult == 1 && frac != 0)
                return -EINVAL; /* fractional bytes */
        r = scale_add(v, frac, mult, &acc);
        if (r < 0)
                return r;
        *ret = acc;
        return 0;
}

int parse_duration(const char *s, uint64_t *ret_usec) {
        static const struct {
                const char *name;
                uint64_t mult;
        } units[] = {
                /* longest first so that "ms" wins over "m" */
                { "msec", USEC_PER_MSEC },
                { "ms", USEC_PER_MSEC },
                { "usec", 1 },
                { "us", 1 },
                { "sec", USEC_PER_SEC },
                { "s", USEC_PER_SEC },
                { "min", 60 * USEC_PER_SEC },
                { "m", 60 * USEC_PER_SEC },
                { "hr", 3600 * USEC_PER_SEC },
                { "h", 3600 * USEC_PER_SEC },
                { "d", 86400 * USEC_PER_SEC },
        };
        uint64_t acc = 0;
        bool any = false;
        int r;

        if (!s)
                return -EINVAL;
        while (isspace((unsigned char) *s))
                s++;
        while (*s) {
                uint64_t v, frac, mult = USEC_PER_SEC;

                r = parse_decimal(&s, &v, &frac);
                if (r < 0)
                        return r;
                while (*s == ' ')
                        s++;
                if (isalpha((unsigned char) *s)) {
                        bool found = false;
                        for (size_t i = 0; i < ELEMENTSOF(units); i++) {
                                size_t l = strlen(units[i].name);
                                if (strncmp(s, units[i].name, l) == 0 && !isalpha((unsigned char) s[l])) {
                                        mult = units[i].mult;
                                        s += l;
                                        found = true;
                                        break;
                                }
                        }
                        if (!found)
                                return -EINVAL;
                } else if (any)
                        return -EINVAL; /* "1h30" is ambiguous */
                r = scale_add(v, frac, mult, &acc);
                if (r < 0)
                        return r;
                any = true;
                while (*s == ' ')
                        s++;
        }
        if (!any)
                return -EINVAL;
        *ret_usec = acc;
        return 0;
}

int parse_keep(const char *s, uint64_t *ret_usec, uint64_t *ret_bytes) {
        _cleanup_(freep) char *copy = NULL;
        uint64_t usec = 0, bytes = 0;
        bool have_usec = false, have_bytes = false;
        char *save = NULL;

        if (!s || !*s)
                return -EINVAL;
        if (strcmp(s, "forever") == 0) {
                *ret_usec = *ret_bytes = 0;
                return 0;
        }
        copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
                size_t n = strlen(item);
                char last = n ? item[n - 1] : 0;
                uint64_t v;
                int r;

                if (last >= '0' && last <= '9')
                        return -EINVAL;   /* a bare number: seconds or bytes? */
                if (strchr("KMGTB", last)) {
                        if (have_bytes || (r = parse_size(item, &v)) < 0 || v == 0)
                                return -EINVAL;
                        bytes = v;
                        have_bytes = true;
                } else {
                        if (have_usec || (r = parse_duration(item, &v)) < 0 || v == 0)
                                return -EINVAL;
                        usec = v;
                        have_usec = true;
                }
        }
        if (!have_usec && !have_bytes)
                return -EINVAL;
        *ret_usec = usec;
        *ret_bytes = bytes;
        return 0;
}

char *format_size(char *buf, size_t len, uint64_t bytes) {
        static const char units[] = "KMGTP";
        if (bytes < 1024) {
                snprintf(buf, len, "%" PRIu64 "B", bytes);
                return buf;
        }
        double v = (double) bytes;
        size_t i = 0;
        v /= 1024.0;
        while (v >= 1024.0 && i + 1 < strlen(units)) {
                v /= 1024.0;
                i++;
        }
        snprintf(buf, len, "%.1f%c", v, units[i]);
        return buf;
}

char *format_duration(char *buf, size_t len, uint64_t usec) {
        if (usec < 60 * USEC_PER_SEC) {
                if (usec < USEC_PER_SEC)
                        snprintf(buf, len, "%" PRIu64 "ms", usec / USEC_PER_MSEC);
                else
                        snprintf(buf, len, "%.2fs", (double) usec / USEC_PER_SEC);
                return buf;
        }
        uint64_t s = usec / USEC_PER_SEC;
        uint64_t d = s / 86400, h = s % 86400 / 3600, m = s % 3600 / 60, sec = s % 60;
        size_t o = 0;
        if (d)
                o += (size_t) snprintf(buf + o, len - o, "%" PRIu64 "d", d);
        if (h && o < len)
                o += (size_t) snprintf(buf + o, len - o, "%" PRIu64 "h", h);
        if (m && o < len)
                o += (size_t) snprintf(buf + o, len - o, "%" PRIu64 "m", m);
        if (sec && o < len)
                (void) snprintf(buf + o, len - o, "%" PRIu64 "s", sec);
        return buf;
}

int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *ret) {
        uint64_t v = 0;

        if (!s || !*s)
                return -EINVAL;
        for (const char *p = s; *p; p++) {
                if (!isdigit((unsigned char) *p))
                        return -EINVAL;
                unsigned d = (unsigned) (*p - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        if (v < min || v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

uint64_t now_usec(int clock) {
        struct timespec ts;
        (void) clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

uint64_t mem_available(void) {
        FILE *f = fopen("/proc/meminfo", "re");
        char line[256];
        uint64_t kb = 0;

        if (!f)
                return 0;
        while (fgets(line, sizeof line, f))
                if (sscanf(line, "MemAvailable: %" SCNu64 " kB", &kb) == 1)
                        break;
        fclose(f);
        return kb * 1024;
}

int read_small_file(const char *path, char *buf, size_t len) {
        _cleanup_(closep) int fd = -1;
        ssize_t n;

        if (len == 0)
                return -EINVAL;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        n = read(fd, buf, len - 1);
        if (n < 0)
                return -errno;
        buf[n] = 0;
        return 0;
}

int read_small_file_u64(const char *path, uint64_t *ret) {
        char buf[64];
        int r;

        r = read_small_file(path, buf, sizeof buf);
        if (r < 0)
                return r;
        buf[strcspn(buf, "\n")] = 0;
        return parse_uint(buf, 0, UINT64_MAX, ret);
}

char *uid_to_user_name(uid_t uid) {
        long sz = sysconf(_SC_GETPW_R_SIZE_MAX);
        size_t size = sz > 0 ? (size_t) sz : 1024;

        for (;;) {
                _cleanup_(freep) char *buf = malloc(size);
                struct passwd pw, *result = NULL;
                int r;

                if (!buf)
                        return NULL;
                r = getpwuid_r(uid, &pw, buf, size, &result);
                if (r == ERANGE && size < 1024 * 1024) {
                        size *= 2;
                        continue;
                }
                if (r != 0 || !result)
                        return NULL;
                return strdup(result->pw_name);
        }
}

const char *string_table_lookup(const char * const *table, size_t n, int i) {
        return i < 0 || (size_t) i >= n ? NULL : table[i];
}

int string_table_find(const char * const *table, size_t n, const char *s) {
        for (size_t i = 0; s && i < n; i++)
                if (table[i] && strcmp(table[i], s) == 0)
                        return (int) i;
        return -1;
}

size_t utf8_char(const char *s, uint32_t *ret_cp) {
        const unsigned char *p = (const unsigned char *) s;
        unsigned c = p[0], n;
        uint32_t cp, min;

        if (c < 0x80) {
                if (ret_cp)
                        *ret_cp = c;
                return c ? 1 : 0;
        }
        if (c >= 0xc2 && c <= 0xdf)
                n = 1, cp = c & 0x1f, min = 0x80;
        else if (c >= 0xe0 && c <= 0xef)
                n = 2, cp = c & 0x0f, min = 0x800;
        else if (c >= 0xf0 && c <= 0xf4)
                n = 3, cp = c & 0x07, min = 0x10000;
        else
                return 0;
        for (unsigned k = 1; k <= n; k++) {
                if ((p[k] & 0xc0) != 0x80)
                        return 0;   /* also at the NUL: no reading past it */
                cp = (cp << 6) | (p[k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        if (ret_cp)
                *ret_cp = cp;
        return n + 1;
}

bool utf8_valid(const char *s, size_t *ret_offset) {
        for (size_t i = 0; s[i];) {
                size_t n = utf8_char(s + i, NULL);
                if (n == 0) {
                        if (ret_offset)
                                *ret_offset = i;
                        return false;
                }
                i += n;
        }
        return true;
}
