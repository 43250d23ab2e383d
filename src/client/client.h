/* client.h: what the command-line programs share: the connection to the
 * daemon (one request line out, reply and event lines in), listing tasks
 * page by page, resolving a command against PATH at submit time, and a few
 * bits of formatting for people. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "linebuf.h"
#include "protocol.h"

typedef struct Client {
        int fd;
        LineBuf in;
} Client;

/* The socket: --socket if given, else $BENCHRUNNER_SOCKET, else the
 * configured default. */
const char *client_socket_path(const char *arg);

/* Connects; on failure prints one line on stderr naming the socket.  Every
 * line on stderr here is cli_error()'s: "PROG: ...". */
int client_connect(const char *path, Client *ret);

/* The same without a word: a negative errno (-ENOENT, -ECONNREFUSED: no
 * daemon there). */
int client_connect_quiet(const char *path, Client *ret);
/* Whether client_connect_quiet()'s r says that no daemon is there
 * (-ENOENT, -ECONNREFUSED): where br-list, br-show and br-log read the
 * history copy instead (histdb.h). */
bool client_no_daemon(int r);
/* client_connect()'s line on stderr for client_connect_quiet()'s r, and r
 * back (0 for 0). */
int client_connect_error(const char *path, int r);
void client_close(Client *c);

/* Sends one formatted line (with its '\n'). */
int client_send(Client *c, const char *line);
/* Blocks for the next line from the daemon and parses it. -ECONNRESET when
 * the daemon closed the connection. */
int client_receive(Client *c, ProtoMessage **ret);

/* Sends req and waits for its reply (events before it are skipped).  An
 * error reply becomes one line on stderr and -EREMOTEIO. */
int client_call(Client *c, const ProtoRequest *req, ProtoMessage **ret);

/* Resolves a command name as execvp() would, against $PATH and the current
 * directory, into an absolute path (malloc'd). -ENOENT / -EACCES. */
int client_resolve_command(const char *name, char **ret);

/* Lists the tasks req selects, every page of them: asks again with after_id
 * set to the last id while the daemon says "more".  Appends to *tasks (a
 * malloc'd array of *n tasks, both may start out NULL/0). */
int client_list(Client *c, const ProtoRequest *req, Task ***tasks, size_t *n);
void client_tasks_free(Task **tasks, size_t n);

/* "SIGKILL" for 9; "SIG40" for a signal without a name here. */
const char *client_signal_name(int sig, char *buf, size_t len);

/* Columns s takes on a terminal in the current locale; a byte that is not
 * part of a character counts as one. */
size_t client_text_width(const char *s);

struct json_object;
/* o as one JSON line on stdout, DEL and the C1 controls in its strings
 * written as \u escapes (escape_json()): the same JSON, safe on a
 * terminal. -ENOMEM. */
int client_print_json(struct json_object *o);

/* A cancel, hold or release request for ids, PROTO_IDS_MAX to a request:
 * for each task "cancelled task ID" (held, released) on stdout, or the
 * daemon's reason on stderr.  0 when every one was done, -EREMOTEIO when some were refused
 * (each said), or another negative errno when the daemon could not be
 * asked. */
int client_ids_request(Client *c, ProtoOp op, const int64_t *ids, size_t n);

/* Task ids from the command line, sorted, each once; a word that is not an
 * id is a usage error (said). */
int client_parse_ids(const char * const *args, int64_t **ret, size_t *ret_n);

/* WHEN of --since and --until: a duration before now ("2h", "3d"), or a
 * local time "YYYY-MM-DD", "YYYY-MM-DD HH:MM" or "YYYY-MM-DD HH:MM:SS" (a
 * "T" for the blank too), as microseconds since the epoch; opt names the
 * option in the message of a bad one (a usage error, said). */
int client_parse_when(const char *opt, const char *s, uint64_t *ret);

/* --user: a user name or a uid (a usage error, said, for neither). */
int client_parse_user(const char *s, uid_t *ret);
/* --user or --mine (not both): whose tasks; *ret_has_uid false for anybody's. */
int client_parse_who(const char *user, bool mine, bool *ret_has_uid, uid_t *ret_uid);

/* A comma-separated list given to the option opt: sizes ("2G,4G") or task
 * ids ("12,13"), at most max of them, into a malloc'd array.  A bad one is
 * a usage error (said). */
int client_parse_sizes(const char *opt, const char *list, size_t max, uint64_t **ret, size_t *ret_n);
int client_parse_id_list(const char *opt, const char *list, size_t max, int64_t **ret, size_t *ret_n);

/* br-run -w and br-retry -w exit with the task's status: its exit code;
 * 128+N for signal N; 124 for the time limit (as timeout(1)); 137 for OOM
 * (the kernel's SIGKILL); 130 when cancelled; 127 when it could not start;
 * 126 when a dependency failed (--after-ok); 125 when interrupted. */
int client_exit_status(const Task *t);
/* One line on stderr: "task 12 exited 0 after 1.2s on CPUs 3", then one
 * per warning the daemon recorded: "task 12: warning: boost is on ...". */
void client_say_end(const Task *t);
/* One line on stderr for a task that ended with a next attempt queued:
 * "task 12 ran out of memory (2.0G): retried as task 13 with 4.0G". */
void client_say_next_attempt(const Task *t);

/* -m, -t and --cleanup-time-limit as br-run and br-retry take them (NULL:
 * not given, the task's value stays): a bad one is a usage error (said). */
int client_set_limits(Task *t, const char *memory, const char *time_limit, const char *cleanup_time_limit);
