/* cli.c: every program's main() (cli_main) and its lines on stderr,
 * escaped for the terminal. */
#include "config.h"

#include <errno.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "escape.h"
#include "util.h"

static const char *program_name;

static const char *name(void) {
        return program_name ? program_name : program_invocation_short_name;
}

/* The message escaped (escape.h) as a whole: what it quotes, a task's
 * name, a path, an argument, the daemon's error about them, came from a
 * user, and the words around it have nothing to escape. */
static void print_line(int error, const char *fmt, va_list ap) {
        int saved = errno;
        char *s;

        fprintf(stderr, "%s: ", name());
        errno = error;
        if (vasprintf(&s, fmt, ap) >= 0) {
                escape_fputs(s, escape_flags_for_locale(), stderr);
                free(s);
        } else
                fputs(strerror(ENOMEM), stderr);
        fputc('\n', stderr);
        errno = saved;
}

int cli_error(const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        print_line(errno, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

int cli_error_errno(int error, const char *fmt, ...) {
        va_list ap;

        error = error < 0 ? -error : error;
        va_start(ap, fmt);
        print_line(error, fmt, ap);
        va_end(ap);
        return -error;
}

void cli_info(const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        print_line(errno, fmt, ap);
        va_end(ap);
}

/* popt's option loop.  Returns 0 to go on, 1 when the version was printed,
 * -EINVAL for a usage error (said). */
static int parse_options(poptContext ctx, const CliProgram *p) {
        int rc;

        while ((rc = poptGetNextOpt(ctx)) > 0)
                if (p->on_option) {
                        char *arg = poptGetOptArg(ctx);   /* ours to free */
                        int r = p->on_option(rc, arg ? arg : "");

                        free(arg);
                        if (r < 0)
                                return -EINVAL;
                }
        if (rc < -1)
                /* the code popt returned, not a stale 0 */
                return cli_error("%s: %s", poptBadOption(ctx, POPT_BADOPTION_NOALIAS), poptStrerror(rc));
        if (p->version && *p->version) {
                printf("%s %s\n", name(), VERSION);
                return 1;
        }
        if (!p->usage && poptPeekArg(ctx))
                return cli_error(_("unexpected argument: %s"), poptPeekArg(ctx));
        return 0;
}

static int exit_status(poptContext ctx, const CliProgram *p) {
        int r;

        r = parse_options(ctx, p);
        if (r != 0)
                return r > 0 ? CLI_EXIT_SUCCESS : CLI_EXIT_USAGE;
        if (p->check) {
                r = p->check(poptGetArgs(ctx));
                if (r < 0)
                        return r == -EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_FAILURE;
        }
        r = p->run();
        return r < 0 ? CLI_EXIT_FAILURE : r;
}

int cli_main(int argc, const char **argv, const CliProgram *p) {
        poptContext ctx;
        int status;

        program_name = p->name;
        setlocale(LC_ALL, "");
        bindtextdomain(PACKAGE, LOCALEDIR);
        textdomain(PACKAGE);
        if (p->setup)
                p->setup();

        ctx = poptGetContext(p->name, argc, argv, p->options, p->popt_flags);
        poptSetOtherOptionHelp(ctx, p->usage ? _(p->usage) : _("[OPTION...]"));
        status = exit_status(ctx, p);
        poptFreeContext(ctx);
        return status;
}
