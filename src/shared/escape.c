/* escape.c: user-given strings made safe for a terminal, in bash's $'...'
 * style (escape.h says which bytes and why). */
#include "config.h"

#include <errno.h>
#include <langinfo.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "util.h"

EscapeFlags escape_flags_for_locale(void) {
        const char *cs = nl_langinfo(CODESET);
        return cs && strcmp(cs, "UTF-8") == 0 ? 0 : ESCAPE_NON_ASCII;
}

/* How many bytes at s are printed as they are (a printable character), or
 * 0: the byte at s is escaped. */
static size_t plain_length(const char *s, EscapeFlags flags) {
        unsigned char c = (unsigned char) *s;
        uint32_t cp;
        size_t n;

        if (c < 0x80)
                return c >= 0x20 && c != 0x7f;
        if (flags & ESCAPE_NON_ASCII)
                return 0;
        n = utf8_char(s, &cp);
        if (n == 0 || (cp >= 0x80 && cp <= 0x9f))
                return 0;
        return n;
}

bool escape_needed(const char *s, EscapeFlags flags) {
        while (*s) {
                size_t n = plain_length(s, flags);
                if (n == 0)
                        return true;
                s += n;
        }
        return false;
}

void escape_fputs(const char *s, EscapeFlags flags, FILE *f) {
        while (*s) {
                size_t n = plain_length(s, flags);
                unsigned char c = (unsigned char) *s;

                if (n > 0) {
                        if (c == '\\')
                                fputs("\\\\", f);
                        else if (c == '\'' && (flags & ESCAPE_QUOTE))
                                fputs("\\'", f);
                        else
                                fwrite(s, 1, n, f);
                        s += n;
                        continue;
                }
                switch (c) {
                case '\t': fputs("\\t", f); break;
                case '\n': fputs("\\n", f); break;
                case '\r': fputs("\\r", f); break;
                case 0x1b: fputs("\\e", f); break;
                default: fprintf(f, "\\x%02x", c);
                }
                s++;
        }
}

int escape_text(const char *s, EscapeFlags flags, char **ret) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f;

        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        escape_fputs(s, flags, f);
        if (fclose(f) != 0) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        return 0;
}

int escape_json(const char *json, char **ret) {
        const unsigned char *p = (const unsigned char *) json;
        size_t n = 0, j = 0;
        char *buf;

        for (size_t i = 0; p[i]; i++)
                n += p[i] == 0x7f || (p[i] == 0xc2 && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f) ? 6 : 1;
        buf = malloc(n + 1);
        if (!buf)
                return -ENOMEM;
        for (size_t i = 0; p[i]; i++) {
                /* both only ever stand inside a string: json-c writes
                 * nothing else past ASCII or as DEL */
                if (p[i] == 0x7f)
                        j += (size_t) sprintf(buf + j, "\\u007f");
                else if (p[i] == 0xc2 && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f) {
                        j += (size_t) sprintf(buf + j, "\\u%04x", p[i + 1]);
                        i++;
                } else
                        buf[j++] = (char) p[i];
        }
        buf[j] = 0;
        *ret = buf;
        return 0;
}
