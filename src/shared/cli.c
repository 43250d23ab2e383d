/* cli.c: the start of every program's main(). */
#include "config.h"

#include <errno.h>
#include <locale.h>
#include <stdio.h>

#include "cli.h"
#include "util.h"

void cli_init(void) {
        setlocale(LC_ALL, "");
        bindtextdomain(PACKAGE, LOCALEDIR);
        textdomain(PACKAGE);
}

int cli_parse(poptContext ctx, const char *prog, bool no_args, const int *version,
              int (*on_option)(poptContext ctx, int val)) {
        int rc;

        while ((rc = poptGetNextOpt(ctx)) > 0)
                if (on_option && on_option(ctx, rc) < 0)
                        return -EINVAL;
        if (rc < -1) {
                /* the code popt returned, not a stale 0 */
                fprintf(stderr, "%s: %s: %s\n", prog, poptBadOption(ctx, POPT_BADOPTION_NOALIAS),
                        poptStrerror(rc));
                return -EINVAL;
        }
        if (version && *version) {
                printf("%s %s\n", prog, VERSION);
                return 1;
        }
        if (no_args && poptPeekArg(ctx)) {
                fprintf(stderr, _("%s: unexpected argument: %s\n"), prog, poptPeekArg(ctx));
                return -EINVAL;
        }
        return 0;
}
