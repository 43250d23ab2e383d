/* cli.h: every program's main(): gettext set-up, popt's option loop (one
 * clear line for a bad option, --version), the program's checks and work,
 * and one rule for the exit status; and the one way programs speak on
 * stderr, "PROG: message". */
#pragma once

#include <popt.h>

/* The exit status, one rule for every program (each man page's EXIT STATUS
 * says what falls where for it):
 *   0  done, also --help and --version.  run() may return another status
 *      of its own: br-run --wait exits with its task's.
 *   1  failed: check() returned an error other than -EINVAL, or run()
 *      returned a negative errno (the daemon is not running or refused,
 *      the machine cannot give what was asked, ...).
 *   2  usage error, before anything was done: popt refused an option, an
 *      argument was given where none is taken, or on_option() or check()
 *      returned -EINVAL.
 * Whoever returns an error has said why, in one line (cli_error()). */
enum {
        CLI_EXIT_SUCCESS = 0,
        CLI_EXIT_FAILURE = 1,
        CLI_EXIT_USAGE = 2,
};

typedef struct CliProgram {
        const char *name;                   /* in messages, and "PROG VERSION" */
        const struct poptOption *options;   /* with POPT_AUTOHELP and a --version row */
        const char *usage;                  /* N_("[OPTION...] ID..."): what follows the name in --help;
                                             * NULL: "[OPTION...]", and an argument is a usage error */
        int popt_flags;                     /* for poptGetContext() */
        const int *version;                 /* the --version row's variable */
        /* Called in this order; each but run may be NULL. */
        void (*setup)(void);                /* after gettext, before popt sees the options (help texts) */
        int (*on_option)(int val, const char *arg);  /* each option whose val is > 0, with its
                                                      * argument ("" for none) */
        int (*check)(const char **args);    /* the arguments (NULL for none; valid until run() returns)
                                             * and the option values */
        int (*run)(void);                   /* the work: < 0 or the exit status */
} CliProgram;

/* main() of program p; returns the exit status by the rule above. */
int cli_main(int argc, const char **argv, const CliProgram *p);

/* main() of the program the arguments describe, as CliProgram's fields:
 *   CLI_MAIN(.name = "br-stats", .options = options, .version = &arg_version, .run = run) */
#define CLI_MAIN(...)                                                   \
        int main(int argc, const char **argv) {                         \
                static const CliProgram program = { __VA_ARGS__ };      \
                return cli_main(argc, argv, &program);                  \
        }

/* One line on stderr, "PROG: " and the message (no '\n' in fmt), PROG as
 * cli_main() was given it.  cli_error() returns -EINVAL, so that
 * "return cli_error(...)" in check() is a usage error; cli_error_errno()
 * returns -|error| and formats %m as error. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int cli_error_errno(int error, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same for what is not an error: a warning, how a task ended. */
void cli_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
