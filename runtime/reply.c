/* reply.c: busrpc's own reply table (see reply.h), the sync wait, and the
 * messages a sync wait held back.
 *
 * libdbus's own pending calls (dbus_connection_send_with_reply) build a
 * timeout error message for every call and take locks and a DBusTimeout
 * per call. Here a call is an entry in a small hash keyed by serial, with
 * its deadline a LoopTimer embedded in it, in the loop's one deadline heap
 * (every timer of the process in one place, O(log n) to arm and disarm,
 * no allocation per call).
 *
 * A call is keyed by its serial and by the link it went out on
 * (c->link_gen): a reply read on a later link (after a reconnection) never
 * completes a call of an earlier one.
 *
 * A sync call on libdbus reads with dbus_connection_read_write() and takes
 * messages with dbus_connection_pop_message(): its reply is returned,
 * everything else is held, in order, and dispatched by the loop before
 * anything libdbus still queues (conn_dispatch()). Held messages go
 * through conn_deliver(). Inside a libdbus dispatch of the same connection
 * popping would deadlock (libdbus holds its dispatch lock while filters
 * run): there a sync call blocks in libdbus as before
 * (reply_sync_must_block()).
 *
 * On the fast path a sync call flushes, polls the socket and reads with
 * transport_read(), also from inside a message callback of the same
 * transport (transport.c allows that nested read). Waits nest: each is a
 * SyncWait on the conn's stack, and a reply completes whichever wait it
 * answers (only noted: the outer caller returns later). While a wait runs,
 * or while anything is held, every other message read is held (its bytes
 * copied, its fds taken) and dispatched later, in order, by the conn's
 * deferred source; in the common case (no wait) nothing is copied.
 */
#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "reply.h"
#include "conn.h"
#include "error-map.h"
#include "transport.h"

#define TABLE_MIN_BUCKETS 16u

/* A message read while a sync call waited: a DBusMessage (libdbus), or the
 * bytes and fds the transport read (the fast path). */
typedef struct HeldMsg {
        DBusMessage *dm;
        uint8_t *bytes;
        uint32_t len;
        unsigned n_fds;
        int *fds;
} HeldMsg;

/* A sync wait on the fast path (conn.h: c->sync_wait, innermost first). */
struct SyncWait {
        SyncWait *prev;
        uint32_t serial;
        uint32_t link_gen;
        const char *from;
        ReplyWireFn fn; /* NULL: the reply is converted into @reply */
        void *userdata;
        busrpc_error *err;
        DBusMessage *reply;
        int r;
        bool done;
};

struct ReplyTable {
        busrpc_pending **buckets;
        unsigned n_buckets; /* a power of two */
        unsigned n;
        busrpc_pending *all_head, *all_tail;
        /* messages held back by a sync wait, oldest at held[held_head] */
        HeldMsg *held;
        unsigned held_head, held_n, held_cap;
        size_t held_bytes; /* of the fast path's held messages */
        size_t held_fds;   /* their fds: a wait stops reading at busrpc_conn_get_max_held_fds() */
};

static ReplyTable *table_get(busrpc_conn *c) {
        ReplyTable *t = c->replies;

        if (t)
                return t;
        t = calloc(1, sizeof(*t));
        if (!t)
                return NULL;
        t->buckets = calloc(TABLE_MIN_BUCKETS, sizeof(*t->buckets));
        if (!t->buckets) {
                free(t);
                return NULL;
        }
        t->n_buckets = TABLE_MIN_BUCKETS;
        c->replies = t;
        return t;
}

/* ---- the hash ---- */

static busrpc_pending *table_find(ReplyTable *t, uint32_t serial) {
        busrpc_pending *pd = t->buckets[serial & (t->n_buckets - 1)];

        while (pd && pd->serial != serial)
                pd = pd->hnext;
        return pd;
}

/* Room for one more entry (before the call is sent: nothing can fail after). */
static int table_reserve(ReplyTable *t) {
        busrpc_pending **b;
        unsigned nb;

        if (t->n < t->n_buckets)
                return 0;
        nb = t->n_buckets * 2;
        b = calloc(nb, sizeof(*b));
        if (!b)
                return -ENOMEM;
        for (unsigned i = 0; i < t->n_buckets; i++) {
                busrpc_pending *pd = t->buckets[i], *next;

                for (; pd; pd = next) {
                        next = pd->hnext;
                        pd->hnext = b[pd->serial & (nb - 1)];
                        b[pd->serial & (nb - 1)] = pd;
                }
        }
        free(t->buckets);
        t->buckets = b;
        t->n_buckets = nb;
        return 0;
}

