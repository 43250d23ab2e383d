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
        /* a reader that reads no more than max + 1 never needs more */
        if (want <= b->max + 1 && size > b->max + 1)
                size = b->max + 1;
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

static ssize_t read_some(LineBuf *b, int fd, size_t min, size_t max) {
        ssize_t n;
        int r;

        r = reserve(b, min);
        if (r < 0)
                return r;
        n = read(fd, b->data + b->end, b->allocated - b->end < max ? b->allocated - b->end : max);
        if (n < 0)
                return -errno;
        b->end += (size_t) n;
        return n;
}

ssize_t linebuf_read(LineBuf *b, int fd) {
        return read_some(b, fd, LINEBUF_READ_MIN, SIZE_MAX);
}

ssize_t linebuf_read_max(LineBuf *b, int fd, size_t n) {
        if (n == 0)
                return -EINVAL;
        return read_some(b, fd, n < LINEBUF_READ_MIN ? n : LINEBUF_READ_MIN, n);
}

int linebuf_pop(LineBuf *b, char **ret_line, size_t *ret_len) {
        char *nl = NULL;
        size_t len;

        if (b->skipping) {
                nl = b->start < b->end ? memchr(b->data + b->start, '\n', b->end - b->start) : NULL;
                if (!nl) {
                        b->start = b->end = b->scanned = 0;
                        return 0;
                }
                b->start = b->scanned = (size_t) (nl - b->data) + 1;
                b->skipping = false;
                nl = NULL;
        }
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

void linebuf_skip_line(LineBuf *b) {
        b->skipping = true;
}

void linebuf_release(LineBuf *b) {
        if (b->start != b->end)
                return;
        free(b->data);
        b->data = NULL;
        b->start = b->end = b->scanned = b->allocated = 0;
}
