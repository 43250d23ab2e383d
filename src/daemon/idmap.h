/* idmap.h: task id -> pointer, in constant time: the manager finds a live
 * task by id for every cancel, show and event, and a cancel may name 10 000
 * ids among 100 000 queued tasks.  Open addressing with linear probing and
 * backward-shift deletion (no tombstones); ids are positive. */
#pragma once

#include <stddef.h>
#include <stdint.h>

typedef struct IdMap {
        int64_t *keys;         /* 0 = empty slot */
        void **values;
        size_t n, size;        /* size: 0 or a power of two */
} IdMap;

/* -ENOMEM, -EINVAL for an id <= 0; replaces the value of a present id. */
int idmap_put(IdMap *m, int64_t id, void *value);
void *idmap_get(const IdMap *m, int64_t id);
/* Returns the value removed, NULL if id was not there. */
void *idmap_remove(IdMap *m, int64_t id);
void idmap_done(IdMap *m);
