/* wire.c: the D-Bus wire format without libdbus: message headers and body
 * validation (see wire.h; signatures are in wire-signature.c, names in common/names.c,
 * reading, writing and header templates in wire-rw.c, the descriptor
 * codec in wire-value-write.c and wire-value-read.c).
 *
 * The rules are the specification's ("Message Protocol"); where it leaves
 * something open or libdbus 1.14 reads it its own way, this file does what
 * libdbus does, so that both accept the same messages (fuzz/fuzz-wire.c
 * holds it to that), except where wire.h says busrpc is stricter.
 */
#include <errno.h>
#include <string.h>

#include "wire.h"

static const char *const err_names[WIRE_E__MAX] = {
        [WIRE_OK] = "valid",
        [WIRE_E_ENDIAN] = "bad byte order",
        [WIRE_E_TYPE] = "message type INVALID",
        [WIRE_E_VERSION] = "bad protocol version",
        [WIRE_E_SERIAL] = "serial 0",
        [WIRE_E_TOO_LONG] = "message too long",
        [WIRE_E_FIELD_CODE] = "header field code 0",
        [WIRE_E_FIELD_TYPE] = "header field of the wrong type",
        [WIRE_E_FIELD_TWICE] = "header field twice",
        [WIRE_E_MISSING] = "required header field missing",
        [WIRE_E_LOCAL] = "reserved local path or interface",
        [WIRE_E_PATH] = "bad object path",
        [WIRE_E_INTERFACE] = "bad interface name",
        [WIRE_E_MEMBER] = "bad member name",
        [WIRE_E_ERROR_NAME] = "bad error name",
        [WIRE_E_BUS_NAME] = "bad bus name",
        [WIRE_E_REPLY_SERIAL] = "reply serial 0",
        [WIRE_E_SIGNATURE] = "bad signature",
        [WIRE_E_PADDING] = "padding not zero",
        [WIRE_E_SHORT] = "value runs past the end",
        [WIRE_E_TRAILING] = "bytes after the last value",
        [WIRE_E_UTF8] = "string not UTF-8 or holds NUL",
        [WIRE_E_NUL] = "missing terminating NUL",
        [WIRE_E_BOOL] = "boolean not 0 or 1",
        [WIRE_E_ARRAY_LEN] = "array above 64 MiB",
        [WIRE_E_ARRAY_PARTIAL] = "fixed-size array length not a multiple of its element",
        [WIRE_E_VARIANT] = "variant signature not one complete type",
        [WIRE_E_DEPTH] = "nested too deeply",
        [WIRE_E_FD_INDEX] = "fd index out of range",
        [WIRE_E_FDS_MISSING] = "fewer fds than UNIX_FDS",
};

const char *wire_strerror(WireErr e) {
        if ((unsigned)e >= WIRE_E__MAX || !err_names[e])
                return "unknown";
        return err_names[e];
}

/* ---- body validation ---- */

typedef struct Check {
        const uint8_t *b; /* the bytes; offsets are from here, which is 8-aligned in the message */
        bool swap;
        bool fd_index;    /* check 'h' values against n_fds */
        uint32_t n_fds;
        uint32_t at;      /* where the error is */
} Check;

static inline WireErr pad_to(const Check *c, uint32_t *pos, uint32_t end, unsigned align, bool may_end) {
        uint32_t p = *pos, to = (p + align - 1) & ~(uint32_t)(align - 1);

        if (to > end || (!may_end && to == end))
                return WIRE_E_SHORT;
        for (; p < to; p++)
                if (c->b[p])
                        return WIRE_E_PADDING;
        *pos = to;
        return WIRE_OK;
}

/* The uint32 after its padding at *@pos (a length, or a header field's
 * value); *@pos moves past it. */
static inline WireErr get_u32(const Check *c, uint32_t *pos, uint32_t end, uint32_t *ret) {
        WireErr e;

        if ((e = pad_to(c, pos, end, 4, false)) != WIRE_OK)
                return e;
        if (end - *pos < 4)
                return WIRE_E_SHORT;
        *ret = wire_get32(c->b + *pos, c->swap);
        *pos += 4;
        return WIRE_OK;
}

static WireErr check_value(Check *c, const char **sig, uint32_t *pos, uint32_t end, unsigned depth);

