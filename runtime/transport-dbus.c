/* transport-dbus.c: DBusMessages through a transport, for everything the
 * fast path does not cover (transport.h, "Handover").
 *
 * In: a message without fds is handed to dbus_message_demarshal() as it
 * is (libdbus validates it again; the codec already did); one with fds
 * cannot be (demarshal refuses fds), so it is rebuilt through libdbus's
 * append API from a WireReader, the fds appended by index (libdbus dups
 * them; the transport closes its own afterwards).
 * Out: dbus_message_marshal(), the serial patched into the bytes (the
 * DBusMessage is left alone: it may be locked), the fds taken from the
 * message by walking it (libdbus hands out dups, in body order, which is
 * the order of their indexes for every message libdbus builds).
 */
#include <dbus/dbus.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "transport.h"

/* ---- wire -> DBusMessage ---- */

static int copy_values(WireReader *r, DBusMessageIter *it, const int *fds, unsigned n_fds) {
        char t;

        while ((t = wire_reader_peek(r))) {
                if (t == 'a' || t == 'r' || t == 'e' || t == 'v') {
                        static const int kinds[] = { ['a'] = DBUS_TYPE_ARRAY,
                                                     ['r'] = DBUS_TYPE_STRUCT,
                                                     ['e'] = DBUS_TYPE_DICT_ENTRY,
                                                     ['v'] = DBUS_TYPE_VARIANT };
                        char contents[WIRE_MAX_SIGNATURE + 1];
                        const char *cs = NULL;
                        DBusMessageIter sub_it;
                        WireReader sub;
                        int k;

                        if (wire_read_enter(r, &sub) < 0)
                                return -EBADMSG;
                        if (t == 'a' || t == 'v') {
                                const char *s = t == 'a' ? sub.elem : sub.sig;
                                size_t n = t == 'a' ? wire_type_len(s) : (size_t)(sub.sig_end - sub.sig);

                                if (!n || n > WIRE_MAX_SIGNATURE)
                                        return -EBADMSG;
                                memcpy(contents, s, n);
                                contents[n] = '\0';
                                cs = contents;
                        }
                        if (!dbus_message_iter_open_container(it, kinds[(unsigned char)t], cs, &sub_it))
                                return -ENOMEM;
                        k = copy_values(&sub, &sub_it, fds, n_fds);
                        if (k < 0) {
                                dbus_message_iter_abandon_container(it, &sub_it);
                                return k;
                        }
                        if (!dbus_message_iter_close_container(it, &sub_it))
                                return -ENOMEM;
                        if (wire_read_exit(r, &sub) < 0)
                                return -EBADMSG;
                } else if (t == 'h') {
                        uint32_t idx;

                        if (wire_read_basic(r, 'h', &idx) < 0)
                                return -EBADMSG;
                        if (idx >= n_fds || fds[idx] < 0) /* indexes no fd: the caller answers (InvalidArgs) */
                                return -EBADF;
                        if (!dbus_message_iter_append_basic(it, DBUS_TYPE_UNIX_FD, &fds[idx]))
                                return -ENOMEM;
                } else {
                        DBusBasicValue v;

                        memset(&v, 0, sizeof(v));
                        if (wire_read_basic(r, t, &v) < 0)
                                return -EBADMSG;
                        if (!dbus_message_iter_append_basic(it, t, &v))
                                return -ENOMEM;
                }
        }
        return 0;
}

int transport_to_dbus(const WireMsg *m, const int *fds, unsigned n_fds, DBusMessage **ret) {
        DBusMessage *d;
        DBusMessageIter it;
        WireReader r;
        int k;

        if (!n_fds) {
                DBusError e;

                dbus_error_init(&e);
                d = dbus_message_demarshal((const char *)m->data, (int)m->size, &e);
                k = dbus_error_has_name(&e, DBUS_ERROR_NO_MEMORY) ? -ENOMEM : -EBADMSG;
                dbus_error_free(&e);
                if (!d)
                        return k;
                *ret = d;
                return 0;
        }
        if (m->type < WIRE_METHOD_CALL || m->type > WIRE_SIGNAL)
                return -EBADMSG;
        d = dbus_message_new(m->type);
        if (!d)
                return -ENOMEM;
        /* the codec validated every name with libdbus's rules: these setters cannot refuse them */
        if ((m->path && !dbus_message_set_path(d, m->path)) ||
            (m->interface && !dbus_message_set_interface(d, m->interface)) ||
            (m->member && !dbus_message_set_member(d, m->member)) ||
            (m->error_name && !dbus_message_set_error_name(d, m->error_name)) ||
            (m->destination && !dbus_message_set_destination(d, m->destination)) ||
            (m->sender && !dbus_message_set_sender(d, m->sender)) ||
            (m->reply_serial && !dbus_message_set_reply_serial(d, m->reply_serial)))
                goto nomem;
        dbus_message_set_no_reply(d, !!(m->flags & WIRE_FLAG_NO_REPLY));
        dbus_message_set_auto_start(d, !(m->flags & WIRE_FLAG_NO_AUTO_START));
        dbus_message_set_allow_interactive_authorization(d, !!(m->flags & WIRE_FLAG_ALLOW_INTERACTIVE));
        dbus_message_set_serial(d, m->serial);
        wire_reader_init(&r, m, fds, n_fds);
        dbus_message_iter_init_append(d, &it);
        k = copy_values(&r, &it, fds, n_fds);
        if (k < 0) {
                dbus_message_unref(d);
                return k;
        }
        *ret = d;
        return 0;
nomem:
        dbus_message_unref(d);
        return -ENOMEM;
}

