/* cli.h: what every program's main() does first: gettext set-up and popt's
 * option loop, with one clear line for a bad option and --version. */
#pragma once

#include <popt.h>
#include <stdbool.h>

/* setlocale, bindtextdomain, textdomain. */
void cli_init(void);

/* Runs popt's option loop over ctx.  on_option (may be NULL) gets each
 * option whose val is > 0 and returns < 0 to stop (having said why).
 * A bad option, or with no_args any argument left, gets one line on stderr
 * ("PROG: --x: unknown option").  With *version set, prints "PROG VERSION".
 * Returns 0 to go on, 1 when the version was printed (exit 0), -EINVAL for
 * a usage error (exit 2). */
int cli_parse(poptContext ctx, const char *prog, bool no_args, const int *version,
              int (*on_option)(poptContext ctx, int val));
