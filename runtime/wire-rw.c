/* wire-rw.c: reading and writing D-Bus bodies by signature, and header
 * templates (see wire.h).
 *
 * The reader trusts what it reads: the bytes passed wire_message_parse()
 * (or wire_body_check()), so it only aligns and loads; a caller that asks
 * for another type than the signature says gets -EBADMSG, never a read
 * outside the container. The writer checks every string it is given and
 * keeps the first error in the buffer (sticky), so a long run of appends
 * needs one check at the end.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

static inline uint32_t align_up(uint32_t v, unsigned a) {
        return (v + a - 1) & ~(uint32_t)(a - 1);
}

static inline char kind_of(char t) {
        return t == '(' ? 'r' : t == '{' ? 'e' : t;
}

/* ---- reading ---- */

void wire_reader_init_raw(WireReader *r, const uint8_t *body, uint32_t len, const char *sig, uint8_t endian) {
        memset(r, 0, sizeof(*r));
        r->base = body;
        r->end = len;
        r->sig = sig;
        r->sig_end = sig + strlen(sig);
        r->swap = endian != WIRE_NATIVE;
}

void wire_reader_init(WireReader *r, const WireMsg *m, const int *fds, uint32_t n_fds) {
        memset(r, 0, sizeof(*r));
        r->base = m->data + m->header_len;
        r->end = m->body_len;
        r->sig = m->signature;
        r->sig_end = m->signature + m->sig_len;
        r->swap = m->endian != WIRE_NATIVE;
        r->fds = fds;
        r->n_fds = n_fds;
}

char wire_reader_peek(const WireReader *r) {
        if (r->kind == 'a')
                return r->pos < r->end ? kind_of(*r->sig) : 0;
        return r->sig < r->sig_end ? kind_of(*r->sig) : 0;
}

static void next_type(WireReader *r) {
        r->sig += wire_type_len(r->sig);
        if (r->kind == 'a' && r->sig >= r->sig_end)
                r->sig = r->elem;
}

int wire_read_basic(WireReader *r, char t, void *ret) {
        const uint8_t *p;
        uint32_t pos, len;

        if (wire_reader_peek(r) != t || t == 'a' || t == 'r' || t == 'e' || t == 'v')
                return -EBADMSG;
        pos = align_up(r->pos, wire_align_of(t));
        p = r->base + pos;
        switch (t) {
        case 'y':
                *(uint8_t *)ret = *p;
                pos += 1;
                break;
        case 'n':
        case 'q':
                *(uint16_t *)ret = wire_get16(p, r->swap);
                pos += 2;
                break;
        case 'b':
        case 'i':
        case 'u':
        case 'h':
                *(uint32_t *)ret = wire_get32(p, r->swap);
                pos += 4;
                break;
        case 'x':
        case 't':
        case 'd':
                *(uint64_t *)ret = wire_get64(p, r->swap);
                pos += 8;
                break;
        case 's':
        case 'o':
                len = wire_get32(p, r->swap);
                *(const char **)ret = (const char *)p + 4;
                pos += 4 + len + 1;
                break;
        case 'g':
                len = *p;
                *(const char **)ret = (const char *)p + 1;
                pos += 1 + len + 1;
                break;
        default:
                return -EBADMSG;
        }
        r->pos = pos;
        next_type(r);
        return 0;
}

int wire_read_enter(WireReader *r, WireReader *sub) {
        char t = wire_reader_peek(r);
        uint32_t pos, len;

        memset(sub, 0, sizeof(*sub));
        sub->base = r->base;
        sub->swap = r->swap;
        sub->fds = r->fds;
        sub->n_fds = r->n_fds;
        sub->max_shm = r->max_shm;
        sub->kind = t;
        switch (t) {
        case 'a':
                pos = align_up(r->pos, 4);
                len = wire_get32(r->base + pos, r->swap);
                pos = align_up(pos + 4, wire_align_of(r->sig[1]));
                sub->pos = pos;
                sub->end = pos + len;
                sub->elem = sub->sig = r->sig + 1;
                sub->sig_end = sub->elem + wire_type_len(sub->elem);
                r->pos = pos + len;
                next_type(r);
                return 0;
        case 'r':
        case 'e':
                sub->pos = align_up(r->pos, 8);
                sub->end = r->end;
                sub->sig = r->sig + 1;
                sub->sig_end = r->sig + wire_type_len(r->sig) - 1;
                return 0;
        case 'v':
                len = r->base[r->pos];
                sub->sig = (const char *)r->base + r->pos + 1;
                sub->sig_end = sub->sig + len;
                sub->pos = align_up(r->pos + 2 + len, wire_align_of(sub->sig[0]));
                sub->end = r->end;
                return 0;
        default:
                return -EBADMSG;
        }
}

