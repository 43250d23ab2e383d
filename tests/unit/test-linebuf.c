/* test-linebuf.c: the line buffer splits a stream into the same lines
 * however it arrives, keeps to its limit, and reads from a socket. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "linebuf.h"
#include "protocol.h"
#include "util.h"

static void test_linebuf_pieces(void) {
        const char *stream = "{\"a\":1}\n{\"b\":2}\n\n{\"c\":\"x\\ny\"}\n{\"d\"";
        LineBuf b;
        char *line;
        size_t len;

        /* every way of cutting the stream in two gives the same lines */
        for (size_t cut = 0; cut <= strlen(stream); cut++) {
                const char *want[] = { "{\"a\":1}", "{\"b\":2}", "", "{\"c\":\"x\\ny\"}" };
                size_t got = 0;
                int r;

                linebuf_init(&b, 64);
                CHECK(linebuf_append(&b, stream, cut) == 0);
                while ((r = linebuf_pop(&b, &line, &len)) > 0) {
                        CHECK(got < 4 && len == strlen(want[got]) && strcmp(line, want[got]) == 0);
                        got++;
                }
                CHECK(r == 0);
                CHECK(linebuf_append(&b, stream + cut, strlen(stream) - cut) == 0);
                while ((r = linebuf_pop(&b, &line, &len)) > 0) {
                        CHECK(got < 4 && len == strlen(want[got]) && strcmp(line, want[got]) == 0);
                        got++;
                }
                CHECK(r == 0);
                CHECK_EQ_U64(got, 4);
                CHECK_EQ_U64(linebuf_pending(&b), 4);
                linebuf_done(&b);
        }

        /* byte by byte */
        linebuf_init(&b, 64);
        {
                size_t got = 0;
                for (size_t i = 0; stream[i]; i++) {
                        CHECK(linebuf_append(&b, stream + i, 1) == 0);
                        while (linebuf_pop(&b, &line, &len) > 0)
                                got++;
                }
                CHECK_EQ_U64(got, 4);
        }
        linebuf_done(&b);
        linebuf_done(&b);

        /* limits: exactly max is fine; max + 1 is not, finished or not */
        linebuf_init(&b, 8);
        CHECK(linebuf_append(&b, "12345678\n", 9) == 0);
        CHECK(linebuf_pop(&b, &line, &len) == 1 && len == 8);
        CHECK(linebuf_append(&b, "12345678", 8) == 0);
        CHECK(linebuf_pop(&b, &line, &len) == 0);
        CHECK(linebuf_append(&b, "9", 1) == 0);
        CHECK(linebuf_pop(&b, &line, &len) == -E2BIG);
        linebuf_done(&b);

        linebuf_init(&b, 8);
        CHECK(linebuf_append(&b, "ok\n123456789\nnext\n", 18) == 0);
        CHECK(linebuf_pop(&b, &line, &len) == 1);
        CHECK_STREQ(line, "ok");
        CHECK(linebuf_pop(&b, &line, &len) == -E2BIG);
        linebuf_done(&b);

        /* a large line arriving in small pieces is found in linear time and
         * the buffer is reused once lines are popped */
        linebuf_init(&b, PROTO_LINE_MAX);
        {
                char chunk[4096];
                size_t total = 0;

                memset(chunk, 'z', sizeof chunk);
                for (int round = 0; round < 3; round++) {
                        for (size_t i = 0; i < 1024; i++) {
                                CHECK(linebuf_append(&b, chunk, sizeof chunk) == 0);
                                CHECK(linebuf_pop(&b, &line, &len) == 0);
                        }
                        CHECK(linebuf_append(&b, "\n", 1) == 0);
                        CHECK(linebuf_pop(&b, &line, &len) == 1);
                        total += len;
                }
                CHECK_EQ_U64(total, 3 * 1024 * sizeof chunk);
                CHECK(b.allocated <= 2 * 1024 * sizeof chunk);
        }
        linebuf_done(&b);
}

