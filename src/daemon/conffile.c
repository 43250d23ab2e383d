/* conffile.c: benchrunnerd.conf into the options it stands for (conffile.h).
 * The format is the smallest that a person edits without surprises:
 * "key = value" lines, '#' comments on lines of their own, blank lines, a
 * value in double quotes when it must keep its spaces or be empty. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conffile.h"
#include "strv.h"
#include "util.h"

static bool is_space(char c) {
        return c == ' ' || c == '\t' || c == '\r';
}

static char *trim(char *s) {
        char *e;

        while (is_space(*s))
                s++;
        e = s + strlen(s);
        while (e > s && is_space(e[-1]))
                *--e = 0;
        return s;
}

/* wrong: what is wrong, in N_(), followed by what (a key, the line) */
static int fail(char **ret_error, unsigned line, const char *wrong, const char *what) {
        /* TRANSLATORS: "line 3: " and "unknown setting " (a message of its own), then the key */
        if (ret_error && asprintf(ret_error, _("line %u: %s%s"), line, _(wrong), what ? what : "") < 0)
                *ret_error = NULL;
        return -EINVAL;
}

static int read_all(const char *path, char **ret) {
        _cleanup_(closep) int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        _cleanup_(freep) char *buf = NULL;
        size_t n = 0;
        struct stat st;

        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EINVAL;
        buf = malloc(CONF_FILE_MAX + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t k = read(fd, buf + n, CONF_FILE_MAX + 1 - n);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                n += (size_t) k;
                if (n > CONF_FILE_MAX)
                        return -EFBIG;
        }
        if (memchr(buf, 0, n))
                return -EINVAL;
        buf[n] = 0;
        *ret = TAKE_PTR(buf);
        return 0;
}

/* A value: as it stands, or the inside of "..." (no escapes: a value
 * holds no double quote). */
static int unquote(char *v, char **ret) {
        size_t n = strlen(v);

        if (n > 0 && v[0] == '"') {
                if (n < 2 || v[n - 1] != '"' || memchr(v + 1, '"', n - 2))
                        return -EINVAL;
                v[n - 1] = 0;
                v++;
        } else if (strchr(v, '"'))
                return -EINVAL;
        *ret = v;
        return 0;
}

int conf_read(const char *path, const ConfKey *keys, unsigned n, char ***ret_args, char **ret_error) {
        _cleanup_(freep) char *buf = NULL;
        _cleanup_(freep) unsigned *seen = NULL;
        _cleanup_(strv_freep) char **args = NULL;
        size_t n_args = 0;
        unsigned lineno = 0;
        char *line, *next;
        int r;

        if (ret_error)
                *ret_error = NULL;
        r = read_all(path, &buf);
        if (r < 0)
                return r;
        seen = calloc(n ? n : 1, sizeof *seen);
        if (!seen)
                return -ENOMEM;
        for (line = buf; line; line = next) {
                char *eq, *key, *value;
                unsigned i;

                lineno++;
                next = strchr(line, '\n');
                if (next)
                        *next++ = 0;
                if (strlen(line) > CONF_LINE_MAX)
                        return -EFBIG;
                line = trim(line);
                if (!*line || *line == '#')
                        continue;
                eq = strchr(line, '=');
                if (!eq)
                        return fail(ret_error, lineno, N_("not \"key = value\": "), line);
                *eq = 0;
                key = trim(line);
                if (unquote(trim(eq + 1), &value) < 0)
                        return fail(ret_error, lineno, N_("a value in quotes is \"...\", with no quote inside: "), key);
                for (i = 0; i < n && strcmp(keys[i].name, key) != 0; i++)
                        ;
                if (i == n)
                        return fail(ret_error, lineno, N_("unknown setting "), key);
                if (seen[i]) {
                        if (ret_error && asprintf(ret_error, _("line %u: %s is set on line %u already"), lineno, key,
                                                  seen[i]) < 0)
                                *ret_error = NULL;
                        return -EINVAL;
                }
                seen[i] = lineno;
                if (keys[i].has_value)
                        r = strv_push_printf(&args, &n_args, "--%s=%s", key, value);
                else if (strcmp(value, "yes") == 0 || strcmp(value, "true") == 0 || strcmp(value, "1") == 0)
                        r = strv_push_printf(&args, &n_args, "--%s", key);
                else if (strcmp(value, "no") == 0 || strcmp(value, "false") == 0 || strcmp(value, "0") == 0)
                        continue;
                else
                        return fail(ret_error, lineno, N_("give yes or no: "), key);
                if (r < 0)
                        return r;
        }
        if (!args) {
                args = calloc(1, sizeof(char *));
                if (!args)
                        return -ENOMEM;
        }
        *ret_args = TAKE_PTR(args);
        return 0;
}
