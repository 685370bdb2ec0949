/* variant.c: busrpc_variant, a self-contained value of any D-Bus type.
 *
 * A variant keeps a private DBusMessage whose body is exactly the one
 * value: libdbus then does the marshalling, holds any fds, and a value is
 * copied in and out with a recursive iterator copy (value_copy()). Depth
 * is bounded by the specification's 64 nested containers, so recursion on
 * values from the wire cannot blow the stack.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "variant.h"
#include "message.h"
#include "validate.h"

struct busrpc_variant {
        unsigned n_ref;
        DBusMessage *msg; /* body: the value; signature: the variant's */
};

/* ---- copying values ---- */

int value_copy(DBusMessageIter *from, DBusMessageIter *to, unsigned depth) {
        DBusMessageIter fsub, tsub;
        char *sig = NULL;
        const char *contained = NULL;
        int t = dbus_message_iter_get_arg_type(from), r = 0;

        if (t == DBUS_TYPE_INVALID)
                return -EBADMSG;
        if (type_is_basic(t)) {
                DBusBasicValue v;
                dbus_bool_t ok;

                memset(&v, 0, sizeof(v));
                dbus_message_iter_get_basic(from, &v);
                if (t == DBUS_TYPE_UNIX_FD) {
                        if (v.fd < 0)
                                return -EBADMSG;
                        ok = dbus_message_iter_append_basic(to, t, &v.fd); /* dups again */
                        close(v.fd);
                } else
                        ok = dbus_message_iter_append_basic(to, t, &v);
                if (!ok)
                        return -ENOMEM;
                (void)dbus_message_iter_next(from);
                return 0;
        }
        if (depth >= MAX_DEPTH)
                return -E2BIG;
        dbus_message_iter_recurse(from, &fsub);
        if (t == DBUS_TYPE_ARRAY) {
                sig = dbus_message_iter_get_signature(from);
                contained = sig ? sig + 1 : NULL;
        } else if (t == DBUS_TYPE_VARIANT) {
                sig = dbus_message_iter_get_signature(&fsub);
                contained = sig;
        }
        if ((t == DBUS_TYPE_ARRAY || t == DBUS_TYPE_VARIANT) && !sig)
                return -ENOMEM;
        if (!dbus_message_iter_open_container(to, t, contained, &tsub)) {
                dbus_free(sig);
                return -ENOMEM;
        }
        if (t == DBUS_TYPE_ARRAY && type_is_fixed(contained[0]) && contained[0] != DBUS_TYPE_UNIX_FD) {
                const void *items = NULL;
                int n = 0;

                /* The fast path: one block, no per-element calls. */
                dbus_message_iter_get_fixed_array(&fsub, &items, &n);
                if (n > 0 && !dbus_message_iter_append_fixed_array(&tsub, contained[0], &items, n))
                        r = -ENOMEM;
        } else {
                while (r == 0 && dbus_message_iter_get_arg_type(&fsub) != DBUS_TYPE_INVALID)
                        r = value_copy(&fsub, &tsub, depth + 1);
        }
        dbus_free(sig);
        if (r < 0) {
                dbus_message_iter_abandon_container(to, &tsub);
                return r;
        }
        if (!dbus_message_iter_close_container(to, &tsub))
                return -ENOMEM;
        (void)dbus_message_iter_next(from);
        return 0;
}

static int variant_alloc(DBusMessage *msg, busrpc_variant **ret) {
        busrpc_variant *v = calloc(1, sizeof(*v));

        if (!v) {
                dbus_message_unref(msg);
                return -ENOMEM;
        }
        v->n_ref = 1;
        v->msg = msg;
        *ret = v;
        return 0;
}

int variant_from_iter(DBusMessageIter *from, busrpc_variant **ret) {
        DBusMessageIter to;
        DBusMessage *msg;
        int r;

        msg = dbus_message_new(DBUS_MESSAGE_TYPE_SIGNAL);
        if (!msg)
                return -ENOMEM;
        dbus_message_iter_init_append(msg, &to);
        r = value_copy(from, &to, 0);
        if (r < 0) {
                dbus_message_unref(msg);
                return r;
        }
        return variant_alloc(msg, ret);
}

