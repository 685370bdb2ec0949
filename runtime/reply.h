/* reply.h: busrpc's own table of outstanding calls (reply.c), shared with
 * the async call handles (pending.c) and the sync calls (conn_call_sync()).
 * Never installed.
 *
 * A call goes out on the conn's link (libdbus or the transport); its
 * serial keys it in the table of its busrpc_conn. Replies are matched by
 * reply serial, link generation (c->link_gen) and, where the bus lets us
 * know it cheaply, sender. A call's deadline is a LoopTimer embedded in it, in
 * the loop's one deadline heap (loop.h): no allocation, O(log n); a
 * NoReply error is made only when a deadline really passes.
 */
#pragma once

#include <stdint.h>
#include "loop.h"
#include "wire.h"

#define REPLY_NO_DEADLINE UINT64_MAX
#define REPLY_SIG_INLINE  16

/**
 * ReplyWireFn - the reply of a call made on the fast path, read in place
 * (still in the transport's buffer: valid until the function returns).
 * @m is a method return or an error from the expected sender with the
 * call's reply serial; @fds as TransportMsgFn (take one by writing -1).
 * For an async call reply.c then drops the table's reference (the
 * function completed the call itself: callback run, @pd->done set).
 * Failures (deadline, hangup, cancel, a reply that cannot be read) never
 * come here: they complete the call through @pd->cb (pending_complete()).
 * Return: 0, or -errno with @err set (sync calls return it).
 */
typedef int (*ReplyWireFn)(busrpc_pending *pd, const WireMsg *m, int *fds, unsigned n_fds, void *userdata,
                           busrpc_error *err);

struct busrpc_pending {
        unsigned n_ref;
        busrpc_conn *conn;   /* a reference: the loop keeps serving it until we complete */
        uint32_t link_gen;   /* the conn's link the call went out on (conn.h) */
        ReplyWireFn on_wire; /* set: the reply goes here on the fast path, not through cb */
        void *wire_userdata;
        uint32_t serial;
        bool done;
        bool in_table;
        LoopTimer timer; /* the deadline, armed on the conn's loop; idle: none */
        char *from;      /* the sender the reply must come from; NULL: any */
        busrpc_reply_fn cb;
        void *userdata;
        const char *expected_sig; /* NULL: any; sig_buf or a strdup() */
        char sig_buf[REPLY_SIG_INLINE];
        busrpc_pending *hnext;               /* hash chain */
        busrpc_pending *all_prev, *all_next; /* the table's calls, oldest first */
};

/* reply.c */
/* One dispatch step: a message a sync call held back, else libdbus's next. */
DBusDispatchStatus conn_dispatch(busrpc_conn *c);
/* A method return or error arrived on @c's link: complete its call, if ours. */
DBusHandlerResult reply_handle(busrpc_conn *c, DBusMessage *m);
/* @c's link is gone: every call sent on it completes with -ECONNRESET. */
void reply_fail_all(busrpc_conn *c);
void reply_conn_moved(busrpc_conn *c); /* after conn_set_loop() */
void reply_conn_free(busrpc_conn *c);
/* Timeouts here are int milliseconds, DBUS_TIMEOUT_INFINITE (INT_MAX) for
 * none. (api engineer, session 4: the public BUSRPC_TIMEOUT_DEFAULT/_INFINITE
 * are uint64_t microseconds now, 0 and UINT64_MAX: never compare these ms
 * with them; proxy_take_timeout() converts a proxy's usec to these ms.) */
/* Send @m (borrowed) on @c's link and enter @pd in @c's table (the table
 * takes over the caller's reference to @pd). */
int reply_register(busrpc_conn *c, DBusMessage *m, int timeout_ms, busrpc_pending *pd);
/**
 * reply_register_serial() - enter @pd for a call the caller queued itself
 * on the fast path (transport_send*() on c->tp, numbered with
 * transport_next_serial()); as reply_register() otherwise. @pd->on_wire
 * may be set: the reply then goes there, read in place.
 */
int reply_register_serial(busrpc_conn *c, uint32_t serial, int timeout_ms, busrpc_pending *pd);
/* Room in @c's table for one more call, taken before the caller sends it:
 * reply_register_serial() right after cannot fail (review F6: a failure
 * then means nothing was sent). Return: 0, -ENOMEM. */
int reply_reserve(busrpc_conn *c);
/**
 * reply_wait_wire() - wait on the fast path of @c for the reply to
 * @serial (a call the caller queued itself) from @from (NULL: any) and
 * hand it to @fn in place; nothing else is dispatched meanwhile (held, as
 * reply_call_sync()). @pd is NULL for @fn. Return: what @fn returned,
 * -ETIMEDOUT, -ECONNRESET, -ENOMEM; @err set on failure.
 */
int reply_wait_wire(busrpc_conn *c, uint32_t serial, const char *from, int timeout_ms, ReplyWireFn fn,
                    void *userdata, busrpc_error *err);
/* A reply arrived on the fast path of @c: complete its call if ours
 * (on_wire in place, else converted and through pending_complete()).
 * Return: true when it was ours. */
bool reply_handle_wire(busrpc_conn *c, const WireMsg *m, int *fds, unsigned n_fds);
/* Take @pd out of its table (no callback). */
void reply_unregister(busrpc_pending *pd);
/* Send @m (borrowed) on @c's link and wait for its reply without
 * dispatching anything: messages read meanwhile are held and dispatched
 * later, in order (conn_call_sync() is the entry point). 0 and *@ret (a
 * method return or an error reply), or -ETIMEDOUT (NoReply), -ECONNRESET
 * (Disconnected), -ENOMEM with @err set. */
int reply_call_sync(busrpc_conn *c, DBusMessage *m, const char *from, int timeout_ms, DBusMessage **ret,
                    busrpc_error *err);
/* The fast path's reading side (conn.c's transport callback): a reply
 * that answers one of @c's sync waits completes it (true); while a wait
 * runs or anything is held, every other message is held (its bytes copied,
 * its fds taken) to be dispatched later, in order. */
bool reply_sync_take(busrpc_conn *c, const WireMsg *m, int *fds, unsigned n_fds);
int reply_hold_wire(busrpc_conn *c, const WireMsg *m, int *fds, unsigned n_fds);
unsigned reply_held_count(busrpc_conn *c);
size_t reply_held_bytes(busrpc_conn *c);
/* True inside a libdbus dispatch of @c, where a sync call must block in
 * libdbus (dbus_connection_send_with_reply_and_block()). */
bool reply_sync_must_block(busrpc_conn *c);
/* The sender a reply to a call to @destination on @c must come from, or
 * NULL when it cannot be known without asking the bus. */
const char *reply_expected_sender(busrpc_conn *c, const char *destination);

/* pending.c */
/* Run @pd's callback once (the table already let it go), then drop the
 * table's reference. @reply: the reply message, or NULL with @r < 0. */
void pending_complete(busrpc_pending *pd, DBusMessage *reply, int r, busrpc_error *err);