int wire_read_exit(WireReader *r, WireReader *sub) {
        int k;

        if (sub->kind == 'a')
                return 0; /* wire_read_enter() moved past the array */
        while (wire_reader_peek(sub))
                if ((k = wire_read_skip(sub)) < 0)
                        return k;
        r->pos = sub->pos;
        next_type(r);
        return 0;
}

int wire_read_skip(WireReader *r) {
        WireReader sub;
        char t = wire_reader_peek(r);
        uint64_t scratch;
        int k;

        switch (t) {
        case 0:
                return -EBADMSG;
        case 'a':
        case 'r':
        case 'e':
        case 'v':
                if ((k = wire_read_enter(r, &sub)) < 0)
                        return k;
                return wire_read_exit(r, &sub);
        default:
                return wire_read_basic(r, t, &scratch);
        }
}

int wire_read_fixed_array(WireReader *r, char t, const void **ret_items, uint32_t *ret_n) {
        WireReader sub;
        unsigned size = t == 'y' ? 1 : wire_align_of(t);
        int k;

        if (wire_reader_peek(r) != 'a' || r->sig[1] != t || !wire_is_fixed(t))
                return -EBADMSG;
        if ((k = wire_read_enter(r, &sub)) < 0)
                return k;
        *ret_items = r->base + sub.pos;
        *ret_n = (sub.end - sub.pos) / size;
        return 0;
}

/* ---- the buffer ---- */

void wire_buf_init(WireBuf *b) {
        memset(b, 0, sizeof(*b));
}

void wire_buf_free(WireBuf *b) {
        free(b->p);
        wire_buf_init(b);
}

int wire_buf_reserve(WireBuf *b, size_t n) {
        size_t cap;
        uint8_t *p;

        if (b->err)
                return b->err;
        if (b->cap - b->n >= n)
                return 0;
        if (n > WIRE_MAX_MESSAGE * 2 - b->n)
                return b->err = -E2BIG;
        cap = b->cap ? b->cap : 256;
        while (cap - b->n < n)
                cap *= 2;
        p = realloc(b->p, cap);
        if (!p)
                return b->err = -ENOMEM;
        b->p = p;
        b->cap = cap;
        return 0;
}

/* ---- writing ---- */

void wire_writer_init(WireWriter *w, WireBuf *b, size_t origin, uint8_t endian, char *sig) {
        memset(w, 0, sizeof(*w));
        w->buf = b;
        w->origin = origin;
        w->swap = endian != WIRE_NATIVE;
        w->sig = sig;
        if (sig)
                sig[0] = '\0';
}

static int fail(WireWriter *w, int err) {
        if (!w->buf->err)
                w->buf->err = err;
        return w->buf->err;
}

/* Zero bytes up to @align from the origin, and room for @more after them. */
static int pad(WireWriter *w, unsigned align, size_t more) {
        WireBuf *b = w->buf;
        size_t n = (align - (b->n - w->origin) % align) % align;

        if (wire_buf_reserve(b, n + more) < 0)
                return b->err;
        if (n) {
                memset(b->p + b->n, 0, n);
                b->n += n;
        }
        return 0;
}

static int sig_add(WireWriter *w, const char *s, size_t len) {
        if (w->kind || !w->sig)
                return 0;
        if (w->sig_len + len > WIRE_MAX_SIGNATURE)
                return fail(w, -EINVAL);
        memcpy(w->sig + w->sig_len, s, len);
        w->sig_len += (uint16_t)len;
        w->sig[w->sig_len] = '\0';
        return 0;
}