static WireErr check_fixed_array(Check *c, char t, uint32_t pos, uint32_t len) {
        unsigned size = t == 'y' ? 1 : wire_align_of(t);
        uint32_t i;

        if (len % size)
                return WIRE_E_ARRAY_PARTIAL;
        if (t == 'b') {
                for (i = 0; i < len; i += 4)
                        if (wire_get32(c->b + pos + i, c->swap) > 1) {
                                c->at = pos + i;
                                return WIRE_E_BOOL;
                        }
        } else if (t == 'h' && c->fd_index) {
                for (i = 0; i < len; i += 4)
                        if (wire_get32(c->b + pos + i, c->swap) >= c->n_fds) {
                                c->at = pos + i;
                                return WIRE_E_FD_INDEX;
                        }
        }
        return WIRE_OK;
}

static WireErr check_string(Check *c, char t, uint32_t *pos, uint32_t end) {
        uint32_t len;
        const char *s;
        WireErr e;

        if (t == 'g') {
                if (*pos >= end)
                        return WIRE_E_SHORT;
                len = c->b[*pos];
                *pos += 1;
        } else if ((e = get_u32(c, pos, end, &len)) != WIRE_OK)
                return e;
        if (len >= end - *pos)
                return WIRE_E_SHORT; /* the NUL too */
        s = (const char *)c->b + *pos;
        if (t == 's')
                e = wire_valid_utf8(s, len) ? WIRE_OK : WIRE_E_UTF8;
        else if (t == 'o')
                e = wire_valid_path(s, len) ? WIRE_OK : WIRE_E_PATH;
        else
                e = wire_signature_check(s, len, NULL);
        if (e != WIRE_OK)
                return e;
        if (s[len])
                return WIRE_E_NUL;
        *pos += len + 1;
        return WIRE_OK;
}

static WireErr check_variant(Check *c, uint32_t *pos, uint32_t end, unsigned depth) {
        uint32_t len;
        unsigned inner = 0;
        const char *s;
        WireErr e;

        if (*pos >= end)
                return WIRE_E_SHORT;
        len = c->b[*pos];
        if (len + 1 >= end - *pos)
                return WIRE_E_SHORT;
        s = (const char *)c->b + *pos + 1;
        e = wire_signature_check(s, len, &inner);
        if (e == WIRE_E_DEPTH)
                return e;
        if (e != WIRE_OK || len == 0 || wire_type_len(s) != len)
                return WIRE_E_VARIANT;
        if (s[len])
                return WIRE_E_NUL;
        if (depth + 1 + inner > WIRE_MAX_DEPTH)
                return WIRE_E_DEPTH;
        *pos += len + 2;
        if ((e = pad_to(c, pos, end, wire_align_of(s[0]), true)) != WIRE_OK)
                return e;
        return check_value(c, &s, pos, end, depth + 1);
}

/* One complete value of type **sig at *pos (below @end), @depth
 * containers around it; both advance. */
