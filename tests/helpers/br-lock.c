/* br-lock.c: holds a POSIX read lock on some bytes of a file, as any local
 * user could on a file they may read, for the tests of a daemon that must
 * not be stopped by it.
 *   br-lock FILE OFFSET LENGTH SECONDS [STOPFILE]
 * Prints "locked" (or why not, exit 1) and holds the lock for SECONDS, or
 * until STOPFILE exists. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
        struct flock fl = { .l_type = F_RDLCK, .l_whence = SEEK_SET };
        int fd;

        if (argc != 5 && argc != 6) {
                fprintf(stderr, "usage: br-lock FILE OFFSET LENGTH SECONDS [STOPFILE]\n");
                return 2;
        }
        fl.l_start = strtol(argv[2], NULL, 0);
        fl.l_len = strtol(argv[3], NULL, 0);
        fd = open(argv[1], O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                printf("cannot open %s: %s\n", argv[1], strerror(errno));
                return 1;
        }
        if (fcntl(fd, F_SETLK, &fl) < 0) {
                printf("cannot lock %s: %s\n", argv[1], strerror(errno));
                return 1;
        }
        printf("locked %s\n", argv[1]);
        fflush(stdout);
        for (unsigned long i = 0; i < 10 * strtoul(argv[4], NULL, 10); i++) {
                if (argc == 6 && access(argv[5], F_OK) == 0)
                        break;
                usleep(100 * 1000);
        }
        return 0;
}
