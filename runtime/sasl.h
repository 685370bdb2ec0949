/* sasl.h: the server side of D-Bus's SASL EXTERNAL on a unix socket, done
 * by busrpc (internal; issue 12, the handover of transport.h).
 *
 * Why not libdbus's: a DBusServer reads the auth conversation with plain
 * recv()s of 2 KiB, so what a client pipelines after BEGIN (the
 * specification allows its first message right after) lands in libdbus's
 * buffer, and the fds sent with it are closed by the kernel (no
 * SCM_RIGHTS asked for). This reads with recvmsg() and MSG_CMSG_CLOEXEC,
 * stops at BEGIN's line, and hands the bytes and fds after it to the
 * transport (transport_new_with()), so nothing is lost and nothing is
 * left anywhere else.
 *
 * The checks are today's (runtime/creds.c, limits.c): the identity is the
 * kernel's (SO_PEERCRED), an AUTH EXTERNAL identity must be that uid in
 * decimal (or empty: "the one my socket says"), the uid must be allowed
 * (a callback: busrpc_server's allowed uids); the caller keeps its auth
 * timeout and its budget of unauthenticated connections. Protocol errors
 * and refusals are bounded (SASL_MAX_REJECTS, SASL_MAX_BYTES).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SASL_MAX_BYTES   16384u /* auth conversation buffered at most (libdbus: 16 KiB per line) */
#define SASL_MAX_REJECTS 6u     /* REJECTED / ERROR answers before the connection is closed */
#define SASL_MAX_FDS     1024u  /* fds received with the pipelined bytes (TRANSPORT_MAX_FDS) */

typedef bool (*SaslUidAllowedFn)(uid_t uid, void *userdata);

typedef struct SaslServer {
        int fd; /* borrowed */
        uid_t peer_uid;
        bool have_creds;
        SaslUidAllowedFn allowed;
        void *userdata;
        char guid[33];
        int state;
        bool got_nul, unix_fd;
        unsigned rejects;
        char in[SASL_MAX_BYTES];
        size_t in_len;
        char out[512];
        size_t out_len;
        /* after BEGIN: what came with it */
        size_t rest_at;
        int fds[SASL_MAX_FDS];
        unsigned n_fds;
        unsigned max_fds; /* at most SASL_MAX_FDS (sasl_server_set_max_fds()) */
} SaslServer;

/**
 * sasl_server_init() - start the server side on the accepted socket @fd
 * (borrowed, non-blocking). @guid: the server's 32 hex digits. @allowed
 * (may be NULL: the server's own uid only) says whether a uid may connect.
 * Return: 0, -errno from SO_PEERCRED.
 */
int sasl_server_init(SaslServer *s, int fd, const char *guid, SaslUidAllowedFn allowed, void *userdata);
/* The fds a client may send before its messages are read (only what it
 * pipelined after BEGIN can claim them): more is -EPROTO from
 * sasl_server_step() (the server passes its max_fds * 4, libdbus's bound
 * on received fds). Default and upper bound SASL_MAX_FDS; 0: the default. */
void sasl_server_set_max_fds(SaslServer *s, unsigned n);
/**
 * sasl_server_step() - read what the socket holds, answer, write the
 * answers (non-blocking). Return: 1 once BEGIN was read (then
 * sasl_server_rest() has what followed it), 0 to wait for more (for
 * EPOLLIN, or EPOLLOUT while sasl_server_wants_write()), -EACCES when the
 * client is refused, -EPROTO for a protocol violation (fds sent without
 * NEGOTIATE_UNIX_FD included), -ECONNRESET on EOF,
 * other -errno from the socket. On failure the caller closes the fd.
 */
int sasl_server_step(SaslServer *s);
bool sasl_server_wants_write(const SaslServer *s);
/* Whether to wait for input: not once BEGIN was read (what follows it
 * waits in the socket for the transport, while the answers go out). */
bool sasl_server_wants_read(const SaslServer *s);
/* After step() returned 1: whether NEGOTIATE_UNIX_FD was agreed, and the
 * bytes and fds read past BEGIN (borrowed; the fds stay owned by @s until
 * sasl_server_take_fds()). */
bool sasl_server_unix_fd(const SaslServer *s);
const void *sasl_server_rest(const SaslServer *s, size_t *ret_len);
/* Move the pipelined fds out: *@ret_n of them into @fds (room for SASL_MAX_FDS). */
void sasl_server_take_fds(SaslServer *s, int *fds, unsigned *ret_n);
/* Close the fds still held (the socket is the caller's). */
void sasl_server_clear(SaslServer *s);