static void put(WireWriter *w, const void *v, unsigned size) {
        WireBuf *b = w->buf;
        uint8_t *p = b->p + b->n;

        memcpy(p, v, size);
        if (w->swap && size == 2) {
                uint16_t x;
                memcpy(&x, p, 2);
                x = __builtin_bswap16(x);
                memcpy(p, &x, 2);
        } else if (w->swap && size == 4) {
                uint32_t x;
                memcpy(&x, p, 4);
                x = __builtin_bswap32(x);
                memcpy(p, &x, 4);
        } else if (w->swap && size == 8) {
                uint64_t x;
                memcpy(&x, p, 8);
                x = __builtin_bswap64(x);
                memcpy(p, &x, 8);
        }
        b->n += size;
}

int wire_write_string(WireWriter *w, char t, const char *s, size_t len) {
        WireBuf *b = w->buf;
        bool ok;

        if (b->err)
                return b->err;
        if (!s)
                return fail(w, -EINVAL);
        if (t == 's')
                ok = wire_valid_utf8(s, len);
        else if (t == 'o')
                ok = wire_valid_path(s, len);
        else if (t == 'g')
                ok = wire_signature_check(s, len, NULL) == WIRE_OK;
        else
                ok = false;
        if (!ok)
                return fail(w, -EINVAL);
        if (len > WIRE_MAX_MESSAGE)
                return fail(w, -E2BIG);
        if (pad(w, t == 'g' ? 1 : 4, len + 5) < 0)
                return b->err;
        if (t == 'g') {
                b->p[b->n++] = (uint8_t)len;
        } else {
                uint32_t l = (uint32_t)len;
                put(w, &l, 4);
        }
        memcpy(b->p + b->n, s, len);
        b->n += len;
        b->p[b->n++] = '\0';
        return sig_add(w, &t, 1);
}

int wire_write_basic(WireWriter *w, char t, const void *value) {
        unsigned size;
        uint32_t b;

        if (w->buf->err)
                return w->buf->err;
        switch (t) {
        case 's':
        case 'o':
        case 'g': {
                const char *s = *(const char *const *)value;
                return wire_write_string(w, t, s, s ? strlen(s) : 0);
        }
        case 'b':
                b = *(const uint32_t *)value ? 1 : 0;
                value = &b;
                size = 4;
                break;
        case 'y':
                size = 1;
                break;
        case 'n':
        case 'q':
                size = 2;
                break;
        case 'i':
        case 'u':
        case 'h':
                size = 4;
                break;
        case 'x':
        case 't':
        case 'd':
                size = 8;
                break;
        default:
                return fail(w, -EINVAL);
        }
        if (pad(w, size, size) < 0)
                return w->buf->err;
        put(w, value, size);
        return sig_add(w, &t, 1);
}

