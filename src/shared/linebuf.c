/* linebuf.c: a growing buffer that hands out complete lines (linebuf.h).
 * Scanning resumes where it stopped, so a long line arriving in small pieces
 * costs linear time. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "linebuf.h"

#define LINEBUF_READ_MIN (64u * 1024)

void linebuf_init(LineBuf *b, size_t max) {
        *b = (LineBuf) { .max = max };
}

void linebuf_done(LineBuf *b) {
        free(b->data);
        linebuf_init(b, b->max);
}

/* Room for n more bytes at the end, dropping what was popped first. */
static int reserve(LineBuf *b, size_t n) {
        size_t want, size;
        char *p;

        if (b->start == b->end) {
                b->start = b->end = b->scanned = 0;
        } else if (b->start > 0 && b->allocated - b->end < n) {
                memmove(b->data, b->data + b->start, b->end - b->start);
                b->end -= b->start;
                b->scanned -= b->start;
                b->start = 0;
        }
        if (b->allocated - b->end >= n)
                return 0;
        if (n > SIZE_MAX / 2 - b->end)
                return -ENOMEM;
        want = b->end + n;
        size = b->allocated > 4096 ? b->allocated : 4096;
        while (size < want)
                size *= 2;
        p = realloc(b->data, size);
        if (!p)
                return -ENOMEM;
        b->data = p;
        b->allocated = size;
        return 0;
}

int linebuf_append(LineBuf *b, const void *data, size_t n) {
        int r;

        if (n == 0)
                return 0;
        r = reserve(b, n);
        if (r < 0)
                return r;
        memcpy(b->data + b->end, data, n);
        b->end += n;
        return 0;
}

ssize_t linebuf_read(LineBuf *b, int fd) {
        ssize_t n;
        int r;

        r = reserve(b, LINEBUF_READ_MIN);
        if (r < 0)
                return r;
        n = read(fd, b->data + b->end, b->allocated - b->end);
        if (n < 0)
                return -errno;
        b->end += (size_t) n;
        return n;
}

int linebuf_pop(LineBuf *b, char **ret_line, size_t *ret_len) {
        char *nl = NULL;
        size_t len;

        if (b->scanned < b->end)
                nl = memchr(b->data + b->scanned, '\n', b->end - b->scanned);
        if (!nl) {
                b->scanned = b->end;
                return b->end - b->start > b->max ? -E2BIG : 0;
        }
        len = (size_t) (nl - (b->data + b->start));
        if (len > b->max)
                return -E2BIG;
        *nl = 0;
        *ret_line = b->data + b->start;
        *ret_len = len;
        b->start = b->scanned = (size_t) (nl - b->data) + 1;
        return 1;
}

size_t linebuf_pending(const LineBuf *b) {
        return b->end - b->start;
}
