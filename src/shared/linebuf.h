/* linebuf.h: splits a byte stream into lines, for blocking and
 * non-blocking sockets: the daemon's connections and the commands' one
 * connection read the protocol's JSON lines through it.
 *
 *     LineBuf b;
 *     linebuf_init(&b, PROTO_LINE_MAX);
 *     n = linebuf_read(&b, fd);                // > 0, 0 at EOF, -EAGAIN, ...
 *     while ((r = linebuf_pop(&b, &line, &len)) > 0)
 *             handle(line, len);               // NUL-terminated, no '\n'
 *     if (r == -E2BIG) ...                     // a line is longer than max
 *     linebuf_done(&b);
 *
 * A popped line stays valid until the next append, read or done. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct LineBuf {
        char *data;
        size_t start;      /* first byte not popped */
        size_t end;        /* end of the data */
        size_t scanned;    /* [start, scanned) holds no '\n' */
        size_t allocated;
        size_t max;        /* longest line, without its '\n' */
        bool skipping;     /* dropping bytes up to the next '\n' */
} LineBuf;

void linebuf_init(LineBuf *b, size_t max);
void linebuf_done(LineBuf *b);
int linebuf_append(LineBuf *b, const void *data, size_t n);
/* One read(2); returns bytes read, 0 at EOF, or -errno (-EAGAIN, -EINTR...). */
ssize_t linebuf_read(LineBuf *b, int fd);
/* The same, reading at most n bytes (n > 0), so that a peer cannot make the
 * buffer grow past what the caller allows. */
ssize_t linebuf_read_max(LineBuf *b, int fd, size_t n);
/* 1 and the next complete line, 0 if there is none yet, -E2BIG if the next
 * line is (or, unfinished, already is) longer than max. */
int linebuf_pop(LineBuf *b, char **ret_line, size_t *ret_len);
/* Bytes received and not popped (an unfinished line at EOF, say). */
size_t linebuf_pending(const LineBuf *b);
/* Drops the unfinished line, and what still comes of it up to its '\n',
 * after linebuf_pop() said -E2BIG: the stream goes on with the next line
 * without ever holding the long one. */
void linebuf_skip_line(LineBuf *b);
/* Frees the memory when nothing is pending, so an idle reader holds none. */
void linebuf_release(LineBuf *b);
