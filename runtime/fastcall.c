/* fastcall.c: calls made and served on the fast path without a
 * DBusMessage (fastcall.h; issue 12).
 *
 * Client: a header template per (proxy, busrpc_remote_method), built on
 * first use and kept with the proxy; per call only the body is written
 * (wire_args_write()), the serial and lengths patched, and the bytes
 * handed to the transport (no copy: transport_send_take()). The reply is
 * read in place by the reply table's ReplyWireFn.
 *
 * Server: a call whose target has an op row is decoded in place into one
 * scratch block, run, and answered with a header written here (a reply's
 * fields differ per caller on a bus: DESTINATION), body by descriptor.
 *
 * Signals (busrpc_object_emit()): two header templates per (object,
 * member, descriptor), cached on the object: without SENDER (a bus sets
 * it; plain peers get none) and with ":1.0" (served peers that said
 * Hello, as conn_send() marks theirs). The body is written once; each
 * receiver gets the bytes under its own transport's next serial (a
 * Transport numbers what it sends), after its match rules
 * (driver_match_accepts_msg()), as server_broadcast() does. A server with
 * a monitor attached, a peer on libdbus (tcp), shm arguments and a
 * variant holding an fd take the DBusMessage path (a monitor's copy and
 * the peers' bytes then come from one DBusMessage, as before).
 *
 * Not covered, so left to the DBusMessage path (same behaviour, same
 * errors, by construction): every failing check on the server (unknown
 * object, method, signature, too many fds or calls: the DBusMessage
 * dispatch answers them), the standard interfaces, methods without an op
 * row, calls to the bus driver emulation, a server with monitors, and
 * methods with an `shm` argument on either side (the DBusMessage path
 * has the pool and copy-on-receipt of shm-pool.c; wire-value.c only the
 * sealed memfd). A variant holding an fd (wire-value.c cannot write it
 * yet) falls back when it is met.
 */
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "conn.h"
#include "driver.h"
#include "error-map.h"
#include "fastcall.h"
#include "marshal.h"
#include "object.h"
#include "proxy.h"
#include "registry.h"
#include "reply.h"
#include "server.h"
#include "transport.h"

/* ---- descriptors ---- */

static bool type_has_shm(const busrpc_type *t, unsigned depth) {
        if (!t || depth > 64)
                return false;
        switch (t->kind) {
        case BUSRPC_KIND_SHM:
                return true;
        case BUSRPC_KIND_ARRAY:
                return type_has_shm(t->elem, depth + 1);
        case BUSRPC_KIND_MAP:
                return type_has_shm(t->elem, depth + 1) || type_has_shm(t->value, depth + 1);
        case BUSRPC_KIND_STRUCT:
                for (size_t i = 0; i < t->n_fields; i++)
                        if (type_has_shm(t->fields[i].type, depth + 1))
                                return true;
                return false;
        default:
                return false;
        }
}

/* An shm travels as 'h': only a signature with one can hold one. */
static bool args_have_shm(const busrpc_args *a) {
        if (!a || !strchr(a->signature, 'h'))
                return false;
        for (size_t i = 0; i < a->n_fields; i++)
                if (type_has_shm(a->fields[i].type, 0))
                        return true;
        return false;
}

static const char *args_sig(const busrpc_args *a) {
        return a ? a->signature : "";
}

/* ---- replies read in place (client) ---- */

/* An error reply as reply_check() and call_error() make it: name and
 * first string argument in @err; timeouts -ETIMEDOUT, a lost connection
 * -ECONNRESET, everything else -EREMOTEIO. */
static int wire_error_read(const WireMsg *m, busrpc_error *err) {
        const char *text = "";
        WireReader r;

        if (m->signature && m->signature[0] == 's') {
                wire_reader_init(&r, m, NULL, 0);
                if (wire_read_basic(&r, 's', &text) < 0)
                        text = "";
        }
        (void)busrpc_error_set(err, m->error_name, "%s", text);
        if (strcmp(m->error_name, BUSRPC_ERROR_NO_REPLY) == 0 ||
            strcmp(m->error_name, BUSRPC_ERROR_TIMEOUT) == 0 ||
            strcmp(m->error_name, "org.freedesktop.DBus.Error.TimedOut") == 0)
                return -ETIMEDOUT;
        if (strcmp(m->error_name, BUSRPC_ERROR_DISCONNECTED) == 0)
                return -ECONNRESET;
        return -EREMOTEIO;
}

/* Read the reply @m of a call of @out into @values (initialised; may be
 * NULL: only checked). */
