/* test-transport.c: runtime/transport.c, busrpc reading and writing an
 * authenticated D-Bus socket itself.
 *
 * - Over a socketpair, with libdbus's own marshalled messages
 *   (dbus_message_marshal()) and raw sendmsg() with SCM_RIGHTS on the
 *   other end: messages both ways with fds (what the transport sends must
 *   load in dbus_message_demarshal()), split at every byte boundary with
 *   their fds, many messages in one read, fds matched to their messages,
 *   invalid messages, fds above the bound, surplus fds, a truncated control
 *   message, a peer that never reads (the outgoing bound), EOF inside and
 *   between messages. Every received fd is closed: the process's open fds
 *   are counted before and after each case.
 * - Two transports on a busrpc_loop: batched writes, partial writes of a
 *   4 MiB message resumed on EPOLLOUT, 1,024 fds sent in five sendmsg()s.
 * - A private dbus-daemon: libdbus connects and authenticates, busrpc takes
 *   the socket over before anything else is sent (the client handover of
 *   transport.h), sends Hello itself and calls itself through the daemon
 *   with an fd and with 1 MiB.
 * - DBusMessages through a transport (transport-dbus.c): a message libdbus
 *   built, with fds in a struct, a variant and an ah, goes out with the
 *   transport's serial and comes back as a DBusMessage equal to what the
 *   codec read, with the same fds.
 * - The server handover (runtime/sasl.c): a client that pipelines its
 *   first message, with an fd, in the same write as AUTH and BEGIN (the fd
 *   libdbus's server loses) gets it through, a pipelined DATA too;
 *   a libdbus client authenticates against busrpc's SASL and calls through
 *   the transport both ways with fds; refusals and protocol violations;
 *   busctl, gdbus, dbus-send --peer and python3-dbus (with an fd) as
 *   clients, and tests/hostile/wire.py sending its first message with an
 *   fd in the same sendmsg() as BEGIN.
 */
#include <dbus/dbus.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <poll.h>
#include <sys/un.h>

#include "data-bus.h"
#include "sasl.h"
#include "tap.h"
#include "transport.h"
#include "wire-compare.h"
#include "wire.h"

static int count_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *e;
        int n = 0;

        if (!d)
                tap_bail("opendir /proc/self/fd: %s", strerror(errno));
        while ((e = readdir(d)))
                if (e->d_name[0] != '.')
                        n++;
        closedir(d);
        return n - 1; /* the directory's own fd */
}

static int highest_fd(void) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *e;
        int hi = 0;

        if (!d)
                tap_bail("opendir /proc/self/fd: %s", strerror(errno));
        while ((e = readdir(d)))
                if (e->d_name[0] != '.' && atoi(e->d_name) > hi)
                        hi = atoi(e->d_name);
        closedir(d);
        return hi;
}

static ino_t ino_of(int fd) {
        struct stat st;

        if (fstat(fd, &st) < 0)
                return 0;
        return st.st_ino;
}

static int new_memfd(void) {
        int fd = memfd_create("transport", MFD_CLOEXEC);

        if (fd < 0)
                tap_bail("memfd_create: %s", strerror(errno));
        return fd;
}

static void pair(int sv[2]) {
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                tap_bail("socketpair: %s", strerror(errno));
}

static void close_fds(int *fds, unsigned n) {
        for (unsigned i = 0; i < n; i++)
                close(fds[i]);
}

/* sendmsg() all of @len bytes, @fds with the first byte. */
static void send_raw(int fd, const void *buf, size_t len, const int *fds, unsigned n_fds) {
        union {
                struct cmsghdr align;
                char b[CMSG_SPACE(sizeof(int) * 253)];
        } control;
        size_t off = 0;

        while (off < len) {
                struct iovec iov = { (char *)buf + off, len - off };
                struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
                ssize_t n;

                if (off == 0 && n_fds) {
                        struct cmsghdr *c;

                        memset(&control, 0, sizeof(control));
                        mh.msg_control = control.b;
                        mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                        c = CMSG_FIRSTHDR(&mh);
                        c->cmsg_level = SOL_SOCKET;
                        c->cmsg_type = SCM_RIGHTS;
                        c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                        memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
                }
                n = sendmsg(fd, &mh, MSG_NOSIGNAL);
                if (n <= 0)
                        tap_bail("sendmsg: %s", strerror(errno));
                off += (size_t)n;
        }
}

/* A method call marshalled by libdbus: (uint32 @tag, string, @n_fds x h). */
static uint8_t *libdbus_call(uint32_t serial, uint32_t tag, const int *fds, unsigned n_fds, int *ret_len) {
        DBusMessage *m = dbus_message_new_method_call("org.example.Peer", "/org/example/obj",
                                                      "org.example.T", "Take");
        const char *s = "some text for the body";
        char *bytes = NULL;
        uint8_t *copy;

        if (!m ||
            !dbus_message_append_args(m, DBUS_TYPE_UINT32, &tag, DBUS_TYPE_STRING, &s, DBUS_TYPE_INVALID))
                tap_bail("libdbus: append");
        for (unsigned i = 0; i < n_fds; i++)
                if (!dbus_message_append_args(m, DBUS_TYPE_UNIX_FD, &fds[i], DBUS_TYPE_INVALID))
                        tap_bail("libdbus: append fd");
        dbus_message_set_serial(m, serial);
        if (!dbus_message_marshal(m, &bytes, ret_len))
                tap_bail("dbus_message_marshal");
        copy = malloc((size_t)*ret_len);
        memcpy(copy, bytes, (size_t)*ret_len);
        dbus_free(bytes);
        dbus_message_unref(m);
        return copy;
}

/* ---- what a transport received ---- */

#define MAX_RX 600

typedef struct Rx {
        unsigned n;
        uint32_t serial[MAX_RX];
        uint32_t tag[MAX_RX]; /* libdbus's reading of the first argument, UINT32_MAX when none */
        unsigned n_fds[MAX_RX];
        ino_t ino[MAX_RX][4];
        bool libdbus_ok[MAX_RX];
        int closed; /* on_close calls */
        int close_err;
        int echo; /* reply to every call */
        uint64_t bytes;
} Rx;

static int rx_msg(Transport *t, const WireMsg *m, int *fds, unsigned n_fds, void *userdata) {
        Rx *rx = userdata;
        DBusMessage *dm;
        DBusError e;
        unsigned i = rx->n;

        if (i >= MAX_RX)
                return 0;
        rx->n++;
        rx->bytes += m->size;
        rx->serial[i] = m->serial;
        rx->n_fds[i] = n_fds;
        for (unsigned k = 0; k < n_fds && k < 4; k++)
                rx->ino[i][k] = ino_of(fds[k]);
        rx->tag[i] = UINT32_MAX;
        if (m->signature && m->signature[0] == 'u') {
                WireReader r;

                wire_reader_init(&r, m, fds, n_fds);
                wire_read_basic(&r, 'u', &rx->tag[i]);
        }
        /* libdbus cannot demarshal a message that carries fds: those are
         * checked by the codec's parse alone (held against libdbus in test-wire) */
        rx->libdbus_ok[i] = n_fds > 0;
        if (!n_fds) {
                dbus_error_init(&e);
                dm = dbus_message_demarshal((const char *)m->data, (int)m->size, &e);
                rx->libdbus_ok[i] = dm != NULL;
                if (dm) {
                        DBusMessageIter it;
                        uint32_t tag = UINT32_MAX;

                        if (dbus_message_iter_init(dm, &it) &&
                            dbus_message_iter_get_arg_type(&it) == DBUS_TYPE_UINT32)
                                dbus_message_iter_get_basic(&it, &tag);
                        rx->libdbus_ok[i] = tag == rx->tag[i];
                        dbus_message_unref(dm);
                }
                dbus_error_free(&e);
        }
        if (rx->echo && m->type == WIRE_METHOD_CALL) {
                WireHeader h = { .type = WIRE_METHOD_RETURN, .reply_serial = m->serial };
                WireBuf b;
                int k;

                wire_buf_init(&b);
                k = wire_message_build(&b, WIRE_NATIVE, &h, transport_next_serial(t), NULL, 0);
                if (k > 0)
                        k = transport_send(t, b.p, (size_t)k, NULL, 0);
                wire_buf_free(&b);
                if (k < 0)
                        return k;
        }
        return 0;
}

static void rx_close(Transport *t, int error, void *userdata) {
        Rx *rx = userdata;

        (void)t;
        rx->closed++;
        rx->close_err = error;
}

static Transport *new_transport(int fd, Rx *rx) {
        Transport *t;

        memset(rx, 0, sizeof(*rx));
        if (transport_new(&t, fd, rx_msg, rx_close, rx) < 0)
                tap_bail("transport_new");
        return t;
}

/* Read a whole message the transport wrote on @fd (blocking), with its fds. */
static size_t recv_message(int fd, uint8_t *buf, size_t cap, int *fds, unsigned *n_fds) {
        size_t len = 0, need = WIRE_FIXED_HEADER;

        *n_fds = 0;
        while (len < need) {
                union {
                        struct cmsghdr align;
                        char b[CMSG_SPACE(sizeof(int) * 253)];
                } control;
                struct iovec iov = { buf + len, need - len };
                struct msghdr mh = { .msg_iov = &iov,
                                     .msg_iovlen = 1,
                                     .msg_control = control.b,
                                     .msg_controllen = sizeof(control.b) };
                ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);

                if (n <= 0)
                        tap_bail("recvmsg: %s", n ? strerror(errno) : "EOF");
                for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                        if (c->cmsg_type == SCM_RIGHTS) {
                                unsigned k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

                                memcpy(fds + *n_fds, CMSG_DATA(c), k * sizeof(int));
                                *n_fds += k;
                        }
                len += (size_t)n;
                if (len == WIRE_FIXED_HEADER) {
                        size_t more = 0;
                        WireErr why;
                        int k = wire_frame(buf, len, &more, &why);

                        if (k == -EAGAIN && len + more <= cap)
                                need = len + more;
                        else if (k < 0)
                                tap_bail("bad framing from the transport");
                }
        }
        return len;
}

/* ---- cases ---- */

