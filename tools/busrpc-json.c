/* busrpc-json.c: a small strict JSON (RFC 8259) reader and a string writer
 * for the busrpc command. The reader keeps numbers as text so 64-bit
 * integers stay exact, rejects invalid UTF-8, lone surrogates and "\u0000"
 * (a D-Bus string cannot hold NUL), bounds nesting, and reports errors with
 * the byte offset, line and column. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "../common/names.h"
#include "busrpc-tool.h"

typedef struct {
        const char *text, *p;
        char *err;
        size_t err_size;
        bool failed;
} Parser;

__attribute__((format(printf, 2, 3))) static void fail(Parser *ps, const char *fmt, ...) {
        unsigned line = 1, col = 1;
        size_t used;
        va_list ap;

        if (ps->failed)
                return;
        ps->failed = true;
        for (const char *q = ps->text; q < ps->p; q++) {
                if (*q == '\n') {
                        line++;
                        col = 1;
                } else
                        col++;
        }
        snprintf(ps->err, ps->err_size, "at offset %zu (line %u, column %u): ", (size_t)(ps->p - ps->text),
                 line, col);
        used = strlen(ps->err);
        va_start(ap, fmt);
        vsnprintf(ps->err + used, ps->err_size - used, fmt, ap);
        va_end(ap);
}

static void skip_ws(Parser *ps) {
        while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')
                ps->p++;
}

void json_free(Json *j) {
        if (!j)
                return;
        for (size_t i = 0; i < j->n; i++) {
                if (j->keys)
                        free(j->keys[i]);
                json_free(j->items[i]);
        }
        free(j->keys);
        free(j->items);
        free(j->str);
        free(j);
}

const Json *json_get(const Json *obj, const char *key) {
        if (!obj || obj->type != JSON_OBJECT)
                return NULL;
        for (size_t i = 0; i < obj->n; i++)
                if (strcmp(obj->keys[i], key) == 0)
                        return obj->items[i];
        return NULL;
}

static Json *json_new(Parser *ps, JsonType t) {
        Json *j = calloc(1, sizeof(*j));

        if (!j)
                fail(ps, "out of memory");
        else
                j->type = t;
        return j;
}

static int hex4(const char *s) {
        int v = 0;

        for (int i = 0; i < 4; i++) {
                char c = s[i];
                v <<= 4;
                if (c >= '0' && c <= '9')
                        v |= c - '0';
                else if (c >= 'a' && c <= 'f')
                        v |= c - 'a' + 10;
                else if (c >= 'A' && c <= 'F')
                        v |= c - 'A' + 10;
                else
                        return -1;
        }
        return v;
}

static size_t put_utf8(char *out, unsigned cp) {
        if (cp < 0x80) {
                out[0] = (char)cp;
                return 1;
        }
        if (cp < 0x800) {
                out[0] = (char)(0xc0 | (cp >> 6));
                out[1] = (char)(0x80 | (cp & 0x3f));
                return 2;
        }
        if (cp < 0x10000) {
                out[0] = (char)(0xe0 | (cp >> 12));
                out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
                out[2] = (char)(0x80 | (cp & 0x3f));
                return 3;
        }
        out[0] = (char)(0xf0 | (cp >> 18));
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[3] = (char)(0x80 | (cp & 0x3f));
        return 4;
}

/* The UTF-8 rules are common/names.c's, the runtime's own. */
bool utf8_valid(const char *p, size_t len) {
        return names_utf8_valid(p, len);
}

