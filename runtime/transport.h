/* transport.h: busrpc reading and writing an authenticated D-Bus socket
 * itself (issue 12 item 1; internal, nothing here is exported).
 *
 * A Transport owns a connected AF_UNIX stream fd on which authentication
 * is over (libdbus did it, or busrpc's own SASL EXTERNAL; see "Handover"
 * below). It reads with recvmsg() into one large buffer (64 KiB, doubled
 * as a bigger message's bytes arrive, up to the connection's maximum
 * message size, and given back once it is delivered), receives
 * fds with SCM_RIGHTS and MSG_CMSG_CLOEXEC, frames and validates every
 * message with the wire codec (wire.h) and hands each valid one, with its
 * fds, to a callback; many messages per read. It writes an out queue with
 * one sendmsg() of several messages where it can, resumes partial writes,
 * waits for EPOLLOUT on EAGAIN, and bounds the bytes queued toward a peer
 * that does not read.
 *
 * Fds and messages. The kernel hands the fds of one sendmsg() to the first
 * recvmsg() that reads a byte of that sendmsg, and such a read ends inside
 * or at the end of what was sent with them; so fds received with the bytes
 * [a, b) of the stream were attached to a byte in [a, b). busrpc, libdbus
 * and sd-bus attach a message's fds to its first byte (more than 253, the
 * kernel's bound per sendmsg, go in several sends that each start inside
 * the message). Hence the rule: a message occupying [s, e) takes its
 * UNIX_FDS fds, in order, from the front of the queue of fds received with
 * a chunk that started before e; it may not ask for more than are there
 * (invalid: the connection is closed). Fds whose chunk ended at or before
 * e that the message did not take belong to no message: they are closed
 * and counted (transport_stats.fds_dropped). At most TRANSPORT_MAX_FDS fds
 * per message (as the libdbus connections, CONN_MAX_MESSAGE_FDS) and twice
 * that waiting in the queue; more, or a truncated control message
 * (MSG_CTRUNC), closes the connection. Every received fd is closed on
 * every path that does not hand it to the callback.
 *
 * Failure is per connection: an invalid message (wire_message_parse()'s
 * -EBADMSG), a message above the maximum size, EOF in the middle of a
 * message, a socket error, or the outgoing bound exceeded closes this
 * transport's fd (the on_close callback says why) and nothing else.
 *
 * Serials: one counter per connection, owned by busrpc
 * (transport_next_serial()); whoever builds a message takes its serial
 * from there, libdbus never numbers a message sent through a transport.
 *
 * Handover (phase 2, docs/runtime.md "The socket after authentication"):
 *  - A client connection (peer or bus): libdbus connects and does the
 *    client side of SASL EXTERNAL through dbus_connection_open_private();
 *    busrpc takes the fd before it sends anything (no Hello through
 *    libdbus: on a bus busrpc sends Hello itself) and before libdbus has
 *    read anything past the auth conversation. Nothing can be left in
 *    libdbus's buffers: the client speaks first after BEGIN, so the server
 *    has nothing to send until busrpc's first message. libdbus's
 *    DBusConnection is then closed (libdbus only close()s its fd, never
 *    shutdown()s it: the dup lives on); whether fds may pass is taken
 *    from it first (dbus_connection_can_send_type()).
 *  - An accepted peer of a busrpc_server: libdbus's server side reads
 *    BEGIN with a plain recv() of 2 KiB, so the bytes a client pipelined
 *    after BEGIN (and the fds with them: the kernel closes those) end up in
 *    libdbus's buffer. So for unix sockets busrpc does the server side of
 *    SASL EXTERNAL itself on the accepted fd (reading with recvmsg(), so
 *    nothing pipelined is lost), with today's checks: SO_PEERCRED's uid
 *    against the allowed uids (creds.c), the auth timeout and the
 *    unauthenticated budget (limits.c); the bytes read past BEGIN's line
 *    are given to transport_new_with() and parsed as the first messages.
 *    TCP peers stay on libdbus (no fds, no fast path).
 *  - Messages the fast path does not cover are converted to a DBusMessage
 *    (dbus_message_demarshal() without fds; with fds, rebuilt through
 *    libdbus's append API from a WireReader) and given to the existing
 *    dispatch; DBusMessages the runtime still builds are marshalled into
 *    the transport (dbus_message_set_serial() with transport_next_serial(),
 *    dbus_message_marshal(), their fds) by transport_send_dbus().
 *
 * Integration (phase 3: runtime/conn.c, "the link" in conn.h). With
 * BUSRPC_FAST_PATH=1 (conn_fast_path_wanted(); off by default until the
 * whole suite passes on it): after dbus_connection_open_private() and
 * dbus_connection_read_write() until dbus_connection_get_is_authenticated()
 * (nothing sent), conn.c dups the fd, closes the DBusConnection and owns a
 * Transport attached to the conn's loop (conn_set_loop() moves it); on a
 * bus it sends Hello itself and waits for the unique name, to a peer one
 * Ping. Every send of the runtime goes through conn_send(), reply.c's
 * register and sync call, all on transport_send_dbus() (its serial keys
 * the reply table). conn_transport_msg() is the on_msg of every conn
 * (served peers too, sasl.c): a reply completes its call
 * (reply_handle_wire(): in place for fastcall.c's calls), a method call
 * goes to fast_dispatch_call() first, the rest is converted and given to
 * conn_deliver() (Peer built-ins, conn_filter(), subscriptions,
 * UnknownObject). A sync call waits by poll() on the fd and
 * transport_read(), also from inside a callback of the same transport
 * (the nested read transport.c allows), holding every other message
 * (bytes copied, fds taken) for the conn's deferred source to dispatch
 * later, in order. On close, the calls in flight fail, then a served peer
 * is gone and a client conn lost (reconnect.c).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "busrpc/busrpc.h"
#include "wire.h"

#define TRANSPORT_READ_SIZE            (64u * 1024u) /* the receive buffer's size, and its minimum */
#define TRANSPORT_MAX_FDS              1024u         /* fds per message (as CONN_MAX_MESSAGE_FDS) */
#define TRANSPORT_MAX_OUTGOING_DEFAULT (16u << 20)   /* as busrpc_server_limits.max_outgoing_bytes */
#define TRANSPORT_SEND_FDS             253u          /* the kernel's SCM_MAX_FD: fds per sendmsg */
#define TRANSPORT_IOV                  64u           /* messages per sendmsg at most */