static int wire_reply_read(const WireMsg *m, int *fds, unsigned n_fds, const busrpc_args *out, void *values,
                           busrpc_error *err) {
        const char *sig = m->signature ? m->signature : "";
        WireReader r;
        int k;

        if (m->type == WIRE_ERROR)
                return wire_error_read(m, err);
        if (strcmp(sig, args_sig(out)) != 0) {
                (void)busrpc_error_set(err, BUSRPC_ERROR_INVALID_ARGS,
                                       "Reply has signature '%s', expected '%s'", sig, args_sig(out));
                return -EBADMSG;
        }
        if (!values || !out || out->n_fields == 0)
                return 0;
        wire_reader_init(&r, m, fds, n_fds);
        k = wire_args_read(&r, out, values, err);
        if (k < 0)
                return busrpc_error_set_errno(err, k);
        return 0;
}

/* ---- calls (client) ---- */

typedef struct FastMethod {
        const busrpc_remote_method *m; /* NULL: a free slot */
        WireTemplate t;
        bool ok; /* false: this method takes the DBusMessage path */
} FastMethod;

/* The templates of one proxy, by method table address (open addressing). */
struct FastProxy {
        FastMethod *slots;
        size_t mask; /* capacity - 1 */
        size_t n;
};

void fast_proxy_free(FastProxy *fp) {
        if (!fp)
                return;
        for (size_t i = 0; fp->slots && i <= fp->mask; i++)
                if (fp->slots[i].m)
                        wire_template_clear(&fp->slots[i].t);
        free(fp->slots);
        free(fp);
}

static size_t ptr_hash(const void *p) {
        uintptr_t x = (uintptr_t)p;

        x ^= x >> 17;
        x *= (uintptr_t)0x9e3779b97f4a7c15ull;
        return (size_t)(x ^ (x >> 29));
}

static FastMethod *slot_find(FastMethod *slots, size_t mask, const busrpc_remote_method *m) {
        size_t i = ptr_hash(m) & mask;

        while (slots[i].m && slots[i].m != m)
                i = (i + 1) & mask;
        return &slots[i];
}

static int fast_proxy_grow(FastProxy *fp) {
        size_t cap = fp->slots ? (fp->mask + 1) * 2 : 8;
        FastMethod *slots = calloc(cap, sizeof(*slots));

        if (!slots)
                return -ENOMEM;
        for (size_t i = 0; fp->slots && i <= fp->mask; i++)
                if (fp->slots[i].m)
                        *slot_find(slots, cap - 1, fp->slots[i].m) = fp->slots[i];
        free(fp->slots);
        fp->slots = slots;
        fp->mask = cap - 1;
        return 0;
}

/* Build the call template of @m on @p: NOREPLY methods carry the flag,
 * a signature with an 'h' a UNIX_FDS slot. */
static void method_init(FastMethod *f, busrpc_proxy *p, const busrpc_remote_method *m) {
        WireHeader h = {
                .type = WIRE_METHOD_CALL,
                .flags = (m->flags & BUSRPC_METHOD_NOREPLY) ? WIRE_FLAG_NO_REPLY : 0,
                .path = busrpc_proxy_get_path(p),
                .interface = m->interface,
                .member = m->member,
                .destination = busrpc_proxy_get_destination(p),
                .signature = args_sig(m->in),
        };

        f->m = m;
        f->ok = !args_have_shm(m->in) && !args_have_shm(m->out) &&
                wire_template_init(&f->t, WIRE_NATIVE, &h,
                                   strchr(h.signature, 'h') ? WIRE_SLOT_UNIX_FDS : 0) >= 0;
}

/* The template of @m on @p, or NULL when @m goes the DBusMessage way. */
static const FastMethod *fast_method(busrpc_proxy *p, const busrpc_remote_method *m) {
        FastProxy **slot = proxy_fast_slot(p), *fp = *slot;
        FastMethod *f;

        if (!fp) {
                fp = calloc(1, sizeof(*fp));
                if (!fp)
                        return NULL;
                *slot = fp;
        }
        if (fp->slots) {
                f = slot_find(fp->slots, fp->mask, m);
                if (f->m)
                        return f->ok ? f : NULL;
        }
        if ((fp->n + 1) * 2 > (fp->slots ? fp->mask + 1 : 0) && fast_proxy_grow(fp) < 0)
                return NULL;
        f = slot_find(fp->slots, fp->mask, m);
        method_init(f, p, m);
        fp->n++;
        return f->ok ? f : NULL;
}

/* Whether a call of @m on @p can go the fast way now. */
static const FastMethod *fast_usable(busrpc_proxy *p, const busrpc_remote_method *m, busrpc_conn **ret_c) {
        busrpc_conn *c = busrpc_proxy_get_conn(p);
        const FastMethod *f;

        /* Closed, or fds where none can go: the DBusMessage path says so. */
        if (!c || !c->tp || !conn_is_open(c))
                return NULL;
        f = fast_method(p, m);
        if (!f || (f->t.unix_fds_at && !conn_can_pass_fds(c)))
                return NULL;
        *ret_c = c;
        return f;
}

