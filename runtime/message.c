/* message.c: busrpc_msg and busrpc_iter, the typed (un)marshalling API
 * that generated code uses.
 *
 * Reading is safe against any message from the wire: every read checks the
 * type at the iterator first (libdbus asserts instead). Appending checks
 * every value from the caller before libdbus sees it: libdbus aborts the
 * process on invalid UTF-8, paths or signatures, and on a value of the
 * wrong type inside an array or variant, so the iterator keeps the
 * signature it expects (Iter.expect) and refuses a mismatch with -EINVAL.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "message.h"
#include "conn.h"
#include "registry.h"
#include "validate.h"

bool type_is_fixed(int t) {
        switch (t) {
        case 'y': case 'b': case 'n': case 'q': case 'i': case 'u': case 'x': case 't': case 'd': case 'h':
                return true;
        default:
                return false;
        }
}

bool type_is_basic(int t) {
        return type_is_fixed(t) || t == 's' || t == 'o' || t == 'g';
}

/* Length of the complete type at @s (which may be followed by more). */
size_t sig_complete_len(const char *s) {
        size_t i = 0;
        int depth = 0;

        for (;;) {
                switch (s[i]) {
                case '\0':
                        return 0;
                case 'a':
                        i++;
                        continue; /* an array is its element type, plus one */
                case '(':
                case '{':
                        depth++;
                        break;
                case ')':
                case '}':
                        if (--depth < 0)
                                return 0;
                        break;
                default:
                        break;
                }
                i++;
                if (depth == 0)
                        return i;
        }
}

static void expect_set(Iter *sub, const char *sig, size_t len);

/* ---- messages ---- */

busrpc_msg *msg_wrap(DBusMessage *m, busrpc_conn *c) {
        busrpc_msg *msg;

        if (!m)
                return NULL;
        msg = calloc(1, sizeof(*msg));
        if (!msg)
                return NULL;
        msg->n_ref = 1;
        msg->dbus = dbus_message_ref(m);
        msg->conn = c ? busrpc_conn_ref(c) : NULL;
        return msg;
}

busrpc_msg *msg_new(DBusMessage *m, busrpc_conn *c) {
        return msg_wrap(m, c);
}

busrpc_msg *msg_new_signal(DBusMessage *m, Registry *reg) {
        busrpc_msg *msg = msg_wrap(m, NULL);

        if (msg)
                msg->reg = reg_ref(reg);
        return msg;
}

DBusMessage *msg_get_dbus(busrpc_msg *m) {
        return m ? m->dbus : NULL;
}

BUSRPC_EXPORT busrpc_msg *busrpc_msg_ref(busrpc_msg *m) {
        if (m)
                m->n_ref++;
        return m;
}

BUSRPC_EXPORT busrpc_msg *busrpc_msg_unref(busrpc_msg *m) {
        if (!m || --m->n_ref > 0)
                return NULL;
        if (m->prop_value)
                dbus_message_unref(m->prop_value);
        free(m->prop_sig);
        dbus_message_unref(m->dbus);
        if (m->conn)
                busrpc_conn_unref(m->conn);
        reg_unref(m->reg);
        free(m);
        return NULL;
}

BUSRPC_EXPORT const char *busrpc_msg_get_signature(busrpc_msg *m) {
        return m ? dbus_message_get_signature(m->dbus) : NULL;
}

BUSRPC_EXPORT bool busrpc_msg_has_signature(busrpc_msg *m, const char *signature) {
        const char *s = busrpc_msg_get_signature(m);
        return s && signature && strcmp(s, signature) == 0;
}

BUSRPC_EXPORT const char *busrpc_msg_get_sender(busrpc_msg *m) {
        return m ? dbus_message_get_sender(m->dbus) : NULL;
}

BUSRPC_EXPORT const char *busrpc_msg_get_path(busrpc_msg *m) {
        return m ? dbus_message_get_path(m->dbus) : NULL;
}

BUSRPC_EXPORT const char *busrpc_msg_get_interface(busrpc_msg *m) {
        return m ? dbus_message_get_interface(m->dbus) : NULL;
}

BUSRPC_EXPORT const char *busrpc_msg_get_member(busrpc_msg *m) {
        return m ? dbus_message_get_member(m->dbus) : NULL;
}