/* ---- constructors ---- */

BUSRPC_EXPORT int busrpc_variant_new_built(const char *sig, busrpc_variant_build_fn build, void *userdata,
                                           busrpc_variant **ret) {
        busrpc_iter it;
        DBusMessage *msg;
        int r;

        return_if_fail(build && ret && valid_single_signature(sig), -EINVAL);
        msg = dbus_message_new(DBUS_MESSAGE_TYPE_SIGNAL);
        if (!msg)
                return -ENOMEM;
        iter_init_append_one(&it, msg, sig);
        r = build(&it, userdata);
        if (r >= 0 && strcmp(dbus_message_get_signature(msg), sig) != 0)
                r = -EINVAL; /* nothing, too much, or another type was appended */
        if (r < 0) {
                dbus_message_unref(msg);
                return r;
        }
        return variant_alloc(msg, ret);
}

static int build_basic(busrpc_iter *it, void *userdata) {
        const struct {
                int type;
                const void *value;
        } *b = userdata;
        return busrpc_iter_append_basic(it, b->type, b->value);
}

BUSRPC_EXPORT int busrpc_variant_new_basic(int type, const void *value, busrpc_variant **ret) {
        struct {
                int type;
                const void *value;
        } b = { type, value };
        char sig[2] = { (char)type, '\0' };

        return_if_fail(type_is_basic(type) && value && ret, -EINVAL);
        return busrpc_variant_new_built(sig, build_basic, &b, ret);
}

BUSRPC_EXPORT int busrpc_variant_new_bool(bool v, busrpc_variant **ret) {
        uint32_t b = v;
        return busrpc_variant_new_basic('b', &b, ret);
}

#define NEW_FIXED(name, ctype, code)                                                               \
        BUSRPC_EXPORT int busrpc_variant_new_##name(ctype v, busrpc_variant **ret) {               \
                return busrpc_variant_new_basic(code, &v, ret);                                    \
        }
NEW_FIXED(byte, uint8_t, 'y')
NEW_FIXED(int16, int16_t, 'n')
NEW_FIXED(uint16, uint16_t, 'q')
NEW_FIXED(int32, int32_t, 'i')
NEW_FIXED(uint32, uint32_t, 'u')
NEW_FIXED(int64, int64_t, 'x')
NEW_FIXED(uint64, uint64_t, 't')
NEW_FIXED(double, double, 'd')
NEW_FIXED(string, const char *, 's')
NEW_FIXED(objpath, const char *, 'o')
NEW_FIXED(signature, const char *, 'g')

static int build_variant(busrpc_iter *it, void *userdata) {
        return busrpc_iter_append_variant(it, userdata);
}

BUSRPC_EXPORT int busrpc_variant_new_variant(const busrpc_variant *inner, busrpc_variant **ret) {
        return_if_fail(inner && ret, -EINVAL);
        return busrpc_variant_new_built("v", build_variant, (void *)inner, ret);
}

BUSRPC_EXPORT busrpc_variant *busrpc_variant_ref(busrpc_variant *v) {
        if (v)
                v->n_ref++;
        return v;
}

BUSRPC_EXPORT busrpc_variant *busrpc_variant_unref(busrpc_variant *v) {
        if (!v || --v->n_ref > 0)
                return NULL;
        dbus_message_unref(v->msg);
        free(v);
        return NULL;
}

BUSRPC_EXPORT const char *busrpc_variant_get_signature(const busrpc_variant *v) {
        return v ? dbus_message_get_signature(v->msg) : NULL;
}

/* ---- in and out of messages ---- */

