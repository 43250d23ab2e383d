/* br-send.c: sends raw bytes (stdin) to a benchrunner socket and prints the
 * daemon's answer lines, so tests can speak the protocol badly on purpose.
 *   br-send SOCKET [LINES]   read LINES answer lines (default 1), then exit
 *   br-send -c SOCKET        one hostile case (tests/integration/hostile-input.sh):
 *       streams stdin (any size, any bytes) while reading, then sends
 *       {"v":4,"op":"ping","tag":"br-send-end"} on a line of its own, and
 *       prints every line the daemon sent before that ping's reply, then
 *       one of "END answered" (the ping was answered), "END closed" (the
 *       daemon closed the connection first) or "END silent" (neither within
 *       10 s); then "PING ok" or "PING failed" for a ping on a new
 *       connection.
 *   br-send -p N SECONDS SOCKET   pipelining without reading: sends the
 *       request on stdin (one line) N times and reads nothing for SECONDS,
 *       while a second connection pings every 100 ms; then reads every reply
 *       (sending the rest) and prints what was accepted unread, how many
 *       replies came and the slowest ping. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define END_TAG "br-send-end"
static const char end_ping[] = "{\"v\":4,\"op\":\"ping\",\"tag\":\"" END_TAG "\"}\n";
static struct sockaddr_un sa = { .sun_family = AF_UNIX };

static int dial(void) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                fprintf(stderr, "br-send: %s: %s\n", sa.sun_path, strerror(errno));
                if (fd >= 0)
                        close(fd);
                return -1;
        }
        return fd;
}

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* Received bytes split into lines. */
typedef struct Lines {
        char *buf;
        size_t len, alloc;
        long n;
} Lines;

/* Appends data; calls line() for every complete one (NUL-terminated, no
 * '\n'); returns false when line() says stop. */
static bool lines_add(Lines *l, const char *data, size_t n, bool (*line)(char *s, void *u), void *u) {
        if (l->len + n + 1 > l->alloc) {
                l->alloc = (l->len + n + 1) * 2;
                l->buf = realloc(l->buf, l->alloc);
                if (!l->buf)
                        abort();
        }
        memcpy(l->buf + l->len, data, n);
        l->len += n;
        for (;;) {
                char *nl = memchr(l->buf, '\n', l->len);
                size_t k;
                bool go;

                if (!nl)
                        return true;
                *nl = 0;
                k = (size_t) (nl - l->buf) + 1;
                l->n++;
                go = line(l->buf, u);
                memmove(l->buf, l->buf + k, l->len - k);
                l->len -= k;
                if (!go)
                        return false;
        }
}

static bool print_line(char *s, void *u) {
        bool *answered = u;

        if (strstr(s, "\"tag\":\"" END_TAG "\"")) {
                *answered = true;
                return false;
        }
        printf("%s\n", s);
        return true;
}

static bool count_line(char *s, void *u) {
        (void) s;
        (void) u;
        return true;
}

static bool ping_once(double *ret_ms) {
        char buf[4096];
        double t0 = now();
        size_t got = 0;
        ssize_t n;
        int fd = dial();

        if (fd < 0)
                return false;
        if (write(fd, end_ping, sizeof end_ping - 1) != (ssize_t) (sizeof end_ping - 1)) {
                close(fd);
                return false;
        }
        while (got < sizeof buf - 1 && (n = read(fd, buf + got, sizeof buf - 1 - got)) > 0) {
                got += (size_t) n;
                if (memchr(buf, '\n', got))
                        break;
        }
        close(fd);
        buf[got] = 0;
        if (ret_ms)
                *ret_ms = (now() - t0) * 1000;
        return strstr(buf, "\"ok\":true") != NULL;
}

static int one_case(void) {
        static char in[1 << 16], rd[1 << 16];
        Lines l = { 0 };
        size_t in_len = 0, in_off = 0;
        bool in_eof = false, end_sent = false, writing = true, answered = false, closed = false;
        double deadline = 0;
        int fd = dial();

        if (fd < 0)
                return 1;
        (void) fcntl(fd, F_SETFL, O_NONBLOCK);
        while (!answered && !closed) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                int timeout = -1, k;

                if (writing && in_off == in_len) {
                        ssize_t n;

                        if (!in_eof) {
                                n = read(STDIN_FILENO, in, sizeof in);
                                if (n > 0) {
                                        in_len = (size_t) n;
                                        in_off = 0;
                                } else
                                        in_eof = true;
                        }
                        if (in_eof && !end_sent) {
                                memcpy(in, end_ping, sizeof end_ping - 1);
                                in_len = sizeof end_ping - 1;
                                in_off = 0;
                                end_sent = true;
                        } else if (in_eof) {
                                writing = false;
                                deadline = now() + 10;
                        }
                }
                if (writing && in_off < in_len)
                        p.events |= POLLOUT;
                if (!writing) {
                        timeout = (int) ((deadline - now()) * 1000);
                        if (timeout <= 0)
                                break;
                }
                k = poll(&p, 1, timeout);
                if (k < 0 && errno != EINTR)
                        return 1;
                if (k <= 0)
                        continue;
                if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
                        ssize_t n = read(fd, rd, sizeof rd);

                        if (n > 0)
                                (void) lines_add(&l, rd, (size_t) n, print_line, &answered);
                        else if (n == 0 || (errno != EAGAIN && errno != EINTR))
                                closed = true;
                        continue;
                }
                if (p.revents & POLLOUT) {
                        ssize_t n = write(fd, in + in_off, in_len - in_off);

                        if (n > 0)
                                in_off += (size_t) n;
                        else if (n < 0 && errno != EAGAIN && errno != EINTR) {
                                /* the daemon closed: read what it said */
                                writing = false;
                                deadline = now() + 10;
                        }
                }
        }
        if (l.len > 0)
                printf("%.*s\n", (int) (l.len > 4096 ? 4096 : l.len), l.buf);
        printf("END %s\n", answered ? "answered" : closed ? "closed" : "silent");
        close(fd);
        printf("PING %s\n", ping_once(NULL) ? "ok" : "failed");
        free(l.buf);
        return 0;
}