static char *parse_string_raw(Parser *ps) {
        const char *start = ++ps->p; /* after the quote */
        char *out, *o;

        /* The decoded string is never longer than its source. */
        for (const char *q = start; *q != '"'; q++) {
                if (!*q) {
                        fail(ps, "unterminated string");
                        return NULL;
                }
                if (*q == '\\' && q[1])
                        q++;
        }
        out = o = malloc(strlen(start) + 1);
        if (!out) {
                fail(ps, "out of memory");
                return NULL;
        }
        while (*ps->p != '"') {
                unsigned char c = (unsigned char)*ps->p;

                if (c < 0x20) {
                        fail(ps, "control character in a string");
                        goto bad;
                }
                if (c == '\\') {
                        int cp;

                        ps->p++;
                        switch (*ps->p) {
                        case '"':
                        case '\\':
                        case '/':
                                *o++ = *ps->p++;
                                continue;
                        case 'b':
                                *o++ = '\b';
                                break;
                        case 'f':
                                *o++ = '\f';
                                break;
                        case 'n':
                                *o++ = '\n';
                                break;
                        case 'r':
                                *o++ = '\r';
                                break;
                        case 't':
                                *o++ = '\t';
                                break;
                        case 'u':
                                cp = hex4(ps->p + 1);
                                if (cp < 0) {
                                        fail(ps, "bad \\u escape");
                                        goto bad;
                                }
                                ps->p += 4;
                                if (cp >= 0xd800 && cp <= 0xdbff) {
                                        int lo = ps->p[1] == '\\' && ps->p[2] == 'u' ? hex4(ps->p + 3) : -1;

                                        if (lo < 0xdc00 || lo > 0xdfff) {
                                                fail(ps, "lone surrogate in a \\u escape");
                                                goto bad;
                                        }
                                        ps->p += 6;
                                        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                                } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                                        fail(ps, "lone surrogate in a \\u escape");
                                        goto bad;
                                } else if (cp == 0) {
                                        fail(ps, "\\u0000: a D-Bus string cannot hold NUL");
                                        goto bad;
                                }
                                o += put_utf8(o, (unsigned)cp);
                                break;
                        default:
                                fail(ps, "bad escape '\\%c'", *ps->p ? *ps->p : '0');
                                goto bad;
                        }
                        ps->p++;
                        continue;
                }
                /* names_utf8_len() stops at the NUL: 4 is safe here. */
                size_t n = names_utf8_len((const unsigned char *)ps->p, 4, NULL);
                if (n == 0) {
                        fail(ps, "invalid UTF-8 in a string");
                        goto bad;
                }
                memcpy(o, ps->p, n);
                o += n;
                ps->p += n;
        }
        ps->p++;
        *o = '\0';
        return out;
bad:
        free(out);
        return NULL;
}

static Json *parse_value(Parser *ps, unsigned depth);

static bool grow(Parser *ps, Json *j, size_t *cap, bool keys) {
        size_t ncap;

        if (j->n < *cap)
                return true;
        ncap = *cap ? *cap * 2 : 4;
        Json **items = realloc(j->items, ncap * sizeof(*items));
        if (!items) {
                fail(ps, "out of memory");
                return false;
        }
        j->items = items;
        if (keys) {
                char **k = realloc(j->keys, ncap * sizeof(*k));
                if (!k) {
                        fail(ps, "out of memory");
                        return false;
                }
                j->keys = k;
        }
        *cap = ncap;
        return true;
}

static Json *parse_container(Parser *ps, unsigned depth, bool object) {
        char close = object ? '}' : ']';
        size_t cap = 0;
        Json *j;

        if (depth >= JSON_MAX_DEPTH) {
                fail(ps, "nested deeper than %d levels", JSON_MAX_DEPTH);
                return NULL;
        }
        j = json_new(ps, object ? JSON_OBJECT : JSON_ARRAY);
        if (!j)
                return NULL;
        ps->p++;
        skip_ws(ps);
        if (*ps->p == close) {
                ps->p++;
                return j;
        }
        for (;;) {
                char *key = NULL;
                Json *v;

                skip_ws(ps);
                if (object) {
                        if (*ps->p != '"') {
                                fail(ps, "expected a member name in quotes");
                                goto bad;
                        }
                        key = parse_string_raw(ps);
                        if (!key)
                                goto bad;
                        if (json_get(j, key)) {
                                ps->p--;
                                fail(ps, "duplicate member name \"%s\"", key);
                                free(key);
                                goto bad;
                        }
                        skip_ws(ps);
                        if (*ps->p != ':') {
                                free(key);
                                fail(ps, "expected ':'");
                                goto bad;
                        }
                        ps->p++;
                }
                v = parse_value(ps, depth + 1);
                if (!v || !grow(ps, j, &cap, object)) {
                        free(key);
                        json_free(v);
                        goto bad;
                }
                if (object)
                        j->keys[j->n] = key;
                j->items[j->n++] = v;
                skip_ws(ps);
                if (*ps->p == ',') {
                        ps->p++;
                        continue;
                }
                if (*ps->p == close) {
                        ps->p++;
                        return j;
                }
                fail(ps, "expected ',' or '%c'", close);
                goto bad;
        }
bad:
        json_free(j);
        return NULL;
}