BUSRPC_EXPORT int busrpc_iter_append_variant(busrpc_iter *it, const busrpc_variant *v) {
        DBusMessageIter from;
        busrpc_iter sub;
        Iter *s;
        int r;

        return_if_fail(it && v, -EINVAL);
        r = busrpc_iter_open(it, 'v', busrpc_variant_get_signature(v), &sub);
        if (r < 0)
                return r;
        s = iter_priv(&sub);
        (void)dbus_message_iter_init(v->msg, &from);
        r = value_copy(&from, &s->it, s->depth);
        if (r < 0) {
                busrpc_iter_abandon(it, &sub);
                return r;
        }
        s->epos = (uint8_t)strlen(s->expect); /* the value is in: the variant is complete */
        return busrpc_iter_close(it, &sub);
}

BUSRPC_EXPORT int busrpc_iter_get_variant(busrpc_iter *it, busrpc_variant **ret) {
        Iter *i = iter_priv(it);
        DBusMessageIter sub;
        int r;

        return_if_fail(it && ret && i->mode == ITER_READ, -EINVAL);
        if (dbus_message_iter_get_arg_type(&i->it) != DBUS_TYPE_VARIANT)
                return -EBADMSG;
        dbus_message_iter_recurse(&i->it, &sub);
        r = variant_from_iter(&sub, ret);
        if (r < 0)
                return r;
        (void)dbus_message_iter_next(&i->it);
        return 0;
}

BUSRPC_EXPORT int busrpc_variant_read(const busrpc_variant *v, busrpc_iter *it) {
        return_if_fail(v && it, -EINVAL);
        iter_init_read(it, v->msg);
        return 0;
}

/* ---- typed getters ---- */

static int get_basic(const busrpc_variant *v, int type, void *ret) {
        char sig[2] = { (char)type, '\0' };
        busrpc_iter it;

        return_if_fail(v && ret, -EINVAL);
        if (strcmp(dbus_message_get_signature(v->msg), sig) != 0)
                return -EINVAL;
        iter_init_read(&it, v->msg);
        return busrpc_iter_get_basic(&it, type, ret);
}

BUSRPC_EXPORT int busrpc_variant_get_bool(const busrpc_variant *v, bool *ret) {
        uint32_t b;
        int r;

        return_if_fail(ret, -EINVAL);
        r = get_basic(v, 'b', &b);
        if (r >= 0)
                *ret = b != 0;
        return r;
}

#define GET_FIXED(name, ctype, code)                                                               \
        BUSRPC_EXPORT int busrpc_variant_get_##name(const busrpc_variant *v, ctype *ret) {         \
                return get_basic(v, code, ret);                                                    \
        }
GET_FIXED(byte, uint8_t, 'y')
GET_FIXED(int16, int16_t, 'n')
GET_FIXED(uint16, uint16_t, 'q')
GET_FIXED(int32, int32_t, 'i')
GET_FIXED(uint32, uint32_t, 'u')
GET_FIXED(int64, int64_t, 'x')
GET_FIXED(uint64, uint64_t, 't')
GET_FIXED(double, double, 'd')
GET_FIXED(string, const char *, 's')
GET_FIXED(objpath, const char *, 'o')
GET_FIXED(signature_value, const char *, 'g')

BUSRPC_EXPORT int busrpc_variant_get_variant(const busrpc_variant *v, busrpc_variant **ret) {
        busrpc_iter it;

        return_if_fail(v && ret, -EINVAL);
        if (strcmp(dbus_message_get_signature(v->msg), "v") != 0)
                return -EINVAL;
        iter_init_read(&it, v->msg);
        return busrpc_iter_get_variant(&it, ret);
}

/* ---- comparing ---- */

