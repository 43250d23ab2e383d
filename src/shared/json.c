/* json.c: json-c with labelled errors (json.h): adders that fail cleanly
 * on allocation, readers that check types and ranges and name the field,
 * and one JSON object from one line of text, checked for what json-c lets
 * through.
 *
 * Strings are byte strings: json-c passes bytes that are not UTF-8 through
 * unchanged both ways, which is what Unix arguments need.  Two things it does
 * not do for us: it decodes "\u0000" into a string that C cannot hold
 * (json_get_string() refuses it), and it silently turns a lone UTF-16
 * surrogate escape such as "\udc80" into U+FFFD, which would change an
 * argument without a word (json_check_surrogates() refuses those, before
 * json-c sees them). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "json.h"
#include "util.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define ADD_FLAGS (JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_KEY_IS_CONSTANT)

void json_putp(json_object **o) {
        (void) json_object_put(*o);
}

static void tokener_freep(json_tokener **t) {
        if (*t)
                json_tokener_free(*t);
}

/* ---- error messages ----
 * Those a client can show (a field of a batch line, a reply) are in _():
 * a client says them in its user's language, the daemon in English (it
 * sets LC_MESSAGES to C before it serves: docs/i18n.md).  Those only the
 * daemon says, about a request line, are not marked. */

int json_fail(char **ret_error, int r, const char *fmt, ...) {
        va_list ap;
        char *s;

        if (!ret_error)
                return r;
        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                s = NULL;
        va_end(ap);
        if (!s)
                return -ENOMEM;
        *ret_error = s;
        return r;
}

/* The length of the well-formed UTF-8 character at s, 0 if none starts
 * there (utf8_valid() says what is well-formed). */
static size_t utf8_char_len(const char *s) {
        unsigned char c = (unsigned char) s[0];
        size_t n = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 :
                   c >= 0xf0 && c <= 0xf4 ? 4 : 0;
        char one[5] = "";

        for (size_t k = 0; k < n; k++) {
                if (!s[k])
                        return 0;
                one[k] = s[k];
        }
        return n > 0 && utf8_valid(one, NULL) ? n : 0;
}

/* Control characters and bytes that are not UTF-8 become '?': the quote
 * goes into a reply, and a reply is UTF-8 text. */
const char *json_quote(char *buf, size_t size, const char *s) {
        size_t i = 0, j = 0;

        buf[j++] = '"';
        while (s[i]) {
                size_t n = utf8_char_len(s + i);

                /* room for the character, "...", '"' and NUL */
                if (j + (n ? n : 1) + 5 > size)
                        break;
                if (n > 1) {
                        memcpy(buf + j, s + i, n);
                        j += n;
                        i += n;
                        continue;
                }
                buf[j++] = n == 0 || (unsigned char) s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
                i++;
        }
        if (s[i]) {
                memcpy(buf + j, "...", 3);
                j += 3;
        }
        buf[j++] = '"';
        buf[j] = 0;
        return buf;
}
const char *json_label(char *buf, size_t size, const char *where, const char *field, ssize_t index) {
        int n = snprintf(buf, size, "%s%s%s", where, where[0] ? "." : "", field);
        if (index >= 0 && n >= 0 && (size_t) n < size)
                (void) snprintf(buf + n, size - (size_t) n, "[%zd]", index);
        return buf;
}
/* ---- building ---- */