static void test_both_ways(void) {
        int sv[2], fds[2] = { new_memfd(), new_memfd() }, len, before;
        uint8_t *bytes, back[4096];
        int got[8];
        unsigned n_got;
        Transport *t;
        Rx rx;

        before = count_fds();
        pair(sv);
        t = new_transport(sv[0], &rx);
        bytes = libdbus_call(7, 0xfeed, fds, 2, &len);
        send_raw(sv[1], bytes, (size_t)len, fds, 2);
        free(bytes);
        is_int(transport_read(t), 0, "read: nothing more now");
        is_int(rx.n, 1, "libdbus's call arrived");
        is_int(rx.serial[0], 7, "its serial");
        is_int(rx.tag[0], 0xfeed, "its first argument");
        is_int(rx.n_fds[0], 2, "with its two fds");
        ok(rx.ino[0][0] == ino_of(fds[0]) && rx.ino[0][1] == ino_of(fds[1]), "the very fds sent, in order");

        /* the other way: a reply with an fd, built by the codec */
        {
                WireHeader h = {
                        .type = WIRE_METHOD_RETURN, .reply_serial = 7, .signature = "h", .unix_fds = 1
                };
                uint32_t idx = 0, serial = transport_next_serial(t);
                WireBuf b;
                DBusMessage *dm;
                DBusError e;
                size_t n;
                int k;

                is_int(serial, 1, "the connection's first serial is 1");
                wire_buf_init(&b);
                k = wire_message_build(&b, WIRE_NATIVE, &h, serial, &idx, sizeof(idx));
                ok(k > 0, "reply built");
                is_int(transport_send(t, b.p, (size_t)k, &fds[1], 1), 0, "reply queued with an fd");
                wire_buf_free(&b);
                is_int(transport_flush(t), 0, "and written");
                n = recv_message(sv[1], back, sizeof(back), got, &n_got);
                is_int(n_got, 1, "the peer received one fd");
                ok(n_got == 1 && ino_of(got[0]) == ino_of(fds[1]), "the fd sent");
                {
                        WireMsg wm;

                        ok(wire_message_parse(&wm, back, n, 1, NULL) == (int)n && wm.unix_fds == 1,
                           "the reply parses, UNIX_FDS 1");
                }
                /* libdbus refuses to demarshal fds: the same reply without its fd must load */
                h.signature = NULL;
                h.unix_fds = 0;
                wire_buf_init(&b);
                k = wire_message_build(&b, WIRE_NATIVE, &h, transport_next_serial(t), NULL, 0);
                is_int(transport_send(t, b.p, (size_t)k, NULL, 0), 0, "a reply without an fd queued");
                wire_buf_free(&b);
                is_int(transport_flush(t), 0, "and written");
                n = recv_message(sv[1], back, sizeof(back), got + 1, &n_got);
                dbus_error_init(&e);
                dm = dbus_message_demarshal((const char *)back, (int)n, &e);
                ok(dm != NULL, "libdbus loads what the transport wrote");
                if (dm) {
                        is_int(dbus_message_get_type(dm), DBUS_MESSAGE_TYPE_METHOD_RETURN,
                               "a method return");
                        is_int(dbus_message_get_reply_serial(dm), 7, "to serial 7");
                        is_int(dbus_message_get_serial(dm), 2, "with the transport's next serial");
                        dbus_message_unref(dm);
                }
                dbus_error_free(&e);
                close_fds(got, 1);
        }
        is_int(rx.closed, 0, "still open");
        transport_free(t);
        close(sv[1]);
        close(fds[0]);
        close(fds[1]);
        is_int(count_fds(), before - 2, "no fd left open");
}

static void test_split_every_byte(void) {
        int fds[2] = { new_memfd(), new_memfd() }, len, before = count_fds();
        uint8_t *bytes = libdbus_call(3, 42, fds, 2, &len);
        bool all = true;

        for (int k = 1; k < len; k++) {
                int sv[2];
                Transport *t;
                Rx rx;

                pair(sv);
                t = new_transport(sv[0], &rx);
                send_raw(sv[1], bytes, (size_t)k, fds, 2);
                transport_read(t);
                if (rx.n != 0 || rx.closed) {
                        all = false;
                        tap_diag("split at %d: early delivery or close", k);
                }
                send_raw(sv[1], bytes + k, (size_t)(len - k), NULL, 0);
                transport_read(t);
                if (rx.n != 1 || rx.n_fds[0] != 2 || rx.ino[0][0] != ino_of(fds[0]) ||
                    rx.ino[0][1] != ino_of(fds[1]) || rx.tag[0] != 42 || rx.closed) {
                        all = false;
                        tap_diag("split at %d: n %u fds %u closed %d", k, rx.n, rx.n_fds[0], rx.closed);
                }
                transport_free(t);
                close(sv[1]);
        }
        ok(all,
           "a %d-byte message with 2 fds split at each of its %d boundaries: delivered once, whole, "
           "with its fds",
           len, len - 1);

        /* one byte per write */
        {
                int sv[2];
                Transport *t;
                Rx rx;
                bool early = false;

                pair(sv);
                t = new_transport(sv[0], &rx);
                for (int k = 0; k < len; k++) {
                        send_raw(sv[1], bytes + k, 1, fds, k == 0 ? 2 : 0);
                        transport_read(t);
                        if (k < len - 1 && rx.n)
                                early = true;
                }
                ok(!early, "byte by byte: nothing before the last byte");
                is_int(rx.n, 1, "byte by byte: delivered");
                ok(rx.n_fds[0] == 2 && rx.ino[0][1] == ino_of(fds[1]), "byte by byte: with its fds");
                transport_free(t);
                close(sv[1]);
        }
        free(bytes);
        close(fds[0]);
        close(fds[1]);
        is_int(count_fds(), before - 2, "no fd left open");
}

static void test_many_in_one_read(void) {
        int sv[2], len, before = count_fds(), fds[3] = { new_memfd(), new_memfd(), new_memfd() };
        uint8_t *all = NULL, *one;
        size_t total = 0;
        unsigned n = 200;
        bool order = true;
        Transport *t;
        Rx rx;

        pair(sv);
        t = new_transport(sv[0], &rx);
        for (unsigned i = 0; i < n; i++) {
                one = libdbus_call(i + 1, i, NULL, 0, &len);
                all = realloc(all, total + (size_t)len);
                memcpy(all + total, one, (size_t)len);
                total += (size_t)len;
                free(one);
        }
        ok(total < TRANSPORT_READ_SIZE, "%u messages, %zu bytes: less than one read", n, total);
        send_raw(sv[1], all, total, NULL, 0);
        free(all);
        transport_read(t);
        is_int(rx.n, n, "all delivered");
        is_int(transport_stats(t)->reads, 1, "by one recvmsg()");
        for (unsigned i = 0; i < rx.n; i++)
                if (rx.serial[i] != i + 1 || rx.tag[i] != i || !rx.libdbus_ok[i])
                        order = false;
        ok(order, "in order, each as libdbus reads it");

        /* three messages in a row: none, two and one fd, each its own */
        rx.n = 0;
        one = libdbus_call(1000, 0, NULL, 0, &len);
        send_raw(sv[1], one, (size_t)len, NULL, 0);
        free(one);
        one = libdbus_call(1001, 1, fds, 2, &len);
        send_raw(sv[1], one, (size_t)len, fds, 2);
        free(one);
        one = libdbus_call(1002, 2, &fds[2], 1, &len);
        send_raw(sv[1], one, (size_t)len, &fds[2], 1);
        free(one);
        transport_read(t);
        is_int(rx.n, 3, "three more messages");
        ok(rx.n_fds[0] == 0 && rx.n_fds[1] == 2 && rx.n_fds[2] == 1, "with 0, 2 and 1 fds");
        ok(rx.ino[1][0] == ino_of(fds[0]) && rx.ino[1][1] == ino_of(fds[1]) &&
                   rx.ino[2][0] == ino_of(fds[2]),
           "each message got its own fds");
        is_int(transport_stats(t)->fds_dropped, 0, "no fd dropped");
        is_int(rx.closed, 0, "still open");
        transport_free(t);
        close(sv[1]);
        close_fds(fds, 3);
        is_int(count_fds(), before, "no fd left open");
}

/* Corrupt a valid message at @at with @v: the transport must close. */
static void invalid_case(const char *what, int at, uint8_t v, unsigned declared, unsigned sent) {
        int sv[2], len, before = count_fds(), fds[2] = { new_memfd(), new_memfd() };
        uint8_t *good = libdbus_call(1, 1, NULL, 0, &len), *bad;
        int bad_len;
        char c;
        Transport *t;
        Rx rx;

        pair(sv);
        t = new_transport(sv[0], &rx);
        bad = libdbus_call(2, 2, fds, declared, &bad_len);
        if (at >= 0)
                bad[at] = v;
        send_raw(sv[1], good, (size_t)len, NULL, 0);
        send_raw(sv[1], bad, (size_t)bad_len, fds, sent);
        ok(transport_read(t) < 0, "%s: read fails", what);
        is_int(rx.n, 1, "the valid message before it was delivered");
        is_int(rx.closed, 1, "on_close once");
        is_int(rx.close_err, -EBADMSG, "as an invalid message");
        ok(!transport_is_open(t) && transport_fd(t) == -1, "the transport is closed");
        is_int(recv(sv[1], &c, 1, MSG_DONTWAIT), 0, "the peer sees EOF");
        is_int(transport_send(t, good, (size_t)len, NULL, 0), -ENOTCONN, "sending afterwards: -ENOTCONN");
        transport_free(t);
        close(sv[1]);
        close_fds(fds, 2);
        free(good);
        free(bad);
        is_int(count_fds(), before, "every fd closed (sent ones too)");
}

static void test_invalid(void) {
        invalid_case("serial 0", 8, 0, 2, 2); /* serial 2 -> 0 (one byte: little-endian) */
        invalid_case("byte order 'x'", 0, 'x', 2, 2);
        invalid_case("protocol version 2", 3, 2, 1, 1);
        invalid_case("message type 0", 1, 0, 0, 0);
        invalid_case("UNIX_FDS 2, one fd sent", -1, 0, 2, 1);
}

/* A message with no body and UNIX_FDS @n, sent by a transport: fds in
 * several sendmsg()s. */
static void fd_count_case(unsigned n, bool accepted) {
        int sv[2], before = count_fds(), fd = new_memfd(), *many = malloc(n * sizeof(int));
        WireHeader h = { .type = WIRE_SIGNAL,
                         .path = "/a",
                         .interface = "org.example.T",
                         .member = "Fds",
                         .unix_fds = n };
        Transport *a, *b;
        Rx ra, rb;
        WireBuf buf;
        int k;

        for (unsigned i = 0; i < n; i++)
                many[i] = fd;
        pair(sv);
        a = new_transport(sv[0], &ra);
        b = new_transport(sv[1], &rb);
        wire_buf_init(&buf);
        k = wire_message_build(&buf, WIRE_NATIVE, &h, transport_next_serial(a), NULL, 0);
        if (n > TRANSPORT_MAX_FDS) {
                is_int(transport_send(a, buf.p, (size_t)k, many, n), -EINVAL,
                       "the transport never sends more");
                /* a raw peer does: 253 fds with each of the first bytes */
                for (unsigned sent = 0, at = 0; sent < n; at++) {
                        unsigned nf = n - sent > 253 ? 253 : n - sent;

                        send_raw(sv[0], buf.p + at, sent + nf < n ? 1 : (size_t)k - at, many + sent, nf);
                        sent += nf;
                }
                transport_free(a);
                a = NULL;
        } else
                is_int(transport_send(a, buf.p, (size_t)k, many, n), 0, "a message with fds queued");
        for (int i = 0; a && i < 20 && transport_outgoing_bytes(a); i++) {
                transport_flush(a);
                transport_read(b);
        }
        transport_read(b);
        if (a) {
                is_int(transport_outgoing_bytes(a), 0, "written");
                ok(transport_stats(a)->writes >= (n + 252) / 253,
                   "in %" PRIu64 " sendmsg()s (253 fds each at most)", transport_stats(a)->writes);
        }
        if (accepted) {
                is_int(rb.n, 1, "received");
                is_int(rb.n_fds[0], n, "with every fd");
                ok(rb.ino[0][0] == ino_of(fd) && rb.ino[0][2] == ino_of(fd), "the fds sent");
                is_int(rb.closed, 0, "still open");
        } else {
                is_int(rb.n, 0, "not delivered");
                is_int(rb.closed, 1, "the connection closed");
                is_int(rb.close_err, -ETOOMANYREFS, "for too many fds");
        }
        wire_buf_free(&buf);
        transport_free(a);
        transport_free(b);
        close(fd);
        free(many);
        is_int(count_fds(), before, "every fd closed, received and dup'ed");
}