static void test_linebuf_fd(void) {
        LineBuf b;
        int fds[2];
        char *line;
        size_t len;

        CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
        linebuf_init(&b, PROTO_LINE_MAX);

        CHECK(linebuf_read(&b, fds[0]) == -EAGAIN);
        CHECK(write(fds[1], "{\"v\":4,\"op\":\"pi", 15) == 15);
        CHECK(linebuf_read(&b, fds[0]) == 15);
        CHECK(linebuf_pop(&b, &line, &len) == 0);
        CHECK(write(fds[1], "ng\"}\n{\"v\":4,\"op\":\"stats\"}\n{\"v\"", 30) == 30);
        CHECK(linebuf_read(&b, fds[0]) == 30);
        CHECK(linebuf_pop(&b, &line, &len) == 1);
        {
                _cleanup_(proto_request_freep) ProtoRequest *req = NULL;
                CHECK(proto_parse_request(line, len, &req, NULL, NULL) == 0);
                CHECK(req && req->op == PROTO_OP_PING);
        }
        CHECK(linebuf_pop(&b, &line, &len) == 1);
        CHECK_STREQ(line, "{\"v\":4,\"op\":\"stats\"}");
        CHECK(linebuf_pop(&b, &line, &len) == 0);
        CHECK(close(fds[1]) == 0);
        CHECK(linebuf_read(&b, fds[0]) == 0);
        CHECK_EQ_U64(linebuf_pending(&b), 4);
        CHECK(close(fds[0]) == 0);
        linebuf_done(&b);
}

/* A too long line is skipped as it arrives, and the reader reads no more
 * than it is allowed: the daemon's cap on unfinished input. */
static void test_linebuf_skip_and_cap(void) {
        char big[3000];
        LineBuf b;
        int fds[2];
        char *line;
        size_t len;

        linebuf_init(&b, 8);
        CHECK(linebuf_append(&b, "ok\n123456789\nnext\n", 18) == 0);
        CHECK(linebuf_pop(&b, &line, &len) == 1);
        CHECK(linebuf_pop(&b, &line, &len) == -E2BIG);
        linebuf_skip_line(&b);
        CHECK(linebuf_pop(&b, &line, &len) == 1);
        CHECK_STREQ(line, "next");
        CHECK(linebuf_pop(&b, &line, &len) == 0);

        /* unfinished: dropped piece by piece until its end comes */
        CHECK(linebuf_append(&b, "123456789", 9) == 0);
        CHECK(linebuf_pop(&b, &line, &len) == -E2BIG);
        linebuf_skip_line(&b);
        CHECK(linebuf_pop(&b, &line, &len) == 0);
        CHECK_EQ_U64(linebuf_pending(&b), 0);
        CHECK(linebuf_append(&b, "abcdefghijkl", 12) == 0);
        CHECK(linebuf_pop(&b, &line, &len) == 0);
        CHECK_EQ_U64(linebuf_pending(&b), 0);
        CHECK(linebuf_append(&b, "xyz\nafter\n", 10) == 0);
        CHECK(linebuf_pop(&b, &line, &len) == 1);
        CHECK_STREQ(line, "after");
        linebuf_release(&b);
        CHECK(b.data == NULL && b.allocated == 0);
        linebuf_done(&b);

        CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
        memset(big, 'q', sizeof big);
        CHECK(write(fds[1], big, sizeof big) == (ssize_t) sizeof big);
        linebuf_init(&b, 1000);
        CHECK(linebuf_read_max(&b, fds[0], 1001) == 1001);
        CHECK(b.allocated <= 1001);
        CHECK(linebuf_pop(&b, &line, &len) == -E2BIG);
        CHECK(linebuf_read_max(&b, fds[0], 0) == -EINVAL);
        CHECK(linebuf_read_max(&b, fds[0], 10) == 10);
        CHECK_EQ_U64(linebuf_pending(&b), 1011);
        linebuf_release(&b);      /* something is pending: kept */
        CHECK(b.data != NULL);
        linebuf_done(&b);
        CHECK(close(fds[0]) == 0 && close(fds[1]) == 0);
}

int main(void) {
        test_linebuf_pieces();
        test_linebuf_fd();
        test_linebuf_skip_and_cap();
        CHECK_DONE();
}
