/* server.h: the daemon's unix socket: clients, their requests (JSON lines,
 * see protocol.h) and the events sent to clients that follow tasks or the
 * queue's counters. */
#pragma once

#include <systemd/sd-event.h>

#include "protocol.h"
#include "task.h"

typedef struct Manager Manager;
typedef struct Server Server;

/* Whether path is free to listen on: 0 if nothing is there, 1 if a stale
 * socket is (nobody listens on it: server_new() replaces it), or a negative
 * errno, logged: -EADDRINUSE when something listens there (another
 * benchrunnerd), -EEXIST when it is not a socket. */
int server_check_path(const char *path);

/* Listens on path (created with mode 0666: who may do what is decided from
 * each connection's peer credentials); refuses as server_check_path()
 * does. */
int server_new(sd_event *event, Manager *m, const char *path, Server **ret);
Server *server_free(Server *s);
static inline void server_freep(Server **s) {
        if (*s)
                server_free(*s);
}

/* The manager's listener (manager_listener_t; userdata is the Server):
 * tells the clients that follow t of e, and those that follow the counters
 * of stats when they differ from the last ones sent. */
void server_announce(void *userdata, ProtoEvent e, const Task *t, const ProtoStats *stats);
