/* conn-limits.c: the bound on bytes a client connection (bus or peer) may
 * queue toward the other side.
 *
 * On busrpc's own transport the Transport enforces it (applied in
 * open_link(), so a reconnected link gets it too); on libdbus, which has
 * no such bound, conn_outgoing_check() runs after each send. Either way,
 * past the bound the link is closed: the event handler sees
 * BUSRPC_CONN_LOST and the calls in flight fail. The default is large
 * (1 GiB): the bound is there so that a peer that stops reading cannot
 * take all the memory, not to refuse what libdbus would queue.
 * A served peer is bounded by its server (busrpc_server_limits).
 *
 * And one thing a peer's message may not do on the fast path without
 * costing its connection: an 'h' indexing no fd it carries is answered
 * InvalidArgs (conn_answer_bad_fd()), as on libdbus. */
#include "conn.h"
#include "transport.h"

BUSRPC_EXPORT int busrpc_conn_set_max_outgoing_bytes(busrpc_conn *c, uint64_t bytes) {
        return_if_fail(c && (c->kind == CONN_BUS || c->kind == CONN_PEER), -EINVAL);
        /* libdbus counts its queue in a long, the Transport in a uint32_t */
        return_if_fail(bytes <= INT32_MAX, -EINVAL);
        c->max_outgoing_bytes = bytes;
        if (c->tp)
                (void)transport_set_max_outgoing_bytes(c->tp, (uint32_t)busrpc_conn_get_max_outgoing_bytes(c));
        return 0;
}

BUSRPC_EXPORT uint64_t busrpc_conn_get_max_outgoing_bytes(busrpc_conn *c) {
        if (!c || (c->kind != CONN_BUS && c->kind != CONN_PEER))
                return 0;
        return c->max_outgoing_bytes ? c->max_outgoing_bytes : BUSRPC_MAX_OUTGOING_BYTES_DEFAULT;
}

void conn_outgoing_check(busrpc_conn *c, size_t before) {
        /* A message that finds nothing queued always goes (one message
         * may be larger than the bound), as on a Transport. */
        if (!c || c->tp || before == 0 || (c->kind != CONN_BUS && c->kind != CONN_PEER))
                return;
        if (conn_outgoing_bytes(c) > busrpc_conn_get_max_outgoing_bytes(c))
                conn_close_link(c); /* the local Disconnected follows */
}

int conn_answer_bad_fd(busrpc_conn *c, const WireMsg *m) {
        DBusMessage *call;

        if (m->type != WIRE_METHOD_CALL || (m->flags & WIRE_FLAG_NO_REPLY))
                return 0;
        /* the call's serial and sender are all an error reply needs */
        call = dbus_message_new(DBUS_MESSAGE_TYPE_METHOD_CALL);
        if (!call)
                return 0;
        dbus_message_set_serial(call, m->serial);
        if (!m->sender || dbus_message_set_sender(call, m->sender))
                (void)conn_send_error(c, call, DBUS_ERROR_INVALID_ARGS,
                                      "a unix fd argument indexes no fd the message carries");
        dbus_message_unref(call);
        return 0;
}