/* ---- deadlines ---- */

static void deadline_fire(LoopTimer *lt);

/* ---- entering and leaving the table ---- */

static void table_insert(busrpc_conn *c, ReplyTable *t, uint32_t serial, int timeout_ms,
                         busrpc_pending *pd) {
        busrpc_pending **b;

        pd->link_gen = c->link_gen;
        pd->serial = serial;
        pd->in_table = true;
        b = &t->buckets[serial & (t->n_buckets - 1)];
        pd->hnext = *b;
        *b = pd;
        t->n++;
        pd->all_next = NULL;
        pd->all_prev = t->all_tail;
        if (t->all_tail)
                t->all_tail->all_next = pd;
        else
                t->all_head = pd;
        t->all_tail = pd;
        loop_timer_init(&pd->timer, deadline_fire);
        /* Without room in the heap the call goes without a deadline rather
         * than unsent: it still completes on a reply or on a hangup. */
        if (timeout_ms != DBUS_TIMEOUT_INFINITE && c->loop)
                (void)loop_timer_arm(c->loop, &pd->timer, loop_now_usec() + (uint64_t)timeout_ms * 1000u);
}

/* Send @m on whichever link @c has; its serial in *@ret_serial. */
static int link_send(busrpc_conn *c, DBusMessage *m, uint32_t *ret_serial) {
        dbus_uint32_t serial = 0;
        size_t before;

        if (c->tp) {
                int r = transport_send_dbus(c->tp, m, ret_serial);

                if (r >= 0)
                        conn_mark_sent(m, *ret_serial);
                return r;
        }
        if (!c->dbus)
                return -ENOTCONN;
        before = conn_outgoing_bytes(c);
        if (!dbus_connection_send(c->dbus, m, &serial))
                return -ENOMEM;
        *ret_serial = serial;
        conn_outgoing_check(c, before); /* the client's bound on libdbus (conn-limits.c) */
        return 0;
}

int reply_register(busrpc_conn *c, DBusMessage *m, int timeout_ms, busrpc_pending *pd) {
        ReplyTable *t = table_get(c);
        uint32_t serial = 0;
        int r;

        if (!t || table_reserve(t) < 0)
                return -ENOMEM;
        r = link_send(c, m, &serial);
        if (r < 0)
                return r;
        table_insert(c, t, serial, timeout_ms, pd);
        return 0;
}

int reply_reserve(busrpc_conn *c) {
        ReplyTable *t = table_get(c);

        return t && table_reserve(t) == 0 ? 0 : -ENOMEM;
}

int reply_register_serial(busrpc_conn *c, uint32_t serial, int timeout_ms, busrpc_pending *pd) {
        ReplyTable *t = table_get(c);

        if (!t || table_reserve(t) < 0)
                return -ENOMEM;
        table_insert(c, t, serial, timeout_ms, pd);
        return 0;
}

void reply_unregister(busrpc_pending *pd) {
        ReplyTable *t;
        busrpc_pending **pp;

        if (!pd->in_table)
                return;
        t = pd->conn->replies;
        pd->in_table = false;
        for (pp = &t->buckets[pd->serial & (t->n_buckets - 1)]; *pp != pd; pp = &(*pp)->hnext)
                ;
        *pp = pd->hnext;
        pd->hnext = NULL;
        t->n--;
        if (pd->all_prev)
                pd->all_prev->all_next = pd->all_next;
        else
                t->all_head = pd->all_next;
        if (pd->all_next)
                pd->all_next->all_prev = pd->all_prev;
        else
                t->all_tail = pd->all_prev;
        pd->all_prev = pd->all_next = NULL;
        loop_timer_disarm(&pd->timer);
}

static void deadline_fire(LoopTimer *lt) {
        busrpc_pending *pd = (busrpc_pending *)(void *)((char *)lt - offsetof(busrpc_pending, timer));
        busrpc_error err = BUSRPC_ERROR_INIT;

        reply_unregister(pd);
        (void)busrpc_error_set(&err, BUSRPC_ERROR_NO_REPLY, "No reply within the call's timeout");
        pending_complete(pd, NULL, -ETIMEDOUT, &err);
        busrpc_error_clear(&err);
}

/* ---- replies ---- */

