/* wire-compare.h: hold runtime/wire.c's reading of a message against
 * libdbus's reading of the same bytes (shared by tests/test-wire.c and
 * fuzz/fuzz-wire.c).
 *
 * wc_message() compares the header fields libdbus exposes and every value
 * of the body, walking busrpc's WireReader and a DBusMessageIter side by
 * side; it returns NULL when they agree, else what differs (a static
 * string, or one in @buf).
 */
#pragma once

#include <stdio.h>
#include <string.h>
#include <dbus/dbus.h>

#include "wire.h"

static inline bool wc_streq(const char *a, const char *b) {
        return a && b ? strcmp(a, b) == 0 : a == b;
}

static const char *wc_values(WireReader *r, DBusMessageIter *it, unsigned depth, char *buf, size_t size) {
        for (;;) {
                char t = wire_reader_peek(r);
                int lt = dbus_message_iter_get_arg_type(it);

                if (t != (lt == DBUS_TYPE_INVALID ? 0 : (char)lt)) {
                        snprintf(buf, size, "type '%c' (busrpc) vs '%c' (libdbus) at depth %u", t ? t : '0',
                                 lt ? lt : '0', depth);
                        return buf;
                }
                if (t == 0)
                        return NULL;
                if (t == 'a' || t == 'r' || t == 'e' || t == 'v') {
                        WireReader sub;
                        DBusMessageIter lsub;
                        const char *e;

                        if (wire_read_enter(r, &sub) < 0)
                                return "busrpc cannot enter a container";
                        dbus_message_iter_recurse(it, &lsub);
                        if (t == 'v') {
                                char *ls = dbus_message_iter_get_signature(&lsub);
                                size_t n = (size_t)(sub.sig_end - sub.sig);
                                bool same = ls && strlen(ls) == n && memcmp(ls, sub.sig, n) == 0;

                                dbus_free(ls);
                                if (!same)
                                        return "variant signatures differ";
                        }
                        if ((e = wc_values(&sub, &lsub, depth + 1, buf, size)))
                                return e;
                        if (wire_read_exit(r, &sub) < 0)
                                return "busrpc cannot leave a container";
                } else if (t == 'h') {
                        uint32_t idx;

                        /* libdbus gives a dup of the fd, or -1 without one: only the type compares. */
                        if (wire_read_basic(r, 'h', &idx) < 0)
                                return "busrpc cannot read an fd index";
                } else {
                        union {
                                uint64_t u;
                                const char *s;
                        } mine = { 0 };
                        DBusBasicValue theirs;

                        memset(&theirs, 0, sizeof(theirs));
                        if (wire_read_basic(r, t, &mine) < 0)
                                return "busrpc cannot read a basic value";
                        dbus_message_iter_get_basic(it, &theirs);
                        if (t == 's' || t == 'o' || t == 'g') {
                                if (!wc_streq(mine.s, theirs.str)) {
                                        snprintf(buf, size, "'%c' \"%.40s\" vs \"%.40s\"", t, mine.s, theirs.str);
                                        return buf;
                                }
                        } else {
                                unsigned n = t == 'y' ? 1 : wire_align_of(t);

                                if (memcmp(&mine, &theirs, n) != 0) {
                                        snprintf(buf, size, "'%c' values differ at depth %u", t, depth);
                                        return buf;
                                }
                        }
                }
                dbus_message_iter_next(it);
        }
}

/* The whole message: header fields, then the body. @fds as received (for the reader). */
static const char *wc_message(const WireMsg *m, DBusMessage *d, char *buf, size_t size) {
        DBusMessageIter it;
        WireReader r;

        if (dbus_message_get_type(d) != m->type)
                return "message type";
        if (dbus_message_get_serial(d) != m->serial)
                return "serial";
        if (dbus_message_get_reply_serial(d) != m->reply_serial)
                return "reply serial";
        if (!!dbus_message_get_no_reply(d) != !!(m->flags & WIRE_FLAG_NO_REPLY))
                return "NO_REPLY flag";
        if (!dbus_message_get_auto_start(d) != !!(m->flags & WIRE_FLAG_NO_AUTO_START))
                return "NO_AUTO_START flag";
        if (!!dbus_message_get_allow_interactive_authorization(d) != !!(m->flags & WIRE_FLAG_ALLOW_INTERACTIVE))
                return "ALLOW_INTERACTIVE_AUTHORIZATION flag";
        if (!wc_streq(dbus_message_get_path(d), m->path))
                return "path";
        if (!wc_streq(dbus_message_get_interface(d), m->interface))
                return "interface";
        if (!wc_streq(dbus_message_get_member(d), m->member))
                return "member";
        if (!wc_streq(dbus_message_get_error_name(d), m->error_name))
                return "error name";
        if (!wc_streq(dbus_message_get_destination(d), m->destination))
                return "destination";
        if (!wc_streq(dbus_message_get_sender(d), m->sender))
                return "sender";
        if (!wc_streq(dbus_message_get_signature(d), m->signature))
                return "signature";
        wire_reader_init(&r, m, NULL, 0);
        dbus_message_iter_init(d, &it);
        return wc_values(&r, &it, 0, buf, size);
}

/* The header of @m as a WireHeader (to re-encode it). */
static inline void wc_header_of(const WireMsg *m, WireHeader *h) {
        memset(h, 0, sizeof(*h));
        h->type = m->type;
        h->flags = m->flags;
        h->path = m->path;
        h->interface = m->interface;
        h->member = m->member;
        h->error_name = m->error_name;
        h->destination = m->destination;
        h->sender = m->sender;
        h->signature = m->signature;
        h->reply_serial = m->reply_serial;
        h->unix_fds = m->unix_fds;
}

/*
 * wc_reencode() - write @m again with busrpc's writer (header from its
 * fields, body copied value by value with wire_write_from()) in byte
 * order @endian, into @b (emptied first). Return: the length, or -errno.
 */
static inline int wc_reencode(const WireMsg *m, uint8_t endian, WireBuf *b) {
        WireBuf body;
        WireWriter w;
        WireReader r;
        WireHeader h;
        char sig[WIRE_MAX_SIGNATURE + 1];
        int k = 0;

        wire_buf_init(&body);
        wire_writer_init(&w, &body, 0, endian, sig);
        wire_reader_init(&r, m, NULL, 0);
        while (k >= 0 && wire_reader_peek(&r))
                k = wire_write_from(&w, &r);
        if (k >= 0 && strcmp(sig, m->signature) != 0)
                k = -EPROTO;
        if (k >= 0) {
                wc_header_of(m, &h);
                b->n = 0;
                b->err = 0;
                k = wire_message_build(b, endian, &h, m->serial, body.p, body.n);
        }
        wire_buf_free(&body);
        return k;
}