void iter_init_read(busrpc_iter *it, DBusMessage *m) {
        Iter *i = iter_priv(it);

        memset(i, 0, sizeof(*i));
        i->msg = m;
        i->mode = ITER_READ;
        (void)dbus_message_iter_init(m, &i->it); /* FALSE only means "no arguments" */
}

void iter_init_read_conn(busrpc_iter *it, DBusMessage *m, busrpc_conn *c) {
        iter_init_read(it, m);
        if (c) {
                iter_priv(it)->max_shm = busrpc_conn_get_max_shm_size(c);
                iter_priv(it)->conn = c;
        }
}

void iter_init_append(busrpc_iter *it, DBusMessage *m) {
        Iter *i = iter_priv(it);

        memset(i, 0, sizeof(*i));
        i->msg = m;
        i->mode = ITER_APPEND;
        i->checked = EXPECT_FREE;
        dbus_message_iter_init_append(m, &i->it);
}

void iter_init_append_one(busrpc_iter *it, DBusMessage *m, const char *sig) {
        Iter *i = iter_priv(it);

        iter_init_append(it, m);
        if (sig) {
                /* Like the inside of a variant: one value of this type. */
                i->container = 'v';
                i->depth = 1;
                expect_set(i, sig, strlen(sig));
        }
}

BUSRPC_EXPORT int busrpc_msg_read(busrpc_msg *m, busrpc_iter *it) {
        return_if_fail(m && it, -EINVAL);
        iter_init_read_conn(it, m->dbus, m->conn);
        return 0;
}

BUSRPC_EXPORT int busrpc_msg_append(busrpc_msg *m, busrpc_iter *it) {
        return_if_fail(m && it, -EINVAL);
        return_if_fail(!m->prop_value, -EBUSY);
        /* A received (or already sent) message is locked: libdbus aborts
         * the process on the first append. It has a serial; ours do not. */
        return_if_fail(dbus_message_get_serial(m->dbus) == 0, -EPERM);
        iter_init_append(it, m->dbus);
        return 0;
}

BUSRPC_EXPORT int busrpc_msg_send(busrpc_msg *m) {
        int r;

        return_if_fail(m, -EINVAL);
        if (m->prop_value)
                r = -EBUSY;
        else if (m->reg)
                r = reg_send(m->reg, m->dbus);
        else if (m->conn)
                r = conn_send(m->conn, m->dbus);
        else
                r = -ENOTCONN;
        busrpc_msg_unref(m);
        return r;
}

/* ---- appending: what the iterator expects ---- */

/* Account for a value of complete type @sig (@len chars) being appended. */
static int expect_take(Iter *i, const char *sig, size_t len) {
        if (i->checked != EXPECT_KNOWN)
                return 0;
        if (strncmp(i->expect + i->epos, sig, len) != 0 || sig_complete_len(i->expect + i->epos) != len)
                return -EINVAL;
        return 0;
}

static void expect_advance(Iter *i, size_t len) {
        if (i->checked != EXPECT_KNOWN)
                return;
        i->epos += len;
        if (i->container == 'a' && i->expect[i->epos] == '\0')
                i->epos = 0; /* the next array element */
}

static void expect_set(Iter *sub, const char *sig, size_t len) {
        if (len < ITER_EXPECT_MAX) {
                memcpy(sub->expect, sig, len);
                sub->expect[len] = '\0';
                sub->checked = EXPECT_KNOWN;
        } else
                sub->checked = EXPECT_UNKNOWN;
        sub->epos = 0;
}

static int append_check(busrpc_iter *it, Iter **ret) {
        Iter *i = iter_priv(it);

        return_if_fail(it && i->mode == ITER_APPEND, -EINVAL);
        /* Sent meanwhile (the caller kept a reference): libdbus has locked
         * the message and would abort the process on an append. */
        return_if_fail(dbus_message_get_serial(i->msg) == 0, -EPERM);
        /* A variant (or a struct) that is complete takes nothing more. */
        if (i->checked == EXPECT_KNOWN && i->container != 'a' && i->expect[i->epos] == '\0')
                return -EINVAL;
        *ret = i;
        return 0;
}