static int pipelined(long n_req, double seconds) {
        static char req[1 << 16], rd[1 << 16];
        Lines l = { 0 };
        size_t req_len = 0, off = 0;
        long sent = 0, pings = 0, pings_failed = 0;
        long long unread_bytes = 0;
        double end = now() + seconds, next_ping = 0, worst = 0, deadline;
        ssize_t n;
        int fd;

        while (req_len < sizeof req && (n = read(STDIN_FILENO, req + req_len, sizeof req - req_len)) > 0)
                req_len += (size_t) n;
        if (req_len == 0 || req[req_len - 1] != '\n') {
                fprintf(stderr, "br-send: -p wants one request line on stdin\n");
                return 2;
        }
        fd = dial();
        if (fd < 0)
                return 1;
        (void) fcntl(fd, F_SETFL, O_NONBLOCK);
        /* phase 1: write, never read */
        while (now() < end) {
                struct pollfd p = { .fd = fd, .events = POLLOUT };

                if (now() >= next_ping) {
                        double ms;

                        pings++;
                        if (!ping_once(&ms))
                                pings_failed++;
                        else if (ms > worst)
                                worst = ms;
                        next_ping = now() + 0.1;
                }
                if (sent == n_req) {
                        usleep(20000);
                        continue;
                }
                if (poll(&p, 1, 20) <= 0)
                        continue;
                n = write(fd, req + off, req_len - off);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                continue;
                        fprintf(stderr, "br-send: write: %s\n", strerror(errno));
                        break;
                }
                unread_bytes += n;
                off += (size_t) n;
                if (off == req_len) {
                        off = 0;
                        sent++;
                }
        }
        printf("accepted unread: %lld bytes, %ld requests in %.1f s; pings %ld, failed %ld, slowest %.0f ms\n",
               unread_bytes, sent, seconds, pings, pings_failed, worst);
        /* phase 2: read every reply, sending the rest meanwhile */
        deadline = now() + 60;
        while (l.n < n_req && now() < deadline) {
                struct pollfd p = { .fd = fd, .events = POLLIN };

                if (sent < n_req)
                        p.events |= POLLOUT;
                if (poll(&p, 1, 1000) <= 0)
                        continue;
                if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
                        n = read(fd, rd, sizeof rd);
                        if (n > 0)
                                (void) lines_add(&l, rd, (size_t) n, count_line, NULL);
                        else if (n == 0 || (errno != EAGAIN && errno != EINTR))
                                break;
                        continue;
                }
                n = write(fd, req + off, req_len - off);
                if (n > 0) {
                        off += (size_t) n;
                        if (off == req_len) {
                                off = 0;
                                sent++;
                        }
                } else if (n < 0 && errno != EAGAIN && errno != EINTR)
                        break;
        }
        printf("requests %ld, replies %ld\n", sent, l.n);
        close(fd);
        free(l.buf);
        return 0;
}

static int usage(void) {
        fprintf(stderr, "usage: br-send SOCKET [LINES] < request | -c SOCKET < bytes | -p N SECONDS SOCKET < request\n");
        return 2;
}

static int set_path(const char *path) {
        if (strlen(path) >= sizeof sa.sun_path)
                return -1;
        strcpy(sa.sun_path, path);
        return 0;
}

int main(int argc, char **argv) {
        char buf[65536];
        long want, got = 0;
        ssize_t n;
        int fd;

        signal(SIGPIPE, SIG_IGN);
        if (argc == 3 && strcmp(argv[1], "-c") == 0)
                return set_path(argv[2]) < 0 ? usage() : one_case();
        if (argc == 5 && strcmp(argv[1], "-p") == 0)
                return set_path(argv[4]) < 0 ? usage()
                                              : pipelined(strtol(argv[2], NULL, 10), strtod(argv[3], NULL));
        if (argc < 2 || set_path(argv[1]) < 0)
                return usage();
        want = argc > 2 ? strtol(argv[2], NULL, 10) : 1;
        fd = dial();
        if (fd < 0)
                return 1;
        while ((n = read(STDIN_FILENO, buf, sizeof buf)) > 0)
                if (write(fd, buf, (size_t) n) != n)
                        return 1;
        while (got < want && (n = read(fd, buf, sizeof buf)) > 0) {
                fwrite(buf, 1, (size_t) n, stdout);
                for (ssize_t i = 0; i < n; i++)
                        if (buf[i] == '\n')
                                got++;
        }
        fflush(stdout);
        return got >= want ? 0 : 1;
}
