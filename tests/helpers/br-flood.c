/* br-flood.c: a client that costs the daemon what it can, for
 * tests/integration/hostile-conns.sh.
 *   br-flood SOCKET SECONDS IDLE PARTIAL BYTES
 *       opens PARTIAL connections that each send BYTES with no newline, then
 *       IDLE that send nothing; keeps them SECONDS, reading (and counting)
 *       whatever the daemon says, then prints how many the daemon closed.
 *   br-flood SOCKET SECONDS mute < request
 *       sends the request, reads nothing for SECONDS, then reads what is
 *       there and prints "dropped" if the daemon closed the connection,
 *       "open" if not. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_un sa = { .sun_family = AF_UNIX };

static int dial(void) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        (void) fcntl(fd, F_SETFL, O_NONBLOCK);
        return fd;
}

static double now(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int mute(double seconds) {
        char buf[65536];
        long got = 0;
        ssize_t n;
        int fd = dial();

        if (fd < 0) {
                fprintf(stderr, "br-flood: connect: %s\n", strerror(-fd));
                return 1;
        }
        (void) fcntl(fd, F_SETFL, 0);
        while ((n = read(STDIN_FILENO, buf, sizeof buf)) > 0)
                if (write(fd, buf, (size_t) n) != n)
                        return 1;
        usleep((useconds_t) (seconds * 1e6));
        (void) fcntl(fd, F_SETFL, O_NONBLOCK);
        for (;;) {
                n = read(fd, buf, sizeof buf);
                if (n > 0) {
                        got += n;
                        continue;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                /* drain what the kernel still gets from the daemon */
                if (n < 0 && errno == EAGAIN) {
                        struct pollfd p = { .fd = fd, .events = POLLIN };
                        if (poll(&p, 1, 500) > 0)
                                continue;
                }
                break;
        }
        printf("%s after %ld bytes\n", n < 0 && errno == EAGAIN ? "open" : "dropped", got);
        return 0;
}

int main(int argc, char **argv) {
        static char chunk[65536];
        struct rlimit rl;
        double end;
        long idle, partial, bytes, opened = 0, refused = 0, closed = 0, lines = 0;
        long long sent_total = 0;
        struct pollfd *p;
        long *left;
        char first[256] = "";
        size_t n_conns;

        signal(SIGPIPE, SIG_IGN);
        if (argc < 4 || strlen(argv[1]) >= sizeof sa.sun_path ||
            (strcmp(argv[3], "mute") != 0 && argc < 6)) {
                fprintf(stderr, "usage: br-flood SOCKET SECONDS IDLE PARTIAL BYTES | SOCKET SECONDS mute\n");
                return 2;
        }
        strcpy(sa.sun_path, argv[1]);
        end = now() + strtod(argv[2], NULL);
        if (strcmp(argv[3], "mute") == 0)
                return mute(strtod(argv[2], NULL));
        idle = strtol(argv[3], NULL, 10);
        partial = strtol(argv[4], NULL, 10);
        bytes = strtol(argv[5], NULL, 10);
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
                rl.rlim_cur = rl.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
        }
        memset(chunk, 'a', sizeof chunk);
        n_conns = (size_t) (idle + partial);
        p = calloc(n_conns, sizeof *p);
        left = calloc(n_conns, sizeof *left);
        if (!p || !left)
                return 1;
        for (size_t i = 0; i < n_conns; i++) {
                int fd = dial();
                p[i].fd = -1;
                if (fd < 0) {
                        refused++;
                        continue;
                }
                opened++;
                p[i].fd = fd;
                p[i].events = POLLIN;
                if (i < (size_t) partial) {
                        left[i] = bytes;
                        p[i].events |= POLLOUT;
                }
        }
        while (now() < end) {
                int k = poll(p, n_conns, 100);
                if (k <= 0)
                        continue;
                for (size_t i = 0; i < n_conns; i++) {
                        if (p[i].fd < 0 || !p[i].revents)
                                continue;
                        if (p[i].revents & POLLIN) {
                                char buf[4096];
                                ssize_t r = read(p[i].fd, buf, sizeof buf);
                                if (r > 0) {
                                        for (ssize_t j = 0; j < r; j++)
                                                lines += buf[j] == '\n';
                                        if (!first[0])
                                                snprintf(first, sizeof first, "%.*s", (int) (r > 200 ? 200 : r),
                                                         buf);
                                        continue;
                                }
                                if (r < 0 && errno == EAGAIN)
                                        continue;
                        } else if (p[i].revents & POLLOUT) {
                                size_t w = left[i] < (long) sizeof chunk ? (size_t) left[i] : sizeof chunk;
                                ssize_t r = write(p[i].fd, chunk, w);
                                if (r > 0) {
                                        left[i] -= r;
                                        sent_total += r;
                                        if (left[i] == 0)
                                                p[i].events = POLLIN;
                                        continue;
                                }
                                if (r < 0 && errno == EAGAIN)
                                        continue;
                        } else if (!(p[i].revents & (POLLHUP | POLLERR)))
                                continue;
                        close(p[i].fd);
                        p[i].fd = -1;
                        closed++;
                }
        }
        first[strcspn(first, "\n")] = 0;
        printf("connections: %ld opened, %ld refused at connect, %ld closed by the daemon, %ld still open; "
               "%lld MiB sent, %ld lines received%s%s\n",
               opened, refused, closed, opened - closed, sent_total >> 20, lines, first[0] ? ", first: " : "",
               first);
        free(p);
        free(left);
        return 0;
}
