/* retention.c: bounds on what finished tasks leave (see retention.h).
 *
 * The daemon removes only what it made: output directories are root's, with
 * root's files in them (taskdir.c), so removing them follows nothing a user
 * controls.  Each removal is noted in the task's row (output_removed_at_us)
 * in batches, one transaction each. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "retention.h"
#include "taskdir.h"
#include "util.h"

/* Rows read and removed per step. */
#define STEP 256

typedef struct Use {
        uid_t uid;
        uint64_t bytes;
} Use;

struct Retention {
        Db *db;
        int output_fd;
        RetentionConfig config;
        Use *uses;
        size_t n_uses, alloc_uses;
        uint64_t total;              /* all users' kept output */
};

static Use *use_of(Retention *r, uid_t uid, bool make) {
        for (size_t i = 0; i < r->n_uses; i++)
                if (r->uses[i].uid == uid)
                        return &r->uses[i];
        if (!make)
                return NULL;
        if (r->n_uses == r->alloc_uses) {
                size_t a = r->alloc_uses ? r->alloc_uses * 2 : 8;
                Use *p = realloc(r->uses, a * sizeof *p);
                if (!p)
                        return NULL;
                r->uses = p;
                r->alloc_uses = a;
        }
        r->uses[r->n_uses] = (Use) { .uid = uid };
        return &r->uses[r->n_uses++];
}

static void on_total(void *userdata, uid_t uid, uint64_t bytes) {
        retention_added(userdata, uid, bytes);
}

int retention_new(Db *db, int output_fd, const RetentionConfig *config, Retention **ret) {
        Retention *r = calloc(1, sizeof *r);
        int e;

        if (!r)
                return -ENOMEM;
        r->db = db;
        r->output_fd = output_fd;
        r->config = *config;
        e = db_output_totals(db, on_total, r);
        if (e < 0) {
                retention_free(r);
                return e;
        }
        *ret = r;
        return 0;
}

Retention *retention_free(Retention *r) {
        if (!r)
                return NULL;
        free(r->uses);
        free(r);
        return NULL;
}

void retention_added(Retention *r, uid_t uid, uint64_t bytes) {
        Use *u = use_of(r, uid, true);

        /* out of memory: the next start counts it again */
        if (u)
                u->bytes += bytes;
        r->total += bytes;
}

uint64_t retention_kept(const Retention *r, uid_t uid) {
        for (size_t i = 0; i < r->n_uses; i++)
                if (r->uses[i].uid == uid)
                        return r->uses[i].bytes;
        return 0;
}

static void forget(Retention *r, uid_t uid, uint64_t bytes) {
        Use *u = use_of(r, uid, false);

        if (u)
                u->bytes = u->bytes > bytes ? u->bytes - bytes : 0;
        r->total = r->total > bytes ? r->total - bytes : 0;
}

/* Removes the output of v[0..n) (those that have it) and notes it. */
static int remove_outputs(Retention *r, const DbOutput *v, size_t n, uint64_t now, RetentionReport *rep) {
        _cleanup_(freep) int64_t *ids = calloc(n ? n : 1, sizeof *ids);
        size_t k = 0;
        int e;

        if (!ids)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                if (!v[i].has_output)
                        continue;
                e = taskdir_remove_output(r->output_fd, v[i].id);
                if (e < 0) {
                        /* noted as removed all the same: retried forever it
                         * would hold up every later one */
                        rep->remove_failures++;
                        rep->error = e;
                }
                ids[k++] = v[i].id;
                forget(r, v[i].uid, v[i].bytes);
                rep->outputs_removed++;
                rep->output_bytes_freed += v[i].bytes;
        }
        return k > 0 ? db_output_removed(r->db, ids, k, now) : 0;
}

uint64_t retention_make_room(Retention *r, uid_t uid, uint64_t running, uint64_t now_usec,
                             RetentionReport *rep) {
        uint64_t max = r->config.max_user_output;

        if (max == 0)
                return UINT64_MAX;
        while (retention_kept(r, uid) > 0 && retention_kept(r, uid) + running > max) {
                _cleanup_(freep) DbOutput *v = NULL;
                size_t n = 0;
                int e;

                e = db_kept_outputs(r->db, false, uid, 0, STEP, &v, &n);
                if (e < 0) {
                        rep->error = e;
                        break;
                }
                if (n == 0) {
                        /* the count was off (a row without output_bytes) */
                        Use *u = use_of(r, uid, false);
                        if (u)
                                u->bytes = 0;
                        break;
                }
                /* only as many as it takes */
                size_t need = 0;
                uint64_t kept = retention_kept(r, uid);
                while (need < n && kept + running > max) {
                        kept = kept > v[need].bytes ? kept - v[need].bytes : 0;
                        need++;
                }
                e = remove_outputs(r, v, need, now_usec, rep);
                if (e < 0) {
                        rep->error = e;
                        break;
                }
        }
        return retention_kept(r, uid) >= max ? 0 : max - retention_kept(r, uid);
}