static Json *parse_number(Parser *ps) {
        const char *start = ps->p;
        Json *j;

        if (*ps->p == '-')
                ps->p++;
        if (*ps->p == '0')
                ps->p++;
        else if (*ps->p >= '1' && *ps->p <= '9')
                while (*ps->p >= '0' && *ps->p <= '9')
                        ps->p++;
        else {
                fail(ps, "bad number");
                return NULL;
        }
        if (*ps->p == '.') {
                ps->p++;
                if (!(*ps->p >= '0' && *ps->p <= '9')) {
                        fail(ps, "bad number: digits must follow '.'");
                        return NULL;
                }
                while (*ps->p >= '0' && *ps->p <= '9')
                        ps->p++;
        }
        if (*ps->p == 'e' || *ps->p == 'E') {
                ps->p++;
                if (*ps->p == '+' || *ps->p == '-')
                        ps->p++;
                if (!(*ps->p >= '0' && *ps->p <= '9')) {
                        fail(ps, "bad number: digits must follow the exponent");
                        return NULL;
                }
                while (*ps->p >= '0' && *ps->p <= '9')
                        ps->p++;
        }
        j = json_new(ps, JSON_NUMBER);
        if (!j)
                return NULL;
        j->str = strndup(start, (size_t)(ps->p - start));
        if (!j->str) {
                fail(ps, "out of memory");
                free(j);
                return NULL;
        }
        return j;
}

static Json *parse_value(Parser *ps, unsigned depth) {
        Json *j;

        skip_ws(ps);
        switch (*ps->p) {
        case '{':
                return parse_container(ps, depth, true);
        case '[':
                return parse_container(ps, depth, false);
        case '"':
                j = json_new(ps, JSON_STRING);
                if (!j)
                        return NULL;
                j->str = parse_string_raw(ps);
                if (!j->str) {
                        free(j);
                        return NULL;
                }
                return j;
        case 't':
        case 'f':
        case 'n':
                for (unsigned i = 0; i < 3; i++) {
                        static const char *const words[] = { "true", "false", "null" };
                        size_t len = strlen(words[i]);
                        if (strncmp(ps->p, words[i], len) == 0) {
                                j = json_new(ps, i == 2 ? JSON_NULL : JSON_BOOL);
                                if (j) {
                                        j->b = i == 0;
                                        ps->p += len;
                                }
                                return j;
                        }
                }
                break;
        case '\0':
                fail(ps, "unexpected end of input");
                return NULL;
        default:
                if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
                        return parse_number(ps);
        }
        fail(ps, "unexpected character '%c'", *ps->p);
        return NULL;
}

Json *json_parse(const char *text, char *err, size_t err_size) {
        Parser ps = { .text = text, .p = text, .err = err, .err_size = err_size };
        Json *j = parse_value(&ps, 0);

        if (j) {
                skip_ws(&ps);
                if (*ps.p) {
                        fail(&ps, "trailing characters after the value");
                        json_free(j);
                        return NULL;
                }
        }
        return j;
}

void json_write_string(FILE *f, const char *s, size_t len) {
        fputc('"', f);
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)s[i];

                switch (c) {
                case '"':
                        fputs("\\\"", f);
                        break;
                case '\\':
                        fputs("\\\\", f);
                        break;
                case '\n':
                        fputs("\\n", f);
                        break;
                case '\r':
                        fputs("\\r", f);
                        break;
                case '\t':
                        fputs("\\t", f);
                        break;
                default:
                        if (c < 0x20 || c == 0x7f)
                                fprintf(f, "\\u%04x", c);
                        else
                                fputc(c, f);
                }
        }
        fputc('"', f);
}