const char *reply_expected_sender(busrpc_conn *c, const char *destination) {
        /* On a bus a unique name and the bus itself answer as themselves
         * (and the bus for a unique name that is gone); a well-known
         * name's owner would take a question to the bus (libdbus checks no
         * sender at all). Peers have no senders. */
        if (c->kind != CONN_BUS || !destination)
                return NULL;
        if (destination[0] == ':' || strcmp(destination, DRIVER_NAME) == 0)
                return destination;
        return NULL;
}

static bool is_reply(DBusMessage *m, uint32_t serial, const char *from) {
        int type = dbus_message_get_type(m);

        if (type != DBUS_MESSAGE_TYPE_METHOD_RETURN && type != DBUS_MESSAGE_TYPE_ERROR)
                return false;
        if (dbus_message_get_reply_serial(m) != serial)
                return false;
        /* The bus answers for a destination that is gone or never was. */
        return !from || dbus_message_has_sender(m, from) || dbus_message_has_sender(m, DRIVER_NAME);
}

static bool wire_is_reply(const WireMsg *m, uint32_t serial, const char *from) {
        if (m->type != WIRE_METHOD_RETURN && m->type != WIRE_ERROR)
                return false;
        if (m->reply_serial != serial)
                return false;
        return !from || (m->sender && (strcmp(m->sender, from) == 0 || strcmp(m->sender, DRIVER_NAME) == 0));
}

/* The call in the table a reply answers, if any (on the link it went out on). */
static busrpc_pending *find_call(busrpc_conn *c, uint32_t reply_serial) {
        ReplyTable *t = c->replies;
        busrpc_pending *pd;

        if (!t || t->n == 0)
                return NULL;
        pd = table_find(t, reply_serial);
        return pd && pd->link_gen == c->link_gen ? pd : NULL;
}

DBusHandlerResult reply_handle(busrpc_conn *c, DBusMessage *m) {
        busrpc_pending *pd = find_call(c, dbus_message_get_reply_serial(m));
        busrpc_error err = BUSRPC_ERROR_INIT;

        /* Unknown, already timed out or cancelled, or forged: not ours. */
        if (!pd || !is_reply(m, pd->serial, pd->from))
                return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
        reply_unregister(pd);
        if (pd->on_wire) {
                /* A wire-level call whose reply came as a DBusMessage (held
                 * on libdbus, or copied for monitors): back to bytes. */
                char *bytes = NULL;
                int len = 0;
                WireMsg wm;

                if (dbus_message_contains_unix_fds(m) || !dbus_message_marshal(m, &bytes, &len) ||
                    wire_message_parse(&wm, (const uint8_t *)bytes, (size_t)len, 0, NULL) < 0) {
                        (void)busrpc_error_set(&err, BUSRPC_ERROR_FAILED, "Reply could not be read");
                        pending_complete(pd, NULL, -EBADMSG, &err);
                } else {
                        (void)pd->on_wire(pd, &wm, NULL, 0, pd->wire_userdata, &err);
                        busrpc_pending_unref(pd); /* the table's */
                }
                dbus_free(bytes);
        } else {
                pending_complete(pd, m, 0, &err);
        }
        busrpc_error_clear(&err);
        return DBUS_HANDLER_RESULT_HANDLED;
}

bool reply_handle_wire(busrpc_conn *c, const WireMsg *m, int *fds, unsigned n_fds) {
        busrpc_pending *pd = find_call(c, m->reply_serial);
        busrpc_error err = BUSRPC_ERROR_INIT;

        if (!pd || !wire_is_reply(m, pd->serial, pd->from))
                return false;
        reply_unregister(pd);
        if (pd->on_wire) {
                (void)pd->on_wire(pd, m, fds, n_fds, pd->wire_userdata, &err);
                busrpc_pending_unref(pd); /* the table's: the function completed the call */
        } else {
                DBusMessage *dm = NULL;
                int r = transport_to_dbus(m, fds, n_fds, &dm);

                if (r < 0) {
                        (void)busrpc_error_set_errno(&err, -r);
                        pending_complete(pd, NULL, r, &err);
                } else {
                        pending_complete(pd, dm, 0, &err);
                        dbus_message_unref(dm);
                }
        }
        busrpc_error_clear(&err);
        return true;
}