int json_add(json_object *o, const char *key, json_object *v) {
        if (!v)
                return -ENOMEM;
        if (json_object_object_add_ex(o, key, v, ADD_FLAGS) < 0) {
                (void) json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

int json_add_null(json_object *o, const char *key) {
        return json_object_object_add_ex(o, key, NULL, ADD_FLAGS) < 0 ? -ENOMEM : 0;
}

int json_add_str(json_object *o, const char *key, const char *s) {
        return s ? json_add(o, key, json_object_new_string(s)) : json_add_null(o, key);
}

int json_add_i64(json_object *o, const char *key, int64_t v) {
        return json_add(o, key, json_object_new_int64(v));
}

int json_add_u64(json_object *o, const char *key, uint64_t v) {
        return json_add(o, key, json_object_new_uint64(v));
}

int json_add_u64_or_null(json_object *o, const char *key, uint64_t v) {
        return v ? json_add_u64(o, key, v) : json_add_null(o, key);
}

int json_add_bool(json_object *o, const char *key, bool v) {
        return json_add(o, key, json_object_new_boolean(v));
}

int json_array_add(json_object *a, json_object *v) {
        if (!v)
                return -ENOMEM;
        if (json_object_array_add(a, v) < 0) {
                (void) json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

json_object *json_new_strv(char * const *l) {
        _cleanup_(json_putp) json_object *a = json_object_new_array();

        if (!a)
                return NULL;
        for (size_t i = 0; l && l[i]; i++) {
                size_t len = strlen(l[i]);

                if (len > INT_MAX || json_array_add(a, json_object_new_string_len(l[i], (int) len)) < 0)
                        return NULL;
        }
        return TAKE_PTR(a);
}

int json_add_strv(json_object *o, const char *key, char * const *l) {
        return l ? json_add(o, key, json_new_strv(l)) : json_add_null(o, key);
}

const char *json_serialize(json_object *o, size_t *ret_len) {
        return json_object_to_json_string_length(o, JSON_FLAGS, ret_len);
}

char *json_line(json_object *o) {
        _cleanup_(json_putp) json_object *owned = o;
        const char *s;
        size_t len;
        char *line;

        if (!o)
                return NULL;
        s = json_serialize(o, &len);
        if (!s)
                return NULL;
        line = malloc(len + 2);
        if (!line)
                return NULL;
        memcpy(line, s, len);
        line[len] = '\n';
        line[len + 1] = 0;
        return line;
}

/* ---- reading ---- */

json_object *json_field(json_object *o, const char *key) {
        json_object *v = NULL;

        (void) json_object_object_get_ex(o, key, &v);
        return v;
}

/* json-c keeps integers as int64 or uint64 and saturates beyond; every
 * integer of the protocol fits in int64, so one reader does. */
int json_get_int(json_object *v, const char *what, int64_t min, int64_t max, int64_t *ret, char **e) {
        int64_t x;

        if (!json_object_is_type(v, json_type_int))
                return json_fail(e, -EINVAL, _("%s: must be an integer"), what);
        x = json_object_get_int64(v);
        if (x < min || x > max ||
            (x == INT64_MAX && json_object_get_uint64(v) != (uint64_t) INT64_MAX))
                return json_fail(e, -EINVAL, _("%s: must be between %" PRIi64 " and %" PRIi64 ", got %s"),
                                 what, min, max, json_object_to_json_string_ext(v, JSON_FLAGS));
        *ret = x;
        return 0;
}

int json_get_bool(json_object *v, const char *what, bool *ret, char **e) {
        if (!json_object_is_type(v, json_type_boolean))
                return json_fail(e, -EINVAL, _("%s: must be true or false"), what);
        *ret = json_object_get_boolean(v);
        return 0;
}

int json_get_string(json_object *v, const char *what, char **ret, char **e) {
        const char *s;
        size_t len;
        char *c;

        if (!json_object_is_type(v, json_type_string))
                return json_fail(e, -EINVAL, _("%s: must be a string"), what);
        s = json_object_get_string(v);
        len = (size_t) json_object_get_string_len(v);
        if (memchr(s, 0, len))
                return json_fail(e, -EINVAL, _("%s: must not contain NUL (\\u0000)"), what);
        c = strndup(s, len);
        if (!c)
                return -ENOMEM;
        *ret = c;
        return 0;
}

int json_get_strv(json_object *v, const char *what, size_t max_n, char ***ret, char **e) {
        _cleanup_(strv_freep) char **l = NULL;
        size_t n;
        int r;

        if (!json_object_is_type(v, json_type_array))
                return json_fail(e, -EINVAL, _("%s: must be an array of strings"), what);
        n = json_object_array_length(v);
        if (n > max_n)
                return json_fail(e, -EINVAL, _("%s: %zu entries, at most %zu"), what, n, max_n);
        l = calloc(n + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                r = json_get_string(json_object_array_get_idx(v, i),
                                    JSON_LABEL_AT("", what, i), &l[i], e);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

int json_strv_to_text(char * const *l, char **ret) {
        _cleanup_(json_putp) json_object *a = NULL;
        const char *s;

        for (size_t i = 0; l && l[i]; i++)
                if (strlen(l[i]) > INT_MAX)
                        return -E2BIG;
        a = json_new_strv(l);
        s = a ? json_serialize(a, NULL) : NULL;
        *ret = s ? strdup(s) : NULL;
        return *ret ? 0 : -ENOMEM;
}

int json_strv_from_text(const char *text, char ***ret) {
        _cleanup_(json_putp) json_object *a = json_tokener_parse(text);
        int r;

        if (!a)
                return -EBADMSG;
        r = json_get_strv(a, "", SIZE_MAX, ret, NULL);
        return r == -EINVAL ? -EBADMSG : r;
}

int json_ints_to_text(const int64_t *v, size_t n, char **ret) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f;

        if (n == 0) {
                *ret = NULL;
                return 0;
        }
        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%s%" PRIi64, i ? "," : "[", v[i]);
        fputc(']', f);
        if (fclose(f) != 0) {
                free(buf);
                return -ENOMEM;
        }
        *ret = buf;
        return 0;
}

int json_ints_from_text(const char *text, int64_t min, int64_t max, size_t max_n, int64_t **ret, size_t *ret_n) {
        _cleanup_(json_putp) json_object *a = json_tokener_parse(text);
        _cleanup_(freep) int64_t *v = NULL;
        size_t n;
        int r;

        if (!a || !json_object_is_type(a, json_type_array))
                return -EBADMSG;
        n = json_object_array_length(a);
        if (n > max_n)
                return -EBADMSG;
        if (n > 0 && !(v = calloc(n, sizeof *v)))
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                r = json_get_int(json_object_array_get_idx(a, i), "", min, max, &v[i], NULL);
                if (r < 0)
                        return r == -EINVAL ? -EBADMSG : r;
        }
        *ret = TAKE_PTR(v);
        *ret_n = n;
        return 0;
}

int json_check_fields(json_object *o, const char * const *allowed, const char *where, char **e) {
        struct json_object_iterator i = json_object_iter_begin(o), end = json_object_iter_end(o);

        for (; !json_object_iter_equal(&i, &end); json_object_iter_next(&i)) {
                const char *key = json_object_iter_peek_name(&i);
                bool found = false;

                for (size_t k = 0; allowed[k] && !found; k++)
                        found = strcmp(allowed[k], key) == 0;
                if (!found)
                        return json_fail(e, -EINVAL, _("%s: unknown field %s"), where, JSON_QUOTE(key));
        }
        return 0;
}

static bool is_space(char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int hex4(const char *s, size_t len, unsigned *ret) {
        unsigned v = 0;

        if (len < 4)
                return -EINVAL;
        for (size_t i = 0; i < 4; i++) {
                char c = s[i];
                unsigned d;
                if (c >= '0' && c <= '9')
                        d = (unsigned) (c - '0');
                else if (c >= 'a' && c <= 'f')
                        d = (unsigned) (c - 'a' + 10);
                else if (c >= 'A' && c <= 'F')
                        d = (unsigned) (c - 'A' + 10);
                else
                        return -EINVAL;
                v = v * 16 + d;
        }
        *ret = v;
        return 0;
}

/* Refuses "\uD800".."\uDFFF" escapes that are not a high-low pair, which
 * json-c would replace with U+FFFD (Python's default json.dumps writes
 * surrogateescape'd bytes that way).  Runs on text json-c accepted; json-c
 * also takes single-quoted strings, so both quotes are tracked. */
int json_check_surrogates(const char *s, size_t len, char **e) {
        char quote_char = 0;

        for (size_t i = 0; i < len; i++) {
                unsigned hi, lo;

                if (!quote_char) {
                        if (s[i] == '"' || s[i] == '\'')
                                quote_char = s[i];
                        continue;
                }
                if (s[i] == quote_char) {
                        quote_char = 0;
                        continue;
                }
                if (s[i] != '\\' || i + 1 >= len)
                        continue;
                i++;
                if (s[i] != 'u' || hex4(s + i + 1, len - i - 1, &hi) < 0)
                        continue;
                i += 4;
                if (hi < 0xd800 || hi > 0xdfff)
                        continue;
                if (hi <= 0xdbff && i + 6 < len && s[i + 1] == '\\' && s[i + 2] == 'u' &&
                    hex4(s + i + 3, len - i - 3, &lo) >= 0 && lo >= 0xdc00 && lo <= 0xdfff) {
                        i += 6;
                        continue;
                }
                return json_fail(e, -EINVAL,
                                 _("lone UTF-16 surrogate \\u%04x at byte %zu: send bytes that are not UTF-8 "
                                   "as they are, not as escapes (Python: json.dumps(..., ensure_ascii=False)"
                                   ".encode(\"utf-8\", \"surrogateescape\"))"), hi, i - 5);
        }
        return 0;
}

/* Counts before json-c builds anything: json-c gives every object a hash
 * table of its own and every array room for 32 values, about 750 and 300
 * bytes, so 8 MiB of "{}," would take 2 GiB and seconds to build.  Strict
 * JSON has only "..." strings, so a '{' or '[' outside them is a container
 * (and if the text is not JSON, json-c refuses it anyway). */
int json_check_containers(const char *s, size_t len, size_t max, const char *what, char **e) {
        bool in_string = false;
        size_t n = 0;

        for (size_t i = 0; i < len; i++) {
                char c = s[i];

                if (in_string) {
                        if (c == '\\')
                                i++;
                        else if (c == '"')
                                in_string = false;
                } else if (c == '"')
                        in_string = true;
                else if ((c == '{' || c == '[') && ++n > max)
                        return json_fail(e, -EBADMSG, "%s refused: more than %zu objects and arrays", what, max);
        }
        return 0;
}

int json_from_line(const char *line, size_t len, const char *what, int depth, json_object **ret, char **e) {
        _cleanup_(tokener_freep) json_tokener *tok = NULL;
        _cleanup_(json_putp) json_object *o = NULL;
        enum json_tokener_error jerr;
        const char *nul;
        size_t end;

        if (len > INT_MAX)
                return json_fail(e, -E2BIG, "%s too long: %zu bytes", what, len);
        nul = memchr(line, 0, len);
        if (nul)
                return json_fail(e, -EBADMSG, "invalid JSON: NUL byte at byte %zu", (size_t) (nul - line));
        end = 0;
        while (end < len && is_space(line[end]))
                end++;
        if (end == len)
                return json_fail(e, -EBADMSG, "empty %s", what);

        tok = json_tokener_new_ex(depth);
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        o = json_tokener_parse_ex(tok, line, (int) len);
        jerr = json_tokener_get_error(tok);
        end = json_tokener_get_parse_end(tok);
        if (jerr == json_tokener_continue) {
                /* The line has ended, and so must the value: json-c ends a
                 * number or a literal (2, null) only at a terminating NUL,
                 * and says "continue" until then. */
                o = json_tokener_parse_ex(tok, "", 1);
                jerr = json_tokener_get_error(tok);
                end = len;
                if (jerr == json_tokener_error_parse_eof)
                        jerr = json_tokener_continue;
        }
        if (jerr == json_tokener_continue)
                return json_fail(e, -EBADMSG, "invalid JSON: the %s ends inside a value", what);
        if (jerr != json_tokener_success)
                return json_fail(e, -EBADMSG, "invalid JSON at byte %zu: %s", end, json_tokener_error_desc(jerr));
        for (; end < len; end++)
                if (!is_space(line[end]))
                        return json_fail(e, -EBADMSG, "invalid JSON at byte %zu: more after the object", end);
        if (!json_object_is_type(o, json_type_object))
                return json_fail(e, -EBADMSG, "a %s must be a JSON object", what);
        *ret = TAKE_PTR(o);
        return 0;
}