BUSRPC_EXPORT int busrpc_iter_append_basic(busrpc_iter *it, int type, const void *value) {
        char t = (char)type;
        dbus_bool_t b;
        Iter *i;
        int r;

        return_if_fail(it && value, -EINVAL);
        r = append_check(it, &i);
        if (r < 0)
                return r;
        return_if_fail(type_is_basic(type), -EINVAL);
        r = expect_take(i, &t, 1);
        if (r < 0)
                return r;
        switch (type) {
        case 's':
                return_if_fail(valid_utf8(*(const char *const *)value), -EINVAL);
                break;
        case 'o':
                return_if_fail(valid_object_path(*(const char *const *)value), -EINVAL);
                break;
        case 'g':
                return_if_fail(valid_signature(*(const char *const *)value), -EINVAL);
                break;
        case 'b':
                /* libdbus aborts on anything but 0 or 1. */
                b = *(const uint32_t *)value ? 1 : 0;
                value = &b;
                break;
        case 'h':
                return_if_fail(*(const int *)value >= 0, -EBADF);
                break;
        default:
                break;
        }
        if (!dbus_message_iter_append_basic(&i->it, type, value))
                return type == 'h' ? -EBADF : -ENOMEM;
        expect_advance(i, 1);
        return 0;
}

BUSRPC_EXPORT int busrpc_iter_append_fd(busrpc_iter *it, int fd) {
        return busrpc_iter_append_basic(it, 'h', &fd);
}

BUSRPC_EXPORT int busrpc_iter_append_fixed_array(busrpc_iter *it, int elem_type, const void *items, size_t n) {
        char sig[3] = { 'a', (char)elem_type, '\0' };
        DBusMessageIter sub;
        Iter *i;
        int r;

        return_if_fail(it && (items || n == 0), -EINVAL);
        r = append_check(it, &i);
        if (r < 0)
                return r;
        return_if_fail(type_is_fixed(elem_type) && elem_type != 'h', -EINVAL);
        return_if_fail(n <= INT32_MAX, -E2BIG);
        return_if_fail(i->depth < MAX_DEPTH, -E2BIG);
        r = expect_take(i, sig, 2);
        if (r < 0)
                return r;
        if (elem_type == 'b') {
                /* Booleans are 32-bit 0/1 on the wire; libdbus aborts on others. */
                const uint32_t *v = items;
                for (size_t k = 0; k < n; k++)
                        return_if_fail(v[k] <= 1, -EINVAL);
        }
        if (!dbus_message_iter_open_container(&i->it, 'a', sig + 1, &sub))
                return -ENOMEM;
        if (n > 0 && !dbus_message_iter_append_fixed_array(&sub, elem_type, &items, (int)n)) {
                dbus_message_iter_abandon_container(&i->it, &sub);
                return -ENOMEM;
        }
        if (!dbus_message_iter_close_container(&i->it, &sub))
                return -ENOMEM;
        expect_advance(i, 2);
        return 0;
}