/* Output older than keep_output_usec, then the oldest while all kept
 * output passes keep_output_bytes. */
static int prune_output(Retention *r, uint64_t now, size_t *budget, RetentionReport *rep) {
        while (*budget > 0) {
                _cleanup_(freep) DbOutput *v = NULL;
                uint64_t before = 0;
                size_t n = 0, take;
                int e;

                if (r->config.keep_output_usec > 0 && now > r->config.keep_output_usec)
                        before = now - r->config.keep_output_usec;
                bool by_size = r->config.keep_output_bytes > 0 && r->total > r->config.keep_output_bytes;
                if (before == 0 && !by_size)
                        return 0;
                e = db_kept_outputs(r->db, true, 0, by_size ? 0 : before, *budget < STEP ? *budget : STEP,
                                    &v, &n);
                if (e < 0)
                        return e;
                if (n == 0)
                        return 0;
                take = n;
                if (by_size) {
                        /* the old ones by age, then as many as the size needs */
                        uint64_t total = r->total;
                        take = 0;
                        while (take < n && ((before && v[take].ended_usec < before) ||
                                            total > r->config.keep_output_bytes)) {
                                total = total > v[take].bytes ? total - v[take].bytes : 0;
                                take++;
                        }
                        if (take == 0)
                                return 0;
                }
                e = remove_outputs(r, v, take, now, rep);
                if (e < 0)
                        return e;
                *budget -= take;
                if (take < n)
                        return 0;
        }
        return 1;
}

static int delete_rows(Retention *r, const DbOutput *v, size_t n, uint64_t now, RetentionReport *rep) {
        _cleanup_(freep) int64_t *ids = calloc(n ? n : 1, sizeof *ids);
        int e;

        if (!ids)
                return -ENOMEM;
        e = remove_outputs(r, v, n, now, rep);
        if (e < 0)
                return e;
        for (size_t i = 0; i < n; i++)
                ids[i] = v[i].id;
        e = db_delete_finished(r->db, ids, n);
        if (e < 0)
                return e;
        rep->rows_deleted += n;
        return 0;
}

/* Rows older than keep_tasks_usec; then, while the database passes
 * keep_tasks_bytes, the oldest rows of whoever's history is largest. */
static int prune_rows(Retention *r, uint64_t now, size_t *budget, RetentionReport *rep) {
        if (r->config.keep_tasks_usec > 0 && now > r->config.keep_tasks_usec)
                while (*budget > 0) {
                        _cleanup_(freep) DbOutput *v = NULL;
                        size_t n = 0;
                        int e = db_oldest_finished(r->db, true, 0, now - r->config.keep_tasks_usec,
                                                   *budget < STEP ? *budget : STEP, &v, &n);
                        if (e < 0)
                                return e;
                        if (n == 0)
                                break;
                        e = delete_rows(r, v, n, now, rep);
                        if (e < 0)
                                return e;
                        *budget -= n;
                }
        if (r->config.keep_tasks_bytes == 0)
                return *budget > 0 ? 0 : 1;
        while (*budget > 0) {
                _cleanup_(freep) DbOutput *v = NULL;
                uint64_t used, bytes, share;
                unsigned users;
                uid_t uid;
                size_t n = 0;
                int e;

                e = db_used_bytes(r->db, &used);
                if (e < 0)
                        return e;
                if (used <= r->config.keep_tasks_bytes)
                        return 0;
                e = db_largest_history(r->db, &uid, &bytes, &users);
                if (e == -ENOENT)
                        return 0;   /* all of it queued or running: nothing of ours to drop */
                if (e < 0)
                        return e;
                /* Nobody's history goes below an equal share of SIZE: the
                 * rest is queued or running (bounded by --max-queued-bytes)
                 * or the sqlite file's own. */
                share = r->config.keep_tasks_bytes / (users ? users : 1);
                if (bytes <= share)
                        return 0;
                e = db_oldest_finished(r->db, false, uid, 0, *budget < STEP ? *budget : STEP, &v, &n);
                if (e < 0)
                        return e;
                if (n == 0)
                        return 0;
                /* down to the share, not past it */
                size_t take = 0;
                while (take < n && bytes > share) {
                        bytes = bytes > v[take].row_bytes ? bytes - v[take].row_bytes : 0;
                        take++;
                }
                e = delete_rows(r, v, take, now, rep);
                if (e < 0)
                        return e;
                *budget -= take;
        }
        return 1;
}

int retention_prune(Retention *r, uint64_t now_usec, size_t max_items, RetentionReport *rep) {
        size_t budget = max_items;
        int e;

        e = prune_output(r, now_usec, &budget, rep);
        if (e < 0)
                return e;
        if (budget == 0)
                return 1;
        return prune_rows(r, now_usec, &budget, rep);
}