static void test_fd_bounds(void) {
        fd_count_case(3, true);
        fd_count_case(TRANSPORT_MAX_FDS, true);
        fd_count_case(TRANSPORT_MAX_FDS + 1, false);

        /* surplus: one fd declared, three sent; the next message's fds are its own */
        {
                int sv[2], len, before = count_fds(),
                                fds[4] = { new_memfd(), new_memfd(), new_memfd(), new_memfd() };
                uint8_t *one;
                Transport *t;
                Rx rx;

                pair(sv);
                t = new_transport(sv[0], &rx);
                one = libdbus_call(1, 1, fds, 1, &len);
                send_raw(sv[1], one, (size_t)len, fds, 3);
                free(one);
                one = libdbus_call(2, 2, &fds[3], 1, &len);
                send_raw(sv[1], one, (size_t)len, &fds[3], 1);
                free(one);
                transport_read(t);
                is_int(rx.n, 2, "both delivered");
                ok(rx.n_fds[0] == 1 && rx.ino[0][0] == ino_of(fds[0]), "the first took its one fd");
                ok(rx.n_fds[1] == 1 && rx.ino[1][0] == ino_of(fds[3]),
                   "the second its own, not a surplus one");
                is_int(transport_stats(t)->fds_dropped, 2, "the two surplus fds dropped");
                transport_free(t);
                close(sv[1]);
                close_fds(fds, 4);
                is_int(count_fds(), before, "and closed");
        }

        /* MSG_CTRUNC: fds the receiver cannot take (RLIMIT_NOFILE) */
        {
                int sv[2], len, before, fds[64], fill[1024], n_fill;
                struct rlimit old, low;
                uint8_t *one;
                Transport *t;
                Rx rx;

                for (int i = 0; i < 64; i++)
                        fds[i] = new_memfd();
                before = count_fds();
                pair(sv);
                t = new_transport(sv[0], &rx);
                one = libdbus_call(1, 1, fds, 0, &len);
                send_raw(sv[1], one, (size_t)len, fds, 64);
                free(one);
                {
                        int hi = highest_fd(), f;

                        n_fill = 0;
                        while ((f = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0 && f < hi && n_fill < 1024)
                                fill[n_fill++] = f;
                        if (f >= 0)
                                close(f);
                }
                getrlimit(RLIMIT_NOFILE, &old);
                low = old;
                low.rlim_cur = (rlim_t)highest_fd() + 4;
                setrlimit(RLIMIT_NOFILE, &low);
                transport_read(t);
                setrlimit(RLIMIT_NOFILE, &old);
                close_fds(fill, n_fill);
                is_int(rx.closed, 1, "a truncated control message closes the connection");
                is_int(rx.close_err, -ETOOMANYREFS, "as fds lost");
                is_int(rx.n, 0, "and delivers nothing");
                transport_free(t);
                close(sv[1]);
                is_int(count_fds(), before, "the fds that did arrive are closed");
                close_fds(fds, 64);
        }
}

static void test_outgoing_bound(void) {
        int sv[2], before = count_fds();
        size_t body_len = 64 * 1024 - 64, accepted = 0, at_default, peak = 0;
        WireHeader h = { .type = WIRE_SIGNAL,
                         .path = "/a",
                         .interface = "org.example.T",
                         .member = "Big",
                         .signature = "ay" };
        uint8_t *body = calloc(1, body_len + 4);
        WireBuf b;
        Transport *t;
        Rx rx;
        int k, r = 0;

        *(uint32_t *)body = (uint32_t)body_len; /* ay of body_len zeros */
        wire_buf_init(&b);
        k = wire_message_build(&b, WIRE_NATIVE, &h, 1, body, body_len + 4);
        ok(k > 0, "a %d-byte signal", k);
        pair(sv);
        t = new_transport(sv[0], &rx);
        is_int(transport_get_max_outgoing_bytes(t), 16u << 20, "default bound: 16 MiB");
        is_int(transport_set_max_outgoing_bytes(t, 0x80000000u), -EINVAL, "above INT32_MAX: -EINVAL");
        is_int(transport_set_max_outgoing_bytes(t, 0), 0, "0: the default");
        is_int(transport_get_max_outgoing_bytes(t), 16u << 20, "is 16 MiB");
        while (accepted < 10000 && (r = transport_send(t, b.p, (size_t)k, NULL, 0)) == 0) {
                accepted++;
                transport_flush(t);
                if (transport_outgoing_bytes(t) > peak)
                        peak = transport_outgoing_bytes(t);
        }
        is_int(r, -ENOBUFS, "a peer that never reads: -ENOBUFS in the end");
        ok(peak <= 16u << 20, "never more than 16 MiB queued (peak %zu)", peak);
        ok(accepted * (size_t)k >= 16u << 20, "but 16 MiB were queued (%zu messages)", accepted);
        is_int(rx.closed, 1, "the connection is closed");
        is_int(rx.close_err, -ENOBUFS, "for the bound");
        at_default = accepted;
        transport_free(t);
        close(sv[1]);

        pair(sv);
        t = new_transport(sv[0], &rx);
        is_int(transport_set_max_outgoing_bytes(t, 1u << 20), 0, "bound set to 1 MiB");
        accepted = peak = 0;
        while (accepted < 10000 && (r = transport_send(t, b.p, (size_t)k, NULL, 0)) == 0) {
                accepted++;
                transport_flush(t);
                if (transport_outgoing_bytes(t) > peak)
                        peak = transport_outgoing_bytes(t);
        }
        is_int(r, -ENOBUFS, "-ENOBUFS");
        ok(peak <= 1u << 20, "never more than 1 MiB queued (peak %zu)", peak);
        /* the kernel takes the same in both runs: the difference is the 15 MiB of bound, within 2 messages
         */
        ok(accepted + (15u << 20) / (size_t)k - 2 <= at_default, "15 MiB fewer accepted (%zu against %zu)",
           accepted, at_default);
        transport_free(t);
        close(sv[1]);
        wire_buf_free(&b);
        free(body);
        is_int(count_fds(), before, "no fd left open");
}

static void test_eof(void) {
        int sv[2], len, before = count_fds(), fd = new_memfd();
        uint8_t *one = libdbus_call(1, 1, &fd, 1, &len);
        Transport *t;
        Rx rx;

        pair(sv);
        t = new_transport(sv[0], &rx);
        send_raw(sv[1], one, (size_t)len, &fd, 1);
        send_raw(sv[1], one, (size_t)len / 2, &fd, 1);
        close(sv[1]);
        transport_read(t);
        is_int(rx.n, 1, "the whole message delivered");
        is_int(rx.closed, 1, "EOF inside the next one closes");
        is_int(rx.close_err, -EPIPE, "as -EPIPE");
        transport_free(t);
        close(fd);
        is_int(count_fds(), before, "the half message's fd closed");

        free(one);
        one = libdbus_call(2, 2, NULL, 0, &len);
        pair(sv);
        t = new_transport(sv[0], &rx);
        send_raw(sv[1], one, (size_t)len, NULL, 0);
        close(sv[1]);
        transport_read(t);
        is_int(rx.n, 1, "EOF between messages: the message delivered");
        ok(rx.closed == 1 && rx.close_err == 0, "and a clean close (0)");
        transport_free(t);
        free(one);
}

/* A header that announces 60 MiB (arrays stop at 64), then a trickle: memory follows the bytes. */
static void test_buffer_growth(void) {
        int sv[2], before = count_fds();
        WireHeader h = { .type = WIRE_SIGNAL,
                         .path = "/a",
                         .interface = "org.example.T",
                         .member = "Big",
                         .signature = "ay" };
        size_t big = 60u << 20, sent;
        uint8_t *body = calloc(1, big + 4);
        WireBuf b;
        Transport *t;
        Rx rx;
        int k;

        memcpy(body, &(uint32_t){ (uint32_t)big }, 4);
        wire_buf_init(&b);
        k = wire_message_build(&b, WIRE_NATIVE, &h, 1, body, big + 4);
        free(body);
        pair(sv);
        t = new_transport(sv[0], &rx);
        send_raw(sv[1], b.p, 1024, NULL, 0);
        transport_read(t);
        ok(transport_stats(t)->rx_buffer <= TRANSPORT_READ_SIZE,
           "1 KiB of a 60 MiB message: the buffer stays 64 KiB");
        send_raw(sv[1], b.p + 1024, 200 * 1024, NULL, 0);
        transport_read(t);
        ok(transport_stats(t)->rx_buffer <= 512 * 1024, "201 KiB of it: %zu bytes of buffer",
           transport_stats(t)->rx_buffer);
        sent = 201 * 1024;
        while (sent < (size_t)k && rx.n == 0 && !rx.closed) { /* the rest, as the reader takes it */
                ssize_t n = send(sv[1], b.p + sent, (size_t)k - sent, MSG_DONTWAIT | MSG_NOSIGNAL);

                if (n < 0 && errno != EAGAIN)
                        tap_bail("send: %s", strerror(errno));
                if (n > 0)
                        sent += (size_t)n;
                transport_read(t);
        }
        transport_read(t);
        if (rx.n != 1)
                tap_diag("sent %zu of %d, closed %d (%d), buffer %zu", sent, k, rx.closed, rx.close_err,
                         transport_stats(t)->rx_buffer);
        is_int(rx.n, 1, "the whole 60 MiB message is delivered");
        ok(rx.bytes == (uint64_t)k, "all of it");
        is_int(transport_stats(t)->rx_buffer, TRANSPORT_READ_SIZE, "and the buffer is 64 KiB again");
        transport_free(t);
        close(sv[1]);
        wire_buf_free(&b);
        is_int(count_fds(), before, "no fd left open");
}

/* ---- a callback reading its own transport (a sync call made by a
 * handler waits for its reply there) ---- */

typedef struct Nest {
        Transport *t;
        int peer;
        unsigned n, depth, max_depth;
        uint32_t serial[64];
        ino_t fd_ino[64];
        bool outer_intact, outer_fd_ok;
        WireBuf big;
        int memfd;
} Nest;

static int nest_msg(Transport *t, const WireMsg *m, int *fds, unsigned n_fds, void *userdata) {
        Nest *x = userdata;
        uint8_t *copy;
        size_t sent = 0;
        ino_t ino;

        if (x->n < 64) {
                x->serial[x->n] = m->serial;
                x->fd_ino[x->n] = n_fds ? ino_of(fds[0]) : 0;
        }
        x->n++;
        if (m->serial != 1)
                return 0;
        /* The first message: while it is being delivered, its own reader
         * reads more than its buffer holds (a 300 KiB message, then
         * calls with fds), delivering them from here. */
        x->depth++;
        copy = malloc(m->size);
        memcpy(copy, m->data, m->size);
        ino = n_fds ? ino_of(fds[0]) : 0;
        while (sent < x->big.n) {
                ssize_t k = send(x->peer, x->big.p + sent, x->big.n - sent, MSG_DONTWAIT | MSG_NOSIGNAL);

                if (k < 0 && errno != EAGAIN)
                        break;
                if (k > 0)
                        sent += (size_t)k;
                (void)transport_read(t); /* nested */
        }
        for (uint32_t serial = 3; serial < 8; serial++) {
                int len;
                uint8_t *b = libdbus_call(serial, serial, &x->memfd, 1, &len);

                send_raw(x->peer, b, (size_t)len, &x->memfd, 1);
                free(b);
                (void)transport_read(t);
        }
        x->outer_intact = memcmp(copy, m->data, m->size) == 0 && m->serial == 1;
        x->outer_fd_ok = n_fds == 1 && ino_of(fds[0]) == ino && ino != 0;
        free(copy);
        x->depth--;
        return 0;
}

static void nest_close(Transport *t, int error, void *userdata) {
        (void)t;
        (void)error;
        (void)userdata;
}

static void test_nested_read(void) {
        WireHeader h = { .type = WIRE_SIGNAL, .path = "/a", .interface = "org.example.T", .member = "Big",
                         .signature = "ay" };
        size_t big = 300u << 10;
        uint8_t *body = calloc(1, big + 4);
        int sv[2], before = count_fds(), len, k;
        ino_t mino;
        uint8_t *first;
        Nest x = { 0 };
        bool order = true;

        memcpy(body, &(uint32_t){ (uint32_t)big }, 4);
        wire_buf_init(&x.big);
        k = wire_message_build(&x.big, WIRE_NATIVE, &h, 2, body, big + 4);
        free(body);
        if (k < 0)
                tap_bail("wire_message_build");
        pair(sv);
        x.peer = sv[1];
        x.memfd = new_memfd();
        mino = ino_of(x.memfd);
        if (transport_new(&x.t, sv[0], nest_msg, nest_close, &x) < 0)
                tap_bail("transport_new");
        first = libdbus_call(1, 1, &x.memfd, 1, &len);
        send_raw(sv[1], first, (size_t)len, &x.memfd, 1);
        free(first);
        is_int(transport_read(x.t), 0, "nested: the outer read");
        is_int(x.n, 7, "nested: every message delivered (1 outer, 1 of 300 KiB, 5 with an fd)");
        for (unsigned i = 0; i < 7 && i < x.n; i++)
                order = order && x.serial[i] == i + 1;
        ok(order, "nested: in the order sent");
        ok(x.outer_intact, "nested: the outer message's bytes did not move under its callback");
        ok(x.outer_fd_ok, "nested: nor its fd");
        ok(x.fd_ino[0] == mino && x.fd_ino[6] == mino, "nested: each message's fd is its own");
        ok(transport_is_open(x.t), "nested: the connection is fine");
        ok(transport_stats(x.t)->rx_buffer == TRANSPORT_READ_SIZE, "nested: the buffer is 64 KiB again (%zu)",
           transport_stats(x.t)->rx_buffer);
        transport_free(x.t);
        close(sv[1]);
        close(x.memfd);
        wire_buf_free(&x.big);
        is_int(count_fds(), before, "nested: no fd left open");
}

static void test_no_fd_passing(void) {
        int sv[2], len, before = count_fds(), fd = new_memfd();
        uint8_t *plain = libdbus_call(1, 1, NULL, 0, &len);
        Transport *t;
        Rx rx;

        pair(sv);
        t = new_transport(sv[0], &rx);
        transport_set_unix_fds(t, false);
        is_int(transport_send(t, plain, (size_t)len, &fd, 1), -EOPNOTSUPP, "sending an fd: -EOPNOTSUPP");
        send_raw(sv[1], plain, (size_t)len, NULL, 0);
        transport_read(t);
        is_int(rx.n, 1, "a message without fds is read");
        send_raw(sv[1], plain, (size_t)len, &fd, 1);
        transport_read(t);
        is_int(rx.closed, 1, "an fd where none was negotiated closes the connection");
        is_int(rx.close_err, -EPROTO, "as -EPROTO");
        is_int(rx.n, 1, "nothing more delivered");
        transport_free(t);
        close(sv[1]);
        close(fd);
        free(plain);
        is_int(count_fds(), before, "the fd received is closed");
}

/* Fds with the first bytes of a message never completed: at most
 * max_queued_fds wait in the queue (review F5). */
static void test_max_queued_fds(void) {
        int sv[2], len, before = count_fds(), fd = new_memfd(), many[40];
        uint8_t *call = libdbus_call(1, 1, NULL, 0, &len);
        Transport *t;
        Rx rx;

        for (unsigned i = 0; i < 40; i++)
                many[i] = fd;
        pair(sv);
        t = new_transport(sv[0], &rx);
        is_int(transport_get_max_queued_fds(t), 2048, "queued fds: 2048 by default");
        is_int(transport_set_max_queued_fds(t, 2049), -EINVAL, "queued fds: above the default: -EINVAL");
        is_int(transport_set_max_queued_fds(t, 0), 0, "queued fds: 0 is the default");
        is_int(transport_get_max_queued_fds(t), 2048, "queued fds: 2048 again");
        is_int(transport_set_max_queued_fds(t, 64), 0, "queued fds: bound set to 64");
        /* 40 + 20 fds with the first two bytes: under the bound, waiting */
        send_raw(sv[1], call, 1, many, 40);
        send_raw(sv[1], call + 1, 1, many, 20);
        transport_read(t);
        is_int(rx.closed, 0, "queued fds: 60 waiting, still open");
        send_raw(sv[1], call + 2, 1, many, 5);
        transport_read(t);
        is_int(rx.closed, 1, "queued fds: 65 close the connection");
        is_int(rx.close_err, -ETOOMANYREFS, "queued fds: as too many fds");
        is_int(rx.n, 0, "queued fds: nothing delivered");
        transport_free(t);
        close(sv[1]);
        close(fd);
        free(call);
        is_int(count_fds(), before, "queued fds: every fd closed");
}

/* A message callback freeing its transport (a handler dropping the last
 * reference to its connection, review F1): the rest of the read goes on
 * with @t alive, the memory goes when the outermost entry point returns. */
static int free_msg(Transport *t, const WireMsg *m, int *fds, unsigned n_fds, void *userdata) {
        int *n = userdata;

        (void)m;
        (void)fds;
        (void)n_fds;
        (*n)++;
        transport_free(t);
        return 0;
}

static void free_close(Transport *t, int error, void *userdata) {
        int *n = userdata;

        (void)t;
        (void)error;
        *n += 100; /* never: freeing is not a loss */
}

static void test_free_in_callback(void) {
        int sv[2], len, before = count_fds(), fd = new_memfd(), n = 0;
        uint8_t *call = libdbus_call(1, 1, &fd, 1, &len);
        Transport *t;

        pair(sv);
        if (transport_new(&t, sv[0], free_msg, free_close, &n) < 0)
                tap_bail("transport_new");
        /* two messages in one read: the first's callback frees the transport */
        send_raw(sv[1], call, (size_t)len, &fd, 1);
        send_raw(sv[1], call, (size_t)len, &fd, 1);
        transport_read(t); /* valgrind/ASan: no access to freed memory */
        is_int(n, 1, "free in a callback: one message delivered, nothing after, no on_close");
        close(sv[1]);
        close(fd);
        free(call);
        is_int(count_fds(), before, "free in a callback: every fd closed");
}

static void test_max_message_size(void) {
        int sv[2], before = count_fds(), fd = new_memfd();
        size_t body_len = 4096;
        WireHeader h = { .type = WIRE_SIGNAL,
                         .path = "/a",
                         .interface = "org.example.T",
                         .member = "Big",
                         .signature = "ay",
                         .unix_fds = 1 };
        uint8_t *body = calloc(1, body_len + 4);
        WireBuf b;
        Transport *t;
        Rx rx;
        int k;

        *(uint32_t *)body = (uint32_t)body_len;
        wire_buf_init(&b);
        k = wire_message_build(&b, WIRE_NATIVE, &h, 1, body, body_len + 4);
        pair(sv);
        t = new_transport(sv[0], &rx);
        is_int(transport_set_max_message_size(t, WIRE_MAX_MESSAGE + 1), -EINVAL, "above 128 MiB: -EINVAL");
        is_int(transport_set_max_message_size(t, 0), 0, "0: the default (128 MiB)");
        is_int(transport_set_max_message_size(t, (uint32_t)k), 0, "a bound of exactly one message");
        send_raw(sv[1], b.p, (size_t)k, &fd, 1);
        transport_read(t);
        is_int(rx.n, 1, "a message of exactly the bound is read");
        is_int(transport_set_max_message_size(t, (uint32_t)k - 1), 0, "one byte less");
        /* only the fixed header: the size is known from it */
        send_raw(sv[1], b.p, WIRE_FIXED_HEADER, &fd, 1);
        transport_read(t);
        is_int(rx.closed, 1, "a bigger one closes the connection");
        is_int(rx.close_err, -EMSGSIZE, "-EMSGSIZE, from its fixed header alone");
        is_int(rx.n, 1, "nothing more delivered");
        transport_free(t);
        close(sv[1]);
        close(fd);
        wire_buf_free(&b);
        free(body);
        is_int(count_fds(), before, "no fd left open");
}

/* Many messages with and without fds, cut into chunks of random sizes
 * (fds sent with the chunk that holds their message's first byte): each
 * message must get exactly its own fds. */
static void test_random_chunks(void) {
        enum { N = 300 };
        int sv[2], before = count_fds(), f[3] = { new_memfd(), new_memfd(), new_memfd() };
        uint8_t *all = NULL;
        size_t total = 0, starts[N + 1];
        unsigned nf[N], seed = 12345, bad = 0;
        Transport *t;
        Rx rx;

        for (unsigned i = 0; i < N; i++) {
                int len;
                uint8_t *one;

                nf[i] = (i * 7) % 4 == 3 ? 0 : (i * 7) % 4; /* 0..2 fds */
                one = libdbus_call(i + 1, i, f, nf[i], &len);
                all = realloc(all, total + (size_t)len);
                memcpy(all + total, one, (size_t)len);
                starts[i] = total;
                total += (size_t)len;
                free(one);
        }
        starts[N] = total;
        for (int round = 0; round < 20; round++) {
                size_t off = 0;
                unsigned next = 0; /* next message whose first byte is still to send */

                pair(sv);
                t = new_transport(sv[0], &rx);
                while (off < total) {
                        size_t chunk = 1 + (seed = seed * 1103515245u + 12345u) % 600, end;
                        unsigned fds_here = 0;
                        int chunk_fds[8];

                        if (off + chunk > total)
                                chunk = total - off;
                        end = off + chunk;
                        /* a chunk carries the fds of the first message starting in it, and ends before the
                         * next one with fds */
                        while (next < N && starts[next] < off)
                                next++;
                        if (next < N && starts[next] == off) {
                                for (unsigned k = 0; k < nf[next]; k++)
                                        chunk_fds[fds_here++] = f[k];
                                next++;
                        }
                        for (unsigned m = next; m < N && starts[m] < end; m++)
                                if (nf[m] && starts[m] > off) {
                                        end = starts[m];
                                        break;
                                }
                        send_raw(sv[1], all + off, end - off, chunk_fds, fds_here);
                        off = end;
                        if (seed % 3 == 0)
                                transport_read(t);
                }
                transport_read(t);
                if (rx.n != N || rx.closed)
                        bad++;
                for (unsigned i = 0; i < rx.n && i < N; i++)
                        if (rx.serial[i] != i + 1 || rx.n_fds[i] != nf[i] ||
                            (nf[i] && rx.ino[i][nf[i] - 1] != ino_of(f[nf[i] - 1])))
                                bad++;
                if (transport_stats(t)->fds_dropped)
                        bad++;
                transport_free(t);
                close(sv[1]);
        }
        is_int(bad, 0, "20 rounds of 300 messages (0-2 fds each) in random chunks: each got its own fds");
        free(all);
        close_fds(f, 3);
        is_int(count_fds(), before, "no fd left open");
}

/* ---- two transports on a loop ---- */

typedef struct Pair {
        Rx *a, *b;
        unsigned want_a, want_b;
} Pair;

static bool wait_loop(busrpc_loop *l, bool (*cond)(void *), void *arg) {
        for (int i = 0; i < 100000 && !cond(arg); i++)
                if (busrpc_loop_iterate(l, 10000 * BUSRPC_USEC_PER_MSEC) < 0)
                        return false;
        return cond(arg);
}

static bool pair_done(void *arg) {
        Pair *p = arg;

        return (p->a->n >= p->want_a && p->b->n >= p->want_b) || p->a->closed || p->b->closed;
}

static bool rx_closed(void *arg) {
        return ((Rx *)arg)->closed > 0;
}

static void test_loop(void) {
        int sv[2], before = count_fds(), fd = new_memfd();
        size_t big = 4u << 20;
        WireHeader h = { .type = WIRE_METHOD_CALL, .path = "/a", .member = "Ping" };
        WireHeader hb = { .type = WIRE_METHOD_CALL, .path = "/a", .member = "Big", .signature = "ay" };
        busrpc_loop *l;
        Transport *a, *b;
        Rx ra, rb;
        WireBuf buf;
        Pair p = { &ra, &rb, 0, 0 };
        uint8_t *body;
        int k;

        if (busrpc_loop_new(&l) < 0)
                tap_bail("busrpc_loop_new");
        pair(sv);
        a = new_transport(sv[0], &ra);
        b = new_transport(sv[1], &rb);
        rb.echo = 1;
        ok(transport_attach(a, l) == 0 && transport_attach(b, l) == 0, "both attached to a loop");
        wire_buf_init(&buf);
        for (int i = 0; i < 100; i++) {
                buf.n = 0;
                h.unix_fds = i == 50 ? 1 : 0;
                k = wire_message_build(&buf, WIRE_NATIVE, &h, transport_next_serial(a), NULL, 0);
                if (transport_send(a, buf.p, (size_t)k, i == 50 ? &fd : NULL, i == 50 ? 1 : 0) < 0)
                        tap_bail("send");
        }
        p.want_a = p.want_b = 100;
        ok(wait_loop(l, pair_done, &p), "100 calls and 100 replies through the loop");
        is_int(rb.n, 100, "100 calls received");
        is_int(ra.n, 100, "100 replies received");
        ok(rb.n_fds[50] == 1 && rb.ino[50][0] == ino_of(fd), "the 51st call carried its fd");
        is_int(transport_stats(b)->fds_in, 1, "one fd in all");
        ok(transport_stats(a)->writes <= 4, "the 100 calls went in %" PRIu64 " sendmsg()s",
           transport_stats(a)->writes);
        ok(transport_stats(b)->writes < 100, "the 100 replies in %" PRIu64 " sendmsg()s",
           transport_stats(b)->writes);

        /* 4 MiB: more than the socket takes at once */
        body = calloc(1, big + 4);
        *(uint32_t *)body = (uint32_t)big;
        buf.n = 0;
        k = wire_message_build(&buf, WIRE_NATIVE, &hb, transport_next_serial(a), body, big + 4);
        free(body);
        ok(k > 0 && transport_send(a, buf.p, (size_t)k, NULL, 0) == 0, "a 4 MiB call queued");
        p.want_a = p.want_b = 101;
        ok(wait_loop(l, pair_done, &p), "delivered, and answered");
        is_int(rb.serial[100], 101, "the big call arrived whole");
        ok(rb.libdbus_ok[100], "libdbus loads it");
        ok(transport_stats(a)->writes > 5, "in several partial writes (%" PRIu64 " sendmsg()s in all)",
           transport_stats(a)->writes);
        is_int(ra.closed + rb.closed, 0, "both still open");

        /* the peer goes: the other sees EOF from the loop */
        transport_free(b);
        ok(wait_loop(l, rx_closed, &ra) && ra.close_err == 0, "the peer's close is seen (EOF: 0)");
        transport_free(a);
        wire_buf_free(&buf);
        busrpc_loop_unref(l);
        close(fd);
        is_int(count_fds(), before, "no fd left open");
}

/* ---- a real dbus-daemon: libdbus authenticates, busrpc takes over ---- */

typedef struct Bus {
        Rx rx;
        Transport *t;
        char unique[64];
        uint32_t hello_serial;
        bool hello_done, name_acquired;
        unsigned echoed;
        ino_t echo_ino;
        unsigned echo_fds;
        uint32_t big_len;
} Bus;

static int bus_msg(Transport *t, const WireMsg *m, int *fds, unsigned n_fds, void *userdata) {
        Bus *bus = userdata;
        WireReader r;
        const char *s;

        (void)t;
        wire_reader_init(&r, m, fds, n_fds);
        if (m->type == WIRE_METHOD_RETURN && m->reply_serial == bus->hello_serial && m->signature &&
            strcmp(m->signature, "s") == 0 && wire_read_basic(&r, 's', &s) == 0) {
                snprintf(bus->unique, sizeof(bus->unique), "%s", s);
                bus->hello_done = true;
        } else if (m->type == WIRE_SIGNAL && m->member && strcmp(m->member, "NameAcquired") == 0) {
                bus->name_acquired = true;
        } else if (m->type == WIRE_METHOD_CALL && m->member && strcmp(m->member, "Echo") == 0) {
                bus->echoed++;
                bus->echo_fds = n_fds;
                if (n_fds)
                        bus->echo_ino = ino_of(fds[0]);
                if (m->signature && strcmp(m->signature, "ay") == 0) {
                        WireReader sub;

                        if (wire_read_enter(&r, &sub) == 0)
                                bus->big_len = wire_reader_left(&sub);
                }
        }
        return 0;
}

static bool bus_hello(void *arg) {
        Bus *b = arg;
        return (b->hello_done && b->name_acquired) || b->rx.closed;
}

static bool bus_echo1(void *arg) {
        Bus *b = arg;
        return b->echoed >= 1 || b->rx.closed;
}

static bool bus_echo2(void *arg) {
        Bus *b = arg;
        return b->echoed >= 2 || b->rx.closed;
}

static void test_dbus_daemon(void) {
        TestBus tb;
        DBusConnection *dc;
        DBusError e;
        busrpc_loop *l;
        Bus bus = { 0 };
        int fd = -1, memfd = new_memfd(), k, before = count_fds();
        WireBuf b;

        test_bus_start(&tb);
        dbus_error_init(&e);
        dc = dbus_connection_open_private(tb.address, &e);
        if (!dc)
                tap_bail("connect to the private bus: %s", e.message);
        /* libdbus does the client side of SASL EXTERNAL (and NEGOTIATE_UNIX_FD) */
        for (int i = 0; i < 1000 && !dbus_connection_get_is_authenticated(dc); i++)
                dbus_connection_read_write(dc, 1000);
        ok(dbus_connection_get_is_authenticated(dc), "libdbus authenticated the connection");
        ok(dbus_connection_can_send_type(dc, DBUS_TYPE_UNIX_FD), "with fd passing agreed");
        if (dbus_connection_get_socket(dc, &fd))
                fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        ok(fd >= 0, "busrpc takes the socket over");
        dbus_connection_close(dc);
        dbus_connection_unref(dc);
        if (fd < 0)
                tap_bail("no socket");
        if (busrpc_loop_new(&l) < 0)
                tap_bail("busrpc_loop_new");
        if (transport_new(&bus.t, fd, bus_msg, rx_close, &bus.rx) < 0 || transport_attach(bus.t, l) < 0)
                tap_bail("transport");

        wire_buf_init(&b);
        {
                WireHeader h = { .type = WIRE_METHOD_CALL,
                                 .path = "/org/freedesktop/DBus",
                                 .interface = "org.freedesktop.DBus",
                                 .member = "Hello",
                                 .destination = "org.freedesktop.DBus" };

                bus.hello_serial = transport_next_serial(bus.t);
                k = wire_message_build(&b, WIRE_NATIVE, &h, bus.hello_serial, NULL, 0);
                is_int(transport_send(bus.t, b.p, (size_t)k, NULL, 0), 0, "Hello sent by busrpc");
        }
        ok(wait_loop(l, bus_hello, &bus) && bus.hello_done, "the daemon answers Hello: %s", bus.unique);
        ok(bus.name_acquired, "and NameAcquired arrives");
        {
                WireHeader h = { .type = WIRE_METHOD_CALL,
                                 .path = "/a",
                                 .interface = "org.example.T",
                                 .member = "Echo",
                                 .destination = bus.unique,
                                 .signature = "h",
                                 .unix_fds = 1,
                                 .flags = WIRE_FLAG_NO_REPLY };
                uint32_t idx = 0;

                b.n = 0;
                k = wire_message_build(&b, WIRE_NATIVE, &h, transport_next_serial(bus.t), &idx, 4);
                is_int(transport_send(bus.t, b.p, (size_t)k, &memfd, 1), 0, "a call to itself with an fd");
        }
        ok(wait_loop(l, bus_echo1, &bus) && bus.echoed == 1, "it comes back through the daemon");
        ok(bus.echo_fds == 1 && bus.echo_ino == ino_of(memfd), "with the fd");
        {
                WireHeader h = { .type = WIRE_METHOD_CALL,
                                 .path = "/a",
                                 .interface = "org.example.T",
                                 .member = "Echo",
                                 .destination = bus.unique,
                                 .signature = "ay",
                                 .flags = WIRE_FLAG_NO_REPLY };
                uint32_t big = 1u << 20;
                uint8_t *body = calloc(1, big + 4);

                memcpy(body, &big, 4);
                b.n = 0;
                k = wire_message_build(&b, WIRE_NATIVE, &h, transport_next_serial(bus.t), body, big + 4);
                free(body);
                is_int(transport_send(bus.t, b.p, (size_t)k, NULL, 0), 0, "a 1 MiB call to itself");
        }
        ok(wait_loop(l, bus_echo2, &bus) && bus.echoed == 2, "it comes back too");
        is_int(bus.big_len, 1u << 20, "all of it");
        is_int(bus.rx.closed, 0, "the connection stays up");
        wire_buf_free(&b);
        transport_free(bus.t);
        busrpc_loop_unref(l);
        test_bus_stop(&tb);
        dbus_error_free(&e);
        close(memfd);
        is_int(count_fds(), before - 1, "no fd left open");
}

/* ---- DBusMessages through a transport ---- */

typedef struct Conv {
        int n, conv_err;
        const char *diff;
        char buf[256];
        uint32_t serial;
        DBusMessage *d;
} Conv;

static int conv_msg(Transport *t, const WireMsg *m, int *fds, unsigned n_fds, void *userdata) {
        Conv *c = userdata;

        (void)t;
        c->n++;
        c->serial = m->serial;
        if (c->d)
                dbus_message_unref(c->d);
        c->d = NULL;
        c->conv_err = transport_to_dbus(m, fds, n_fds, &c->d);
        c->diff = c->d ? wc_message(m, c->d, c->buf, sizeof(c->buf)) : "no message";
        return 0;
}

static void conv_close(Transport *t, int error, void *userdata) {
        (void)t;
        (void)error;
        (void)userdata;
}

static void append_variant(DBusMessageIter *it, int type, const void *v) {
        DBusMessageIter var;
        char sig[2] = { (char)type, 0 };

        dbus_message_iter_open_container(it, DBUS_TYPE_VARIANT, sig, &var);
        dbus_message_iter_append_basic(&var, type, v);
        dbus_message_iter_close_container(it, &var);
}

/* fds in the order they appear in @d's body: their inodes */
static unsigned fd_inos(DBusMessageIter *it, ino_t *inos, unsigned n) {
        int t;

        while ((t = dbus_message_iter_get_arg_type(it)) != DBUS_TYPE_INVALID) {
                if (dbus_type_is_container(t)) {
                        DBusMessageIter sub;

                        dbus_message_iter_recurse(it, &sub);
                        n = fd_inos(&sub, inos, n);
                } else if (t == DBUS_TYPE_UNIX_FD) {
                        int fd = -1;

                        dbus_message_iter_get_basic(it, &fd);
                        inos[n++] = fd >= 0 ? ino_of(fd) : 0;
                        if (fd >= 0)
                                close(fd);
                }
                dbus_message_iter_next(it);
        }
        return n;
}

static void test_dbus_messages(void) {
        int sv[2], before = count_fds(), f[4] = { new_memfd(), new_memfd(), new_memfd(), new_memfd() };
        DBusMessage *d = dbus_message_new_method_call("org.example.X", "/org/example/obj", "org.example.T",
                                                      "Everything");
        DBusMessageIter it, sub, e;
        Transport *a, *b;
        Rx ra;
        Conv c = { 0 };
        uint32_t serial = 0;
        ino_t got[8], want[4] = { ino_of(f[0]), ino_of(f[1]), ino_of(f[2]), ino_of(f[3]) };
        unsigned n;

        {
                uint8_t y = 7;
                dbus_bool_t bo = 1;
                int16_t nn = -3;
                uint16_t q = 3;
                int32_t i = -70000;
                uint32_t u = 70000;
                int64_t x = -(1LL << 40);
                uint64_t tt = 1ULL << 63;
                double dd = 2.5;
                const char *str = "héllo", *o = "/a/b", *g = "a{sv}", *k1 = "one", *k2 = "fd";
                static uint8_t bytes[100000];

                dbus_message_iter_init_append(d, &it);
                dbus_message_iter_append_basic(&it, DBUS_TYPE_BYTE, &y);
                dbus_message_iter_append_basic(&it, DBUS_TYPE_BOOLEAN, &bo);
                dbus_message_iter_append_basic(&it, DBUS_TYPE_INT16, &nn);
                dbus_message_iter_append_basic(&it, DBUS_TYPE_UINT16, &q);
                dbus_message_iter_append_basic(&it, DBUS_TYPE_INT32, &i);
                dbus_message_iter_append_basic(&it, DBUS_TYPE_UINT32, &u);
                dbus_message_iter_append_basic(&it, DBUS_TYPE_INT64, &x);
                dbus_message_iter_append_basic(&it, DBUS_TYPE_UINT64, &tt);
                dbus_message_iter_append_basic(&it, DBUS_TYPE_DOUBLE, &dd);
                dbus_message_iter_append_basic(&it, DBUS_TYPE_STRING, &str);
                dbus_message_iter_append_basic(&it, DBUS_TYPE_OBJECT_PATH, &o);
                dbus_message_iter_append_basic(&it, DBUS_TYPE_SIGNATURE, &g);
                /* (ih) */
                dbus_message_iter_open_container(&it, DBUS_TYPE_STRUCT, NULL, &sub);
                dbus_message_iter_append_basic(&sub, DBUS_TYPE_INT32, &i);
                dbus_message_iter_append_basic(&sub, DBUS_TYPE_UNIX_FD, &f[0]);
                dbus_message_iter_close_container(&it, &sub);
                /* a{sv} with an fd in a variant */
                dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "{sv}", &sub);
                dbus_message_iter_open_container(&sub, DBUS_TYPE_DICT_ENTRY, NULL, &e);
                dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &k1);
                append_variant(&e, DBUS_TYPE_INT32, &i);
                dbus_message_iter_close_container(&sub, &e);
                dbus_message_iter_open_container(&sub, DBUS_TYPE_DICT_ENTRY, NULL, &e);
                dbus_message_iter_append_basic(&e, DBUS_TYPE_STRING, &k2);
                append_variant(&e, DBUS_TYPE_UNIX_FD, &f[1]);
                dbus_message_iter_close_container(&sub, &e);
                dbus_message_iter_close_container(&it, &sub);
                /* ah */
                dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "h", &sub);
                dbus_message_iter_append_basic(&sub, DBUS_TYPE_UNIX_FD, &f[2]);
                dbus_message_iter_append_basic(&sub, DBUS_TYPE_UNIX_FD, &f[3]);
                dbus_message_iter_close_container(&it, &sub);
                /* ay, 100 kB: more than one read */
                memset(bytes, 0xab, sizeof(bytes));
                {
                        const uint8_t *p = bytes;

                        dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "y", &sub);
                        dbus_message_iter_append_fixed_array(&sub, DBUS_TYPE_BYTE, &p, (int)sizeof(bytes));
                        dbus_message_iter_close_container(&it, &sub);
                }
                dbus_message_set_no_reply(d, TRUE);
        }
        pair(sv);
        if (transport_new(&a, sv[0], rx_msg, rx_close, &ra) < 0 ||
            transport_new(&b, sv[1], conv_msg, conv_close, &c) < 0)
                tap_bail("transport_new");
        memset(&ra, 0, sizeof(ra));
        is_int(transport_send_dbus(a, d, &serial), 0, "a DBusMessage with 4 fds queued");
        is_int(serial, 1, "numbered by the transport");
        is_int(dbus_message_get_serial(d), 0, "the DBusMessage itself untouched");
        for (int i = 0; i < 50 && c.n == 0; i++) {
                transport_flush(a);
                transport_read(b);
        }
        is_int(c.n, 1, "received");
        is_int(c.serial, 1, "with that serial");
        is_int(c.conv_err, 0, "rebuilt as a DBusMessage (it has fds)");
        ok(c.diff == NULL, "equal to the codec's reading, header and every value%s%s", c.diff ? ": " : "",
           c.diff ? c.diff : "");
        if (c.d) {
                dbus_message_iter_init(c.d, &it);
                n = fd_inos(&it, got, 0);
                ok(n == 4 && got[0] == want[0] && got[1] == want[1] && got[2] == want[2] &&
                           got[3] == want[3],
                   "the same four fds, in the struct, the variant and the ah");
                ok(dbus_message_get_no_reply(c.d) &&
                           strcmp(dbus_message_get_destination(c.d), "org.example.X") == 0,
                   "flags and destination kept");
                dbus_message_unref(c.d);
                c.d = NULL;
        }

        /* without fds: the demarshal path */
        {
                DBusMessage *s2 = dbus_message_new_signal("/a", "org.example.T", "Plain");
                const char *str = "text";

                dbus_message_append_args(s2, DBUS_TYPE_STRING, &str, DBUS_TYPE_INVALID);
                is_int(transport_send_dbus(a, s2, &serial), 0, "a signal without fds queued");
                is_int(serial, 2, "serial 2");
                transport_flush(a);
                transport_read(b);
                is_int(c.n, 2, "received");
                ok(c.conv_err == 0 && c.diff == NULL,
                   "demarshalled by libdbus, equal to the codec's reading");
                if (c.d)
                        dbus_message_unref(c.d);
                c.d = NULL;
                dbus_message_unref(s2);
        }
        transport_free(a);
        transport_free(b);
        dbus_message_unref(d);
        close_fds(f, 4);
        is_int(count_fds(), before, "no fd left open");
}