typedef struct Transport Transport;

/**
 * TransportMsgFn - a valid message arrived. @m points into the transport's
 * buffer and is valid until the callback returns. @fds (@n_fds of them,
 * UNIX_FDS) belong to the transport: the callback takes one by copying it
 * and writing -1 in its place; the transport closes the rest afterwards.
 * The callback may send and may call transport_read() (a nested read: see
 * transport.c), and may free @t (transport_free() from a callback, or from
 * on_close, closes at once and frees when the outermost entry point
 * returns; nothing more is called back). Return: >= 0 to go on, a negative
 * errno to close the connection (on_close gets it).
 */
typedef int (*TransportMsgFn)(Transport *t, const WireMsg *m, int *fds, unsigned n_fds, void *userdata);
/**
 * TransportCloseFn - the connection is gone (called once, from the loop or
 * from the call that found out). @error: 0 on EOF between messages,
 * -EPIPE on EOF inside a message, -EBADMSG an invalid message, -EMSGSIZE
 * a message above the maximum, -ETOOMANYREFS too many fds (or a truncated
 * control message), -EPROTO fds where none were negotiated, -ENOBUFS the
 * outgoing bound, -ECONNRESET and other socket errors, or the callback's
 * own error. The fd is closed already; @t may be freed from here.
 */
typedef void (*TransportCloseFn)(Transport *t, int error, void *userdata);

typedef struct TransportStats {
        uint64_t messages_in, messages_out;
        uint64_t reads, writes; /* recvmsg() / sendmsg() calls that moved bytes */
        uint64_t fds_in, fds_dropped;
        size_t rx_buffer; /* the receive buffer's size now */
} TransportStats;

/**
 * transport_new() - a transport on @fd (taken: closed by transport_free()
 * or when the connection fails), set non-blocking and close-on-exec.
 * transport_new_with() also starts with @len bytes already read from the
 * socket (what an authentication reader got past BEGIN; copied) and the
 * @n_fds fds read with them (taken: they count as received with the
 * first byte, so the first message may claim them).
 * Return: 0, -EINVAL, -ENOMEM (then @fd and @fds are closed too).
 */
int transport_new(Transport **ret, int fd, TransportMsgFn on_msg, TransportCloseFn on_close, void *userdata);
int transport_new_with(Transport **ret, int fd, const void *pending, size_t len, const int *fds,
                       unsigned n_fds, TransportMsgFn on_msg, TransportCloseFn on_close, void *userdata);
/* Close the fd and every fd still held, free @t (NULL is fine); inside a
 * callback of @t the memory goes when the outermost callback returns.
 * Return: NULL. */
Transport *transport_free(Transport *t);

/**
 * transport_attach() - read and write from @l: the fd is watched for
 * input, and for output while something waits; messages queued by
 * transport_send() go out once per loop iteration (after the handlers of
 * that iteration ran: their replies go in one sendmsg). Detaches from a
 * previous loop. Return: 0, -errno.
 */
int transport_attach(Transport *t, busrpc_loop *l);
void transport_detach(Transport *t);

/**
 * transport_set_unix_fds() - whether fd passing was negotiated
 * (NEGOTIATE_UNIX_FD; the default is yes). When not, a received fd closes
 * the connection (-EPROTO) and transport_send() with fds is -EOPNOTSUPP.
 */
