/* json.h: building and reading JSON with json-c, with errors that name the
 * field at fault ("tasks[3].argv[2]: must be a string").  The protocol
 * (protocol.c) is built on it, and the database (db.c) keeps argv and env as
 * JSON text through json_strv_to_text() / json_strv_from_text().  Only this
 * module and protocol.c call json-c; users of this header need not its
 * include path (objects are struct json_object *).
 *
 * Conventions: a "what" or "where" argument is the label of the value in
 * error messages.  Readers take a char **e (may be NULL) that receives one
 * line for a person, and return -EINVAL for a bad value or -ENOMEM (then *e
 * may stay NULL).  Adders take ownership of the value they add; a NULL value
 * means its allocation failed, and they return -ENOMEM. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "util.h"

struct json_object;

/* Releases a reference; for _cleanup_(json_putp). */
void json_putp(struct json_object **o);

/* ---- error messages ---- */

/* Sets *ret_error (if wanted) and returns r.  Only -ENOMEM comes back
 * without a message. */
int json_fail(char **ret_error, int r, const char *fmt, ...) _printf_(3, 4);

/* A user's string, short and printable, in quotes, for an error message:
 * cut at a character boundary, control characters and bytes that are not
 * UTF-8 shown as '?', so that the message is UTF-8 whatever s holds. */
#define JSON_QUOTE_MAX 64
const char *json_quote(char *buf, size_t size, const char *s);
#define JSON_QUOTE(s) json_quote((char[JSON_QUOTE_MAX]) {}, JSON_QUOTE_MAX, (s))

/* "tasks[3].argv[2]" from where "tasks[3]", field "argv", index 2 (-1: no
 * index); where may be "". */
#define JSON_LABEL_MAX 96
const char *json_label(char *buf, size_t size, const char *where, const char *field, ssize_t index);
#define JSON_LABEL(where, field) json_label((char[JSON_LABEL_MAX]) {}, JSON_LABEL_MAX, (where), (field), -1)
#define JSON_LABEL_AT(where, field, i) \
        json_label((char[JSON_LABEL_MAX]) {}, JSON_LABEL_MAX, (where), (field), (ssize_t) (i))

/* ---- building ---- */

/* Adds v (owned) under key, a string literal. */
int json_add(struct json_object *o, const char *key, struct json_object *v);
int json_add_null(struct json_object *o, const char *key);
/* NULL s: null */
int json_add_str(struct json_object *o, const char *key, const char *s);
int json_add_i64(struct json_object *o, const char *key, int64_t v);
int json_add_u64(struct json_object *o, const char *key, uint64_t v);
/* For fields where 0 means "unknown" or "none": null then. */
int json_add_u64_or_null(struct json_object *o, const char *key, uint64_t v);
int json_add_bool(struct json_object *o, const char *key, bool v);
/* Appends v (owned) to the array a. */
int json_array_add(struct json_object *a, struct json_object *v);

/* The strv <-> JSON pair.  An array of the strings (NULL l: []), or NULL on
 * ENOMEM or a string longer than INT_MAX. */
struct json_object *json_new_strv(char * const *l);
/* NULL l: null; for argv-like fields where "none" differs from "empty". */
int json_add_strv(struct json_object *o, const char *key, char * const *l);
/* An array of at most max_n strings without NUL into a new strv. */
int json_get_strv(struct json_object *v, const char *what, size_t max_n, char ***ret, char **e);

/* The same as one line of text ("/usr/bin/x", not "\/usr\/bin\/x"):
 * -E2BIG for a string longer than INT_MAX; reading, -EBADMSG for anything
 * but an array of strings without NUL. */
int json_strv_to_text(char * const *l, char **ret);
int json_strv_from_text(const char *text, char ***ret);
/* An array of integers as such a line ("[1,2]"; n 0: NULL), and back: at
 * most max_n integers in [min, max], else -EBADMSG; *ret NULL for []. */
int json_ints_to_text(const int64_t *v, size_t n, char **ret);
int json_ints_from_text(const char *text, int64_t min, int64_t max, size_t max_n, int64_t **ret, size_t *ret_n);

/* The text of o (owned by o) without a newline; NULL on ENOMEM. */
const char *json_serialize(struct json_object *o, size_t *ret_len);
/* The text of o as a malloc'd line with its '\n'; consumes o (may be NULL:
 * then NULL). */
char *json_line(struct json_object *o);

/* ---- reading ---- */

/* The value of key; NULL when absent or null (the same to us). */
struct json_object *json_field(struct json_object *o, const char *key);
/* An integer in [min, max]; every integer of the protocol fits int64. */
int json_get_int(struct json_object *v, const char *what, int64_t min, int64_t max, int64_t *ret, char **e);
int json_get_bool(struct json_object *v, const char *what, bool *ret, char **e);
/* A string without NUL, malloc'd. */
int json_get_string(struct json_object *v, const char *what, char **ret, char **e);
/* Every key of the object o is one of allowed (NULL-terminated). */
int json_check_fields(struct json_object *o, const char * const *allowed, const char *where, char **e);

/* One JSON object from one line of text, len bytes, nested at most depth
 * deep, parsed strictly.  -E2BIG for len > INT_MAX; -EBADMSG for a NUL
 * byte, an empty line, invalid JSON, more after the value, or a value that
 * is not an object.  what names the line in messages ("request"). */
int json_from_line(const char *line, size_t len, const char *what, int depth, struct json_object **ret, char **e);
/* -EBADMSG if the text s, len bytes, holds more than max objects and
 * arrays; for a line json_from_line() would otherwise have json-c build
 * in full. */
int json_check_containers(const char *s, size_t len, size_t max, const char *what, char **e);
/* Refuses "\uD800".."\uDFFF" escapes that are not a high-low pair, which
 * json-c would replace with U+FFFD; for text json-c accepted. */
int json_check_surrogates(const char *s, size_t len, char **e);