int wire_write_open(WireWriter *w, WireWriter *sub, char kind, const char *contents) {
        WireBuf *b = w->buf;
        size_t clen = contents ? strlen(contents) : 0;

        *sub = *w;
        sub->sig = NULL;
        sub->kind = kind;
        sub->depth = w->depth + 1;
        if (b->err)
                return b->err;
        if (sub->depth > WIRE_MAX_DEPTH)
                return fail(w, -EINVAL);
        switch (kind) {
        case 'a': {
                uint32_t zero = 0;

                if (!clen || wire_type_len(contents) != clen)
                        return fail(w, -EINVAL);
                if (pad(w, 4, 4 + 8) < 0)
                        return b->err;
                sub->len_at = b->n;
                put(w, &zero, 4);
                sub->elem_align = (char)wire_align_of(contents[0]);
                if (pad(w, (unsigned)sub->elem_align, 0) < 0)
                        return b->err;
                sub->start = b->n;
                if (sig_add(w, "a", 1) < 0 || sig_add(w, contents, clen) < 0)
                        return b->err;
                return 0;
        }
        case 'v': {
                unsigned inner = 0;

                /* The value's containers count towards the 64 in all, even those it leaves empty. */
                if (!clen || clen > WIRE_MAX_SIGNATURE || wire_type_len(contents) != clen ||
                    wire_signature_check(contents, clen, &inner) != WIRE_OK || sub->depth + inner > WIRE_MAX_DEPTH)
                        return fail(w, -EINVAL);
                if (wire_buf_reserve(b, clen + 2) < 0)
                        return b->err;
                b->p[b->n++] = (uint8_t)clen;
                memcpy(b->p + b->n, contents, clen + 1);
                b->n += clen + 1;
                if (pad(w, wire_align_of(contents[0]), 0) < 0)
                        return b->err;
                return sig_add(w, "v", 1);
        }
        case 'r':
                if (!w->kind && w->sig && !clen)
                        return fail(w, -EINVAL);
                if (pad(w, 8, 0) < 0)
                        return b->err;
                if (sig_add(w, "(", 1) < 0 || sig_add(w, contents, clen) < 0 || sig_add(w, ")", 1) < 0)
                        return b->err;
                return 0;
        case 'e':
                if (w->kind != 'a')
                        return fail(w, -EINVAL);
                return pad(w, 8, 0);
        default:
                return fail(w, -EINVAL);
        }
}

int wire_write_close(WireWriter *w, WireWriter *sub) {
        WireBuf *b = w->buf;

        if (b->err)
                return b->err;
        if (sub->kind == 'a') {
                size_t len = b->n - sub->start;

                if (len > WIRE_MAX_ARRAY)
                        return fail(w, -E2BIG);
                wire_put32(b->p + sub->len_at, (uint32_t)len, w->swap);
        }
        return 0;
}

int wire_write_fixed_array(WireWriter *w, char t, const void *items, uint32_t n) {
        WireWriter sub;
        unsigned size = t == 'y' ? 1 : wire_align_of(t);
        const char contents[2] = { t, '\0' };
        WireBuf *b = w->buf;
        size_t bytes = (size_t)n * size;
        uint32_t i;

        if (!wire_is_fixed(t))
                return fail(w, -EINVAL);
        if (bytes > WIRE_MAX_ARRAY)
                return fail(w, -E2BIG);
        if (wire_write_open(w, &sub, 'a', contents) < 0 || wire_buf_reserve(b, bytes) < 0)
                return b->err;
        if (t == 'b') {
                for (i = 0; i < n; i++) {
                        uint32_t v = ((const uint32_t *)items)[i] ? 1 : 0;
                        put(&sub, &v, 4);
                }
        } else if (!w->swap || size == 1) {
                if (bytes)
                        memcpy(b->p + b->n, items, bytes);
                b->n += bytes;
        } else {
                for (i = 0; i < n; i++)
                        put(&sub, (const uint8_t *)items + (size_t)i * size, size);
        }
        return wire_write_close(w, &sub);
}

/* ---- headers and templates ---- */

static int field(WireWriter *fields, uint8_t code, char t, const void *value, uint32_t *ret_at) {
        WireWriter s, v;
        const char sig[2] = { t, '\0' };

        wire_write_open(fields, &s, 'r', NULL);
        wire_write_basic(&s, 'y', &code);
        wire_write_open(&s, &v, 'v', sig);
        wire_write_basic(&v, t, value);
        if (ret_at && !fields->buf->err)
                *ret_at = (uint32_t)(fields->buf->n - 4 - fields->origin);
        wire_write_close(&s, &v);
        return wire_write_close(fields, &s);
}

static int name_field(WireWriter *fields, uint8_t code, const char *s, bool (*valid)(const char *, size_t)) {
        if (!s)
                return 0;
        if (!valid(s, strlen(s)))
                return fail(fields, -EINVAL);
        return field(fields, code, 's', &s, NULL);
}

/* The header of @h at the end of @b (offset @at): fixed part and fields,
 * padded to 8. The slots' offsets (from @at) go to @t when given. */
