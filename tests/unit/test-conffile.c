/* test-conffile.c: benchrunnerd.conf lines into options: values, switches,
 * quotes, comments, and each way a file is refused with its line. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "conffile.h"
#include "strv.h"
#include "util.h"

static const ConfKey keys[] = {
        { "cpus", true },
        { "memory", true },
        { "history", true },
        { "requeue-interrupted", false },
        { "verbose", false },
};

static char path[] = "/tmp/test-conffile-XXXXXX";

static void put(const char *text) {
        FILE *f = fopen(path, "w");
        CHECK(f && fputs(text, f) >= 0 && fclose(f) == 0);
}

/* The options text gives, joined by spaces, or "ERR:" and the error. */
static char *read_text(const char *text) {
        _cleanup_(strv_freep) char **args = NULL;
        _cleanup_(freep) char *error = NULL;
        char *out = NULL;
        size_t len = 0;
        FILE *f;
        int r;

        put(text);
        r = conf_read(path, keys, ELEMENTSOF(keys), &args, &error);
        f = open_memstream(&out, &len);
        CHECK(f);
        if (r < 0)
                fprintf(f, "ERR:%d:%s", r, error ? error : "");
        else
                for (char **a = args; *a; a++)
                        fprintf(f, "%s%s", a == args ? "" : " ", *a);
        CHECK(fclose(f) == 0);
        return out;
}

#define CHECK_CONF(text, want)                                  \
        do {                                                    \
                _cleanup_(freep) char *got = read_text(text);   \
                CHECK_STREQ(got, want);                         \
        } while (0)

int main(void) {
        _cleanup_(strv_freep) char **args = NULL;
        int fd = mkstemp(path);

        CHECK(fd >= 0);
        (void) close(fd);

        CHECK_CONF("", "");
        CHECK_CONF("# only a comment\n\n   \n", "");
        CHECK_CONF("cpus = 2-7\nmemory=16G\n", "--cpus=2-7 --memory=16G");
        CHECK_CONF("  cpus\t=  2-7  \r\n", "--cpus=2-7");
        CHECK_CONF("history = \"\"\n", "--history=");
        CHECK_CONF("history = \"/var/lib/my db\"\n", "--history=/var/lib/my db");
        CHECK_CONF("requeue-interrupted = yes\nverbose = no\n", "--requeue-interrupted");
        CHECK_CONF("requeue-interrupted = true\n", "--requeue-interrupted");
        CHECK_CONF("memory = 1G", "--memory=1G");          /* no final newline */
        CHECK_CONF("\n\nthreads = 4\n", "ERR:-22:line 3: unknown setting threads");
        CHECK_CONF("cpus 2-7\n", "ERR:-22:line 1: not \"key = value\": cpus 2-7");
        CHECK_CONF("cpus = 1\n# again:\ncpus = 2\n", "ERR:-22:line 3: cpus is set on line 1 already");
        CHECK_CONF("verbose = maybe\n", "ERR:-22:line 1: give yes or no: verbose");
        CHECK_CONF("history = \"a\"b\"\n", "ERR:-22:line 1: a value in quotes is \"...\", with no quote inside: history");
        CHECK_CONF("history = ab\"\n", "ERR:-22:line 1: a value in quotes is \"...\", with no quote inside: history");
        {
                /* a line past CONF_LINE_MAX */
                _cleanup_(freep) char *long_line = malloc(CONF_LINE_MAX + 32);
                CHECK(long_line);
                memset(long_line, 'x', CONF_LINE_MAX + 30);
                memcpy(long_line, "cpus = ", 7);
                long_line[CONF_LINE_MAX + 30] = 0;
                CHECK_CONF(long_line, "ERR:-27:");
        }
        {
                /* a NUL byte: not a text file */
                FILE *f = fopen(path, "w");
                CHECK(f && fwrite("cpus = 1\0\n", 1, 10, f) == 10 && fclose(f) == 0);
                CHECK(conf_read(path, keys, ELEMENTSOF(keys), &args, NULL) == -EINVAL);
        }
        CHECK(unlink(path) == 0);
        CHECK(conf_read(path, keys, ELEMENTSOF(keys), &args, NULL) == -ENOENT);
        CHECK(conf_read("/tmp", keys, ELEMENTSOF(keys), &args, NULL) == -EINVAL);
        CHECK_DONE();
}
