/* fuzz-transport.c: libFuzzer target for the transport's framing
 * (runtime/transport.c) over a real socketpair.
 *
 * The first input byte picks the mode:
 *  - odd: a stream of valid messages. The next byte says how many (1-8);
 *    then a byte per message picks its string's length and its fds (0-3
 *    memfds); libdbus marshals them (serial and tag = index). The
 *    concatenated bytes are cut where the rest of the input says (one byte
 *    per chunk: its length is the byte + 1; the rest in one chunk) and
 *    written chunk by chunk with sendmsg(), each message's fds with the
 *    chunk holding its first byte, the transport reading when a chunk's
 *    byte is odd. Every message must come out whole, byte for byte, in
 *    order, with its own fds (same inodes), and the connection must end
 *    with a clean EOF (error 0).
 *  - 0x02 (bits 0-2 of the first byte 010): the same valid stream (1-4
 *    messages, 0-3 memfds each), first written one byte per sendmsg with a
 *    read after every byte (each message's fds with its first byte), then
 *    once for every split point k in (0, total): bytes [0, k) with the fds
 *    of the messages starting there in one sendmsg, a read, the rest with
 *    the others, a read. Every message comes out whole, in order, with its
 *    own fds, every time.
 *  - 0x04 (bits 0-2 100): the 253-fd boundary, both directions busrpc: a
 *    second transport queues 1-4 libdbus-built messages on the other end
 *    of the socketpair, one of them with 240-279 fds (or 500-519: two
 *    boundaries) where the kernel takes 253 per sendmsg, the others 0-3,
 *    and flushes (the sender batches messages without fds into one
 *    sendmsg and splits the fds over several sends, each starting inside
 *    the message); the receiver must deliver each message with exactly
 *    its fds (same inodes, in order).
 *  - other even: raw records: a byte (bits 0-2: fds to attach, bit 3: memfds
 *    instead of /dev/null, bit 4: let the transport read after this
 *    record, bit 5: a small maximum message size first), a 16-bit little
 *    endian length (cut to what is left), then the bytes. Anything may
 *    happen to the connection, but every message the transport delivers
 *    must be one the wire codec accepts again with the fds it came with.
 * In both modes every fd the transport received must be closed or handed
 * out: /proc/self/fd counts the same before and after each input. A
 * failed check aborts, so libFuzzer keeps the input.
 *
 * Built by fuzz/local.mk with clang -fsanitize=fuzzer,address,undefined;
 * `make fuzz` runs it, tests/test-fuzz.sh runs its kept inputs
 * (fuzz/regress/transport/) and fuzzes it for 20 seconds.
 */
#include <dbus/dbus.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "transport.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_MSGS   8
#define MAX_MSG_FD 3

static void die(const char *what, long a, long b) {
        fprintf(stderr, "fuzz-transport: %s (%ld, %ld)\n", what, a, b);
        abort();
}

static int count_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *e;
        int n = 0;

        if (!d)
                die("opendir /proc/self/fd", errno, 0);
        while ((e = readdir(d)))
                if (e->d_name[0] != '.')
                        n++;
        closedir(d);
        return n - 1;
}

static ino_t ino_of(int fd) {
        struct stat st;

        if (fstat(fd, &st) < 0)
                return 0;
        return st.st_ino;
}

/* What the transport handed out. */
typedef struct Rx {
        unsigned n;
        int closed, close_err;
        bool check_order; /* valid modes: compare with the sent messages */
        unsigned n_sent;  /* when the same messages are sent again and again: how many */
        const uint8_t *sent[MAX_MSGS];
        size_t sent_len[MAX_MSGS];
        unsigned sent_fds[MAX_MSGS];
        ino_t sent_ino[MAX_MSGS][MAX_MSG_FD];
        const ino_t *many_ino; /* the 253-fd mode: the inodes of the message with many fds */
        unsigned many_at, many_n;
} Rx;