/* Write and queue the call; *@ret_serial its serial. FAST_NOT_TAKEN when
 * the arguments hold what the wire writer does not carry (nothing sent). */
static int call_send(busrpc_conn *c, const FastMethod *f, const void *in, uint32_t *ret_serial) {
        WireBuf b;
        WireWriter w;
        WireFds fds = { 0 };
        uint32_t serial;
        int at, r;

        wire_buf_init(&b);
        at = wire_template_begin(&f->t, &b, &w, NULL);
        if (at < 0) {
                wire_buf_free(&b);
                return at;
        }
        r = f->m->in && f->m->in->n_fields ? wire_args_write(&w, f->m->in, in, &fds) : 0;
        if (r == -EOPNOTSUPP) {
                r = FAST_NOT_TAKEN;
                goto fail;
        }
        if (r < 0)
                goto fail;
        serial = transport_next_serial(c->tp);
        r = wire_template_finish(&f->t, &b, (size_t)at, serial, 0, fds.n);
        if (r < 0)
                goto fail;
        r = transport_send_take(c->tp, b.p, (size_t)r, fds.fds, fds.n);
        wire_fds_free(&fds);
        if (r < 0)
                return r;
        *ret_serial = serial;
        return 0;
fail:
        wire_fds_free(&fds);
        wire_buf_free(&b);
        return r;
}

typedef struct SyncReply {
        const busrpc_args *out;
        void *values;
} SyncReply;

static int sync_on_wire(busrpc_pending *pd, const WireMsg *m, int *fds, unsigned n_fds, void *userdata,
                        busrpc_error *err) {
        SyncReply *s = userdata;

        (void)pd;
        return wire_reply_read(m, fds, n_fds, s->out, s->values, err);
}

int fast_invoke(busrpc_proxy *p, const busrpc_remote_method *m, const void *in, void *out,
                busrpc_error *err) {
        SyncReply s = { m->out, out && m->out ? out : NULL };
        const FastMethod *f;
        busrpc_conn *c;
        uint32_t serial;
        int timeout, r;

        f = fast_usable(p, m, &c);
        if (!f)
                return FAST_NOT_TAKEN;
        r = call_send(c, f, in, &serial);
        if (r == FAST_NOT_TAKEN)
                return r;
        if (r < 0)
                return busrpc_error_set_errno(err, r);
        if (m->flags & BUSRPC_METHOD_NOREPLY) {
                /* Out now, as libdbus writes what it can at once: nothing
                 * may come back to make the caller run the loop. */
                r = transport_flush(c->tp);
                if (r < 0 && r != -EAGAIN) /* -EAGAIN: the rest goes from the loop */
                        return busrpc_error_set_errno(err, r);
                return 0;
        }
        timeout = proxy_take_timeout(p);
        busrpc_conn_ref(c);
        r = reply_wait_wire(c, serial, reply_expected_sender(c, busrpc_proxy_get_destination(p)), timeout,
                            sync_on_wire, &s, err);
        busrpc_conn_unref(c);
        return r < 0 ? r : 0;
}

static int async_on_wire(busrpc_pending *pd, const WireMsg *m, int *fds, unsigned n_fds, void *userdata,
                         busrpc_error *err) {
        InvokeClosure *ic = userdata;
        int r;

        (void)err;
        pd->done = true;
        r = wire_reply_read(m, fds, n_fds, ic->out, ic->values, &ic->err);
        invoke_closure_complete(ic, r);
        return 0; /* completed here, whatever the reply said */
}