static int header_write(WireBuf *b, size_t at, uint8_t endian, const WireHeader *h, uint32_t serial,
                        unsigned slots, WireTemplate *t) {
        WireWriter w, fields;
        uint8_t fixed[4] = { endian, h->type, h->flags, 1 };
        uint32_t zero = 0, fds = h->unix_fds;
        bool has_reply = h->reply_serial || (slots & WIRE_SLOT_REPLY_SERIAL);

        if (endian != WIRE_LITTLE && endian != WIRE_BIG)
                return -EINVAL;
        switch (h->type) {
        case WIRE_SIGNAL:
                if (!h->interface)
                        return -EINVAL;
                /* fall through */
        case WIRE_METHOD_CALL:
                if (!h->path || !h->member)
                        return -EINVAL;
                break;
        case WIRE_ERROR:
                if (!h->error_name)
                        return -EINVAL;
                /* fall through */
        case WIRE_METHOD_RETURN:
                if (!has_reply)
                        return -EINVAL;
                break;
        default:
                return -EINVAL;
        }
        wire_writer_init(&w, b, at, endian, NULL);
        if (wire_buf_reserve(b, 16) < 0)
                return b->err;
        memcpy(b->p + b->n, fixed, 4);
        b->n += 4;
        put(&w, &zero, 4);   /* body length */
        put(&w, &serial, 4); /* serial */
        wire_write_open(&w, &fields, 'a', "(yv)");
        if (h->path)
                field(&fields, WIRE_FIELD_PATH, 'o', &h->path, NULL);
        name_field(&fields, WIRE_FIELD_INTERFACE, h->interface, wire_valid_interface);
        name_field(&fields, WIRE_FIELD_MEMBER, h->member, wire_valid_member);
        name_field(&fields, WIRE_FIELD_ERROR_NAME, h->error_name, wire_valid_interface);
        if (has_reply)
                field(&fields, WIRE_FIELD_REPLY_SERIAL, 'u', &h->reply_serial, t ? &t->reply_serial_at : NULL);
        name_field(&fields, WIRE_FIELD_DESTINATION, h->destination, wire_valid_bus_name);
        name_field(&fields, WIRE_FIELD_SENDER, h->sender, wire_valid_bus_name);
        if (h->signature && h->signature[0])
                field(&fields, WIRE_FIELD_SIGNATURE, 'g', &h->signature, NULL);
        if (fds || (slots & WIRE_SLOT_UNIX_FDS))
                field(&fields, WIRE_FIELD_UNIX_FDS, 'u', &fds, t ? &t->unix_fds_at : NULL);
        wire_write_close(&w, &fields);
        pad(&w, 8, 0);
        return b->err;
}

int wire_template_init(WireTemplate *t, uint8_t endian, const WireHeader *h, unsigned slots) {
        WireBuf b;
        int r;

        memset(t, 0, sizeof(*t));
        wire_buf_init(&b);
        r = header_write(&b, 0, endian, h, 0, slots, t);
        if (r < 0) {
                wire_buf_free(&b);
                memset(t, 0, sizeof(*t));
                return r;
        }
        t->bytes = b.p;
        t->len = (uint32_t)b.n;
        t->endian = endian;
        return 0;
}

void wire_template_clear(WireTemplate *t) {
        free(t->bytes);
        memset(t, 0, sizeof(*t));
}

int wire_template_begin(const WireTemplate *t, WireBuf *b, WireWriter *body, char *sig) {
        size_t at = b->n;

        if ((at & 7) || at > INT32_MAX)
                return -EINVAL; /* messages start 8-aligned in the buffer */
        if (wire_buf_reserve(b, t->len) < 0)
                return b->err;
        memcpy(b->p + at, t->bytes, t->len);
        b->n += t->len;
        wire_writer_init(body, b, at, t->endian, sig);
        return (int)at;
}

