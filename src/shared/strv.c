/* strv.c: NULL-terminated string vectors (argv, environments): freeing,
 * counting, copying, appending, and the shell-like line br-show and the
 * database's command column show. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "strv.h"

void strv_free(char **l) {
        if (!l)
                return;
        for (char **i = l; *i; i++)
                free(*i);
        free(l);
}

size_t strv_length(char * const *l) {
        size_t n = 0;
        if (l)
                while (l[n])
                        n++;
        return n;
}

int strv_copy(const char * const *l, char ***ret) {
        size_t n = strv_length((char * const *) l);
        char **c;

        if (!l) {
                *ret = NULL;
                return 0;
        }
        c = calloc(n + 1, sizeof(char *));
        if (!c)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (!(c[i] = strdup(l[i]))) {
                        strv_free(c);
                        return -ENOMEM;
                }
        *ret = c;
        return 0;
}

int strv_push_printf(char ***l, size_t *n, const char *fmt, ...) {
        size_t len = n ? *n : strv_length(*l);
        va_list ap;
        char *s, **nl;
        int r;

        if (len > SIZE_MAX / sizeof(char *) - 2)
                return -ENOMEM;
        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        if (r < 0)
                return -ENOMEM;
        nl = realloc(*l, sizeof(char *) * (len + 2));
        if (!nl) {
                free(s);
                return -ENOMEM;
        }
        nl[len++] = s;
        nl[len] = NULL;
        *l = nl;
        if (n)
                *n = len;
        return 0;
}

/* Bare if safe, else '...', else $'...' when there is something to escape
 * (a newline in '...' would break the line, a control character would
 * reach the terminal).  Never parsed back: argv is. */
static void shell_quote(FILE *f, const char *s, bool first, EscapeFlags flags) {
        bool bare = *s;

        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                /* "a=b" as the first word would be an assignment */
                if (!(*p < 0x80 && isalnum(*p)) && !strchr("_-+:,./@%", *p) &&
                    !(*p == '=' && !first))
                        bare = false;
        if (bare)
                fputs(s, f);
        else if (!escape_needed(s, flags)) {
                fputc('\'', f);
                for (const char *p = s; *p; p++)
                        if (*p == '\'')
                                fputs("'\\''", f);
                        else
                                fputc(*p, f);
                fputc('\'', f);
        } else {
                fputs("$'", f);
                escape_fputs(s, flags | ESCAPE_QUOTE, f);
                fputc('\'', f);
        }
}

int strv_to_shell_full(char * const *l, bool command, EscapeFlags flags, char **ret) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f;

        if (!l) {
                *ret = NULL;
                return 0;
        }
        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        for (char * const *i = l; *i; i++) {
                if (i != l)
                        fputc(' ', f);
                shell_quote(f, *i, command && i == l, flags);
        }
        if (fclose(f) != 0) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        return 0;
}

int strv_to_shell(char * const *l, bool command, char **ret) {
        return strv_to_shell_full(l, command, 0, ret);
}