void reply_fail_all(busrpc_conn *c) {
        ReplyTable *t = c->replies;
        busrpc_pending *pd;

        if (!t)
                return;
        /* Each completion unlinks its call; a callback may start new calls,
         * which fail at once on a closed connection and never get here. */
        busrpc_conn_ref(c);
        for (;;) {
                busrpc_error err = BUSRPC_ERROR_INIT;

                for (pd = t->all_head; pd && pd->link_gen != c->link_gen; pd = pd->all_next)
                        ;
                if (!pd)
                        break;
                reply_unregister(pd);
                (void)busrpc_error_set(&err, BUSRPC_ERROR_DISCONNECTED,
                                       "Connection closed before the reply");
                pending_complete(pd, NULL, -ECONNRESET, &err);
                busrpc_error_clear(&err);
        }
        busrpc_conn_unref(c);
}

/* ---- held messages ---- */

static int held_reserve(ReplyTable *t) {
        HeldMsg *h;
        unsigned cap;

        if (t->held_head + t->held_n < t->held_cap)
                return 0;
        if (t->held_head > 0) {
                memmove(t->held, t->held + t->held_head, t->held_n * sizeof(*t->held));
                t->held_head = 0;
                return 0;
        }
        cap = t->held_cap ? t->held_cap * 2 : 8;
        h = realloc(t->held, cap * sizeof(*h));
        if (!h)
                return -ENOMEM;
        t->held = h;
        t->held_cap = cap;
        return 0;
}

static bool held_pop(ReplyTable *t, HeldMsg *ret) {
        if (!t || t->held_n == 0)
                return false;
        *ret = t->held[t->held_head++];
        if (--t->held_n == 0)
                t->held_head = 0;
        t->held_bytes -= ret->len;
        t->held_fds -= ret->n_fds;
        return true;
}

static void held_clear(HeldMsg *h) {
        if (h->dm)
                dbus_message_unref(h->dm);
        for (unsigned i = 0; i < h->n_fds; i++)
                if (h->fds[i] >= 0)
                        close(h->fds[i]);
        free(h->fds);
        free(h->bytes);
}

unsigned reply_held_count(busrpc_conn *c) {
        return c->replies ? c->replies->held_n : 0;
}

size_t reply_held_bytes(busrpc_conn *c) {
        return c->replies ? c->replies->held_bytes : 0;
}

int reply_hold_wire(busrpc_conn *c, const WireMsg *m, int *fds, unsigned n_fds) {
        ReplyTable *t = table_get(c);
        HeldMsg h = { 0 };

        if (!t || held_reserve(t) < 0)
                return -ENOMEM;
        h.bytes = malloc(m->size);
        if (!h.bytes || (n_fds && !(h.fds = malloc(n_fds * sizeof(*h.fds))))) {
                free(h.bytes);
                return -ENOMEM;
        }
        memcpy(h.bytes, m->data, m->size);
        h.len = m->size;
        for (unsigned i = 0; i < n_fds; i++) { /* taken from the transport */
                h.fds[i] = fds[i];
                fds[i] = -1;
        }
        h.n_fds = n_fds;
        t->held[t->held_head + t->held_n++] = h;
        t->held_bytes += h.len;
        t->held_fds += h.n_fds;
        conn_schedule_dispatch(c);
        return 0;
}

/* One held message, through what its link would have run. */
static void held_run(busrpc_conn *c, HeldMsg *h) {
        if (h->dm) {
                conn_deliver(c, h->dm);
        } else {
                WireMsg wm;

                /* Valid when read; parsed again where it now lies. */
                /* An error closes the link, as from the transport's callback. */
                if (wire_message_parse(&wm, h->bytes, h->len, h->n_fds, NULL) >= 0 &&
                    conn_dispatch_wire(c, &wm, h->fds, h->n_fds) < 0)
                        conn_close_link(c);
        }
        held_clear(h);
}

DBusDispatchStatus conn_dispatch(busrpc_conn *c) {
        HeldMsg h;
        DBusDispatchStatus st;

        if (held_pop(c->replies, &h)) {
                held_run(c, &h);
                if (c->replies && c->replies->held_n > 0)
                        return DBUS_DISPATCH_DATA_REMAINS;
                return c->dbus ? dbus_connection_get_dispatch_status(c->dbus) : DBUS_DISPATCH_COMPLETE;
        }
        if (!c->dbus)
                return DBUS_DISPATCH_COMPLETE;
        c->in_dispatch++;
        st = dbus_connection_dispatch(c->dbus);
        c->in_dispatch--;
        return st;
}

