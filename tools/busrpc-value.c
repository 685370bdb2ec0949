/* busrpc-value.c: JSON values to D-Bus arguments by signature, and D-Bus
 * arguments back to JSON. The mapping (docs/man/busrpc.1, "JSON MAPPING"):
 * integers are JSON numbers, range-checked, 64-bit exact; doubles are
 * numbers (or "NaN", "Infinity", "-Infinity"); strings, object paths and
 * signatures are strings; arrays are arrays; a dict is an object whose keys
 * are the key values as strings, or an array of [key, value] pairs; a
 * struct is an array; a variant is {"type": SIG, "value": V} or any other
 * JSON value with an inferred type; "ay" is an array of numbers, a string
 * (its UTF-8 bytes) or {"base64": "..."}; "h" is an index into the --fd and
 * --shm options. Output uses the same forms, so it is accepted as input. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "busrpc-tool.h"

__attribute__((format(printf, 3, 4))) static int verr(char *err, size_t size, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(err, size, fmt, ap);
        va_end(ap);
        return -1;
}

static const char *kind(const Json *v) {
        static const char *const names[] = { "null", "a boolean", "a number", "a string", "an array",
                                             "an object" };
        return names[v->type];
}

/* The signature of the single complete type at sig, as a new string. */
static char *type_at(const char *sig) {
        DBusSignatureIter si;
        char *s;

        dbus_signature_iter_init(&si, sig);
        s = dbus_signature_iter_get_signature(&si);
        return s;
}

static int parse_int(const char *text, bool is_signed, int64_t min, uint64_t max, uint64_t *ret,
                     char *err, size_t esz) {
        char *end;

        errno = 0;
        if (is_signed) {
                long long v = strtoll(text, &end, 10);
                if (*end || errno || v < min || (v > 0 && (uint64_t)v > max))
                        return verr(err, esz, "%s is not an integer in [%" PRId64 ", %" PRIu64 "]", text, min,
                                    max);
                *ret = (uint64_t)v;
        } else {
                unsigned long long v;
                if (text[0] == '-')
                        return verr(err, esz, "%s is not an integer in [0, %" PRIu64 "]", text, max);
                v = strtoull(text, &end, 10);
                if (*end || errno || v > max)
                        return verr(err, esz, "%s is not an integer in [0, %" PRIu64 "]", text, max);
                *ret = v;
        }
        return 0;
}

static int b64val(int c) {
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == '+')
                return 62;
        if (c == '/')
                return 63;
        return -1;
}

