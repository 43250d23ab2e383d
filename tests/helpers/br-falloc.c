/* br-falloc.c: what a task can do to its own stdout without reopening it:
 * fallocate(FD, FALLOC_FL_KEEP_SIZE, 0, BYTES), blocks past the end that
 * its size does not show (hostile-privacy.sh).  Exit 0 when it allocated. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/falloc.h>

int main(int argc, char **argv) {
        if (argc != 3) {
                fprintf(stderr, "usage: br-falloc FD BYTES\n");
                return 2;
        }
        if (fallocate(atoi(argv[1]), FALLOC_FL_KEEP_SIZE, 0, strtoll(argv[2], NULL, 10)) < 0) {
                perror("fallocate");
                return 1;
        }
        return 0;
}