static WireErr check_value(Check *c, const char **sig, uint32_t *pos, uint32_t end, unsigned depth) {
        char t = **sig;
        uint32_t len, v;
        WireErr e;

        c->at = *pos;
        switch (t) {
        case 'y':
                if (*pos >= end)
                        return WIRE_E_SHORT;
                *pos += 1;
                break;
        case 'b':
        case 'n':
        case 'q':
        case 'i':
        case 'u':
        case 'h':
        case 'x':
        case 't':
        case 'd':
                if ((e = pad_to(c, pos, end, wire_align_of(t), false)) != WIRE_OK)
                        return e;
                c->at = *pos;
                if (end - *pos < wire_align_of(t))
                        return WIRE_E_SHORT;
                if (t == 'b' || t == 'h') {
                        v = wire_get32(c->b + *pos, c->swap);
                        if (t == 'b' && v > 1)
                                return WIRE_E_BOOL;
                        if (t == 'h' && c->fd_index && v >= c->n_fds)
                                return WIRE_E_FD_INDEX;
                }
                *pos += wire_align_of(t);
                break;
        case 's':
        case 'o':
        case 'g':
                if ((e = check_string(c, t, pos, end)) != WIRE_OK)
                        return e;
                break;
        case 'v':
                if ((e = check_variant(c, pos, end, depth)) != WIRE_OK)
                        return e;
                break;
        case 'a': {
                const char *elem = *sig + 1, *after;
                uint32_t stop;

                if ((e = get_u32(c, pos, end, &len)) != WIRE_OK)
                        return e;
                if ((e = pad_to(c, pos, end, wire_align_of(*elem), true)) != WIRE_OK)
                        return e;
                if (len > end - *pos)
                        return WIRE_E_SHORT;
                if (len > WIRE_MAX_ARRAY)
                        return WIRE_E_ARRAY_LEN;
                after = elem + wire_type_len(elem);
                stop = *pos + len;
                if (wire_is_fixed(*elem)) {
                        if ((e = check_fixed_array(c, *elem, *pos, len)) != WIRE_OK)
                                return e;
                        *pos = stop;
                } else {
                        while (*pos < stop) {
                                const char *s = elem;

                                if ((e = check_value(c, &s, pos, stop, depth + 1)) != WIRE_OK)
                                        return e;
                        }
                }
                *sig = after;
                return WIRE_OK;
        }
        case '(':
        case '{': {
                char close = t == '(' ? ')' : '}';

                if ((e = pad_to(c, pos, end, 8, false)) != WIRE_OK)
                        return e;
                (*sig)++;
                while (**sig != close)
                        if ((e = check_value(c, sig, pos, end, depth + 1)) != WIRE_OK)
                                return e;
                break;
        }
        default:
                return WIRE_E_SIGNATURE; /* not reached with a checked signature */
        }
        (*sig)++;
        return WIRE_OK;
}

static WireErr body_check(const uint8_t *body, size_t len, const char *sig, size_t sig_len, unsigned depth,
                          bool swap, bool fd_index, uint32_t n_fds, uint32_t *ret_at) {
        Check c = { .b = body, .swap = swap, .fd_index = fd_index, .n_fds = n_fds };
        const char *s = sig, *end = sig + sig_len;
        uint32_t pos = 0;
        WireErr e;

        if (depth > WIRE_MAX_DEPTH)
                return WIRE_E_DEPTH;
        while (s < end) {
                if ((e = check_value(&c, &s, &pos, (uint32_t)len, 0)) != WIRE_OK) {
                        if (ret_at)
                                *ret_at = c.at;
                        return e;
                }
        }
        if (pos != len) {
                if (ret_at)
                        *ret_at = pos;
                return WIRE_E_TRAILING;
        }
        return WIRE_OK;
}

WireErr wire_body_check(const uint8_t *body, size_t len, const char *sig, size_t sig_len, unsigned depth,
                        uint8_t endian, uint32_t n_fds, uint32_t *ret_at) {
        return body_check(body, len, sig, sig_len, depth, endian != WIRE_NATIVE, true, n_fds, ret_at);
}

/* ---- headers ---- */

int wire_frame(const uint8_t *buf, size_t len, size_t *ret_need, WireErr *ret_err) {
        uint32_t fields, body, total;
        bool swap;

        if (len < WIRE_FIXED_HEADER) {
                if (ret_need)
                        *ret_need = WIRE_FIXED_HEADER - len;
                return -EAGAIN;
        }
        if (buf[0] != WIRE_LITTLE && buf[0] != WIRE_BIG) {
                if (ret_err)
                        *ret_err = WIRE_E_ENDIAN;
                return -EBADMSG;
        }
        swap = buf[0] != WIRE_NATIVE;
        body = wire_get32(buf + 4, swap);
        fields = wire_get32(buf + 12, swap);
        /* libdbus's loader: each length and the sum within 128 MiB. */
        if (fields > WIRE_MAX_MESSAGE || body > WIRE_MAX_MESSAGE ||
            ((WIRE_FIXED_HEADER + fields + 7) & ~7u) + body > WIRE_MAX_MESSAGE) {
                if (ret_err)
                        *ret_err = WIRE_E_TOO_LONG;
                return -EBADMSG;
        }
        total = ((WIRE_FIXED_HEADER + fields + 7) & ~7u) + body;
        if (len < total) {
                if (ret_need)
                        *ret_need = total - len;
                return -EAGAIN;
        }
        return (int)total;
}

