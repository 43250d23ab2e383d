/* br-send.c: sends raw bytes (stdin) to a benchrunner socket and prints the
 * daemon's answer lines, so tests can speak the protocol badly on purpose.
 *   br-send SOCKET [LINES]   read LINES answer lines (default 1), then exit */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char buf[65536];
        long want = argc > 2 ? strtol(argv[2], NULL, 10) : 1, got = 0;
        ssize_t n;
        int fd;

        if (argc < 2 || strlen(argv[1]) >= sizeof sa.sun_path) {
                fprintf(stderr, "usage: br-send SOCKET [LINES] < request\n");
                return 2;
        }
        strcpy(sa.sun_path, argv[1]);
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                fprintf(stderr, "br-send: %s: %s\n", argv[1], strerror(errno));
                return 1;
        }
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