int wire_template_finish(const WireTemplate *t, WireBuf *b, size_t msg_at, uint32_t serial, uint32_t reply_serial,
                         uint32_t unix_fds) {
        bool swap = t->endian != WIRE_NATIVE;
        size_t total = b->n - msg_at;
        uint8_t *p = b->p + msg_at;

        if (b->err)
                return b->err;
        if (total > WIRE_MAX_MESSAGE || serial == 0)
                return total > WIRE_MAX_MESSAGE ? -E2BIG : -EINVAL;
        wire_put32(p + 4, (uint32_t)(total - t->len), swap);
        wire_put32(p + 8, serial, swap);
        if (t->reply_serial_at) {
                if (reply_serial == 0)
                        return -EINVAL;
                wire_put32(p + t->reply_serial_at, reply_serial, swap);
        }
        if (t->unix_fds_at)
                wire_put32(p + t->unix_fds_at, unix_fds, swap);
        return (int)total;
}

int wire_message_build(WireBuf *b, uint8_t endian, const WireHeader *h, uint32_t serial, const void *body,
                       size_t body_len) {
        size_t at = b->n;
        int r;

        if (b->err)
                return b->err;
        if ((at & 7) || serial == 0)
                return -EINVAL;
        if (body_len > WIRE_MAX_MESSAGE)
                return -E2BIG;
        r = header_write(b, at, endian, h, serial, 0, NULL);
        if (r < 0 || wire_buf_reserve(b, body_len) < 0) {
                r = b->err ? b->err : r;
                b->err = 0;
                b->n = at;
                return r;
        }
        if (body_len)
                memcpy(b->p + b->n, body, body_len);
        b->n += body_len;
        if (b->n - at > WIRE_MAX_MESSAGE) {
                b->n = at;
                return -E2BIG;
        }
        wire_put32(b->p + at + 4, (uint32_t)body_len, endian != WIRE_NATIVE);
        return (int)(b->n - at);
}

/* ---- copying ---- */

int wire_write_from(WireWriter *w, WireReader *r) {
        char t = wire_reader_peek(r), contents[WIRE_MAX_SIGNATURE + 1];
        WireReader sub;
        WireWriter ws;
        size_t len;
        int k;

        if (w->buf->err)
                return w->buf->err;
        switch (t) {
        case 0:
                return fail(w, -EBADMSG);
        case 'a': {
                char e = r->sig[1];

                if (wire_is_fixed(e) && e != 'b') {
                        const void *items;
                        uint32_t n;

                        /* One copy when the byte orders agree, else item by item. */
                        if (r->swap == w->swap) {
                                unsigned size = e == 'y' ? 1 : wire_align_of(e);
                                const char c[2] = { e, '\0' };

                                if ((k = wire_read_fixed_array(r, e, &items, &n)) < 0)
                                        return fail(w, k);
                                if (wire_write_open(w, &ws, 'a', c) < 0 ||
                                    wire_buf_reserve(w->buf, (size_t)n * size) < 0)
                                        return w->buf->err;
                                memcpy(w->buf->p + w->buf->n, items, (size_t)n * size);
                                w->buf->n += (size_t)n * size;
                                return wire_write_close(w, &ws);
                        }
                }
                len = wire_type_len(r->sig + 1);
                memcpy(contents, r->sig + 1, len);
                contents[len] = '\0';
                break;
        }
        case 'r':
        case 'e':
                len = wire_type_len(r->sig) - 2;
                memcpy(contents, r->sig + 1, len);
                contents[len] = '\0';
                break;
        case 'v':
                break;
        default: {
                uint64_t v = 0;

                /* Same C types on both sides: strings as const char *, the rest by width. */
                if ((k = wire_read_basic(r, t, &v)) < 0)
                        return fail(w, k);
                return wire_write_basic(w, t, &v);
        }
        }
        if ((k = wire_read_enter(r, &sub)) < 0)
                return fail(w, k);
        if (t == 'v') {
                len = (size_t)(sub.sig_end - sub.sig);
                memcpy(contents, sub.sig, len);
                contents[len] = '\0';
        }
        if (wire_write_open(w, &ws, t, contents) < 0)
                return w->buf->err;
        while (wire_reader_peek(&sub))
                if ((k = wire_write_from(&ws, &sub)) < 0)
                        return k;
        if ((k = wire_read_exit(r, &sub)) < 0)
                return fail(w, k);
        return wire_write_close(w, &ws);
}
