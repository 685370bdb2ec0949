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
 * A sync call reads with dbus_connection_read_write() and takes messages
 * with dbus_connection_pop_message(): its reply is returned, everything
 * else is held, in order, and dispatched by the loop before anything
 * libdbus still queues (conn_dispatch()). Held messages go through what
 * libdbus's dispatch would have run: the Peer interface, the connection's
 * filter, the signal subscriptions, UnknownObject for a call nobody took.
 * Inside a libdbus dispatch of the same connection popping would deadlock
 * (libdbus holds its dispatch lock while filters run): there a sync call
 * blocks in libdbus as before (reply_sync_must_block()).
 */
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "reply.h"
#include "conn.h"
#include "subscription.h"

#define TABLE_MIN_BUCKETS 16u

struct ReplyTable {
        busrpc_pending **buckets;
        unsigned n_buckets; /* a power of two */
        unsigned n;
        busrpc_pending *all_head, *all_tail;
        /* messages held back by a sync wait, oldest at held[held_head] */
        DBusMessage **held;
        unsigned held_head, held_n, held_cap;
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

int reply_register(busrpc_conn *c, DBusConnection *dc, DBusMessage *m, int timeout_ms, busrpc_pending *pd) {
        ReplyTable *t = table_get(c);
        dbus_uint32_t serial = 0;
        busrpc_pending **b;

        if (!t || table_reserve(t) < 0)
                return -ENOMEM;
        if (!dbus_connection_send(dc, m, &serial))
                return -ENOMEM;
        pd->dc = dc;
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
        if (timeout_ms != BUSRPC_TIMEOUT_INFINITE && c->loop)
                (void)loop_timer_arm(c->loop, &pd->timer, loop_now_usec() + (uint64_t)timeout_ms * 1000u);
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

DBusHandlerResult reply_handle(busrpc_conn *c, DBusConnection *dc, DBusMessage *m) {
        ReplyTable *t = c->replies;
        busrpc_pending *pd;
        busrpc_error err = BUSRPC_ERROR_INIT;

        if (!t || t->n == 0)
                return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
        pd = table_find(t, dbus_message_get_reply_serial(m));
        /* Unknown, already timed out or cancelled, or forged: not ours. */
        if (!pd || pd->dc != dc || !is_reply(m, pd->serial, pd->from))
                return DBUS_HANDLER_RESULT_NOT_YET_HANDLED;
        reply_unregister(pd);
        pending_complete(pd, m, 0, &err);
        busrpc_error_clear(&err);
        return DBUS_HANDLER_RESULT_HANDLED;
}

void reply_fail_all(busrpc_conn *c, DBusConnection *dc) {
        ReplyTable *t = c->replies;
        busrpc_pending *pd;

        if (!t)
                return;
        /* Each completion unlinks its call; a callback may start new calls,
         * which fail at once on a closed connection and never get here. */
        busrpc_conn_ref(c);
        for (;;) {
                busrpc_error err = BUSRPC_ERROR_INIT;

                for (pd = t->all_head; pd && pd->dc != dc; pd = pd->all_next)
                        ;
                if (!pd)
                        break;
                reply_unregister(pd);
                (void)busrpc_error_set(&err, BUSRPC_ERROR_DISCONNECTED, "Connection closed before the reply");
                pending_complete(pd, NULL, -ECONNRESET, &err);
                busrpc_error_clear(&err);
        }
        busrpc_conn_unref(c);
}

/* ---- held messages ---- */

static int held_reserve(ReplyTable *t) {
        DBusMessage **h;
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

static DBusMessage *held_pop(ReplyTable *t) {
        DBusMessage *m;

        if (!t || t->held_n == 0)
                return NULL;
        m = t->held[t->held_head++];
        if (--t->held_n == 0)
                t->held_head = 0;
        return m;
}

/* What libdbus answers on org.freedesktop.DBus.Peer before any filter. */
static void peer_builtin(busrpc_conn *c, DBusMessage *m) {
        DBusMessage *reply = NULL;

        if (dbus_message_has_member(m, "Ping")) {
                reply = dbus_message_new_method_return(m);
        } else if (dbus_message_has_member(m, "GetMachineId")) {
                DBusError de = DBUS_ERROR_INIT;
                char *id = dbus_try_get_local_machine_id(&de);

                if (id) {
                        reply = dbus_message_new_method_return(m);
                        if (reply && !dbus_message_append_args(reply, DBUS_TYPE_STRING, &id, DBUS_TYPE_INVALID)) {
                                dbus_message_unref(reply);
                                reply = NULL;
                        }
                        dbus_free(id);
                } else {
                        reply = dbus_message_new_error(m, de.name, de.message);
                        dbus_error_free(&de);
                }
        } else {
                reply = dbus_message_new_error(m, DBUS_ERROR_UNKNOWN_METHOD,
                                               "Unknown method invoked on org.freedesktop.DBus.Peer interface");
        }
        if (reply)
                (void)conn_send_reply(c, reply);
}

/* A held message, through what libdbus's dispatch would have run. */
static void held_deliver(busrpc_conn *c, DBusMessage *m) {
        DBusConnection *dc = c->dbus;
        int type = dbus_message_get_type(m);

        if (type == DBUS_MESSAGE_TYPE_METHOD_CALL && dbus_message_has_interface(m, DBUS_INTERFACE_PEER)) {
                peer_builtin(c, m);
                return;
        }
        if (conn_filter(dc, m, c) != DBUS_HANDLER_RESULT_NOT_YET_HANDLED)
                return;
        if (type == DBUS_MESSAGE_TYPE_SIGNAL) {
                signal_deliver(dc, m);
                return;
        }
        if (type == DBUS_MESSAGE_TYPE_METHOD_CALL && !dbus_message_get_no_reply(m))
                (void)conn_send_error(c, m, DBUS_ERROR_UNKNOWN_OBJECT, "No object at '%s'",
                                      dbus_message_get_path(m));
}

DBusDispatchStatus conn_dispatch(busrpc_conn *c) {
        ReplyTable *t = c->replies;
        DBusMessage *m = held_pop(t);
        DBusDispatchStatus st;

        if (m) {
                held_deliver(c, m);
                dbus_message_unref(m);
                if (c->replies && c->replies->held_n > 0)
                        return DBUS_DISPATCH_DATA_REMAINS;
                return c->dbus ? dbus_connection_get_dispatch_status(c->dbus) : DBUS_DISPATCH_COMPLETE;
        }
        c->in_dispatch++;
        st = dbus_connection_dispatch(c->dbus);
        c->in_dispatch--;
        return st;
}

/* ---- sync calls ---- */

bool reply_sync_must_block(busrpc_conn *c) {
        return c->in_dispatch > 0;
}

int reply_call_sync(busrpc_conn *c, DBusConnection *dc, DBusMessage *m, const char *from, int timeout_ms,
                    DBusMessage **ret, busrpc_error *err) {
        ReplyTable *t = table_get(c);
        dbus_uint32_t serial = 0;
        uint64_t deadline = REPLY_NO_DEADLINE;
        bool have_read = false;
        int r;

        if (!t)
                return busrpc_error_set_errno(err, ENOMEM);
        if (!dbus_connection_send(dc, m, &serial))
                return busrpc_error_set_errno(err, ENOMEM);
        if (timeout_ms != BUSRPC_TIMEOUT_INFINITE)
                deadline = loop_now_usec() + (uint64_t)timeout_ms * 1000u;
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
                        t->held[t->held_head + t->held_n++] = got;
                        if (dbus_message_is_signal(got, DBUS_INTERFACE_LOCAL, "Disconnected")) {
                                (void)busrpc_error_set(err, BUSRPC_ERROR_DISCONNECTED,
                                                       "Connection closed before the reply");
                                r = -ECONNRESET;
                                break;
                        }
                        continue;
                }
                if (!dbus_connection_get_is_connected(dc)) {
                        (void)busrpc_error_set(err, BUSRPC_ERROR_DISCONNECTED, "Connection closed before the reply");
                        r = -ECONNRESET;
                        break;
                }
                now = loop_now_usec();
                if (deadline != REPLY_NO_DEADLINE) {
                        uint64_t ms;

                        if (now >= deadline) {
                                (void)busrpc_error_set(err, BUSRPC_ERROR_NO_REPLY,
                                                       "No reply within the call's timeout");
                                r = -ETIMEDOUT;
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
        DBusMessage *m;

        if (!t)
                return;
        /* Every call holds a reference to @c: none is left here. */
        while ((m = held_pop(t)))
                dbus_message_unref(m);
        free(t->held);
        free(t->buckets);
        free(t);
        c->replies = NULL;
}