BUSRPC_EXPORT int busrpc_iter_open(busrpc_iter *it, int type, const char *contained, busrpc_iter *sub) {
        char buf[258];
        const char *sub_sig = NULL;
        size_t len = 1, sub_len = 0;
        Iter *i, *s;
        int r;

        return_if_fail(it && sub && it != sub, -EINVAL);
        /* A sub that failed to open is safe to abandon (a no-op). */
        iter_priv(sub)->mode = 0;
        r = append_check(it, &i);
        if (r < 0)
                return r;
        return_if_fail(i->depth < MAX_DEPTH, -E2BIG);
        switch (type) {
        case 'a':
                return_if_fail(contained && strlen(contained) < 255, -EINVAL);
                buf[0] = 'a';
                strcpy(buf + 1, contained);
                return_if_fail(valid_single_signature(buf), -EINVAL);
                len = strlen(buf);
                r = expect_take(i, buf, len);
                sub_sig = contained;
                sub_len = len - 1;
                break;
        case 'v':
                return_if_fail(valid_single_signature(contained), -EINVAL);
                r = expect_take(i, "v", 1);
                sub_sig = contained;
                sub_len = strlen(contained);
                break;
        case 'r':
        case 'e':
                return_if_fail(!contained, -EINVAL);
                if (i->checked == EXPECT_KNOWN) {
                        if (i->expect[i->epos] != (type == 'r' ? '(' : '{'))
                                return -EINVAL;
                        len = sig_complete_len(i->expect + i->epos);
                        sub_sig = i->expect + i->epos + 1;
                        sub_len = len - 2;
                } else if (type == 'e' && i->container != 'a')
                        return -EINVAL; /* a dict entry lives only in an array */
                break;
        default:
                return -EINVAL;
        }
        if (r < 0)
                return r;

        s = iter_priv(sub);
        memset(s, 0, sizeof(*s));
        s->msg = i->msg;
        s->mode = ITER_APPEND;
        s->container = (uint8_t)type;
        s->depth = i->depth + 1;
        if (sub_sig && (type == 'a' || type == 'v' || i->checked == EXPECT_KNOWN))
                expect_set(s, sub_sig, sub_len);
        else
                s->checked = i->checked == EXPECT_UNKNOWN ? EXPECT_UNKNOWN : EXPECT_FREE;
        if (!dbus_message_iter_open_container(&i->it, type == 'r' ? DBUS_TYPE_STRUCT :
                                              type == 'e' ? DBUS_TYPE_DICT_ENTRY : type,
                                              type == 'a' || type == 'v' ? contained : NULL, &s->it)) {
                s->mode = 0;
                return -ENOMEM;
        }
        /* Advance the parent now: the sub's signature is fixed. */
        expect_advance(i, len);
        return 0;
}

BUSRPC_EXPORT int busrpc_iter_close(busrpc_iter *it, busrpc_iter *sub) {
        Iter *i = iter_priv(it), *s = iter_priv(sub);

        return_if_fail(it && sub && i->mode == ITER_APPEND && s->mode == ITER_APPEND, -EINVAL);
        return_if_fail(dbus_message_get_serial(i->msg) == 0, -EPERM); /* locked: see append_check() */
        /* An incomplete struct, dict entry or variant would make an invalid
         * message (libdbus does not check): refuse to close it. */
        if (s->checked == EXPECT_KNOWN && s->container != 'a' && s->expect[s->epos] != '\0')
                return -EINVAL;
        if (s->checked == EXPECT_KNOWN && s->container == 'a' && s->epos != 0)
                return -EINVAL;
        if (!dbus_message_iter_close_container(&i->it, &s->it))
                return -ENOMEM;
        s->mode = 0;
        return 0;
}

BUSRPC_EXPORT void busrpc_iter_abandon(busrpc_iter *it, busrpc_iter *sub) {
        Iter *i = iter_priv(it), *s = iter_priv(sub);

        if (!it || !sub || i->mode != ITER_APPEND || s->mode != ITER_APPEND)
                return;
        s->mode = 0;
        if (dbus_message_get_serial(i->msg) != 0)
                return; /* locked: see append_check() */
        dbus_message_iter_abandon_container_if_open(&i->it, &s->it);
        s->mode = 0;
}

/* ---- reading ---- */

static Iter *read_iter(busrpc_iter *it) {
        Iter *i = iter_priv(it);
        return it && i->mode == ITER_READ ? i : NULL;
}

BUSRPC_EXPORT int busrpc_iter_type(busrpc_iter *it) {
        Iter *i = read_iter(it);
        int t;

        if (!i)
                return BUSRPC_TYPE_INVALID;
        t = dbus_message_iter_get_arg_type(&i->it);
        if (t == DBUS_TYPE_STRUCT)
                return BUSRPC_TYPE_STRUCT;
        if (t == DBUS_TYPE_DICT_ENTRY)
                return BUSRPC_TYPE_DICT_ENTRY;
        return t;
}

BUSRPC_EXPORT bool busrpc_iter_at_end(busrpc_iter *it) {
        Iter *i = read_iter(it);
        return !i || dbus_message_iter_get_arg_type(&i->it) == DBUS_TYPE_INVALID;
}