int fast_invoke_async(busrpc_proxy *p, const busrpc_remote_method *m, const void *in, InvokeClosure *ic,
                      busrpc_reply_fn fallback_cb, busrpc_pending **ret) {
        const FastMethod *f;
        busrpc_pending *pd;
        busrpc_conn *c;
        const char *from;
        uint32_t serial;
        int r;

        f = fast_usable(p, m, &c);
        if (!f)
                return FAST_NOT_TAKEN;
        pd = NULL;
        if (!(m->flags & BUSRPC_METHOD_NOREPLY)) {
                from = reply_expected_sender(c, busrpc_proxy_get_destination(p));
                pd = calloc(1, sizeof(*pd));
                if (!pd)
                        return -ENOMEM;
                pd->n_ref = 1; /* the table's, once entered */
                if (from && !(pd->from = strdup(from))) {
                        free(pd);
                        return -ENOMEM;
                }
                pd->conn = busrpc_conn_ref(c);
                pd->cb = fallback_cb; /* deadline, cancel, lost connection */
                pd->userdata = ic;
                pd->on_wire = async_on_wire;
                pd->wire_userdata = ic;
                /* The table's slot first: once the call is sent, entering it cannot fail (review F6). */
                if (reply_reserve(c) < 0) {
                        busrpc_pending_unref(pd);
                        return -ENOMEM;
                }
        }
        r = call_send(c, f, in, &serial);
        if (r < 0 || r == FAST_NOT_TAKEN || !pd) {
                busrpc_pending_unref(pd);
                if (r == 0) {
                        if (ret)
                                *ret = NULL;        /* no reply will come: nothing to cancel */
                        r = transport_flush(c->tp); /* out now, as for a sync @noreply call */
                        r = r == -EAGAIN ? 0 : r;
                }
                return r;
        }
        r = reply_register_serial(c, serial, proxy_take_timeout(p), pd);
        if (r < 0) {
                busrpc_pending_unref(pd);
                return r;
        }
        if (ret)
                *ret = busrpc_pending_ref(pd);
        return 0;
}

/* ---- serving ---- */

/* The fds a skeleton would be handed: every 'h' value (as msg_count_fds()). */
static unsigned count_fds(WireReader *r) {
        unsigned n = 0;
        WireReader sub;
        char t;

        while ((t = wire_reader_peek(r))) {
                size_t len = wire_type_len(r->sig);

                if (t == 'h') {
                        n++;
                        if (wire_read_skip(r) < 0)
                                break;
                        continue;
                }
                if (t != 'v' && (len <= 1 || !memchr(r->sig, 'h', len))) {
                        if (wire_read_skip(r) < 0)
                                break;
                        continue;
                }
                if (wire_read_enter(r, &sub) < 0)
                        break;
                if (t == 'a' && sub.sig[0] == 'h')
                        n += wire_reader_left(&sub) / 4;
                else
                        n += count_fds(&sub);
                if (wire_read_exit(r, &sub) < 0)
                        break;
        }
        return n;
}

/* Arguments that could not be read: as invoke.c's. */
static int fail_args(busrpc_call *call, int r, const busrpc_error *err) {
        if (busrpc_error_is_set(err))
                busrpc_call_fail_error(call, err);
        else if (r == -ENOMEM)
                busrpc_call_fail(call, BUSRPC_ERROR_NO_MEMORY, "out of memory");
        else
                busrpc_call_fail(call, BUSRPC_ERROR_INVALID_ARGS, "invalid arguments (%s)", strerror(-r));
        return r;
}

/* marshal_dispatch() with the inputs read from the wire. */
static int run_op(busrpc_call *call, const busrpc_method_desc *md, busrpc_object *o, const WireMsg *m,
                  int *fds, unsigned n_fds) {
        busrpc_error err = BUSRPC_ERROR_INIT;
        const busrpc_args *in = md->in, *out = md->out;
        size_t out_at = (in->size + 15) & ~(size_t)15;
        WireReader rd;
        Scratch s;
        char *block;
        int r;

        block = scratch_get(&s, out_at + out->size);
        if (!block)
                return -ENOMEM;
        marshal_args_init(out, block + out_at);
        wire_reader_init(&rd, m, fds, n_fds);
        r = wire_args_read(&rd, in, block, &err); /* initialises, and clears on failure */
        if (r < 0) {
                r = fail_args(call, r, &err);
                busrpc_error_clear(&err);
                goto out;
        }
        r = md->op(call, o->ops, o->self, block, block + out_at);
        if (r == BUSRPC_DEFER)
                r = 0;
        else if (r >= 0) {
                r = 0;
                if (!busrpc_call_is_replied(call) && !busrpc_call_no_reply_expected(call))
                        r = busrpc_call_reply_args(call, out, block + out_at);
                if (r < 0 && r != -ENOMEM)
                        busrpc_call_fail(call, BUSRPC_ERROR_FAILED,
                                         "Method '%s' returned outputs that cannot be sent (%s)", md->name,
                                         strerror(-r));
        }
        marshal_args_clear(in, block);
out:
        marshal_args_clear(out, block + out_at);
        scratch_put(&s);
        return r;
}