static int rx_msg(Transport *t, const WireMsg *m, int *fds, unsigned n_fds, void *userdata) {
        Rx *rx = userdata;
        WireMsg again;
        unsigned i = rx->n_sent ? rx->n++ % rx->n_sent : rx->n++;
        int k;

        (void)t;
        k = wire_message_parse(&again, m->data, m->size, n_fds, NULL);
        if (k != (int)m->size)
                die("a delivered message does not parse again", k, m->size);
        if (n_fds != m->unix_fds)
                die("fds delivered differ from UNIX_FDS", n_fds, m->unix_fds);
        for (unsigned f = 0; f < n_fds; f++)
                if (fcntl(fds[f], F_GETFD) < 0)
                        die("a delivered fd is not open", f, fds[f]);
        if (!rx->check_order)
                return 0;
        if (i >= MAX_MSGS || !rx->sent[i])
                die("more messages delivered than sent", i, 0);
        if (m->size != rx->sent_len[i] || memcmp(m->data, rx->sent[i], m->size) != 0)
                die("a message came out changed", i, m->size);
        if (rx->many_ino && i == rx->many_at) {
                if (n_fds != rx->many_n)
                        die("the message with many fds came out with other fds", n_fds, rx->many_n);
                for (unsigned f = 0; f < n_fds; f++)
                        if (ino_of(fds[f]) != rx->many_ino[f])
                                die("the message with many fds came out with another fd", i, f);
                return 0;
        }
        if (n_fds != rx->sent_fds[i])
                die("a message came out with other fds", i, n_fds);
        for (unsigned f = 0; f < n_fds; f++)
                if (ino_of(fds[f]) != rx->sent_ino[i][f])
                        die("a message came out with another message's fd", i, f);
        return 0;
}

static void rx_close(Transport *t, int error, void *userdata) {
        Rx *rx = userdata;

        (void)t;
        rx->closed++;
        rx->close_err = error;
}

/* sendmsg() @len bytes with @fds on the first; the transport reads when the
 * socket is full. Return: false when the connection is gone. */
static bool send_chunk(int fd, Transport *t, const uint8_t *p, size_t len, const int *fds, unsigned n_fds) {
        union {
                struct cmsghdr align;
                char b[CMSG_SPACE(sizeof(int) * 16)];
        } control;
        size_t off = 0;

        while (off < len) {
                struct iovec iov = { (void *)(p + off), len - off };
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
                n = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n > 0) {
                        off += (size_t)n;
                        continue;
                }
                if (n < 0 && errno == EAGAIN && transport_is_open(t)) {
                        transport_read(t);
                        continue;
                }
                return false;
        }
        return true;
}

