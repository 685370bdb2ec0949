/* call.h: a method call being served (call.c), from dispatch to reply.
 *
 * A call arrives either as a DBusMessage (libdbus's link, or a message the
 * fast path converted) or on the fast path (fastcall.c): then @msg stays
 * NULL and the call keeps what its reply needs (serial, sender, the link
 * it came on); the replies are written on the wire by fastcall.c. Only
 * busrpc_call_get_msg() needs a DBusMessage: it is built from the bytes
 * (in place while the op runs, from a copy taken when the op kept the
 * call past its return).
 */
#pragma once

#include <stdint.h>
#include "busrpc-internal.h"
#include "wire.h"

#define CALL_SENDER_INLINE 24

struct busrpc_call {
        unsigned n_ref;
        busrpc_conn *conn;
        busrpc_object *object;
        DBusMessage *msg;    /* NULL for a fast call until busrpc_call_get_msg() */
        busrpc_msg *wrapped; /* lazily, for busrpc_call_get_msg() */
        bool replied;
        bool no_reply;
        bool counted; /* in conn->n_calls */
        /* the fast path (fastcall.c) */
        bool fast;
        uint32_t serial;     /* the call's serial: the reply's REPLY_SERIAL */
        uint32_t link_gen;   /* the conn's link it came on: replies go there only */
        const char *member;  /* the method's name (its descriptor's) */
        char *sender;        /* SENDER of the call (a bus's unique name), or NULL */
        char sender_buf[CALL_SENDER_INLINE];
        const WireMsg *wire; /* while the op runs: the call in the transport's buffer */
        int *wire_fds;
        unsigned n_wire_fds;
        uint8_t *copy;       /* kept past the op: a copy of the message, and dups of its fds */
        uint32_t copy_len;
        int *copy_fds;
        unsigned n_copy_fds;
};

busrpc_call *call_new(busrpc_conn *c, busrpc_object *o, DBusMessage *m, bool no_reply);
/* A call that arrived on the fast path of @c as @m (with @fds, borrowed
 * until call_detach_wire()); counted in c->n_calls as call_new(). */
busrpc_call *call_new_fast(busrpc_conn *c, busrpc_object *o, const busrpc_method_desc *md, const WireMsg *m,
                           int *fds, unsigned n_fds, bool no_reply);
/* The op returned: the message bytes go away. A call still referenced
 * keeps a copy (for busrpc_call_get_msg()). */
void call_detach_wire(busrpc_call *call);
void call_finish(busrpc_call *call, int r); /* after the skeleton ran */
/* @call counts as replied (and no longer in its conn's n_calls). */
void call_mark_replied(busrpc_call *call);
bool msg_is_unwanted(DBusMessage *m);
