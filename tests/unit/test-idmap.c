/* test-idmap.c: the id map against a plain array, through many random
 * puts and removes (collisions and wrap-around included). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "check.h"
#include "idmap.h"

#define N 20000

int main(void) {
        static void *ref[N + 1];
        IdMap m = {};
        unsigned seed = 1;
        size_t count = 0;

        CHECK(idmap_get(&m, 1) == NULL);
        CHECK(idmap_remove(&m, 1) == NULL);
        CHECK(idmap_put(&m, 0, &m) == -EINVAL);
        for (int round = 0; round < 200000; round++) {
                int64_t id = 1 + (int64_t) (rand_r(&seed) % N);
                if (rand_r(&seed) % 3) {
                        CHECK(idmap_put(&m, id, &ref[id]) == 0);
                        if (!ref[id])
                                count++;
                        ref[id] = &ref[id];
                } else {
                        CHECK(idmap_remove(&m, id) == ref[id]);
                        if (ref[id])
                                count--;
                        ref[id] = NULL;
                }
        }
        CHECK(m.n == count);
        for (int64_t id = 1; id <= N; id++)
                CHECK(idmap_get(&m, id) == ref[id]);
        for (int64_t id = 1; id <= N; id++)
                (void) idmap_remove(&m, id);
        CHECK(m.n == 0);
        idmap_done(&m);
        CHECK_DONE();
}