BUSRPC_EXPORT int busrpc_iter_get_basic(busrpc_iter *it, int type, void *ret_value) {
        Iter *i = read_iter(it);
        DBusBasicValue v;

        return_if_fail(i && ret_value && type_is_basic(type), -EINVAL);
        if (dbus_message_iter_get_arg_type(&i->it) != type)
                return -EBADMSG;
        memset(&v, 0, sizeof(v));
        dbus_message_iter_get_basic(&i->it, &v);
        switch (type) {
        case 'y':
                *(uint8_t *)ret_value = v.byt;
                break;
        case 'n':
        case 'q':
                *(uint16_t *)ret_value = v.u16;
                break;
        case 'b':
                *(uint32_t *)ret_value = v.bool_val ? 1 : 0;
                break;
        case 'i':
        case 'u':
                *(uint32_t *)ret_value = v.u32;
                break;
        case 'h':
                if (v.fd < 0)
                        return -EBADMSG; /* no such fd in the message, or dup failed */
                *(int *)ret_value = v.fd;
                break;
        case 'x':
        case 't':
                *(uint64_t *)ret_value = v.u64;
                break;
        case 'd':
                *(double *)ret_value = v.dbl;
                break;
        default: /* s o g */
                *(const char **)ret_value = v.str;
                break;
        }
        (void)dbus_message_iter_next(&i->it);
        return 0;
}

BUSRPC_EXPORT int busrpc_iter_get_fd(busrpc_iter *it, int *ret_fd) {
        return busrpc_iter_get_basic(it, 'h', ret_fd);
}

BUSRPC_EXPORT int busrpc_iter_get_fixed_array(busrpc_iter *it, int elem_type, const void **ret_items,
                                              size_t *ret_n) {
        Iter *i = read_iter(it);
        DBusMessageIter sub;
        const void *items = NULL;
        int n = 0;

        return_if_fail(i && ret_items && ret_n, -EINVAL);
        /* libdbus aborts the process for an array of fds. */
        return_if_fail(type_is_fixed(elem_type) && elem_type != 'h', -EINVAL);
        if (dbus_message_iter_get_arg_type(&i->it) != DBUS_TYPE_ARRAY)
                return -EBADMSG;
        if (dbus_message_iter_get_element_type(&i->it) != elem_type)
                return dbus_message_iter_get_element_type(&i->it) == 'h' ? -EINVAL : -EBADMSG;
        dbus_message_iter_recurse(&i->it, &sub);
        dbus_message_iter_get_fixed_array(&sub, &items, &n);
        if (n < 0)
                return -EBADMSG;
        *ret_items = items;
        *ret_n = (size_t)n;
        (void)dbus_message_iter_next(&i->it);
        return 0;
}

BUSRPC_EXPORT int busrpc_iter_recurse(busrpc_iter *it, busrpc_iter *sub) {
        Iter *i = read_iter(it), *s;
        int t;

        return_if_fail(i && sub && it != sub, -EINVAL);
        t = dbus_message_iter_get_arg_type(&i->it);
        if (t != DBUS_TYPE_ARRAY && t != DBUS_TYPE_STRUCT && t != DBUS_TYPE_DICT_ENTRY && t != DBUS_TYPE_VARIANT)
                return -EBADMSG;
        s = iter_priv(sub);
        memset(s, 0, sizeof(*s));
        s->msg = i->msg;
        s->mode = ITER_READ;
        s->container = t == DBUS_TYPE_STRUCT ? 'r' : t == DBUS_TYPE_DICT_ENTRY ? 'e' : (uint8_t)t;
        s->depth = i->depth + 1;
        s->max_shm = i->max_shm;
        s->conn = i->conn;
        dbus_message_iter_recurse(&i->it, &s->it);
        (void)dbus_message_iter_next(&i->it);
        return 0;
}

/* ---- dict keys ---- */

/* A key as something qsort can order: fixed types as 64 bits, strings by
 * pointer into the message. Equal keys compare equal; the order itself
 * means nothing. */
typedef union DictKey {
        uint64_t u;
        const char *s;
} DictKey;

static int key_cmp_u(const void *a, const void *b) {
        uint64_t x = ((const DictKey *)a)->u, y = ((const DictKey *)b)->u;
        return x < y ? -1 : x > y;
}

static int key_cmp_s(const void *a, const void *b) {
        return strcmp(((const DictKey *)a)->s, ((const DictKey *)b)->s);
}

