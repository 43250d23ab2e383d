/* cpuset.c: CPU sets and their list syntax. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpuset.h"

unsigned cpuset_count(const CpuSet *s) {
        unsigned n = 0;
        for (size_t i = 0; i < CPUSET_MAX / 64; i++)
                n += (unsigned) __builtin_popcountll(s->bits[i]);
        return n;
}

bool cpuset_empty(const CpuSet *s) {
        for (size_t i = 0; i < CPUSET_MAX / 64; i++)
                if (s->bits[i])
                        return false;
        return true;
}

bool cpuset_equal(const CpuSet *a, const CpuSet *b) {
        return memcmp(a->bits, b->bits, sizeof a->bits) == 0;
}

bool cpuset_intersects(const CpuSet *a, const CpuSet *b) {
        for (size_t i = 0; i < CPUSET_MAX / 64; i++)
                if (a->bits[i] & b->bits[i])
                        return true;
        return false;
}

bool cpuset_subset(const CpuSet *a, const CpuSet *of) {
        for (size_t i = 0; i < CPUSET_MAX / 64; i++)
                if (a->bits[i] & ~of->bits[i])
                        return false;
        return true;
}

void cpuset_or(CpuSet *dst, const CpuSet *src) {
        for (size_t i = 0; i < CPUSET_MAX / 64; i++)
                dst->bits[i] |= src->bits[i];
}

void cpuset_and_not(CpuSet *dst, const CpuSet *src) {
        for (size_t i = 0; i < CPUSET_MAX / 64; i++)
                dst->bits[i] &= ~src->bits[i];
}

unsigned cpuset_end(const CpuSet *s) {
        for (size_t i = CPUSET_MAX / 64; i > 0; i--)
                if (s->bits[i - 1])
                        return (unsigned) ((i - 1) * 64 + 64 - (size_t) __builtin_clzll(s->bits[i - 1]));
        return 0;
}

unsigned cpuset_first(const CpuSet *s) {
        for (size_t i = 0; i < CPUSET_MAX / 64; i++)
                if (s->bits[i])
                        return (unsigned) (i * 64 + (size_t) __builtin_ctzll(s->bits[i]));
        return 0;
}

static int parse_cpu(const char **p, unsigned *ret) {
        const char *s = *p;
        unsigned v = 0;

        if (!isdigit((unsigned char) *s))
                return -EINVAL;
        while (isdigit((unsigned char) *s)) {
                v = v * 10 + (unsigned) (*s - '0');
                if (v >= CPUSET_MAX)
                        return -ERANGE;
                s++;
        }
        *p = s;
        *ret = v;
        return 0;
}

int cpuset_parse(const char *s, CpuSet *ret) {
        CpuSet set = {};
        int r;

        while (*s && isspace((unsigned char) *s))
                s++;
        while (*s) {
                unsigned a, b;

                r = parse_cpu(&s, &a);
                if (r < 0)
                        return r;
                b = a;
                if (*s == '-') {
                        s++;
                        r = parse_cpu(&s, &b);
                        if (r < 0)
                                return r;
                        if (b < a)
                                return -EINVAL;
                }
                for (unsigned c = a; c <= b; c++)
                        cpuset_add(&set, c);
                while (*s && isspace((unsigned char) *s))
                        s++;
                if (*s == ',') {
                        s++;
                        if (!isdigit((unsigned char) *s))
                                return -EINVAL;
                } else if (*s)
                        return -EINVAL;
        }
        *ret = set;
        return 0;
}

char *cpuset_format(const CpuSet *s) {
        /* worst case "4094,": 5 bytes per CPU */
        size_t cap = (size_t) cpuset_count(s) * 6 + 1, o = 0;
        char *buf = malloc(cap);
        unsigned end = cpuset_end(s);

        if (!buf)
                return NULL;
        buf[0] = 0;
        for (unsigned c = 0; c < end; c++) {
                if (!cpuset_has(s, c))
                        continue;
                unsigned last = c;
                while (last + 1 < end && cpuset_has(s, last + 1))
                        last++;
                if (last == c)
                        o += (size_t) snprintf(buf + o, cap - o, "%s%u", o ? "," : "", c);
                else
                        o += (size_t) snprintf(buf + o, cap - o, "%s%u-%u", o ? "," : "", c, last);
                c = last;
        }
        return buf;
}

int cpuset_to_mask(const CpuSet *s, uint8_t **ret, size_t *ret_len) {
        unsigned end = cpuset_end(s);
        size_t len = (end + 7) / 8;
        uint8_t *m = calloc(len ? len : 1, 1);

        if (!m)
                return -ENOMEM;
        for (unsigned c = 0; c < end; c++)
                if (cpuset_has(s, c))
                        m[c / 8] |= (uint8_t) (1u << (c % 8));
        *ret = m;
        *ret_len = len;
        return 0;
}
