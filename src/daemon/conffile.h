/* conffile.h: benchrunnerd.conf, the daemon's settings file, read into the
 * command-line options it stands for ("memory = 16G" is --memory=16G), so
 * that one popt table parses and checks both, and the command line, which
 * comes after, wins.  Pure logic, never logs; benchrunnerd.conf(5) is the
 * format. */
#pragma once

#include <stdbool.h>

#define CONF_FILE_MAX (64 * 1024)   /* bytes */
#define CONF_LINE_MAX 4096

/* A setting the file may hold: the long option's name, and whether it takes
 * a value (else it is a yes/no switch). */
typedef struct ConfKey {
        const char *name;
        bool has_value;
} ConfKey;

/* Reads the settings in path (keys: n of them) into *ret_args, a
 * NULL-terminated strv of options ("--memory=16G", "--requeue-interrupted"
 * for a "yes"; nothing for a "no").  -ENOENT if there is no such file (the
 * caller decides whether that is an error); -EINVAL with a malloc'd
 * "LINE: what is wrong" in *ret_error for an unknown key, a key set twice, a
 * line that is no "key = value", a switch that is neither yes nor no; -EFBIG
 * for a file or a line over the limits above. */
int conf_read(const char *path, const ConfKey *keys, unsigned n, char ***ret_args, char **ret_error);
