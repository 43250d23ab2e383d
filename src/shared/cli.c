/* cli.c: the start of every program's main(), and its lines on stderr. */
#include "config.h"

#include <errno.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>

#include "cli.h"
#include "util.h"

static const char *program_name;

void cli_init(const char *name) {
        program_name = name;
        setlocale(LC_ALL, "");
        bindtextdomain(PACKAGE, LOCALEDIR);
        textdomain(PACKAGE);
}

static const char *name(void) {
        return program_name ? program_name : program_invocation_short_name;
}

static void print_line(int error, const char *fmt, va_list ap) {
        int saved = errno;

        fprintf(stderr, "%s: ", name());
        errno = error;
        vfprintf(stderr, fmt, ap);
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

int cli_parse(poptContext ctx, bool no_args, const int *version, int (*on_option)(poptContext ctx, int val)) {
        int rc;

        while ((rc = poptGetNextOpt(ctx)) > 0)
                if (on_option && on_option(ctx, rc) < 0)
                        return -EINVAL;
        if (rc < -1)
                /* the code popt returned, not a stale 0 */
                return cli_error("%s: %s", poptBadOption(ctx, POPT_BADOPTION_NOALIAS), poptStrerror(rc));
        if (version && *version) {
                printf("%s %s\n", name(), VERSION);
                return 1;
        }
        if (no_args && poptPeekArg(ctx))
                return cli_error(_("unexpected argument: %s"), poptPeekArg(ctx));
        return 0;
}