int fast_dispatch_call(busrpc_conn *c, const WireMsg *m, int *fds, unsigned n_fds) {
        const busrpc_method_desc *md;
        Registry *reg;
        busrpc_object *o;
        busrpc_call *call;
        RegNode *node;
        int r;

        if (m->type != WIRE_METHOD_CALL || !m->interface || is_standard_iface(m->interface))
                return 0;
        if (c->kind == CONN_SERVED &&
            (c->monitor || !c->server || server_has_monitors(c->server) ||
             (m->destination && strcmp(m->destination, "org.freedesktop.DBus") == 0)))
                return 0;
        reg = conn_objects(c);
        if (!reg)
                return 0;
        node = reg_node(reg, m->path);
        if (!node || !(o = node_find(node, m->interface)) || !o->info)
                return 0;
        md = iface_find_method(o->info, m->member);
        /* Every failing check is answered by the DBusMessage dispatch. */
        if (!md || !md->op || !md->in || !md->out ||
            strcmp(m->signature ? m->signature : "", md->in_sig) != 0)
                return 0;
        if (args_have_shm(md->in) || args_have_shm(md->out))
                return 0;
        if (c->kind == CONN_SERVED && c->n_calls >= server_max_pending_calls(c->server))
                return 0;
        if (m->unix_fds && md->in_sig[0] && strchr(md->in_sig, 'h')) {
                WireReader rd;

                wire_reader_init(&rd, m, fds, n_fds);
                if (count_fds(&rd) > reg_max_call_fds(reg))
                        return 0;
        }
        busrpc_conn_ref(c);
        reg_ref(reg); /* a handler may free the server: see object_dispatch() */
        call = call_new_fast(c, o, md, m, fds, n_fds, md->flags & BUSRPC_METHOD_NOREPLY);
        if (!call) {
                r = 0; /* the DBusMessage path answers NoMemory, or fails alike */
                goto out;
        }
        r = run_op(call, md, o, m, fds, n_fds);
        call_detach_wire(call);
        call_finish(call, r);
        r = 1;
out:
        reg_unref(reg);
        busrpc_conn_unref(c);
        return r;
}

/* ---- replies (server) ---- */

/* A reply goes on the link its call came on, written here, unless a
 * monitor must see it (then the DBusMessage path). */
bool fast_call_direct(busrpc_call *call) {
        busrpc_conn *c = call->conn;

        return !(c->kind == CONN_SERVED && c->server && server_has_monitors(c->server));
}

static size_t pad8(uint8_t *p, size_t at) {
        while (at & 7)
                p[at++] = 0;
        return at;
}

static size_t put_field_u32(uint8_t *p, size_t at, uint8_t code, uint32_t v) {
        at = pad8(p, at);
        p[at] = code;
        p[at + 1] = 1;
        p[at + 2] = 'u';
        p[at + 3] = 0;
        memcpy(p + at + 4, &v, 4);
        return at + 8;
}

/* A string-like field: 's' and 'o' with a 32-bit length, 'g' with 8. */
static size_t put_field_str(uint8_t *p, size_t at, uint8_t code, char t, const char *s) {
        size_t len = strlen(s);
        uint32_t n32 = (uint32_t)len;

        at = pad8(p, at);
        p[at] = code;
        p[at + 1] = 1;
        p[at + 2] = (uint8_t)t;
        p[at + 3] = 0;
        at += 4;
        if (t == 'g') {
                p[at++] = (uint8_t)len;
        } else {
                memcpy(p + at, &n32, 4);
                at += 4;
        }
        memcpy(p + at, s, len + 1);
        return at + len + 1;
}

/* The header of a reply (WIRE_METHOD_RETURN or WIRE_ERROR) to @call at
 * the start of @b: REPLY_SERIAL, the caller as DESTINATION, our name as
 * SENDER to a served peer that said Hello, SIGNATURE, UNIX_FDS when @sig
 * can carry fds (*@ret_fds_at: where the count goes, else 0).
 * Return: the header's length (8-aligned), -ENOMEM. Names are ours or
 * checked by the caller: a bus name, an error name, a valid signature. */
static int reply_header(busrpc_call *call, WireBuf *b, uint8_t type, const char *error_name, const char *sig,
                        uint32_t serial, size_t *ret_fds_at) {
        busrpc_conn *c = call->conn;
        bool hello = c->kind == CONN_SERVED && c->said_hello;
        /* At most: the fixed part, REPLY_SERIAL, UNIX_FDS (padding,
         * code, signature, value), SIGNATURE and the final padding; a
         * string field: padding, code, signature, length, the string
         * and its NUL. */
        size_t need = 16 + 8 + 16 + 24 + strlen(sig);
        uint8_t *p;
        uint32_t v;
        size_t at;

        if (error_name)
                need += 24 + strlen(error_name);
        if (call->sender)
                need += 24 + strlen(call->sender);
        if (hello)
                need += 24 + sizeof(SERVER_UNIQUE_NAME);
        if (wire_buf_reserve(b, need) < 0)
                return -ENOMEM;
        p = b->p;
        p[0] = WIRE_NATIVE;
        p[1] = type;
        p[2] = WIRE_FLAG_NO_REPLY; /* as libdbus and sd-bus mark replies */
        p[3] = 1;
        memset(p + 4, 0, 4); /* body length: patched */
        memcpy(p + 8, &serial, 4);
        at = 16;
        at = put_field_u32(p, at, WIRE_FIELD_REPLY_SERIAL, call->serial);
        if (error_name)
                at = put_field_str(p, at, WIRE_FIELD_ERROR_NAME, 's', error_name);
        if (call->sender)
                at = put_field_str(p, at, WIRE_FIELD_DESTINATION, 's', call->sender);
        if (hello)
                at = put_field_str(p, at, WIRE_FIELD_SENDER, 's', SERVER_UNIQUE_NAME);
        if (sig[0])
                at = put_field_str(p, at, WIRE_FIELD_SIGNATURE, 'g', sig);
        *ret_fds_at = 0;
        if (strchr(sig, 'h')) {
                at = put_field_u32(p, at, WIRE_FIELD_UNIX_FDS, 0);
                *ret_fds_at = at - 4;
        }
        v = (uint32_t)(at - 16);
        memcpy(p + 12, &v, 4); /* the fields array's length, before its padding */
        at = pad8(p, at);
        b->n = at;
        return (int)at;
}