void transport_set_unix_fds(Transport *t, bool allowed);
/* Whether fds may be sent and received (transport_set_unix_fds()). */
bool transport_get_unix_fds(const Transport *t);
/* Close the connection now, as a failure would (on_close gets @error,
 * from here or, inside a callback, when the outermost one returns). */
void transport_close(Transport *t, int error);
/* The fd (borrowed), -1 once closed. */
int transport_fd(const Transport *t);
bool transport_is_open(const Transport *t);
const TransportStats *transport_stats(const Transport *t);

/**
 * transport_set_max_outgoing_bytes() - bytes queued toward the peer (not
 * yet taken by the kernel) at most; a message that would pass it (after
 * one more try to write) fails with -ENOBUFS and closes the connection: a
 * peer that calls and never reads costs that much, then its connection.
 * One message alone in the queue may be bigger. 0: the default, 16 MiB.
 * Return: 0, -EINVAL above INT32_MAX.
 */
int transport_set_max_outgoing_bytes(Transport *t, uint32_t bytes);
uint32_t transport_get_max_outgoing_bytes(const Transport *t);
/**
 * transport_set_max_message_size() - the largest message read (header +
 * body); a bigger one closes the connection with -EMSGSIZE before its
 * bytes are read. 0: the default, WIRE_MAX_MESSAGE (128 MiB).
 * Return: 0, -EINVAL above WIRE_MAX_MESSAGE.
 */
int transport_set_max_message_size(Transport *t, uint32_t bytes);
/**
 * transport_set_max_queued_fds() - received fds waiting for the message
 * that claims them at most (a peer sending fds with a message it never
 * completes pins that many); more closes the connection (-ETOOMANYREFS).
 * 0: the default, 2 x TRANSPORT_MAX_FDS (2,048); a busrpc_server sets
 * max_fds * 4 on its peers, as libdbus's max_received_unix_fds (review F5).
 * Return: 0, -EINVAL above the default.
 */
int transport_set_max_queued_fds(Transport *t, unsigned n);
unsigned transport_get_max_queued_fds(const Transport *t);
/* Bytes queued and not yet written. */
size_t transport_outgoing_bytes(const Transport *t);

/* The next serial of this connection (never 0). */
uint32_t transport_next_serial(Transport *t);

/**
 * transport_send() - queue the @len bytes of a marshalled message at @msg
 * (copied; its serial is the caller's, from transport_next_serial()) with
 * @n_fds fds (borrowed: dup'ed, the caller keeps its own), which go with
 * the message's first byte. transport_send_take() takes the buffer @msg
 * (malloc'ed; freed by the transport, also on failure) instead.
 * Nothing is checked but the framing: callers write messages with the
 * codec. Return: 0; -ENOTCONN after close; -ENOBUFS past the outgoing
 * bound (the connection is closed); -EINVAL, -ENOMEM, -EMFILE.
 */
int transport_send(Transport *t, const void *msg, size_t len, const int *fds, unsigned n_fds);
int transport_send_take(Transport *t, void *msg, size_t len, const int *fds, unsigned n_fds);
/**
 * transport_flush() - write what the kernel takes now, without blocking.
 * Return: 0 when the queue is empty, -EAGAIN when some is left (the loop
 * writes it on EPOLLOUT), -ENOTCONN, or the error that closed it.
 */
int transport_flush(Transport *t);
/**
 * transport_read() - read and dispatch what the socket holds now, without
 * blocking (what the loop does on EPOLLIN). Return: 0 (nothing more to
 * read now), -ENOTCONN, or the error that closed the connection.
 */
int transport_read(Transport *t);

/* ---- DBusMessages through a transport (transport-dbus.c) ---- */

struct DBusMessage;
/**
 * transport_to_dbus() - the DBusMessage of a received message, for the
 * dispatch the fast path does not cover: dbus_message_demarshal() when it
 * has no fds, else rebuilt through libdbus's append API with @fds (libdbus
 * dups them; the caller keeps its own). Return: 0 and a new reference in
 * *@ret; -EBADMSG, -ENOMEM.
 */
int transport_to_dbus(const WireMsg *m, const int *fds, unsigned n_fds, struct DBusMessage **ret);
/**
 * transport_send_dbus() - queue a DBusMessage the runtime built: marshalled
 * by libdbus, numbered by the transport (the serial is written into the
 * bytes, @d is not changed; *@ret_serial may be NULL), with its fds. A
 * message that has a serial already (received, or sent before: forwarded
 * to a monitor, routed) keeps it, as with libdbus's dbus_connection_send().
 * Return: as transport_send(); -E2BIG above TRANSPORT_MAX_FDS fds.
 */
int transport_send_dbus(Transport *t, struct DBusMessage *d, uint32_t *ret_serial);