/* ---- sync calls ---- */

bool reply_sync_must_block(busrpc_conn *c) {
        return c->dbus && c->in_dispatch > 0;
}

static int set_disconnected(busrpc_error *err) {
        (void)busrpc_error_set(err, BUSRPC_ERROR_DISCONNECTED, "Connection closed before the reply");
        return -ECONNRESET;
}

static int set_no_reply(busrpc_error *err) {
        (void)busrpc_error_set(err, BUSRPC_ERROR_NO_REPLY, "No reply within the call's timeout");
        return -ETIMEDOUT;
}

static uint64_t deadline_of(int timeout_ms) {
        if (timeout_ms == DBUS_TIMEOUT_INFINITE)
                return REPLY_NO_DEADLINE;
        return loop_now_usec() + (uint64_t)timeout_ms * 1000u;
}

static int libdbus_call_sync(busrpc_conn *c, DBusMessage *m, const char *from, int timeout_ms,
                             DBusMessage **ret, busrpc_error *err) {
        DBusConnection *dc = c->dbus;
        ReplyTable *t = table_get(c);
        dbus_uint32_t serial = 0;
        uint64_t deadline = deadline_of(timeout_ms);
        bool have_read = false;
        int r;

        if (!t)
                return busrpc_error_set_errno(err, ENOMEM);
        if (!dbus_connection_send(dc, m, &serial))
                return busrpc_error_set_errno(err, ENOMEM);
        for (;;) {
                DBusMessage *got;
                uint64_t now;
                int wait_ms = -1;

                /* Room first: a popped message is never dropped. */
                if (held_reserve(t) < 0) {
                        r = busrpc_error_set_errno(err, ENOMEM);
                        break;
                }
                /* Nothing queued before the call went out is its reply. */
                got = have_read ? dbus_connection_pop_message(dc) : NULL;
                if (got) {
                        if (is_reply(got, serial, from)) {
                                *ret = got;
                                r = 0;
                                break;
                        }
                        t->held[t->held_head + t->held_n++] = (HeldMsg){ .dm = got };
                        if (dbus_message_is_signal(got, DBUS_INTERFACE_LOCAL, "Disconnected")) {
                                r = set_disconnected(err);
                                break;
                        }
                        continue;
                }
                if (!dbus_connection_get_is_connected(dc)) {
                        r = set_disconnected(err);
                        break;
                }
                now = loop_now_usec();
                if (deadline != REPLY_NO_DEADLINE) {
                        uint64_t ms;

                        if (now >= deadline) {
                                r = set_no_reply(err);
                                break;
                        }
                        ms = (deadline - now + 999) / 1000;
                        wait_ms = ms > INT_MAX ? INT_MAX : (int)ms;
                }
                (void)dbus_connection_read_write(dc, wait_ms);
                have_read = true;
        }
        /* What was held goes out through the loop, before anything newer. */
        if (t->held_n > 0)
                conn_schedule_dispatch(c);
        return r;
}

bool reply_sync_take(busrpc_conn *c, const WireMsg *m, int *fds, unsigned n_fds) {
        for (SyncWait *w = c->sync_wait; w; w = w->prev) {
                if (w->done || w->link_gen != c->link_gen || !wire_is_reply(m, w->serial, w->from))
                        continue;
                w->done = true;
                if (w->fn) {
                        w->r = w->fn(NULL, m, fds, n_fds, w->userdata, w->err);
                } else {
                        int r = transport_to_dbus(m, fds, n_fds, &w->reply);

                        w->r = r < 0 ? busrpc_error_set_errno(w->err, -r) : 0;
                }
                return true;
        }
        return false;
}

/* Wait on the fast path until @w is answered, the deadline passes or the
 * link closes. Nothing is dispatched meanwhile: conn_transport_msg() holds
 * what is not a sync wait's reply. */
