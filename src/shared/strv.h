/* strv.h: NULL-terminated string vectors (argv, environments): freeing,
 * counting, copying, appending, and showing one to a person as a shell
 * line.  Never logs; allocation failure is -ENOMEM. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "escape.h"

void strv_free(char **l);
static inline void strv_freep(char ***l) {
        strv_free(*l);
}
size_t strv_length(char * const *l);

/* A deep copy of l into *ret; NULL for a NULL l. */
int strv_copy(const char * const *l, char ***ret);

/* Appends a formatted string to *l (which may start out NULL), keeping it
 * NULL-terminated.  n, when not NULL, holds the length of *l and is kept up
 * to date, so that a long list grows without being counted each time. */
int strv_push_printf(char ***l, size_t *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* argv as one line a person can read and paste into a shell: each word bare
 * if safe, else '...', else $'...' when it holds what escape.h escapes
 * (control characters, C1 controls, bytes that are not UTF-8; with
 * ESCAPE_NON_ASCII anything past ASCII).  With command, a first word with
 * '=' is quoted (it would be an assignment).  For display only; never
 * parsed back.  *ret is NULL for a NULL list. */
int strv_to_shell_full(char * const *l, bool command, EscapeFlags flags, char **ret);
/* The same with flags 0: UTF-8 as it is. */
int strv_to_shell(char * const *l, bool command, char **ret);