static const char field_types[WIRE_FIELD_LAST + 1] = {
        [WIRE_FIELD_PATH] = 'o',       [WIRE_FIELD_INTERFACE] = 's',   [WIRE_FIELD_MEMBER] = 's',
        [WIRE_FIELD_ERROR_NAME] = 's', [WIRE_FIELD_REPLY_SERIAL] = 'u', [WIRE_FIELD_DESTINATION] = 's',
        [WIRE_FIELD_SENDER] = 's',     [WIRE_FIELD_SIGNATURE] = 'g',   [WIRE_FIELD_UNIX_FDS] = 'u',
        [WIRE_FIELD_CONTAINER] = 'o',
};

#define LOCAL_PATH "/org/freedesktop/DBus/Local"
#define LOCAL_INTERFACE "org.freedesktop.DBus.Local"

static int fail(WireMsg *m, WireErr e, uint32_t at) {
        m->err = e;
        m->err_at = at;
        return -EBADMSG;
}

/* The value of known field @code (type field_types[code], its variant
 * signature already seen) at *@pos: read and checked in one pass. A name
 * rule implies valid UTF-8 without NUL, so names skip the generic string
 * check libdbus makes first; the verdict is the same. */
static WireErr take_field(WireMsg *m, Check *c, unsigned code, uint32_t *pos, uint32_t end) {
        char t = field_types[code];
        uint32_t len, v;
        unsigned depth = 0;
        const char *s;
        WireErr e;

        if (t == 'u') {
                if ((e = get_u32(c, pos, end, &v)) != WIRE_OK)
                        return e;
                if (code == WIRE_FIELD_REPLY_SERIAL) {
                        if (v == 0)
                                return WIRE_E_REPLY_SERIAL;
                        m->reply_serial = v;
                } else
                        m->unix_fds = v;
                return WIRE_OK;
        }
        if (t == 'g') {
                if (*pos >= end)
                        return WIRE_E_SHORT;
                len = c->b[*pos];
                if (len + 1 >= end - *pos)
                        return WIRE_E_SHORT;
                s = (const char *)c->b + *pos + 1;
                if ((e = wire_signature_check(s, len, &depth)) != WIRE_OK)
                        return e;
                if (s[len])
                        return WIRE_E_NUL;
                *pos += len + 2;
                m->sig_len = (uint8_t)len;
                m->sig_depth = (uint8_t)depth;
                m->signature = s;
                return WIRE_OK;
        }
        if ((e = get_u32(c, pos, end, &len)) != WIRE_OK)
                return e;
        if (len >= end - *pos)
                return WIRE_E_SHORT; /* the NUL too */
        s = (const char *)c->b + *pos;
        switch (code) {
        case WIRE_FIELD_PATH:
        case WIRE_FIELD_CONTAINER:
                if (!wire_valid_path(s, len))
                        return WIRE_E_PATH;
                /* libdbus refuses the reserved path as a prefix, and so does this. */
                if (code == WIRE_FIELD_PATH && len >= sizeof(LOCAL_PATH) - 1 &&
                    memcmp(s, LOCAL_PATH, sizeof(LOCAL_PATH) - 1) == 0)
                        return WIRE_E_LOCAL;
                if (code == WIRE_FIELD_PATH)
                        m->path = s;
                else
                        m->container = s;
                break;
        case WIRE_FIELD_INTERFACE:
                if (!wire_valid_interface(s, len))
                        return WIRE_E_INTERFACE;
                if (len >= sizeof(LOCAL_INTERFACE) - 1 &&
                    memcmp(s, LOCAL_INTERFACE, sizeof(LOCAL_INTERFACE) - 1) == 0)
                        return WIRE_E_LOCAL;
                m->interface = s;
                break;
        case WIRE_FIELD_MEMBER:
                if (!wire_valid_member(s, len))
                        return WIRE_E_MEMBER;
                m->member = s;
                break;
        case WIRE_FIELD_ERROR_NAME:
                if (!wire_valid_interface(s, len))
                        return WIRE_E_ERROR_NAME;
                m->error_name = s;
                break;
        default: /* DESTINATION, SENDER */
                if (!wire_valid_bus_name(s, len))
                        return WIRE_E_BUS_NAME;
                if (code == WIRE_FIELD_DESTINATION)
                        m->destination = s;
                else
                        m->sender = s;
                break;
        }
        if (s[len])
                return WIRE_E_NUL;
        *pos += len + 1;
        return WIRE_OK;
}