static int fast_wait(busrpc_conn *c, SyncWait *w, uint64_t deadline) {
        uint64_t max_held = busrpc_conn_get_max_held_bytes(c);
        unsigned max_held_fds = busrpc_conn_get_max_held_fds(c);
        Transport *tp = c->tp;
        int r;

        w->prev = c->sync_wait;
        w->link_gen = c->link_gen;
        c->sync_wait = w;
        busrpc_conn_ref(c);
        for (bool first = true;; first = false) {
                struct pollfd pfd;
                int flushed, wait_ms = -1;
                /* Past the bounds (bytes, and fds as libdbus's
                 * max_received_unix_fds) nothing more is read (the reply
                 * neither): the call ends at its deadline, as on libdbus. */
                bool reading = reply_held_bytes(c) < max_held &&
                               (!c->replies || c->replies->held_fds < max_held_fds);

                flushed = transport_flush(tp);
                /* The reply cannot be there before the call left: the
                 * first read waits for poll() (one recvmsg() saved per call). */
                r = reading && !first ? transport_read(tp) : 0;
                if (w->done) {
                        r = w->r;
                        break;
                }
                if (!transport_is_open(tp) || (r < 0 && r != -EAGAIN) ||
                    (flushed < 0 && flushed != -EAGAIN)) {
                        r = set_disconnected(w->err);
                        break;
                }
                if (deadline != REPLY_NO_DEADLINE) {
                        uint64_t now = loop_now_usec(), ms;

                        if (now >= deadline) {
                                r = set_no_reply(w->err);
                                break;
                        }
                        ms = (deadline - now + 999) / 1000;
                        wait_ms = ms > INT_MAX ? INT_MAX : (int)ms;
                }
                pfd.fd = transport_fd(tp);
                pfd.events = (reading ? POLLIN : 0) | (transport_outgoing_bytes(tp) ? POLLOUT : 0);
                pfd.revents = 0;
                if (poll(&pfd, 1, wait_ms) < 0 && errno != EINTR) {
                        r = busrpc_error_set_errno(w->err, errno);
                        break;
                }
                /* not reading, a hangup would wake the wait at once, again and again */
                if (!reading && (pfd.revents & (POLLHUP | POLLERR)))
                        transport_close(tp, -ECONNRESET);
        }
        c->sync_wait = w->prev;
        /* What was held goes out through the loop, before anything newer. */
        if (reply_held_count(c) > 0)
                conn_schedule_dispatch(c);
        busrpc_conn_unref(c);
        return r;
}

static int fast_call_sync(busrpc_conn *c, DBusMessage *m, const char *from, int timeout_ms,
                          DBusMessage **ret, busrpc_error *err) {
        SyncWait w = { .from = from, .err = err };
        int r;

        if (!transport_is_open(c->tp))
                return set_disconnected(err);
        r = transport_send_dbus(c->tp, m, &w.serial);
        if (r < 0)
                return r == -ENOTCONN ? set_disconnected(err) : busrpc_error_set_errno(err, -r);
        conn_mark_sent(m, w.serial);
        r = fast_wait(c, &w, deadline_of(timeout_ms));
        if (r < 0) {
                if (w.reply)
                        dbus_message_unref(w.reply);
                return r;
        }
        *ret = w.reply;
        return 0;
}

int reply_call_sync(busrpc_conn *c, DBusMessage *m, const char *from, int timeout_ms, DBusMessage **ret,
                    busrpc_error *err) {
        if (c->tp)
                return fast_call_sync(c, m, from, timeout_ms, ret, err);
        if (!c->dbus || !dbus_connection_get_is_connected(c->dbus))
                return set_disconnected(err);
        return libdbus_call_sync(c, m, from, timeout_ms, ret, err);
}

int reply_wait_wire(busrpc_conn *c, uint32_t serial, const char *from, int timeout_ms, ReplyWireFn fn,
                    void *userdata, busrpc_error *err) {
        SyncWait w = { .serial = serial, .from = from, .fn = fn, .userdata = userdata, .err = err };

        if (!c->tp || !fn)
                return busrpc_error_set_errno(err, EINVAL);
        return fast_wait(c, &w, deadline_of(timeout_ms));
}

/* ---- the connection's life ---- */

void reply_conn_moved(busrpc_conn *c) {
        ReplyTable *t = c->replies;

        if (!t)
                return;
        for (busrpc_pending *pd = t->all_head; pd; pd = pd->all_next)
                if (loop_timer_armed(&pd->timer) && c->loop)
                        (void)loop_timer_arm(c->loop, &pd->timer, pd->timer.deadline);
        if (t->held_n > 0)
                conn_schedule_dispatch(c);
}

void reply_conn_free(busrpc_conn *c) {
        ReplyTable *t = c->replies;
        HeldMsg h;

        if (!t)
                return;
        /* Every call holds a reference to @c: none is left here. */
        while (held_pop(t, &h))
                held_clear(&h);
        free(t->held);
        free(t->buckets);
        free(t);
        c->replies = NULL;
}