static int base64_decode(const char *s, unsigned char **ret, size_t *ret_len) {
        size_t len = strlen(s), n = 0;
        unsigned char *out;

        if (len % 4)
                return -1;
        out = malloc(len / 4 * 3 + 1);
        if (!out)
                return -1;
        for (size_t i = 0; i < len; i += 4) {
                int v[4];
                for (int k = 0; k < 4; k++) {
                        v[k] = s[i + k] == '=' && i + 4 == len && k >= 2 ? -2 : b64val(s[i + k]);
                        if (v[k] == -1 || (k == 3 && v[2] == -2 && v[3] != -2)) {
                                free(out);
                                return -1;
                        }
                }
                out[n++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
                if (v[2] >= 0)
                        out[n++] = (unsigned char)(v[1] << 4 | v[2] >> 2);
                if (v[3] >= 0)
                        out[n++] = (unsigned char)(v[2] << 6 | v[3]);
        }
        *ret = out;
        *ret_len = n;
        return 0;
}

static void base64_print(FILE *f, const unsigned char *p, size_t len) {
        static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

        fputc('"', f);
        for (size_t i = 0; i < len; i += 3) {
                unsigned v = (unsigned)p[i] << 16 | (i + 1 < len ? (unsigned)p[i + 1] << 8 : 0) |
                             (i + 2 < len ? p[i + 2] : 0);
                fputc(tab[v >> 18], f);
                fputc(tab[(v >> 12) & 63], f);
                fputc(i + 1 < len ? tab[(v >> 6) & 63] : '=', f);
                fputc(i + 2 < len ? tab[v & 63] : '=', f);
        }
        fputc('"', f);
}

static int append_bytes(DBusMessageIter *it, const Json *v, char *err, size_t esz) {
        DBusMessageIter sub;
        const unsigned char *p;
        unsigned char *buf = NULL;
        size_t len;
        const Json *b64 = json_get(v, "base64");
        bool ok;

        if (v->type == JSON_STRING) {
                p = (const unsigned char *)v->str;
                len = strlen(v->str);
        } else if (v->type == JSON_OBJECT && v->n == 1 && b64 && b64->type == JSON_STRING) {
                if (base64_decode(b64->str, &buf, &len) < 0)
                        return verr(err, esz, "invalid base64 for a byte array");
                p = buf;
        } else
                return verr(err, esz, "expected a byte array, got %s", kind(v));
        ok = dbus_message_iter_open_container(it, DBUS_TYPE_ARRAY, "y", &sub) &&
             dbus_message_iter_append_fixed_array(&sub, DBUS_TYPE_BYTE, &p, (int)len) &&
             dbus_message_iter_close_container(it, &sub);
        free(buf);
        return ok ? 0 : verr(err, esz, "out of memory");
}

/* A variant's type when the JSON does not say it. */
static char *infer(const Json *v, char *err, size_t esz) {
        char *sig = NULL, *elem = NULL;

        switch (v->type) {
        case JSON_BOOL:
                return strdup("b");
        case JSON_NUMBER:
                if (strpbrk(v->str, ".eE"))
                        return strdup("d");
                errno = 0;
                long long x = strtoll(v->str, NULL, 10);
                if (errno == 0)
                        return strdup(x >= INT32_MIN && x <= INT32_MAX ? "i" : "x");
                if (v->str[0] != '-')
                        return strdup("t");
                verr(err, esz, "%s does not fit in 64 bits", v->str);
                return NULL;
        case JSON_STRING:
                return strdup("s");
        case JSON_ARRAY:
                for (size_t i = 0; i < v->n; i++) {
                        char *e = infer(v->items[i], err, esz);
                        if (!e) {
                                free(elem);
                                return NULL;
                        }
                        if (!elem)
                                elem = e;
                        else if (strcmp(elem, e) != 0) {
                                free(e);
                                free(elem);
                                elem = strdup("v");
                                break;
                        } else
                                free(e);
                }
                if (!elem)
                        elem = strdup("v");
                if (elem && (strlen(elem) > 200 || asprintf(&sig, "a%s", elem) < 0))
                        sig = NULL;
                free(elem);
                if (!sig)
                        verr(err, esz, "cannot infer the type of an array");
                return sig;
        case JSON_OBJECT:
                return strdup("a{sv}");
        case JSON_NULL:
        default:
                verr(err, esz, "null has no D-Bus type");
                return NULL;
        }
}

static int append_basic_from_string(DBusMessageIter *it, int t, const char *text, char *err, size_t esz);

int value_append(DBusMessageIter *it, const char *sig, const Json *v, const int *fds, size_t n_fds,
                 char *err, size_t esz) {
        int t = sig[0] == DBUS_STRUCT_BEGIN_CHAR ? DBUS_TYPE_STRUCT : sig[0];
        DBusMessageIter sub;
        uint64_t u;
        char *s;
        int r;

        switch (t) {
        case DBUS_TYPE_BOOLEAN: {
                dbus_bool_t b;
                if (v->type != JSON_BOOL)
                        return verr(err, esz, "expected true or false, got %s", kind(v));
                b = v->b;
                return dbus_message_iter_append_basic(it, t, &b) ? 0 : verr(err, esz, "out of memory");
        }
        case DBUS_TYPE_BYTE:
        case DBUS_TYPE_INT16:
        case DBUS_TYPE_UINT16:
        case DBUS_TYPE_INT32:
        case DBUS_TYPE_UINT32:
        case DBUS_TYPE_INT64:
        case DBUS_TYPE_UINT64:
        case DBUS_TYPE_DOUBLE:
        case DBUS_TYPE_STRING:
        case DBUS_TYPE_OBJECT_PATH:
        case DBUS_TYPE_SIGNATURE:
                if (t == DBUS_TYPE_STRING || t == DBUS_TYPE_OBJECT_PATH || t == DBUS_TYPE_SIGNATURE) {
                        if (v->type != JSON_STRING)
                                return verr(err, esz, "expected a string for '%c', got %s", t, kind(v));
                } else if (t == DBUS_TYPE_DOUBLE && v->type == JSON_STRING) {
                        if (strcmp(v->str, "NaN") && strcmp(v->str, "Infinity") && strcmp(v->str, "-Infinity"))
                                return verr(err, esz, "expected a number, got the string \"%s\"", v->str);
                } else if (v->type != JSON_NUMBER)
                        return verr(err, esz, "expected a number for '%c', got %s", t, kind(v));
                return append_basic_from_string(it, t, v->str, err, esz);
        case DBUS_TYPE_UNIX_FD: {
                int fd;
                if (v->type != JSON_NUMBER)
                        return verr(err, esz, "expected the index of an --fd or --shm option, got %s", kind(v));
                if (parse_int(v->str, false, 0, n_fds ? n_fds - 1 : 0, &u, err, esz) < 0 || u >= n_fds)
                        return verr(err, esz, "fd index %s: %zu --fd/--shm option(s) given", v->str, n_fds);
                fd = fds[u];
                return dbus_message_iter_append_basic(it, t, &fd) ? 0 : verr(err, esz, "cannot append fd");
        }
        case DBUS_TYPE_VARIANT: {
                const Json *ty = json_get(v, "type"), *val = json_get(v, "value");
                const Json *inner = v;
                char *isig;

                if (v->type == JSON_OBJECT && v->n == 2 && ty && val && ty->type == JSON_STRING) {
                        if (!dbus_signature_validate_single(ty->str, NULL))
                                return verr(err, esz, "variant type \"%s\" is not a single complete type",
                                            ty->str);
                        isig = strdup(ty->str);
                        inner = val;
                } else
                        isig = infer(v, err, esz);
                if (!isig)
                        return -1;
                if (!dbus_message_iter_open_container(it, t, isig, &sub)) {
                        free(isig);
                        return verr(err, esz, "out of memory");
                }
                r = value_append(&sub, isig, inner, fds, n_fds, err, esz);
                free(isig);
                if (r < 0) {
                        dbus_message_iter_abandon_container(it, &sub);
                        return r;
                }
                return dbus_message_iter_close_container(it, &sub) ? 0 : verr(err, esz, "out of memory");
        }
        case DBUS_TYPE_STRUCT: {
                DBusSignatureIter si, ci;
                size_t i = 0;

                if (v->type != JSON_ARRAY)
                        return verr(err, esz, "expected an array for a struct, got %s", kind(v));
                dbus_signature_iter_init(&si, sig);
                dbus_signature_iter_recurse(&si, &ci);
                if (!dbus_message_iter_open_container(it, t, NULL, &sub))
                        return verr(err, esz, "out of memory");
                do {
                        if (i >= v->n) {
                                dbus_message_iter_abandon_container(it, &sub);
                                return verr(err, esz, "struct needs more than %zu members", v->n);
                        }
                        s = dbus_signature_iter_get_signature(&ci);
                        r = value_append(&sub, s, v->items[i++], fds, n_fds, err, esz);
                        dbus_free(s);
                        if (r < 0) {
                                dbus_message_iter_abandon_container(it, &sub);
                                return r;
                        }
                } while (dbus_signature_iter_next(&ci));
                if (i != v->n) {
                        dbus_message_iter_abandon_container(it, &sub);
                        return verr(err, esz, "struct has %zu members, not %zu", i, v->n);
                }
                return dbus_message_iter_close_container(it, &sub) ? 0 : verr(err, esz, "out of memory");
        }
        case DBUS_TYPE_ARRAY: {
                char *elem = type_at(sig + 1);
                bool dict = sig[1] == '{';
                char *ksig = NULL, *vsig = NULL;

                if (!elem)
                        return verr(err, esz, "out of memory");
                if (sig[1] == 'y' && v->type != JSON_ARRAY) {
                        dbus_free(elem);
                        return append_bytes(it, v, err, esz);
                }
                if (dict) {
                        ksig = type_at(sig + 2);
                        vsig = ksig ? type_at(sig + 3) : NULL;
                        if (!vsig) {
                                dbus_free(ksig);
                                dbus_free(elem);
                                return verr(err, esz, "out of memory");
                        }
                }
                if (v->type != JSON_ARRAY && !(dict && v->type == JSON_OBJECT)) {
                        r = verr(err, esz, "expected %s for '%s', got %s", dict ? "an object" : "an array",
                                 sig, kind(v));
                        goto arr_out;
                }
                if (!dbus_message_iter_open_container(it, t, elem, &sub)) {
                        r = verr(err, esz, "out of memory");
                        goto arr_out;
                }
                r = 0;
                for (size_t i = 0; i < v->n && r == 0; i++) {
                        DBusMessageIter e;
                        const Json *kv = NULL, *vv;

                        if (!dict) {
                                r = value_append(&sub, elem, v->items[i], fds, n_fds, err, esz);
                                continue;
                        }
                        if (v->type == JSON_ARRAY) {
                                kv = v->items[i];
                                if (kv->type != JSON_ARRAY || kv->n != 2) {
                                        r = verr(err, esz, "a dict as an array needs [key, value] pairs");
                                        break;
                                }
                                vv = kv->items[1];
                                kv = kv->items[0];
                        } else
                                vv = v->items[i];
                        if (!dbus_message_iter_open_container(&sub, DBUS_TYPE_DICT_ENTRY, NULL, &e)) {
                                r = verr(err, esz, "out of memory");
                                break;
                        }
                        if (kv)
                                r = value_append(&e, ksig, kv, fds, n_fds, err, esz);
                        else if (ksig[0] == 'd' || ksig[0] == 'h' ||
                                 (ksig[0] != 's' && ksig[0] != 'o' && ksig[0] != 'g' && ksig[0] != 'b'))
                                r = append_basic_from_string(&e, ksig[0], v->keys[i], err, esz);
                        else if (ksig[0] == 'b') {
                                dbus_bool_t b = strcmp(v->keys[i], "true") == 0;
                                if (!b && strcmp(v->keys[i], "false") != 0)
                                        r = verr(err, esz, "key \"%s\" is not true or false", v->keys[i]);
                                else if (!dbus_message_iter_append_basic(&e, 'b', &b))
                                        r = verr(err, esz, "out of memory");
                        } else
                                r = append_basic_from_string(&e, ksig[0], v->keys[i], err, esz);
                        if (r == 0)
                                r = value_append(&e, vsig, vv, fds, n_fds, err, esz);
                        if (r < 0) {
                                dbus_message_iter_abandon_container(&sub, &e);
                                break;
                        }
                        if (!dbus_message_iter_close_container(&sub, &e))
                                r = verr(err, esz, "out of memory");
                }
                if (r < 0)
                        dbus_message_iter_abandon_container(it, &sub);
                else if (!dbus_message_iter_close_container(it, &sub))
                        r = verr(err, esz, "out of memory");
arr_out:
                dbus_free(elem);
                dbus_free(ksig);
                dbus_free(vsig);
                return r;
        }
        default:
                return verr(err, esz, "unsupported type '%c'", t);
        }
}

/* A basic value from text: a JSON number's literal, a string, or a dict key. */
static int append_basic_from_string(DBusMessageIter *it, int t, const char *text, char *err, size_t esz) {
        uint64_t u;
        int r = 0;
        union {
                unsigned char y;
                dbus_int16_t n;
                dbus_uint16_t q;
                dbus_int32_t i;
                dbus_uint32_t u;
                dbus_int64_t x;
                dbus_uint64_t t;
                double d;
                const char *s;
        } val;

        switch (t) {
        case 'y':
                r = parse_int(text, false, 0, UINT8_MAX, &u, err, esz);
                val.y = (unsigned char)u;
                break;
        case 'n':
                r = parse_int(text, true, INT16_MIN, INT16_MAX, &u, err, esz);
                val.n = (dbus_int16_t)u;
                break;
        case 'q':
                r = parse_int(text, false, 0, UINT16_MAX, &u, err, esz);
                val.q = (dbus_uint16_t)u;
                break;
        case 'i':
                r = parse_int(text, true, INT32_MIN, INT32_MAX, &u, err, esz);
                val.i = (dbus_int32_t)u;
                break;
        case 'u':
                r = parse_int(text, false, 0, UINT32_MAX, &u, err, esz);
                val.u = (dbus_uint32_t)u;
                break;
        case 'x':
                r = parse_int(text, true, INT64_MIN, INT64_MAX, &u, err, esz);
                val.x = (dbus_int64_t)u;
                break;
        case 't':
                r = parse_int(text, false, 0, UINT64_MAX, &u, err, esz);
                val.t = u;
                break;
        case 'd': {
                char *end;
                if (strcmp(text, "NaN") == 0)
                        val.d = NAN;
                else if (strcmp(text, "Infinity") == 0)
                        val.d = INFINITY;
                else if (strcmp(text, "-Infinity") == 0)
                        val.d = -INFINITY;
                else {
                        errno = 0;
                        val.d = strtod(text, &end);
                        if (*end || !*text || errno == ERANGE)
                                r = verr(err, esz, "%s is not a double", text);
                }
                break;
        }
        case 's':
                val.s = text;
                if (!dbus_validate_utf8(text, NULL))
                        r = verr(err, esz, "string is not valid UTF-8");
                break;
        case 'o':
                val.s = text;
                if (!dbus_validate_path(text, NULL))
                        r = verr(err, esz, "\"%s\" is not a valid object path", text);
                break;
        case 'g':
                val.s = text;
                if (!dbus_signature_validate(text, NULL))
                        r = verr(err, esz, "\"%s\" is not a valid signature", text);
                break;
        default:
                r = verr(err, esz, "a '%c' cannot be written as a string", t);
        }
        if (r < 0)
                return r;
        return dbus_message_iter_append_basic(it, t, &val) ? 0 : verr(err, esz, "out of memory");
}

int values_append(DBusMessage *m, const char *sig, Json **vals, size_t n_vals, const int *fds, size_t n_fds,
                  char *err, size_t esz) {
        DBusMessageIter it;
        DBusSignatureIter si;
        size_t i = 0;

        dbus_message_iter_init_append(m, &it);
        if (!*sig) {
                if (n_vals)
                        return verr(err, esz, "takes no arguments, %zu given", n_vals);
                return 0;
        }
        dbus_signature_iter_init(&si, sig);
        do {
                char *s = dbus_signature_iter_get_signature(&si);
                int r;

                if (i >= n_vals) {
                        dbus_free(s);
                        return verr(err, esz, "signature '%s' needs more than %zu argument(s)", sig, n_vals);
                }
                r = value_append(&it, s, vals[i], fds, n_fds, err, esz);
                if (r < 0) {
                        size_t len = strlen(err);
                        snprintf(err + len, esz - len, " (argument %zu, type '%s')", i + 1, s);
                }
                dbus_free(s);
                if (r < 0)
                        return r;
                i++;
        } while (dbus_signature_iter_next(&si));
        if (i != n_vals)
                return verr(err, esz, "signature '%s' takes %zu argument(s), %zu given", sig, i, n_vals);
        return 0;
}

static void print_basic_key(FILE *f, DBusMessageIter *it) {
        int t = dbus_message_iter_get_arg_type(it);

        if (t == 's' || t == 'o' || t == 'g') {
                value_print(f, it, BYTES_ARRAY);
                return;
        }
        /* A number or boolean key becomes the string of its JSON form. */
        char *buf = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&buf, &len);
        if (!m)
                return;
        value_print(m, it, BYTES_ARRAY);
        fclose(m);
        json_write_string(f, buf, len);
        free(buf);
}

