/* idmap.c: see idmap.h. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "idmap.h"

static size_t slot(const IdMap *m, int64_t id) {
        uint64_t h = (uint64_t) id * UINT64_C(0x9E3779B97F4A7C15);   /* Fibonacci hashing */
        return (size_t) (h >> 32) & (m->size - 1);
}

static int grow(IdMap *m) {
        size_t size = m->size ? m->size * 2 : 64;
        int64_t *keys = calloc(size, sizeof(int64_t));
        void **values = calloc(size, sizeof(void *));
        IdMap n = { keys, values, 0, size };

        if (!keys || !values) {
                free(keys);
                free(values);
                return -ENOMEM;
        }
        for (size_t i = 0; i < m->size; i++)
                if (m->keys[i])
                        (void) idmap_put(&n, m->keys[i], m->values[i]);
        free(m->keys);
        free(m->values);
        *m = n;
        return 0;
}

int idmap_put(IdMap *m, int64_t id, void *value) {
        size_t i;
        int r;

        if (id <= 0)
                return -EINVAL;
        /* at most 3/4 full */
        if ((m->n + 1) * 4 > m->size * 3) {
                r = grow(m);
                if (r < 0)
                        return r;
        }
        for (i = slot(m, id); m->keys[i]; i = (i + 1) & (m->size - 1))
                if (m->keys[i] == id) {
                        m->values[i] = value;
                        return 0;
                }
        m->keys[i] = id;
        m->values[i] = value;
        m->n++;
        return 0;
}

void *idmap_get(const IdMap *m, int64_t id) {
        if (m->size == 0 || id <= 0)
                return NULL;
        for (size_t i = slot(m, id); m->keys[i]; i = (i + 1) & (m->size - 1))
                if (m->keys[i] == id)
                        return m->values[i];
        return NULL;
}

void *idmap_remove(IdMap *m, int64_t id) {
        size_t i, j, mask = m->size - 1;
        void *v;

        if (m->size == 0 || id <= 0)
                return NULL;
        for (i = slot(m, id); m->keys[i] != id; i = (i + 1) & mask)
                if (!m->keys[i])
                        return NULL;
        v = m->values[i];
        /* shift back the entries of the run after i that may move into it */
        for (j = (i + 1) & mask; m->keys[j]; j = (j + 1) & mask) {
                size_t home = slot(m, m->keys[j]);
                /* j's entry may fill i unless its home lies cyclically in (i, j] */
                if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
                        m->keys[i] = m->keys[j];
                        m->values[i] = m->values[j];
                        i = j;
                }
        }
        m->keys[i] = 0;
        m->values[i] = NULL;
        m->n--;
        return v;
}

void idmap_done(IdMap *m) {
        free(m->keys);
        free(m->values);
        *m = (IdMap) {};
}