int wire_message_parse_flags(WireMsg *m, const uint8_t *buf, size_t len, unsigned n_fds, size_t *ret_need,
                             unsigned flags) {
        uint32_t fields_len, pos, end, seen = 0;
        WireErr e = WIRE_OK;
        Check c;
        bool swap;
        int total;

        memset(m, 0, sizeof(*m));
        total = wire_frame(buf, len, ret_need, &e);
        if (total == -EBADMSG)
                return fail(m, e, 0);
        if (total < 0)
                return total;
        swap = buf[0] != WIRE_NATIVE;
        m->data = buf;
        m->size = (uint32_t)total;
        m->endian = buf[0];
        m->type = buf[1];
        m->flags = buf[2];
        m->body_len = wire_get32(buf + 4, swap);
        m->serial = wire_get32(buf + 8, swap);
        fields_len = wire_get32(buf + 12, swap);
        m->header_len = (WIRE_FIXED_HEADER + fields_len + 7) & ~7u;
        m->signature = "";
        if (m->type == 0)
                return fail(m, WIRE_E_TYPE, 1);
        if (buf[3] != 1)
                return fail(m, WIRE_E_VERSION, 3);
        if (m->serial == 0)
                return fail(m, WIRE_E_SERIAL, 8);
        if (fields_len > WIRE_MAX_ARRAY)
                return fail(m, WIRE_E_ARRAY_LEN, 12);

        /* The fields: a(yv), each struct 8-aligned (the array starts at 16). */
        c = (Check){ .b = buf, .swap = swap, .fd_index = false };
        pos = WIRE_FIXED_HEADER;
        end = WIRE_FIXED_HEADER + fields_len;
        while (pos < end) {
                unsigned code;
                uint32_t at = pos;

                if ((e = pad_to(&c, &pos, end, 8, false)) != WIRE_OK)
                        return fail(m, e, at);
                code = buf[pos++];
                at = pos;
                if (code == 0)
                        return fail(m, WIRE_E_FIELD_CODE, at - 1);
                if (code <= WIRE_FIELD_LAST && end - pos >= 3 && buf[pos] == 1 && buf[pos + 1] == field_types[code] &&
                    buf[pos + 2] == 0) {
                        /* A known field of its own type: the fast path. */
                        if (seen & (1u << code))
                                return fail(m, WIRE_E_FIELD_TWICE, at);
                        seen |= 1u << code;
                        pos += 3;
                        if ((e = take_field(m, &c, code, &pos, end)) != WIRE_OK)
                                return fail(m, e, at);
                        continue;
                }
                if ((e = check_variant(&c, &pos, end, 2)) != WIRE_OK)
                        return fail(m, e, c.at);
                if (code <= WIRE_FIELD_LAST)
                        return fail(m, WIRE_E_FIELD_TYPE, at);
                /* unknown fields are ignored (once valid) */
        }
        for (pos = end; pos < m->header_len; pos++)
                if (buf[pos])
                        return fail(m, WIRE_E_PADDING, pos);

        switch (m->type) {
        case WIRE_SIGNAL:
                if (!m->interface)
                        return fail(m, WIRE_E_MISSING, 12);
                /* fall through */
        case WIRE_METHOD_CALL:
                if (!m->path || !m->member)
                        return fail(m, WIRE_E_MISSING, 12);
                break;
        case WIRE_ERROR:
                if (!m->error_name)
                        return fail(m, WIRE_E_MISSING, 12);
                /* fall through */
        case WIRE_METHOD_RETURN:
                if (!m->reply_serial)
                        return fail(m, WIRE_E_MISSING, 12);
                break;
        default:
                break; /* unknown types: the transport ignores them */
        }

        e = body_check(buf + m->header_len, m->body_len, m->signature, m->sig_len, m->sig_depth, swap,
                       !(flags & WIRE_PARSE_NO_FD_INDEX), m->unix_fds, &pos);
        if (e != WIRE_OK)
                return fail(m, e, m->header_len + pos);
        if (m->unix_fds > n_fds)
                return fail(m, WIRE_E_FDS_MISSING, 12);
        return total;
}

int wire_message_parse(WireMsg *m, const uint8_t *buf, size_t len, unsigned n_fds, size_t *ret_need) {
        return wire_message_parse_flags(m, buf, len, n_fds, ret_need, 0);
}
