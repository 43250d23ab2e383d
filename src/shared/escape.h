/* escape.h: strings that users gave (task names, directories, arguments,
 * environments, the daemon's errors that quote them) made safe to print to
 * a terminal, whose escape sequences could otherwise rewrite the screen,
 * the window title or the clipboard.  One style everywhere, bash's $'...':
 *   \t \n \r \e (ESC) \\ and, inside $'...', \'
 *   \xHH for every other byte that is not part of a printable character:
 *   the C0 controls, DEL, the C1 controls U+0080..U+009F (as their two
 *   UTF-8 bytes, \xc2\x9b for CSI) and bytes that are not UTF-8.
 * Pasted into $'...' the text gives back the same bytes.  Never logs;
 * allocation failure is -ENOMEM. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

typedef enum EscapeFlags {
        /* ' as \' too: the text goes inside $'...' */
        ESCAPE_QUOTE = 1 << 0,
        /* every byte past ASCII as \xHH: for a terminal that is not UTF-8,
         * where the bytes 0x80..0x9f of a UTF-8 character are C1 controls */
        ESCAPE_NON_ASCII = 1 << 1,
} EscapeFlags;

/* ESCAPE_NON_ASCII unless LC_CTYPE's character set is UTF-8: what a
 * program printing for a person passes (after setlocale()). */
EscapeFlags escape_flags_for_locale(void);

/* Whether s holds anything that escape_text() shows as \t, \n, \r, \e or
 * \xHH (a backslash or a quote alone does not count). */
bool escape_needed(const char *s, EscapeFlags flags);

/* s escaped, malloc'd. */
int escape_text(const char *s, EscapeFlags flags, char **ret);
/* The same, written to f. */
void escape_fputs(const char *s, EscapeFlags flags, FILE *f);

/* A line of JSON (json-c's output) with DEL and the C1 controls inside its
 * strings written as \u007f and \u0080..\u009f, which json-c leaves as raw
 * bytes: the same JSON, safe on a terminal.  Bytes that are not UTF-8 stay
 * as they are (the protocol carries them so, see docs/protocol.md).
 * malloc'd. */
int escape_json(const char *json, char **ret);