/* ---- DBusMessage -> wire ---- */

typedef struct FdList {
        int fds[TRANSPORT_MAX_FDS];
        unsigned n;
        bool over;
} FdList;

static void collect_fds(DBusMessageIter *it, FdList *l) {
        int t;

        while ((t = dbus_message_iter_get_arg_type(it)) != DBUS_TYPE_INVALID) {
                if (dbus_type_is_container(t)) {
                        DBusMessageIter sub;

                        /* a fixed array holds no fd; recursing into a big ay costs per byte */
                        if (t != DBUS_TYPE_ARRAY ||
                            !dbus_type_is_fixed(dbus_message_iter_get_element_type(it)) ||
                            dbus_message_iter_get_element_type(it) == DBUS_TYPE_UNIX_FD) {
                                dbus_message_iter_recurse(it, &sub);
                                collect_fds(&sub, l);
                        }
                } else if (t == DBUS_TYPE_UNIX_FD) {
                        int fd = -1;

                        dbus_message_iter_get_basic(it, &fd);
                        if (l->n < TRANSPORT_MAX_FDS)
                                l->fds[l->n++] = fd;
                        else {
                                l->over = true;
                                if (fd >= 0)
                                        close(fd);
                        }
                }
                dbus_message_iter_next(it);
        }
}

int transport_send_dbus(Transport *t, DBusMessage *d, uint32_t *ret_serial) {
        char *bytes = NULL;
        int len, r;
        uint32_t serial;
        FdList *l = NULL;
        DBusMessageIter it;
        WireMsg m;

        if (!t || !d)
                return -EINVAL;
        if (!transport_is_open(t))
                return -ENOTCONN;
        if (!dbus_message_marshal(d, &bytes, &len))
                return -ENOMEM;
        r = wire_frame((const uint8_t *)bytes, (size_t)len, NULL, NULL);
        if (r != len) {
                dbus_free(bytes);
                return -EINVAL;
        }
        /* A message that has a serial is forwarded (a monitor's copy, a
         * bus routing it): it keeps it, as libdbus's send does. */
        serial = dbus_message_get_serial(d);
        if (serial == 0)
                serial = transport_next_serial(t);
        wire_put32((uint8_t *)bytes + 8, serial, bytes[0] != WIRE_NATIVE);
        /* UNIX_FDS from the header; the parse cannot fail on libdbus's own bytes but for it */
        if (wire_message_parse_flags(&m, (const uint8_t *)bytes, (size_t)len, WIRE_MAX_FDS, NULL,
                                     WIRE_PARSE_NO_FD_INDEX) < 0) {
                dbus_free(bytes);
                return -EINVAL;
        }
        if (m.unix_fds) {
                l = calloc(1, sizeof(*l));
                if (!l) {
                        dbus_free(bytes);
                        return -ENOMEM;
                }
                if (dbus_message_iter_init(d, &it))
                        collect_fds(&it, l);
                if (l->over || l->n != m.unix_fds) {
                        r = l->over ? -E2BIG : -EINVAL;
                        goto out;
                }
                for (unsigned i = 0; i < l->n; i++)
                        if (l->fds[i] < 0) {
                                r = -EBADF;
                                goto out;
                        }
        }
        r = transport_send(t, bytes, (size_t)len, l ? l->fds : NULL, l ? l->n : 0);
        if (r == 0 && ret_serial)
                *ret_serial = serial;
out:
        if (l) {
                for (unsigned i = 0; i < l->n; i++)
                        if (l->fds[i] >= 0)
                                close(l->fds[i]);
                free(l);
        }
        dbus_free(bytes);
        return r;
}