static bool fd_same_file(int a, int b) {
        struct stat sa, sb;
        return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static bool basic_equal(int t, DBusMessageIter *a, DBusMessageIter *b) {
        DBusBasicValue va, vb;
        bool eq;

        memset(&va, 0, sizeof(va));
        memset(&vb, 0, sizeof(vb));
        dbus_message_iter_get_basic(a, &va);
        dbus_message_iter_get_basic(b, &vb);
        switch (t) {
        case 's':
        case 'o':
        case 'g':
                return strcmp(va.str, vb.str) == 0;
        case 'd':
                /* Bitwise too, so that a NaN equals itself. */
                return va.dbl == vb.dbl || memcmp(&va.dbl, &vb.dbl, sizeof(double)) == 0;
        case 'h':
                eq = va.fd >= 0 && vb.fd >= 0 && fd_same_file(va.fd, vb.fd);
                if (va.fd >= 0)
                        close(va.fd);
                if (vb.fd >= 0)
                        close(vb.fd);
                return eq;
        case 'y':
                return va.byt == vb.byt;
        case 'n':
        case 'q':
                return va.u16 == vb.u16;
        case 'b':
                return !va.bool_val == !vb.bool_val;
        case 'i':
        case 'u':
                return va.u32 == vb.u32;
        default:
                return va.u64 == vb.u64;
        }
}

static bool values_equal(DBusMessageIter *a, DBusMessageIter *b) {
        for (;;) {
                int ta = dbus_message_iter_get_arg_type(a), tb = dbus_message_iter_get_arg_type(b);

                if (ta != tb)
                        return false;
                if (ta == DBUS_TYPE_INVALID)
                        return true;
                if (type_is_basic(ta)) {
                        if (!basic_equal(ta, a, b))
                                return false;
                } else {
                        DBusMessageIter sa, sb;
                        char *siga = dbus_message_iter_get_signature(a);
                        char *sigb = dbus_message_iter_get_signature(b);
                        bool eq = siga && sigb && strcmp(siga, sigb) == 0;

                        dbus_free(siga);
                        dbus_free(sigb);
                        if (!eq)
                                return false;
                        dbus_message_iter_recurse(a, &sa);
                        dbus_message_iter_recurse(b, &sb);
                        if (ta == DBUS_TYPE_VARIANT) {
                                /* "v" is equal for any contents: compare theirs. */
                                siga = dbus_message_iter_get_signature(&sa);
                                sigb = dbus_message_iter_get_signature(&sb);
                                eq = siga && sigb && strcmp(siga, sigb) == 0;
                                dbus_free(siga);
                                dbus_free(sigb);
                                if (!eq)
                                        return false;
                        }
                        if (!values_equal(&sa, &sb))
                                return false;
                }
                (void)dbus_message_iter_next(a);
                (void)dbus_message_iter_next(b);
        }
}

BUSRPC_EXPORT bool busrpc_variant_equal(const busrpc_variant *a, const busrpc_variant *b) {
        DBusMessageIter ia, ib;

        if (a == b)
                return true;
        if (!a || !b || strcmp(dbus_message_get_signature(a->msg), dbus_message_get_signature(b->msg)) != 0)
                return false;
        (void)dbus_message_iter_init(a->msg, &ia);
        (void)dbus_message_iter_init(b->msg, &ib);
        return values_equal(&ia, &ib);
}

/* ---- printing, in busctl's format ---- */

typedef struct Printer {
        FILE *f;
        long n;
        bool failed;
        bool space; /* a separator is due before the next token */
} Printer;

static void out(Printer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out(Printer *p, const char *fmt, ...) {
        va_list ap;
        int r;

        if (p->failed)
                return;
        if (p->space && fputc(' ', p->f) != EOF)
                p->n++;
        va_start(ap, fmt);
        r = vfprintf(p->f, fmt, ap);
        va_end(ap);
        if (r < 0)
                p->failed = true;
        else
                p->n += r;
        p->space = true;
}

/* Like systemd's cescape(): C escapes, octal for other controls and
 * bytes >= 127. */
static void out_quoted(Printer *p, const char *s) {
        size_t len = strlen(s), k = 0;
        char *buf = malloc(len * 4 + 1);

        if (!buf) {
                p->failed = true;
                return;
        }
        for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
                const char *esc = NULL;

                switch (*c) {
                case '\a': esc = "\\a"; break;
                case '\b': esc = "\\b"; break;
                case '\f': esc = "\\f"; break;
                case '\n': esc = "\\n"; break;
                case '\r': esc = "\\r"; break;
                case '\t': esc = "\\t"; break;
                case '\v': esc = "\\v"; break;
                case '\\': esc = "\\\\"; break;
                case '"': esc = "\\\""; break;
                case '\'': esc = "\\'"; break;
                default: break;
                }
                if (esc) {
                        memcpy(buf + k, esc, 2);
                        k += 2;
                } else if (*c < ' ' || *c >= 127) {
                        buf[k++] = '\\';
                        buf[k++] = (char)('0' + (*c >> 6));
                        buf[k++] = (char)('0' + ((*c >> 3) & 7));
                        buf[k++] = (char)('0' + (*c & 7));
                } else
                        buf[k++] = (char)*c;
        }
        buf[k] = '\0';
        out(p, "\"%s\"", buf);
        free(buf);
}

static void print_basic(Printer *p, int t, DBusMessageIter *it) {
        DBusBasicValue v;

        memset(&v, 0, sizeof(v));
        dbus_message_iter_get_basic(it, &v);
        switch (t) {
        case 'y': out(p, "%u", (unsigned)v.byt); break;
        case 'b': out(p, "%s", v.bool_val ? "true" : "false"); break;
        case 'n': out(p, "%d", (int)v.i16); break;
        case 'q': out(p, "%u", (unsigned)v.u16); break;
        case 'i': out(p, "%" PRId32, v.i32); break;
        case 'u': out(p, "%" PRIu32, v.u32); break;
        case 'x': out(p, "%" PRId64, (int64_t)v.i64); break;
        case 't': out(p, "%" PRIu64, (uint64_t)v.u64); break;
        case 'd': out(p, "%g", v.dbl); break;
        case 'h':
                out(p, "%d", v.fd);
                if (v.fd >= 0)
                        close(v.fd); /* get_basic gave us a dup */
                break;
        default: out_quoted(p, v.str); break;
        }
}

static void print_values(Printer *p, DBusMessageIter *it) {
        int t;

        while (!p->failed && (t = dbus_message_iter_get_arg_type(it)) != DBUS_TYPE_INVALID) {
                if (type_is_basic(t))
                        print_basic(p, t, it);
                else {
                        DBusMessageIter sub, count;
                        unsigned n = 0;

                        dbus_message_iter_recurse(it, &sub);
                        if (t == DBUS_TYPE_ARRAY) {
                                count = sub;
                                while (dbus_message_iter_get_arg_type(&count) != DBUS_TYPE_INVALID) {
                                        n++;
                                        (void)dbus_message_iter_next(&count);
                                }
                                out(p, "%u", n);
                        } else if (t == DBUS_TYPE_VARIANT) {
                                char *sig = dbus_message_iter_get_signature(&sub);
                                if (!sig) {
                                        p->failed = true;
                                        return;
                                }
                                out(p, "%s", sig);
                                dbus_free(sig);
                        }
                        print_values(p, &sub);
                }
                (void)dbus_message_iter_next(it);
        }
}

BUSRPC_EXPORT int busrpc_variant_print(const busrpc_variant *v, FILE *f) {
        Printer p = { .f = f };
        DBusMessageIter it;

        return_if_fail(v && f, -EINVAL);
        out(&p, "%s", dbus_message_get_signature(v->msg));
        (void)dbus_message_iter_init(v->msg, &it);
        print_values(&p, &it);
        if (p.failed)
                return -EIO;
        return p.n > INT32_MAX ? INT32_MAX : (int)p.n;
}

BUSRPC_EXPORT int busrpc_variant_to_string(const busrpc_variant *v, char **ret) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f;
        int r;

        return_if_fail(v && ret, -EINVAL);
        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        r = busrpc_variant_print(v, f);
        if (fclose(f) != 0 && r >= 0)
                r = -ENOMEM;
        if (r < 0) {
                free(buf);
                return r;
        }
        *ret = buf;
        return 0;
}