/* Write the reply of @call: @type, @error_name, @sig, and the body by
 * @write; queue it on the call's link. */
static int reply_send(busrpc_call *call, uint8_t type, const char *error_name, const char *sig,
                      int (*write)(WireWriter *w, const void *a, const void *b, WireFds *fds), const void *a,
                      const void *b2) {
        busrpc_conn *c = call->conn;
        WireFds fds = { 0 };
        WireWriter w;
        WireBuf b;
        size_t fds_at;
        uint32_t v;
        int hl, r;

        if (!c->tp || c->link_gen != call->link_gen)
                return -ENOTCONN; /* the caller's link is gone: nobody to answer */
        wire_buf_init(&b);
        hl = reply_header(call, &b, type, error_name, sig, transport_next_serial(c->tp), &fds_at);
        if (hl < 0) {
                wire_buf_free(&b);
                return hl;
        }
        wire_writer_init(&w, &b, 0, WIRE_NATIVE, NULL);
        r = write(&w, a, b2, &fds);
        if (r >= 0 && b.err)
                r = b.err;
        if (r >= 0 && b.n > WIRE_MAX_MESSAGE)
                r = -E2BIG;
        if (r < 0) {
                wire_fds_free(&fds);
                wire_buf_free(&b);
                return r;
        }
        v = (uint32_t)(b.n - (size_t)hl);
        memcpy(b.p + 4, &v, 4);
        if (fds_at)
                memcpy(b.p + fds_at, &fds.n, 4);
        r = transport_send_take(c->tp, b.p, b.n, fds.fds, fds.n);
        wire_fds_free(&fds);
        return r;
}

static int write_args(WireWriter *w, const void *a, const void *values, WireFds *fds) {
        const busrpc_args *out = a;

        return out->n_fields ? wire_args_write(w, out, values, fds) : 0;
}

static int write_text(WireWriter *w, const void *a, const void *unused, WireFds *fds) {
        const char *text = a;

        (void)unused;
        (void)fds;
        return wire_write_string(w, 's', text, strlen(text));
}

int fast_call_return(busrpc_call *call, const busrpc_args *out, const void *values) {
        int r;

        if (!fast_call_direct(call))
                return -EOPNOTSUPP;
        r = reply_send(call, WIRE_METHOD_RETURN, NULL, out->signature, write_args, out, values);
        if (r == -EOPNOTSUPP || r == -ENOMEM || r == -EINVAL || r == -E2BIG)
                return r; /* not replied: the caller answers (or goes through libdbus) */
        call_mark_replied(call);
        return r == -ENOTCONN ? 0 : r;
}

int fast_call_error(busrpc_call *call, const char *name, const char *text) {
        int r;

        call_mark_replied(call);
        if (call->no_reply)
                return 0;
        r = reply_send(call, WIRE_ERROR, name, "s", write_text, text, NULL);
        return r == -ENOTCONN ? 0 : r;
}

/* ---- signals (busrpc_object_emit()) ---- */

/* The most signals cached per object; past it the DBusMessage path
 * (only a program emitting under ever new member names gets there). */
#define MAX_FAST_SIGNALS 64u

typedef struct FastSignal {
        const busrpc_args *args;
        char *member;
        /* [0] as libdbus sends it (no SENDER: a bus sets it, a plain
         * peer has none); [1] with SENDER ":1.0", for served peers that
         * said Hello (conn_send() sets it on theirs) */
        WireTemplate t[2];
        bool ok; /* false: this signal takes the DBusMessage path */
} FastSignal;

struct FastSignals {
        FastSignal *v;
        size_t n, cap;
};