static int new_fd(bool memfd) {
        int fd = memfd ? memfd_create("fuzz-transport", MFD_CLOEXEC) : open("/dev/null", O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                die("cannot open an fd to send", errno, 0);
        return fd;
}

static uint8_t *libdbus_msg(uint32_t serial, unsigned slen, const int *fds, unsigned n_fds, size_t *ret_len) {
        DBusMessage *m = dbus_message_new_method_call("org.example.Peer", "/org/example/obj", "org.example.T",
                                                      "Take");
        char *s = malloc(slen + 1);
        char *bytes = NULL;
        uint8_t *copy;
        int len;

        if (!m || !s)
                die("out of memory", 0, 0);
        memset(s, 'x', slen);
        s[slen] = 0;
        if (!dbus_message_append_args(m, DBUS_TYPE_UINT32, &serial, DBUS_TYPE_STRING, &s, DBUS_TYPE_INVALID))
                die("libdbus: append", 0, 0);
        if (n_fds <= MAX_MSG_FD) {
                for (unsigned i = 0; i < n_fds; i++)
                        if (!dbus_message_append_args(m, DBUS_TYPE_UNIX_FD, &fds[i], DBUS_TYPE_INVALID))
                                die("libdbus: append fd", i, 0);
        } else {
                /* more fds than a signature has room for 'h's: an array of them */
                DBusMessageIter it, arr;

                dbus_message_iter_init_append(m, &it);
                if (!dbus_message_iter_open_container(&it, DBUS_TYPE_ARRAY, "h", &arr))
                        die("libdbus: open ah", 0, 0);
                for (unsigned i = 0; i < n_fds; i++)
                        if (!dbus_message_iter_append_basic(&arr, DBUS_TYPE_UNIX_FD, &fds[i]))
                                die("libdbus: append fd", i, 0);
                if (!dbus_message_iter_close_container(&it, &arr))
                        die("libdbus: close ah", 0, 0);
        }
        dbus_message_set_serial(m, serial);
        if (!dbus_message_marshal(m, &bytes, &len))
                die("dbus_message_marshal", 0, 0);
        copy = malloc((size_t)len);
        if (!copy)
                die("out of memory", 0, 0);
        memcpy(copy, bytes, (size_t)len);
        *ret_len = (size_t)len;
        dbus_free(bytes);
        dbus_message_unref(m);
        free(s);
        return copy;
}

/* Message @i of a stream (serial i + 1, a string of @slen bytes), built by
 * libdbus with @nf new memfds (into @fds) or, when @many is not NULL, with
 * the @n_many fds there; noted in @rx as what must come out. */
static uint8_t *sent_msg(Rx *rx, unsigned i, unsigned nf, unsigned slen, int *fds, const int *many,
                         unsigned n_many) {
        uint8_t *b;

        if (many)
                nf = 0;
        for (unsigned f = 0; f < nf; f++) {
                fds[f] = new_fd(true);
                rx->sent_ino[i][f] = ino_of(fds[f]);
        }
        b = libdbus_msg(i + 1, slen, many ? many : fds, many ? n_many : nf, &rx->sent_len[i]);
        rx->sent[i] = b;
        rx->sent_fds[i] = nf;
        return b;
}

/* Read until the transport says it is closed (the writer is closed). */
static void drain(Transport *t) {
        for (int i = 0; i < 100000 && transport_is_open(t); i++)
                transport_read(t);
        if (transport_is_open(t))
                die("the transport did not see EOF", 0, 0);
}

static void run_valid(const uint8_t *data, size_t size) {
        Rx rx = { .check_order = true };
        int sv[2], fds[MAX_MSGS][MAX_MSG_FD];
        uint8_t *stream, *bufs[MAX_MSGS] = { 0 };
        size_t starts[MAX_MSGS + 1], total = 0, off = 0, pos = 2;
        unsigned n = size > 1 ? data[1] % MAX_MSGS + 1 : 1, next_fds = 0;
        Transport *t;

        for (unsigned i = 0; i < n; i++) {
                uint8_t b = pos < size ? data[pos++] : 0;
                unsigned nf = b % (MAX_MSG_FD + 1), slen = (unsigned)(b >> 2) * 37u;

                bufs[i] = sent_msg(&rx, i, nf, slen, fds[i], NULL, 0);
                starts[i] = total;
                total += rx.sent_len[i];
        }
        starts[n] = total;
        stream = malloc(total);
        if (!stream)
                die("out of memory", 0, 0);
        for (unsigned i = 0; i < n; i++)
                memcpy(stream + starts[i], bufs[i], rx.sent_len[i]);

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                die("socketpair", errno, 0);
        if (transport_new(&t, sv[1], rx_msg, rx_close, &rx) < 0)
                die("transport_new", 0, 0);
        while (off < total) {
                uint8_t b = pos < size ? data[pos++] : 0;
                size_t len = pos <= size ? (size_t)b + 1 : total - off;
                int cfds[MAX_MSGS * MAX_MSG_FD];
                unsigned nc = 0;

                if (len > total - off)
                        len = total - off;
                /* the fds of every message whose first byte is in [off, off + len) */
                while (next_fds < n && starts[next_fds] < off + len) {
                        for (unsigned f = 0; f < rx.sent_fds[next_fds]; f++)
                                cfds[nc++] = fds[next_fds][f];
                        next_fds++;
                }
                if (!send_chunk(sv[0], t, stream + off, len, cfds, nc))
                        die("the transport closed a valid stream", rx.close_err, (long)off);
                off += len;
                if (b & 1)
                        transport_read(t);
        }
        transport_read(t);
        if (!transport_is_open(t) || rx.closed)
                die("the transport closed a valid stream", rx.close_err, rx.closed);
        if (rx.n != n)
                die("not every message came out", rx.n, n);
        close(sv[0]);
        drain(t);
        if (rx.closed != 1 || rx.close_err != 0)
                die("a clean EOF was not seen as one", rx.closed, rx.close_err);
        transport_free(t);
        for (unsigned i = 0; i < n; i++) {
                for (unsigned f = 0; f < rx.sent_fds[i]; f++)
                        close(fds[i][f]);
                free(bufs[i]);
        }
        free(stream);
}

/* The fds of the messages (of @rx) that start in [from, to) of a stream
 * whose messages start at @starts, appended to @out (of *@n). */
static void fds_in(const Rx *rx, int fds[][MAX_MSG_FD], const size_t *starts, unsigned n_msgs, size_t from,
                   size_t to, int *out, unsigned *n) {
        for (unsigned i = 0; i < n_msgs; i++)
                if (starts[i] >= from && starts[i] < to)
                        for (unsigned f = 0; f < rx->sent_fds[i]; f++)
                                out[(*n)++] = fds[i][f];
}

static void run_sweep(const uint8_t *data, size_t size) {
        Rx rx = { .check_order = true };
        int sv[2], fds[MAX_MSGS][MAX_MSG_FD];
        uint8_t *stream, *bufs[MAX_MSGS] = { 0 };
        size_t starts[MAX_MSGS + 1], total = 0, pos = 2;
        unsigned n = size > 1 ? data[1] % 4 + 1 : 1, rounds = 0;
        Transport *t;

        for (unsigned i = 0; i < n; i++) {
                uint8_t b = pos < size ? data[pos++] : 0;
                unsigned nf = b % (MAX_MSG_FD + 1), slen = (unsigned)((b >> 2) & 15) * 7u;

                bufs[i] = sent_msg(&rx, i, nf, slen, fds[i], NULL, 0);
                starts[i] = total;
                total += rx.sent_len[i];
        }
        starts[n] = total;
        rx.n_sent = n;
        stream = malloc(total);
        if (!stream)
                die("out of memory", 0, 0);
        for (unsigned i = 0; i < n; i++)
                memcpy(stream + starts[i], bufs[i], rx.sent_len[i]);
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                die("socketpair", errno, 0);
        if (transport_new(&t, sv[1], rx_msg, rx_close, &rx) < 0)
                die("transport_new", 0, 0);

        /* a read after every byte */
        for (size_t off = 0; off < total; off++) {
                int cfds[MAX_MSGS * MAX_MSG_FD];
                unsigned nc = 0;

                fds_in(&rx, fds, starts, n, off, off + 1, cfds, &nc);
                if (!send_chunk(sv[0], t, stream + off, 1, cfds, nc))
                        die("the transport closed a valid stream (bytewise)", rx.close_err, (long)off);
                transport_read(t);
        }
        rounds++;
        /* every split point */
        for (size_t k = 1; k < total; k++) {
                int cfds[MAX_MSGS * MAX_MSG_FD];
                unsigned nc = 0;

                fds_in(&rx, fds, starts, n, 0, k, cfds, &nc);
                if (!send_chunk(sv[0], t, stream, k, cfds, nc))
                        die("the transport closed a valid stream (split)", rx.close_err, (long)k);
                transport_read(t);
                nc = 0;
                fds_in(&rx, fds, starts, n, k, total, cfds, &nc);
                if (!send_chunk(sv[0], t, stream + k, total - k, cfds, nc))
                        die("the transport closed a valid stream (split)", rx.close_err, (long)k);
                transport_read(t);
                rounds++;
                if (rx.n != rounds * n)
                        die("split: not every message came out", (long)k, rx.n);
        }
        if (!transport_is_open(t) || rx.closed || rx.n != rounds * n)
                die("the transport lost a message of a valid stream", rx.close_err, rx.n);
        if (transport_stats(t)->fds_dropped)
                die("fds of a valid stream were dropped", (long)transport_stats(t)->fds_dropped, 0);
        close(sv[0]);
        drain(t);
        if (rx.closed != 1 || rx.close_err != 0)
                die("a clean EOF was not seen as one", rx.closed, rx.close_err);
        transport_free(t);
        for (unsigned i = 0; i < n; i++) {
                for (unsigned f = 0; f < rx.sent_fds[i]; f++)
                        close(fds[i][f]);
                free(bufs[i]);
        }
        free(stream);
}

static void sender_close(Transport *t, int error, void *userdata) {
        (void)t;
        (void)userdata;
        die("the sending transport closed", error, 0);
}

static int sender_msg(Transport *t, const WireMsg *m, int *fds, unsigned n_fds, void *userdata) {
        (void)t;
        (void)m;
        (void)fds;
        (void)userdata;
        die("the sending transport received a message", n_fds, 0);
        return 0;
}

#define MANY_MAX 520u

static void run_many_fds(const uint8_t *data, size_t size) {
        Rx rx = { .check_order = true };
        int sv[2], fds[MAX_MSGS][MAX_MSG_FD], many[MANY_MAX];
        ino_t many_ino[MANY_MAX];
        uint8_t *bufs[MAX_MSGS] = { 0 };
        unsigned n = size > 1 ? data[1] % 4 + 1 : 1, nmany, pos = 3;
        uint8_t sel = size > 2 ? data[2] : 0;
        uint64_t expect_fds;
        Transport *tx, *t;

        nmany = sel < 200 ? 240 + sel % 40 : 500 + sel % 20;
        expect_fds = nmany;
        rx.many_at = (sel >> 3) % n;
        rx.many_n = nmany;
        rx.many_ino = many_ino;
        for (unsigned f = 0; f < nmany; f++) {
                many[f] = new_fd(true);
                many_ino[f] = ino_of(many[f]);
        }
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                die("socketpair", errno, 0);
        if (transport_new(&tx, sv[0], sender_msg, sender_close, NULL) < 0 ||
            transport_new(&t, sv[1], rx_msg, rx_close, &rx) < 0)
                die("transport_new", 0, 0);
        for (unsigned i = 0; i < n; i++) {
                uint8_t b = pos < size ? data[pos++] : 0;
                bool is_many = i == rx.many_at;
                unsigned nf = is_many ? 0 : b % (MAX_MSG_FD + 1), slen = (unsigned)(b >> 2) * 37u;
                int r;

                bufs[i] = sent_msg(&rx, i, nf, slen, fds[i], is_many ? many : NULL, nmany);
                r = transport_send(tx, bufs[i], rx.sent_len[i], is_many ? many : fds[i], is_many ? nmany : nf);
                if (r < 0)
                        die("transport_send", r, i);
        }
        /* the sender writes what the socket takes; the receiver reads to make room */
        for (int i = 0; i < 100000; i++) {
                int r = transport_flush(tx);

                if (r == 0)
                        break;
                if (r != -EAGAIN)
                        die("transport_flush", r, i);
                transport_read(t);
        }
        if (transport_outgoing_bytes(tx))
                die("the sender could not write everything", (long)transport_outgoing_bytes(tx), 0);
        transport_read(t);
        if (!transport_is_open(t) || rx.closed)
                die("the receiver closed a valid stream", rx.close_err, rx.closed);
        if (rx.n != n)
                die("not every message came out", rx.n, n);
        for (unsigned i = 0; i < n; i++)
                expect_fds += rx.sent_fds[i];
        if (transport_stats(t)->fds_dropped || transport_stats(t)->fds_in != expect_fds)
                die("fds were dropped or counted wrong", (long)transport_stats(t)->fds_dropped,
                    (long)transport_stats(t)->fds_in);
        transport_free(tx); /* closes sv[0]: EOF */
        drain(t);
        if (rx.closed != 1 || rx.close_err != 0)
                die("a clean EOF was not seen as one", rx.closed, rx.close_err);
        transport_free(t);
        for (unsigned f = 0; f < nmany; f++)
                close(many[f]);
        for (unsigned i = 0; i < n; i++) {
                for (unsigned f = 0; f < rx.sent_fds[i]; f++)
                        close(fds[i][f]);
                free(bufs[i]);
        }
}

static void run_raw(const uint8_t *data, size_t size) {
        Rx rx = { .check_order = false };
        size_t pos = 1;
        int sv[2];
        Transport *t;

        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                die("socketpair", errno, 0);
        if (transport_new(&t, sv[1], rx_msg, rx_close, &rx) < 0)
                die("transport_new", 0, 0);
        while (pos + 3 <= size && transport_is_open(t)) {
                uint8_t h = data[pos];
                size_t len = (size_t)data[pos + 1] | (size_t)data[pos + 2] << 8;
                unsigned nf = h & 7;
                int fds[8];

                pos += 3;
                if (len > size - pos)
                        len = size - pos;
                if (h & 0x20)
                        transport_set_max_message_size(t, 256);
                if (!len)
                        nf = 0; /* no bytes carry no fds on a stream socket */
                for (unsigned f = 0; f < nf; f++)
                        fds[f] = new_fd(h & 8);
                if (len && !send_chunk(sv[0], t, data + pos, len, fds, nf)) {
                        for (unsigned f = 0; f < nf; f++)
                                close(fds[f]);
                        break;
                }
                for (unsigned f = 0; f < nf; f++)
                        close(fds[f]);
                pos += len;
                if (h & 0x10)
                        transport_read(t);
        }
        transport_read(t);
        close(sv[0]);
        drain(t);
        if (rx.closed != 1)
                die("on_close not called once", rx.closed, 0);
        transport_free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        int before = count_fds(), after;

        if (!size)
                return 0;
        if (data[0] & 1)
                run_valid(data, size);
        else if ((data[0] & 7) == 2)
                run_sweep(data, size);
        else if ((data[0] & 7) == 4)
                run_many_fds(data, size);
        else
                run_raw(data, size);
        after = count_fds();
        if (after != before)
                die("fds leaked (open before, after)", before, after);
        return 0;
}