/* ---- the server side: busrpc's own SASL EXTERNAL ---- */

static const char *GUID = "0123456789abcdef0123456789abcdef";

static void hex_uid(char *out, size_t cap) {
        char dec[16];
        size_t n = 0;

        snprintf(dec, sizeof(dec), "%u", (unsigned)geteuid());
        for (const char *p = dec; *p && n + 3 < cap; p++)
                n += (size_t)snprintf(out + n, cap - n, "%02x", (unsigned char)*p);
}

/* Run the server's steps until it is done or fails (the client wrote everything already). */
static int sasl_run(SaslServer *s) {
        int r;

        for (int i = 0; i < 100; i++) {
                struct pollfd p = { s->fd, POLLIN, 0 };

                r = sasl_server_step(s);
                if (r != 0)
                        return r;
                poll(&p, 1, 5000);
        }
        return 0;
}

static size_t read_answers(int fd, char *buf, size_t cap, const char *until) {
        size_t n = 0;

        buf[0] = '\0';
        while (n + 1 < cap && !strstr(buf, until)) {
                ssize_t k = recv(fd, buf + n, cap - 1 - n, 0);

                if (k <= 0)
                        break;
                n += (size_t)k;
                buf[n] = '\0';
        }
        return n;
}

static void pipelined_case(const char *auth, const char *want) {
        int sv[2], fd = new_memfd(), len, before = count_fds(), fds[SASL_MAX_FDS];
        uint8_t *msg = libdbus_call(1, 77, &fd, 1, &len);
        size_t alen = strlen(auth) + 1, rest_len;
        char *all = malloc(alen + (size_t)len), answers[256];
        SaslServer *s = malloc(sizeof(*s));
        const void *rest;
        unsigned n_fds;
        Transport *t;
        Rx rx;

        all[0] = '\0';
        memcpy(all + 1, auth, alen - 1);
        memcpy(all + alen, msg, (size_t)len);
        pair(sv);
        /* one write: the NUL, the auth lines, BEGIN and the first message, its fd with the first byte */
        send_raw(sv[1], all, alen + (size_t)len, &fd, 1);
        is_int(sasl_server_init(s, sv[0], GUID, NULL, NULL), 0, "SO_PEERCRED read");
        is_int(sasl_run(s), 1, "authenticated at BEGIN");
        ok(sasl_server_unix_fd(s), "fd passing agreed");
        read_answers(sv[1], answers, sizeof(answers), "AGREE_UNIX_FD\r\n");
        is_str(answers, want, "the answers, in order");
        rest = sasl_server_rest(s, &rest_len);
        is_int(rest_len, len, "the whole pipelined message is left for the transport");
        sasl_server_take_fds(s, fds, &n_fds);
        is_int(n_fds, 1, "with its fd");
        if (transport_new_with(&t, sv[0], rest, rest_len, fds, n_fds, rx_msg, rx_close, &rx) < 0)
                tap_bail("transport_new_with");
        memset(&rx, 0, sizeof(rx));
        transport_read(t);
        is_int(rx.n, 1, "the first message is delivered");
        ok(rx.tag[0] == 77 && rx.n_fds[0] == 1 && rx.ino[0][0] == ino_of(fd), "whole, with its fd");
        transport_free(t);
        sasl_server_clear(s);
        close(sv[1]);
        free(s);
        free(all);
        free(msg);
        close(fd);
        is_int(count_fds(), before - 1, "no fd left open");
}