void fast_signals_free(FastSignals *fs) {
        if (!fs)
                return;
        for (size_t i = 0; i < fs->n; i++) {
                wire_template_clear(&fs->v[i].t[0]);
                wire_template_clear(&fs->v[i].t[1]);
                free(fs->v[i].member);
        }
        free(fs->v);
        free(fs);
}

/* Both templates of (@o's path and interface, @member, @args); names and
 * the signature are checked here, once: an invalid one is cached as not ok. */
static void signal_init(FastSignal *f, busrpc_object *o, const char *member, const busrpc_args *args) {
        WireHeader h = {
                .type = WIRE_SIGNAL,
                .path = o->path,
                .interface = o->iface->name,
                .member = member,
                .signature = args->signature,
        };
        unsigned slots = strchr(args->signature, 'h') ? WIRE_SLOT_UNIX_FDS : 0;

        f->args = args;
        f->ok = !args_have_shm(args) && wire_template_init(&f->t[0], WIRE_NATIVE, &h, slots) >= 0;
        if (!f->ok)
                return;
        h.sender = SERVER_UNIQUE_NAME;
        if (wire_template_init(&f->t[1], WIRE_NATIVE, &h, slots) < 0) {
                wire_template_clear(&f->t[0]);
                f->ok = false;
        }
}

/* The templates of @member with @args on @o, built on first use; NULL:
 * the DBusMessage path (not covered, out of memory, too many). */
static const FastSignal *fast_signal(busrpc_object *o, const char *member, const busrpc_args *args) {
        FastSignals *fs = o->fast_signals;
        FastSignal *f;

        if (fs)
                for (size_t i = 0; i < fs->n; i++) {
                        f = &fs->v[i];
                        if (f->args == args && (f->member == member || strcmp(f->member, member) == 0))
                                return f->ok ? f : NULL;
                }
        if (!fs) {
                fs = calloc(1, sizeof(*fs));
                if (!fs)
                        return NULL;
                o->fast_signals = fs;
        }
        if (fs->n == fs->cap) {
                size_t cap = fs->cap ? fs->cap * 2 : 4;

                if (cap > MAX_FAST_SIGNALS)
                        return NULL;
                f = realloc(fs->v, cap * sizeof(*f));
                if (!f)
                        return NULL;
                fs->v = f;
                fs->cap = cap;
        }
        f = &fs->v[fs->n];
        *f = (FastSignal){ 0 };
        f->member = strdup(member);
        if (!f->member)
                return NULL;
        signal_init(f, o, member, args);
        fs->n++;
        return f->ok ? f : NULL;
}

/* One signal encoded once: the message with template @v's header in
 * msg[@v] (msg[1] copied from msg[0]'s body when first needed); each
 * send patches the receiver's serial. */
typedef struct SignalOut {
        const FastSignal *f;
        WireBuf msg[2];
        WireFds fds;
} SignalOut;

static int signal_encode(SignalOut *so, const busrpc_args *args, const void *values) {
        WireWriter w;
        int at, r;

        wire_buf_init(&so->msg[0]);
        wire_buf_init(&so->msg[1]);
        at = wire_template_begin(&so->f->t[0], &so->msg[0], &w, NULL);
        if (at < 0)
                return at;
        r = args->n_fields ? wire_args_write(&w, args, values, &so->fds) : 0;
        if (r >= 0 && so->msg[0].err)
                r = so->msg[0].err;
        if (r >= 0 && so->msg[0].n > WIRE_MAX_MESSAGE)
                r = -E2BIG;
        return r;
}

static void signal_out_free(SignalOut *so) {
        wire_buf_free(&so->msg[0]);
        wire_buf_free(&so->msg[1]);
        wire_fds_free(&so->fds);
}

/* msg[1]: template 1 and msg[0]'s body (the bodies start 8-aligned in both). */
static int signal_variant(SignalOut *so) {
        const WireTemplate *t0 = &so->f->t[0], *t1 = &so->f->t[1];
        size_t body = so->msg[0].n - t0->len;
        WireBuf *b = &so->msg[1];

        if (b->n)
                return 0;
        if (wire_buf_reserve(b, t1->len + body) < 0)
                return b->err;
        memcpy(b->p, t1->bytes, t1->len);
        memcpy(b->p + t1->len, so->msg[0].p + t0->len, body);
        b->n = t1->len + body;
        return 0;
}

/* Queue variant @v on @tp under its next serial: the bytes are copied,
 * or, for the last receiver (@take), the buffer is handed over. */