static uint64_t key_bits(int type, const DBusBasicValue *v) {
        uint64_t u;

        switch (type) {
        case 'y':
                return v->byt;
        case 'b':
                return v->bool_val ? 1 : 0;
        case 'n':
        case 'q':
                return v->u16;
        case 'i':
        case 'u':
                return v->u32;
        case 'd':
                if (v->dbl == 0.0)
                        return 0; /* -0.0 == 0.0 in C: one key */
                memcpy(&u, &v->dbl, sizeof(u));
                return u;
        default:
                return v->u64;
        }
}

/* -ENOTUNIQ when the dict at @arr (an array iterator, copied) has a key
 * twice. libdbus validated the message: every element is a dict entry
 * whose first field is the key type. Sorting beats a hash here: no
 * allocation per key, one array for all of them. */
static int dict_keys_unique(DBusMessageIter arr) {
        DBusMessageIter items, entry;
        DictKey *keys = NULL;
        size_t n = 0, cap = 0;
        int key_type = 0, r = 0;

        dbus_message_iter_recurse(&arr, &items);
        while (dbus_message_iter_get_arg_type(&items) == DBUS_TYPE_DICT_ENTRY) {
                DBusBasicValue v;

                dbus_message_iter_recurse(&items, &entry);
                key_type = dbus_message_iter_get_arg_type(&entry);
                if (!type_is_basic(key_type)) {
                        r = -EBADMSG;
                        goto out;
                }
                if (key_type == 'h')
                        goto out; /* each becomes a new fd: never equal */
                if (n == cap) {
                        size_t ncap = cap ? 2 * cap : 64;
                        DictKey *p = realloc(keys, ncap * sizeof(*keys));
                        if (!p) {
                                r = -ENOMEM;
                                goto out;
                        }
                        keys = p;
                        cap = ncap;
                }
                memset(&v, 0, sizeof(v));
                dbus_message_iter_get_basic(&entry, &v);
                if (key_type == 's' || key_type == 'o' || key_type == 'g')
                        keys[n++].s = v.str;
                else
                        keys[n++].u = key_bits(key_type, &v);
                (void)dbus_message_iter_next(&items);
        }
        if (n < 2)
                goto out;
        if (key_type == 's' || key_type == 'o' || key_type == 'g') {
                qsort(keys, n, sizeof(*keys), key_cmp_s);
                for (size_t k = 1; k < n && r == 0; k++)
                        if (strcmp(keys[k - 1].s, keys[k].s) == 0)
                                r = -ENOTUNIQ;
        } else {
                qsort(keys, n, sizeof(*keys), key_cmp_u);
                for (size_t k = 1; k < n && r == 0; k++)
                        if (keys[k - 1].u == keys[k].u)
                                r = -ENOTUNIQ;
        }
out:
        free(keys);
        return r;
}

BUSRPC_EXPORT int busrpc_iter_recurse_dict(busrpc_iter *it, busrpc_iter *sub) {
        Iter *i = read_iter(it);
        int r;

        return_if_fail(i && sub && it != sub, -EINVAL);
        if (dbus_message_iter_get_arg_type(&i->it) != DBUS_TYPE_ARRAY ||
            dbus_message_iter_get_element_type(&i->it) != DBUS_TYPE_DICT_ENTRY)
                return -EBADMSG;
        r = dict_keys_unique(i->it);
        if (r < 0)
                return r;
        return busrpc_iter_recurse(it, sub);
}

BUSRPC_EXPORT int busrpc_iter_get_variant_signature(busrpc_iter *it, char *buf, size_t size) {
        Iter *i = read_iter(it);
        DBusMessageIter sub;
        size_t n;
        char *sig;

        return_if_fail(i && buf, -EINVAL);
        if (dbus_message_iter_get_arg_type(&i->it) != DBUS_TYPE_VARIANT)
                return -EBADMSG;
        dbus_message_iter_recurse(&i->it, &sub);
        sig = dbus_message_iter_get_signature(&sub);
        if (!sig)
                return -ENOMEM;
        n = strlen(sig);
        if (n >= size) {
                dbus_free(sig);
                return -ERANGE;
        }
        memcpy(buf, sig, n + 1);
        dbus_free(sig);
        return (int)n;
}