static void test_sasl_pipelined(void) {
        char hex[40], auth[256], want[256];

        hex_uid(hex, sizeof(hex));
        snprintf(auth, sizeof(auth), "AUTH EXTERNAL %s\r\nNEGOTIATE_UNIX_FD\r\nBEGIN\r\n", hex);
        snprintf(want, sizeof(want), "OK %s\r\nAGREE_UNIX_FD\r\n", GUID);
        pipelined_case(auth, want);
        /* AUTH without an initial response, DATA without waiting for the challenge */
        snprintf(want, sizeof(want), "DATA\r\nOK %s\r\nAGREE_UNIX_FD\r\n", GUID);
        pipelined_case("AUTH EXTERNAL\r\nDATA\r\nNEGOTIATE_UNIX_FD\r\nBEGIN\r\n", want);
}

static bool never(uid_t uid, void *userdata) {
        (void)uid;
        (void)userdata;
        return false;
}

/* @input after the NUL (unless @no_nul); the step's result and the first answer line. */
static void refusal_case(const char *what, const char *input, bool no_nul, SaslUidAllowedFn allowed,
                         int want_r, const char *want_answer) {
        int sv[2], before = count_fds(), r;
        SaslServer *s = malloc(sizeof(*s));
        char answers[512];

        pair(sv);
        if (!no_nul)
                send_raw(sv[1], "", 1, NULL, 0);
        send_raw(sv[1], input, strlen(input), NULL, 0);
        sasl_server_init(s, sv[0], GUID, allowed, NULL);
        r = sasl_server_step(s);
        is_int(r, want_r, what);
        if (want_answer) {
                shutdown(sv[0], SHUT_WR);
                read_answers(sv[1], answers, sizeof(answers), "\n");
                ok(strncmp(answers, want_answer, strlen(want_answer)) == 0, "%s: answered \"%s\"", what,
                   want_answer);
        }
        sasl_server_clear(s);
        free(s);
        close(sv[0]);
        close(sv[1]);
        is_int(count_fds(), before, "no fd left open");
}