static int signal_send(SignalOut *so, unsigned v, Transport *tp, bool take) {
        int len;

        if (v && signal_variant(so) < 0)
                return -ENOMEM;
        len = wire_template_finish(&so->f->t[v], &so->msg[v], 0, transport_next_serial(tp), 0, so->fds.n);
        if (len < 0)
                return len;
        if (!take)
                return transport_send(tp, so->msg[v].p, (size_t)len, so->fds.fds, so->fds.n);
        len = transport_send_take(tp, so->msg[v].p, (size_t)len, so->fds.fds, so->fds.n);
        wire_buf_init(&so->msg[v]); /* the transport's now, also on failure */
        return len;
}

/* The first argument when it is a string (match rules' arg0). */
static const char *signal_arg0(const SignalOut *so) {
        const uint8_t *body = so->msg[0].p + so->f->t[0].len;

        if (so->f->args->signature[0] != 's' || so->msg[0].n < so->f->t[0].len + 5)
                return NULL;
        return (const char *)body + 4; /* after its length; the codec wrote its NUL */
}

/* server_broadcast() for a signal without destination: every open peer
 * but monitors, those that said Hello only when a match rule of theirs
 * accepts it; the result of the last send, as there. */
static int emit_broadcast(busrpc_server *s, busrpc_object *o, const FastSignal *f, const char *member,
                          const void *values) {
        SignalOut so = { .f = f };
        busrpc_conn *last = NULL;
        MatchMsg mm;
        busrpc_conn **to;
        unsigned n_to;
        int r;

        if (server_has_monitors(s))
                return FAST_NOT_TAKEN; /* they see it through server_broadcast() */
        r = server_peers_open(s, &to, &n_to);
        if (r < 0)
                return r;
        for (unsigned i = 0; i < n_to; i++)
                if (!to[i]->tp && !to[i]->monitor) {
                        server_peers_unref(to, n_to); /* a peer on libdbus (tcp) */
                        return FAST_NOT_TAKEN;
                }
        r = signal_encode(&so, f->args, values);
        if (r < 0) {
                if (r == -EOPNOTSUPP) /* a variant holding an fd: nothing sent yet */
                        r = FAST_NOT_TAKEN;
                goto out;
        }
        mm = (MatchMsg){
                .type = DBUS_MESSAGE_TYPE_SIGNAL,
                .interface = o->iface->name,
                .member = member,
                .path = o->path,
                .arg0 = signal_arg0(&so),
        };
        /* Each receiver's send waits for the next one's: the last
         * takes the buffer instead of a copy (the sends keep their order,
         * and r is still the last one's). */
        for (unsigned i = 0; i < n_to; i++) {
                busrpc_conn *p = to[i];

                if (p->gone || p->monitor || !conn_is_open(p))
                        continue;
                if (p->said_hello && !driver_match_accepts_msg(p, &mm))
                        continue;
                if (last)
                        r = signal_send(&so, last->said_hello, last->tp, false);
                last = NULL;
                if (so.fds.n && !conn_can_pass_fds(p)) {
                        r = -EOPNOTSUPP;
                        continue;
                }
                last = p;
        }
        if (last && conn_is_open(last))
                r = signal_send(&so, last->said_hello, last->tp, true);
out:
        signal_out_free(&so);
        server_peers_unref(to, n_to);
        return r;
}

int fast_emit(busrpc_object *o, const char *member, const busrpc_args *args, const void *values) {
        busrpc_server *s = o->reg ? o->reg->server : NULL;
        busrpc_conn *c = o->reg ? o->reg->conn : NULL;
        const FastSignal *f;
        SignalOut so;
        int r;

        /* Not exported, an ObjectManager, a closed link: the DBusMessage path says so. */
        if ((!c && !s) || !o->iface)
                return FAST_NOT_TAKEN;
        if (s) {
                if (!s->fast)
                        return FAST_NOT_TAKEN;
        } else if (!c->tp || !conn_is_open(c)) {
                return FAST_NOT_TAKEN;
        }
        f = fast_signal(o, member, args);
        if (!f)
                return FAST_NOT_TAKEN;
        if (s)
                return emit_broadcast(s, o, f, member, values);
        if (f->t[0].unix_fds_at && !conn_can_pass_fds(c))
                return FAST_NOT_TAKEN;
        so = (SignalOut){ .f = f };
        r = signal_encode(&so, args, values);
        if (r >= 0)
                r = wire_template_finish(&f->t[0], &so.msg[0], 0, transport_next_serial(c->tp), 0, so.fds.n);
        if (r >= 0) {
                /* one receiver: the transport takes the buffer, no copy */
                r = transport_send_take(c->tp, so.msg[0].p, (size_t)r, so.fds.fds, so.fds.n);
                wire_buf_init(&so.msg[0]);
        }
        signal_out_free(&so);
        return r == -EOPNOTSUPP ? FAST_NOT_TAKEN : r;
}