/* Bytes that can be printed as a JSON string and read back the same. */
static bool utf8_text(const unsigned char *p, int len) {
        return len >= 0 && utf8_valid((const char *)p, (size_t)len);
}

void value_print(FILE *f, DBusMessageIter *it, BytesMode bytes) {
        int t = dbus_message_iter_get_arg_type(it);
        DBusMessageIter sub;
        DBusBasicValue v;

        switch (t) {
        case DBUS_TYPE_BOOLEAN:
                dbus_message_iter_get_basic(it, &v);
                fputs(v.bool_val ? "true" : "false", f);
                break;
        case DBUS_TYPE_BYTE:
                dbus_message_iter_get_basic(it, &v);
                fprintf(f, "%u", v.byt);
                break;
        case DBUS_TYPE_INT16:
                dbus_message_iter_get_basic(it, &v);
                fprintf(f, "%d", v.i16);
                break;
        case DBUS_TYPE_UINT16:
                dbus_message_iter_get_basic(it, &v);
                fprintf(f, "%u", v.u16);
                break;
        case DBUS_TYPE_INT32:
                dbus_message_iter_get_basic(it, &v);
                fprintf(f, "%" PRId32, v.i32);
                break;
        case DBUS_TYPE_UINT32:
                dbus_message_iter_get_basic(it, &v);
                fprintf(f, "%" PRIu32, v.u32);
                break;
        case DBUS_TYPE_INT64:
                dbus_message_iter_get_basic(it, &v);
                fprintf(f, "%" PRId64, (int64_t)v.i64);
                break;
        case DBUS_TYPE_UINT64:
                dbus_message_iter_get_basic(it, &v);
                fprintf(f, "%" PRIu64, (uint64_t)v.u64);
                break;
        case DBUS_TYPE_DOUBLE:
                dbus_message_iter_get_basic(it, &v);
                if (isnan(v.dbl))
                        fputs("\"NaN\"", f);
                else if (isinf(v.dbl))
                        fputs(v.dbl > 0 ? "\"Infinity\"" : "\"-Infinity\"", f);
                else
                        fprintf(f, "%.17g", v.dbl);
                break;
        case DBUS_TYPE_STRING:
        case DBUS_TYPE_OBJECT_PATH:
        case DBUS_TYPE_SIGNATURE:
                dbus_message_iter_get_basic(it, &v);
                json_write_string(f, v.str, strlen(v.str));
                break;
        case DBUS_TYPE_UNIX_FD:
                dbus_message_iter_get_basic(it, &v);
                /* libdbus handed over a duplicate: ours to close. */
                fprintf(f, "{\"fd\":%d}", v.fd);
                if (v.fd >= 0)
                        close(v.fd);
                break;
        case DBUS_TYPE_VARIANT: {
                char *sig;
                dbus_message_iter_recurse(it, &sub);
                sig = dbus_message_iter_get_signature(&sub);
                fputs("{\"type\":", f);
                json_write_string(f, sig ? sig : "", sig ? strlen(sig) : 0);
                dbus_free(sig);
                fputs(",\"value\":", f);
                value_print(f, &sub, bytes);
                fputc('}', f);
                break;
        }
        case DBUS_TYPE_STRUCT:
        case DBUS_TYPE_ARRAY: {
                int et = t == DBUS_TYPE_ARRAY ? dbus_message_iter_get_element_type(it) : 0;
                bool dict = et == DBUS_TYPE_DICT_ENTRY;
                bool first = true;

                dbus_message_iter_recurse(it, &sub);
                if (et == DBUS_TYPE_BYTE && bytes != BYTES_ARRAY) {
                        const unsigned char *p;
                        int len;
                        dbus_message_iter_get_fixed_array(&sub, &p, &len);
                        if (bytes == BYTES_STRING && utf8_text(p, len))
                                json_write_string(f, (const char *)p, (size_t)len);
                        else {
                                fputs("{\"base64\":", f);
                                base64_print(f, p, (size_t)len);
                                fputc('}', f);
                        }
                        break;
                }
                fputc(dict ? '{' : '[', f);
                while (dbus_message_iter_get_arg_type(&sub) != DBUS_TYPE_INVALID) {
                        if (!first)
                                fputc(',', f);
                        first = false;
                        if (dict) {
                                DBusMessageIter e;
                                dbus_message_iter_recurse(&sub, &e);
                                print_basic_key(f, &e);
                                fputc(':', f);
                                dbus_message_iter_next(&e);
                                value_print(f, &e, bytes);
                        } else
                                value_print(f, &sub, bytes);
                        dbus_message_iter_next(&sub);
                }
                fputc(dict ? '}' : ']', f);
                break;
        }
        default:
                fputs("null", f);
        }
}

void message_args_print(FILE *f, DBusMessage *m, BytesMode bytes) {
        DBusMessageIter it;
        bool first = true;

        fputc('[', f);
        if (dbus_message_iter_init(m, &it)) {
                do {
                        if (!first)
                                fputc(',', f);
                        first = false;
                        value_print(f, &it, bytes);
                } while (dbus_message_iter_next(&it));
        }
        fputc(']', f);
}
