/* cli.h: what every program's main() does first: gettext set-up and popt's
 * option loop, with one clear line for a bad option and --version; and the
 * one way programs speak on stderr, "PROG: message". */
#pragma once

#include <popt.h>
#include <stdbool.h>

/* setlocale, bindtextdomain, textdomain; name is the program's, for every
 * message below. */
void cli_init(const char *name);

/* Runs popt's option loop over ctx.  on_option (may be NULL) gets each
 * option whose val is > 0 and returns < 0 to stop (having said why).
 * A bad option, or with no_args any argument left, gets one line on stderr
 * ("PROG: --x: unknown option").  With *version set, prints "PROG VERSION".
 * Returns 0 to go on, 1 when the version was printed (exit 0), -EINVAL for
 * a usage error (exit 2). */
int cli_parse(poptContext ctx, bool no_args, const int *version, int (*on_option)(poptContext ctx, int val));

/* One line on stderr, "PROG: " and the message (no '\n' in fmt).
 * cli_error() returns -EINVAL, so that "return cli_error(...)" reports a
 * bad argument; cli_error_errno() returns -|error| and formats %m as error. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int cli_error_errno(int error, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same for what is not an error: a warning, how a task ended. */
void cli_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