static void test_sasl_refusals(void) {
        char hex[40], line[128], *big, *many;
        int sv[2], r;
        SaslServer *s;

        hex_uid(hex, sizeof(hex));
        refusal_case("another uid's identity: rejected", "AUTH EXTERNAL 3939393939\r\n", false, NULL, 0,
                     "REJECTED EXTERNAL");
        refusal_case("another mechanism: rejected", "AUTH DBUS_COOKIE_SHA1 abcd\r\n", false, NULL, 0,
                     "REJECTED EXTERNAL");
        refusal_case("BEGIN before OK: an error", "BEGIN\r\n", false, NULL, 0, "ERROR");
        refusal_case("an identity that is not hex: rejected", "AUTH EXTERNAL zz\r\n", false, NULL, 0,
                     "REJECTED EXTERNAL");
        refusal_case("no NUL byte first: -EPROTO", "AUTH EXTERNAL 30\r\n", true, NULL, -EPROTO, NULL);
        refusal_case("a bare LF: -EPROTO", "AUTH EXTERNAL\n", false, NULL, -EPROTO, NULL);
        snprintf(line, sizeof(line), "AUTH EXTERNAL %s\r\n", hex);
        refusal_case("a uid the server does not allow: -EACCES", line, false, never, -EACCES, NULL);
        {
                int pv[2], fd = new_memfd(), before = count_fds();
                SaslServer *ss = malloc(sizeof(*ss));
                char msg[160];

                snprintf(msg, sizeof(msg), "AUTH EXTERNAL %s\r\nBEGIN\r\n", hex);
                pair(pv);
                send_raw(pv[1], "", 1, NULL, 0);
                send_raw(pv[1], msg, strlen(msg), &fd, 1);
                sasl_server_init(ss, pv[0], GUID, NULL, NULL);
                is_int(sasl_run(ss), -EPROTO,
                       "an fd from a client that did not negotiate fd passing: -EPROTO");
                sasl_server_clear(ss);
                free(ss);
                close(pv[0]);
                close(pv[1]);
                is_int(count_fds(), before, "the fd received is closed");
                close(fd);
        }
        many = malloc(64 * 8 + 1);
        many[0] = '\0';
        for (int i = 0; i < 8; i++)
                strcat(many, "AUTH\r\n");
        refusal_case("more than 6 refusals: -EPROTO", many, false, NULL, -EPROTO, NULL);
        free(many);

        big = malloc(SASL_MAX_BYTES + 16);
        memset(big, 'A', SASL_MAX_BYTES + 8);
        big[SASL_MAX_BYTES + 8] = '\0';
        pair(sv);
        s = malloc(sizeof(*s));
        sasl_server_init(s, sv[0], GUID, NULL, NULL);
        send_raw(sv[1], "", 1, NULL, 0);
        send_raw(sv[1], big, SASL_MAX_BYTES / 2, NULL, 0);
        is_int(sasl_server_step(s), 0, "half the budget without a line end: waiting");
        send_raw(sv[1], big, SASL_MAX_BYTES / 2, NULL, 0);
        is_int(sasl_server_step(s), -EPROTO, "a line longer than the budget: -EPROTO");
        close(sv[1]);
        close(sv[0]);
        free(big);

        pair(sv);
        sasl_server_init(s, sv[0], GUID, NULL, NULL);
        send_raw(sv[1], "\0AUTH EXT", 9, NULL, 0);
        close(sv[1]);
        r = sasl_server_step(s);
        is_int(r, -ECONNRESET, "EOF during authentication: -ECONNRESET");
        close(sv[0]);
        free(s);
}

