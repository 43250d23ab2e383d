/* cpuset.h: sets of CPU numbers, parsed from and formatted to the kernel's
 * list syntax ("0-3,8,10-11"), and as the byte mask sd-bus's CPUAffinity=
 * and AllowedCPUs= take. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CPUSET_MAX 4096

typedef struct CpuSet {
        uint64_t bits[CPUSET_MAX / 64];
} CpuSet;

static inline void cpuset_zero(CpuSet *s) {
        *s = (CpuSet) {};
}
static inline void cpuset_add(CpuSet *s, unsigned cpu) {
        if (cpu < CPUSET_MAX)
                s->bits[cpu / 64] |= UINT64_C(1) << (cpu % 64);
}
static inline void cpuset_del(CpuSet *s, unsigned cpu) {
        if (cpu < CPUSET_MAX)
                s->bits[cpu / 64] &= ~(UINT64_C(1) << (cpu % 64));
}
static inline bool cpuset_has(const CpuSet *s, unsigned cpu) {
        return cpu < CPUSET_MAX && (s->bits[cpu / 64] >> (cpu % 64)) & 1;
}

unsigned cpuset_count(const CpuSet *s);
bool cpuset_empty(const CpuSet *s);
bool cpuset_equal(const CpuSet *a, const CpuSet *b);
bool cpuset_intersects(const CpuSet *a, const CpuSet *b);
bool cpuset_subset(const CpuSet *a, const CpuSet *of);
void cpuset_or(CpuSet *dst, const CpuSet *src);
void cpuset_and_not(CpuSet *dst, const CpuSet *src);
/* Highest CPU number in the set plus one; 0 for an empty set. */
unsigned cpuset_end(const CpuSet *s);
/* Lowest CPU number in the set; 0 for an empty set. */
unsigned cpuset_first(const CpuSet *s);

/* Parses "0-3,8" (whitespace and a trailing newline allowed; "" is empty). */
int cpuset_parse(const char *s, CpuSet *ret);
/* Formats as a list; returns a malloc'd string ("" for the empty set). */
char *cpuset_format(const CpuSet *s);
/* The little-endian byte mask systemd takes for CPUAffinity=/AllowedCPUs=. */
int cpuset_to_mask(const CpuSet *s, uint8_t **ret, size_t *ret_len);