/* A libdbus client authenticates against busrpc's SASL, then talks to a transport. */
static void test_sasl_libdbus_client(void) {
        char dir[] = "/tmp/busrpc-transport-XXXXXX", addr[200];
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int lfd, cfd = -1, r = 0, before = count_fds(), memfd = new_memfd();
        SaslServer *s = malloc(sizeof(*s));
        DBusConnection *dc;
        DBusMessage *m, *reply = NULL;
        DBusPendingCall *pc = NULL;
        DBusError e;
        Transport *t;
        Rx rx;

        if (!mkdtemp(dir))
                tap_bail("mkdtemp");
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock", dir);
        snprintf(addr, sizeof(addr), "unix:path=%s", sa.sun_path);
        lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 4) < 0)
                tap_bail("listen: %s", strerror(errno));
        dbus_error_init(&e);
        dc = dbus_connection_open_private(addr, &e);
        if (!dc)
                tap_bail("libdbus connect: %s", e.message);
        cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        ok(cfd >= 0, "accepted");
        sasl_server_init(s, cfd, GUID, NULL, NULL);
        for (int i = 0; i < 200 && r == 0; i++) {
                dbus_connection_read_write(dc, 0);
                r = sasl_server_step(s);
                if (r == 0) {
                        struct pollfd p = { cfd, POLLIN, 0 };

                        poll(&p, 1, 100);
                }
        }
        is_int(r, 1, "busrpc's SASL authenticated libdbus's client");
        for (int i = 0; i < 200 && !dbus_connection_get_is_authenticated(dc); i++)
                dbus_connection_read_write(dc, 100);
        ok(dbus_connection_get_is_authenticated(dc), "libdbus agrees");
        ok(dbus_connection_can_send_type(dc, DBUS_TYPE_UNIX_FD) && sasl_server_unix_fd(s), "fds agreed");
        {
                size_t rest_len;
                const void *rest = sasl_server_rest(s, &rest_len);
                int fds[SASL_MAX_FDS];
                unsigned n;

                sasl_server_take_fds(s, fds, &n);
                if (transport_new_with(&t, cfd, rest, rest_len, fds, n, rx_msg, rx_close, &rx) < 0)
                        tap_bail("transport");
                memset(&rx, 0, sizeof(rx));
                rx.echo = 1;
        }
        /* a call with an fd from libdbus; the transport answers */
        m = dbus_message_new_method_call(NULL, "/a", "org.example.T", "Take");
        {
                uint32_t tag = 5;

                dbus_message_append_args(m, DBUS_TYPE_UINT32, &tag, DBUS_TYPE_UNIX_FD, &memfd,
                                         DBUS_TYPE_INVALID);
        }
        ok(dbus_connection_send_with_reply(dc, m, &pc, 5000) && pc, "libdbus sends a call with an fd");
        dbus_message_unref(m);
        for (int i = 0; i < 200 && !dbus_pending_call_get_completed(pc); i++) {
                struct pollfd p = { cfd, POLLIN, 0 };

                dbus_connection_read_write(dc, 0);
                transport_read(t);
                transport_flush(t);
                dbus_connection_read_write_dispatch(dc, 0);
                if (!dbus_pending_call_get_completed(pc))
                        poll(&p, 1, 50);
        }
        is_int(rx.n, 1, "the transport received it");
        ok(rx.tag[0] == 5 && rx.n_fds[0] == 1 && rx.ino[0][0] == ino_of(memfd), "with its argument and fd");
        ok(dbus_pending_call_get_completed(pc), "libdbus got the transport's reply");
        if (dbus_pending_call_get_completed(pc)) {
                reply = dbus_pending_call_steal_reply(pc);
                ok(reply && dbus_message_get_type(reply) == DBUS_MESSAGE_TYPE_METHOD_RETURN,
                   "a method return");
                if (reply)
                        dbus_message_unref(reply);
        }
        dbus_pending_call_unref(pc);
        transport_free(t);
        dbus_connection_close(dc);
        dbus_connection_unref(dc);
        dbus_error_free(&e);
        close(lfd);
        unlink(sa.sun_path);
        rmdir(dir);
        sasl_server_clear(s);
        free(s);
        close(memfd);
        is_int(count_fds(), before, "no fd left open");
}

/* ---- foreign clients against busrpc's SASL and a transport ---- */

#define MAX_PEERS 8

typedef struct Srv Srv;

typedef struct SrvPeer {
        Srv *srv;
        int fd;
        SaslServer *sasl;
        busrpc_source *auth_src;
        Transport *t;
        size_t pipelined; /* bytes read with BEGIN's line, handed to the transport */
        bool done;
} SrvPeer;

struct Srv {
        busrpc_loop *loop;
        int lfd;
        SrvPeer peers[MAX_PEERS];
        unsigned n_peers, authenticated, calls, closed;
};

static void body_string(WireBuf *b, const char *str) {
        uint32_t n = (uint32_t)strlen(str);

        wire_buf_reserve(b, 4 + n + 1);
        memcpy(b->p + b->n, &n, 4);
        memcpy(b->p + b->n + 4, str, n + 1);
        b->n += 4 + n + 1;
}

static int srv_reply(Transport *t, const WireMsg *m, const char *sig, const char *error, const void *body,
                     size_t len) {
        WireHeader h = { .type = error ? WIRE_ERROR : WIRE_METHOD_RETURN,
                         .error_name = error,
                         .reply_serial = m->serial,
                         .signature = sig,
                         .destination = m->sender };
        WireBuf b;
        int k;

        wire_buf_init(&b);
        k = wire_message_build(&b, WIRE_NATIVE, &h, transport_next_serial(t), body, len);
        if (k > 0)
                k = transport_send(t, b.p, (size_t)k, NULL, 0);
        wire_buf_free(&b);
        return k;
}

static int srv_msg(Transport *t, const WireMsg *m, int *fds, unsigned n_fds, void *userdata) {
        SrvPeer *p = userdata;
        WireReader r;
        WireBuf body;
        const char *str;
        int k = 0;

        if (m->type != WIRE_METHOD_CALL || (m->flags & WIRE_FLAG_NO_REPLY))
                return 0;
        wire_buf_init(&body);
        wire_reader_init(&r, m, fds, n_fds);
        if (m->interface && strcmp(m->interface, "org.freedesktop.DBus") == 0 &&
            strcmp(m->member, "Hello") == 0) {
                body_string(&body, ":1.1");
                k = srv_reply(t, m, "s", NULL, body.p, body.n);
        } else if (strcmp(m->member, "Echo") == 0 && m->signature && strcmp(m->signature, "s") == 0 &&
                   wire_read_basic(&r, 's', &str) == 0) {
                p->srv->calls++;
                body_string(&body, str);
                k = srv_reply(t, m, "s", NULL, body.p, body.n);
        } else if (strcmp(m->member, "EchoFd") == 0 && m->signature && strcmp(m->signature, "h") == 0) {
                uint32_t idx;
                uint64_t ino;

                wire_read_basic(&r, 'h', &idx);
                ino = (uint64_t)ino_of(fds[idx]);
                p->srv->calls++;
                k = srv_reply(t, m, "t", NULL, &ino, 8);
        } else {
                body_string(&body, "no such method here");
                k = srv_reply(t, m, "s", "org.freedesktop.DBus.Error.UnknownMethod", body.p, body.n);
        }
        wire_buf_free(&body);
        return k < 0 ? k : 0;
}

static void srv_close(Transport *t, int error, void *userdata) {
        SrvPeer *p = userdata;

        (void)error;
        p->srv->closed++;
        p->done = true;
        p->t = transport_free(t); /* freeing from on_close is allowed */
}

static void peer_drop(SrvPeer *p) {
        p->auth_src = busrpc_source_release(p->auth_src);
        if (p->sasl) {
                sasl_server_clear(p->sasl);
                free(p->sasl);
                p->sasl = NULL;
        }
}

static int srv_auth_io(busrpc_source *src, int fd, uint32_t revents, void *userdata) {
        SrvPeer *p = userdata;
        int r = sasl_server_step(p->sasl);

        (void)src;
        (void)revents;
        if (r == 0)
                return 0;
        if (r < 0) {
                peer_drop(p);
                close(fd);
                p->done = true;
                return -1;
        }
        {
                size_t len;
                const void *rest = sasl_server_rest(p->sasl, &len);
                int fds[SASL_MAX_FDS];
                unsigned n;

                sasl_server_take_fds(p->sasl, fds, &n);
                p->pipelined = len;
                r = transport_new_with(&p->t, fd, rest, len, fds, n, srv_msg, srv_close, p);
                if (r == 0)
                        transport_set_unix_fds(p->t, sasl_server_unix_fd(p->sasl));
        }
        peer_drop(p); /* releases this source: its return value no longer matters */
        if (r < 0 || transport_attach(p->t, p->srv->loop) < 0) {
                p->done = true;
                return -1;
        }
        p->srv->authenticated++;
        return 0;
}

static int srv_accept(busrpc_source *src, int fd, uint32_t revents, void *userdata) {
        Srv *srv = userdata;
        int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        SrvPeer *p;

        (void)src;
        (void)revents;
        if (cfd < 0)
                return 0;
        if (srv->n_peers == MAX_PEERS) {
                close(cfd);
                return 0;
        }
        p = &srv->peers[srv->n_peers++];
        memset(p, 0, sizeof(*p));
        p->srv = srv;
        p->fd = cfd;
        p->sasl = malloc(sizeof(*p->sasl));
        if (!p->sasl || sasl_server_init(p->sasl, cfd, GUID, NULL, NULL) < 0 ||
            busrpc_loop_add_io(srv->loop, cfd, EPOLLIN, srv_auth_io, p, &p->auth_src) < 0) {
                free(p->sasl);
                p->sasl = NULL;
                close(cfd);
                p->done = true;
        }
        return 0;
}

typedef struct Child {
        pid_t pid;
        int status;
        bool exited;
} Child;

static bool child_exited(void *arg) {
        Child *c = arg;

        if (!c->exited && waitpid(c->pid, &c->status, WNOHANG) == c->pid)
                c->exited = true;
        return c->exited;
}

/* Run @argv as a client of the server while the loop serves it; its stdout in @out. */
static int run_client(Srv *srv, char *const argv[], char *out, size_t cap) {
        int pfd[2];
        Child c = { 0 };
        size_t n = 0;
        ssize_t k;

        if (pipe2(pfd, O_CLOEXEC) < 0)
                tap_bail("pipe");
        c.pid = fork();
        if (c.pid == 0) {
                dup2(pfd[1], 1);
                execv(argv[0], argv);
                _exit(127);
        }
        close(pfd[1]);
        for (int i = 0; i < 600 && !child_exited(&c); i++)
                busrpc_loop_iterate(srv->loop, 50 * BUSRPC_USEC_PER_MSEC);
        if (!c.exited) {
                kill(c.pid, SIGKILL);
                waitpid(c.pid, &c.status, 0);
        }
        while (n + 1 < cap && (k = read(pfd[0], out + n, cap - 1 - n)) > 0)
                n += (size_t)k;
        while (n && out[n - 1] == '\n')
                n--;
        out[n] = '\0';
        close(pfd[0]);
        return WIFEXITED(c.status) ? WEXITSTATUS(c.status) : -1;
}

static void test_foreign_clients(void) {
        char dir[] = "/tmp/busrpc-transport-XXXXXX", addr[200], path[100], out[1024], script[2048];
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        Srv srv = { 0 };
        busrpc_source *lsrc = NULL;
        int before = count_fds(), st;

        if (!mkdtemp(dir))
                tap_bail("mkdtemp");
        snprintf(path, sizeof(path), "%s/sock", dir);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
        snprintf(addr, sizeof(addr), "unix:path=%s", path);
        srv.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (srv.lfd < 0 || bind(srv.lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(srv.lfd, 8) < 0)
                tap_bail("listen: %s", strerror(errno));
        if (busrpc_loop_new(&srv.loop) < 0 ||
            busrpc_loop_add_io(srv.loop, srv.lfd, EPOLLIN, srv_accept, &srv, &lsrc) < 0)
                tap_bail("loop");

        {
                char a1[220];
                char *argv[] = { "/usr/bin/busctl", a1,     "call", "org.example.T", "/a",
                                 "org.example.T",   "Echo", "s",    "hello busctl",  NULL };

                snprintf(a1, sizeof(a1), "--address=%s", addr);
                st = run_client(&srv, argv, out, sizeof(out));
                is_int(st, 0, "busctl (sd-bus: AUTH without an initial response, DATA) exits 0");
                ok(strstr(out, "s \"hello busctl\"") != NULL, "and prints the echo: %s", out);
        }
        {
                char *argv[] = { "/usr/bin/gdbus", "call",
                                 "--address",      addr,
                                 "--dest",         "org.example.T",
                                 "--object-path",  "/a",
                                 "--method",       "org.example.T.Echo",
                                 "hello gdbus",    NULL };

                st = run_client(&srv, argv, out, sizeof(out));
                is_int(st, 0, "gdbus (GDBus's own SASL) exits 0");
                ok(strstr(out, "('hello gdbus',)") != NULL, "and prints the echo: %s", out);
        }
        {
                char a1[220];
                char *argv[] = { "/usr/bin/dbus-send",     a1,   "--print-reply",
                                 "--dest=org.example.T",   "/a", "org.example.T.Echo",
                                 "string:hello dbus-send", NULL };

                snprintf(a1, sizeof(a1), "--peer=%s", addr);
                st = run_client(&srv, argv, out, sizeof(out));
                is_int(st, 0, "dbus-send --peer (libdbus, no Hello) exits 0");
                ok(strstr(out, "string \"hello dbus-send\"") != NULL, "and prints the echo");
        }
        {
                char *argv[] = { "/usr/bin/python3", "-c", script, NULL };

                snprintf(script, sizeof(script),
                         /* libdbus knows fd passing was agreed only after a first round trip */
                         "import dbus, os, sys\n"
                         "c = dbus.connection.Connection('%s')\n"
                         "print(c.call_blocking(None, '/a', 'org.example.T', 'Echo', 's', ['hello "
                         "python']))\n"
                         "f = os.memfd_create('x')\n"
                         "r = c.call_blocking(None, '/a', 'org.example.T', 'EchoFd', 'h', "
                         "[dbus.types.UnixFd(f)])\n"
                         "print('same-inode' if int(r) == os.fstat(f).st_ino else 'other-inode %%d' %% "
                         "int(r))\n",
                         addr);
                st = run_client(&srv, argv, out, sizeof(out));
                is_int(st, 0, "python3-dbus exits 0");
                ok(strstr(out, "same-inode") != NULL,
                   "its fd reached the transport (the server saw its inode)");
                ok(strstr(out, "hello python") != NULL, "and the echo came back");
        }
        {
                const char *top = getenv("top_srcdir");
                char *argv[] = { "/usr/bin/python3", "-c", script, NULL };

                if (!top)
                        tap_bail("top_srcdir is not set (run through make check)");
                /* the hostile tests' raw client: its first message, with an fd, in BEGIN's sendmsg() */
                snprintf(script, sizeof(script),
                         "import os, sys\n"
                         "sys.path.insert(0, '%s/tests/hostile')\n"
                         "import wire\n"
                         "c = wire.Conn('%s').auth()\n"
                         "f = os.memfd_create('x')\n"
                         "c.serial = 1\n"
                         "m = wire.message(wire.METHOD_CALL, 1, '/a', 'org.example.T', 'EchoFd', 'h', (0,), "
                         "n_fds=1)\n"
                         "c.begin(m, [f])\n"
                         "r = c.wait_reply(1)\n"
                         "print('same-inode' if r.type == wire.METHOD_RETURN and r.body[0] == "
                         "os.fstat(f).st_ino "
                         "else 'not %%r' %% (r.body,))\n",
                         top, addr);
                st = run_client(&srv, argv, out, sizeof(out));
                is_int(st, 0, "wire.py (raw): the first message with an fd in BEGIN's sendmsg()");
                ok(srv.n_peers == 5 && srv.peers[4].pipelined > 0,
                   "the message came in the same read as BEGIN (the case libdbus's server loses)");
                ok(strstr(out, "same-inode") != NULL, "its fd reached the transport (%s)", out);
        }
        is_int(srv.authenticated, 5, "five clients authenticated by busrpc's SASL");
        for (unsigned i = 0; i < srv.n_peers; i++)
                tap_diag("client %u: %zu bytes came with BEGIN", i, srv.peers[i].pipelined);
        is_int(srv.calls, 6, "six calls served through the transport");
        for (int i = 0; i < 100 && srv.closed < srv.authenticated; i++)
                busrpc_loop_iterate(srv.loop, 50 * BUSRPC_USEC_PER_MSEC);
        is_int(srv.closed, srv.authenticated, "every client's close seen");
        for (unsigned i = 0; i < srv.n_peers; i++) {
                peer_drop(&srv.peers[i]);
                transport_free(srv.peers[i].t);
        }
        busrpc_source_release(lsrc);
        busrpc_loop_unref(srv.loop);
        close(srv.lfd);
        unlink(path);
        rmdir(dir);
        is_int(count_fds(), before, "no fd left open");
}

int main(void) {
        TAP_RUN(test_both_ways);
        TAP_RUN(test_split_every_byte);
        TAP_RUN(test_many_in_one_read);
        TAP_RUN(test_invalid);
        TAP_RUN(test_fd_bounds);
        TAP_RUN(test_outgoing_bound);
        TAP_RUN(test_eof);
        TAP_RUN(test_max_message_size);
        TAP_RUN(test_no_fd_passing);
        TAP_RUN(test_max_queued_fds);
        TAP_RUN(test_free_in_callback);
        TAP_RUN(test_buffer_growth);
        TAP_RUN(test_nested_read);
        TAP_RUN(test_random_chunks);
        TAP_RUN(test_loop);
        TAP_RUN(test_dbus_daemon);
        TAP_RUN(test_dbus_messages);
        TAP_RUN(test_sasl_pipelined);
        TAP_RUN(test_sasl_refusals);
        TAP_RUN(test_sasl_libdbus_client);
        TAP_RUN(test_foreign_clients);
        dbus_shutdown();
        return tap_done();
}
