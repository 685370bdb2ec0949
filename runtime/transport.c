/* transport.c: the socket after authentication, read and written by
 * busrpc (transport.h says what and why; the handover from libdbus is in
 * its comment and in docs/runtime.md).
 *
 * Receive: one buffer holds [start, end) of unparsed bytes; base is the
 * stream offset of its first byte, so every message and every received fd
 * has a position in the stream. Send: a queue of whole messages, each with
 * its own bytes and dup'ed fds; a sendmsg() takes as many messages as it
 * can, but fds only for its first one (the kernel attaches the fds of a
 * sendmsg to its first byte).
 *
 * Re-entrancy: a message callback may call transport_read() on its own
 * transport (a handler making a sync call on the connection it is served
 * on waits for its reply there). The message being delivered lives in the
 * buffer and its fds in msg_fds, so while a callback runs (delivering > 0)
 * the buffer is never moved, reused from its start or freed: a nested read
 * that needs room copies the unparsed bytes to a new buffer and keeps the
 * old one (retired) until the outermost callback returns; a nested
 * delivery takes its fds in an array of its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "loop.h"
#include "transport.h"

/* Reads per EPOLLIN at most, so one busy peer cannot starve the loop
 * (epoll is level-triggered: the rest is read in the next iteration). */
#define READS_PER_WAKEUP 16u
#define MAX_QUEUED_FDS   (2u * TRANSPORT_MAX_FDS)

typedef struct InFd {
        int fd;
        uint64_t chunk_start, chunk_end; /* stream offsets of the bytes it came with */
} InFd;

typedef struct Retired {
        struct Retired *next;
        uint8_t *buf;
} Retired;

typedef struct OutMsg {
        struct OutMsg *next;
        uint8_t *data;
        size_t len, off;
        int *fds;
        unsigned n_fds, fds_sent;
} OutMsg;

struct Transport {
        int fd;
        TransportMsgFn on_msg;
        TransportCloseFn on_close;
        void *userdata;
        busrpc_loop *loop; /* borrowed; NULL when detached */
        busrpc_source *io, *defer;
        uint32_t io_events;
        unsigned busy; /* entry points running: on_close waits for the outermost */
        bool no_fds;   /* fd passing was not negotiated */
        bool closed, notified;
        bool doomed; /* transport_free() inside an entry point: freed by the outermost leave() */
        int close_err;
        uint32_t serial;
        uint32_t max_outgoing, max_message;
        unsigned max_queued_fds; /* received fds waiting for their message */
        /* receive */
        uint8_t *buf;
        size_t cap, start, end;
        uint64_t base;
        InFd *in_fds;
        unsigned n_in_fds;
        int msg_fds[TRANSPORT_MAX_FDS];
        unsigned delivering; /* message callbacks running (nested reads) */
        Retired *retired;    /* buffers kept until the outermost callback returns */
        /* send */
        OutMsg *out_head, *out_tail;
        size_t out_bytes;
        TransportStats stats;
};

/* Keep @buf until no callback can point into it any more. */
static int retire(Transport *t, uint8_t *buf) {
        Retired *r;

        if (!buf)
                return 0;
        if (!t->delivering) {
                free(buf);
                return 0;
        }
        r = malloc(sizeof(*r));
        if (!r)
                return -ENOMEM; /* the caller fails the connection: @buf stays in use, leaks nothing */
        r->buf = buf;
        r->next = t->retired;
        t->retired = r;
        return 0;
}

static void free_retired(Transport *t) {
        while (t->retired) {
                Retired *r = t->retired;

                t->retired = r->next;
                free(r->buf);
                free(r);
        }
}

/* Inside a callback: the unparsed bytes move to a new buffer of @cap. */
static int relocate(Transport *t, size_t cap) {
        size_t have = t->end - t->start;
        uint8_t *p = malloc(cap);

        if (!p)
                return -ENOMEM;
        memcpy(p, t->buf + t->start, have);
        if (retire(t, t->buf) < 0) {
                free(p);
                return -ENOMEM;
        }
        t->buf = p;
        t->cap = cap;
        t->base += t->start;
        t->end = have;
        t->start = 0;
        return 0;
}

static void close_fds(int *fds, unsigned n) {
        for (unsigned i = 0; i < n; i++)
                if (fds[i] >= 0) {
                        close(fds[i]);
                        fds[i] = -1;
                }
}

static OutMsg *out_free(OutMsg *o) {
        OutMsg *next = o->next;

        close_fds(o->fds, o->n_fds);
        free(o->fds);
        free(o->data);
        free(o);
        return next;
}

/* Close the connection now (idempotent); on_close runs when the outermost
 * entry point returns (see leave()). */
static int fail(Transport *t, int err) {
        if (t->closed)
                return t->close_err ? t->close_err : -ENOTCONN;
        t->closed = true;
        t->close_err = err;
        t->io = busrpc_source_release(t->io);
        t->defer = busrpc_source_release(t->defer);
        if (t->fd >= 0)
                close(t->fd);
        t->fd = -1;
        for (unsigned i = 0; i < t->n_in_fds; i++)
                close(t->in_fds[i].fd);
        t->n_in_fds = 0;
        while (t->out_head)
                t->out_head = out_free(t->out_head);
        t->out_tail = NULL;
        t->out_bytes = 0;
        /* Inside a callback it may still read the buffer: without memory
         * to remember it, it is leaked rather than freed under it. */
        (void)retire(t, t->buf);
        t->buf = NULL;
        t->cap = t->start = t->end = 0;
        return err ? err : -ENOTCONN;
}

static void enter(Transport *t) {
        t->busy++;
}

static void destroy(Transport *t) {
        free_retired(t);
        free(t->in_fds);
        free(t);
}

/* The last thing an entry point does: on_close may free @t, and a
 * transport_free() from a callback takes effect here. */
static void leave(Transport *t) {
        if (--t->busy)
                return;
        if (t->doomed) {
                destroy(t);
                return;
        }
        if (!t->closed || t->notified)
                return;
        t->notified = true;
        if (t->on_close)
                t->on_close(t, t->close_err, t->userdata);
}

static void set_events(Transport *t, uint32_t events) {
        if (!t->io || t->io_events == events)
                return;
        if (loop_io_set_events(t->io, events) == 0)
                t->io_events = events;
}

/* ---- receive ---- */

static int queue_fds(Transport *t, const int *fds, unsigned n, uint64_t chunk_start, uint64_t chunk_end) {
        InFd *q;

        if (t->n_in_fds + n > t->max_queued_fds) {
                close_fds((int *)fds, n);
                return -ETOOMANYREFS;
        }
        q = realloc(t->in_fds, (t->n_in_fds + n) * sizeof(*q));
        if (!q) {
                close_fds((int *)fds, n);
                return -ENOMEM;
        }
        t->in_fds = q;
        for (unsigned i = 0; i < n; i++)
                q[t->n_in_fds++] = (InFd){ fds[i], chunk_start, chunk_end };
        t->stats.fds_in += n;
        return 0;
}

static void drop_in_fds(Transport *t, unsigned n) {
        if (!n)
                return; /* in_fds may still be NULL: no arithmetic on it (UBSan, fuzz-transport) */
        memmove(t->in_fds, t->in_fds + n, (t->n_in_fds - n) * sizeof(*t->in_fds));
        t->n_in_fds -= n;
}

/* One complete message of @len bytes at t->start. */
static int deliver(Transport *t, size_t len) {
        uint64_t s = t->base + t->start, e = s + len;
        unsigned avail = 0, n, drop = 0;
        int *fds = t->msg_fds;
        WireMsg m;
        int r;

        while (avail < t->n_in_fds && t->in_fds[avail].chunk_start < e)
                avail++;
        /* An 'h' indexing no fd is the reader's to refuse (InvalidArgs for
         * a call, as libdbus, which checks the index only when reading). */
        if (wire_message_parse_flags(&m, t->buf + t->start, len, avail, NULL, WIRE_PARSE_NO_FD_INDEX) < 0)
                return -EBADMSG;
        if (m.unix_fds > TRANSPORT_MAX_FDS)
                return -ETOOMANYREFS;
        n = m.unix_fds;
        /* A nested delivery (a callback reading) keeps the outer one's fds. */
        if (t->delivering && n && !(fds = malloc(n * sizeof(*fds))))
                return -ENOMEM;
        for (unsigned i = 0; i < n; i++)
                fds[i] = t->in_fds[i].fd;
        drop_in_fds(t, n);
        /* fds that came only with this message's bytes and that it did not take */
        while (drop < t->n_in_fds && t->in_fds[drop].chunk_end <= e) {
                close(t->in_fds[drop].fd);
                drop++;
        }
        drop_in_fds(t, drop);
        t->stats.fds_dropped += drop;
        t->start += len;
        t->stats.messages_in++;
        r = 0;
        if (m.type >= WIRE_METHOD_CALL && m.type <= WIRE_SIGNAL && t->on_msg) {
                t->delivering++;
                r = t->on_msg(t, &m, fds, n, t->userdata);
                if (--t->delivering == 0)
                        free_retired(t);
        }
        close_fds(fds, n);
        if (fds != t->msg_fds)
                free(fds);
        return r < 0 ? r : 0;
}

/* Deliver every complete message in the buffer; make room for the next one. */
static int process(Transport *t) {
        while (!t->closed) {
                size_t have = t->end - t->start, need = 0, total;
                WireErr why;
                int k;

                if (have < WIRE_FIXED_HEADER)
                        break;
                k = wire_frame(t->buf + t->start, have, &need, &why);
                if (k == -EBADMSG)
                        return -EBADMSG;
                total = k > 0 ? (size_t)k : have + need;
                if (total > t->max_message)
                        return -EMSGSIZE;
                if (k < 0) {
                        if (t->delivering) { /* the buffer stays where a callback reads it */
                                if (t->end == t->cap) {
                                        size_t want = have * 2 < total ? have * 2 : total;

                                        if (relocate(t, want > t->cap ? want : t->cap) < 0)
                                                return -ENOMEM;
                                }
                                break;
                        }
                        if (t->start && t->start + total > t->cap) {
                                memmove(t->buf, t->buf + t->start, have);
                                t->base += t->start;
                                t->end = have;
                                t->start = 0;
                        }
                        /* grow only when full, by doubling: memory follows the bytes that
                         * arrived, not what a header announces */
                        if (total > t->cap && t->end == t->cap) {
                                size_t want = t->cap * 2 < total ? t->cap * 2 : total;
                                uint8_t *p = realloc(t->buf, want);

                                if (!p)
                                        return -ENOMEM;
                                t->buf = p;
                                t->cap = want;
                        }
                        break;
                }
                k = deliver(t, total);
                if (k < 0)
                        return k;
        }
        if (t->closed)
                return -ENOTCONN;
        if (t->delivering) { /* a callback may point into the buffer: only append */
                if (t->end == t->cap && relocate(t, t->start ? t->cap : 2 * t->cap) < 0)
                        return -ENOMEM;
                return 0;
        }
        if (t->start == t->end) {
                t->base += t->end;
                t->start = t->end = 0;
                if (t->cap > TRANSPORT_READ_SIZE) { /* a big message passed: give its memory back */
                        uint8_t *p = malloc(TRANSPORT_READ_SIZE);

                        if (p) {
                                free(t->buf);
                                t->buf = p;
                                t->cap = TRANSPORT_READ_SIZE;
                        }
                }
        } else if (t->end == t->cap && t->start) {
                memmove(t->buf, t->buf + t->start, t->end - t->start);
                t->base += t->start;
                t->end -= t->start;
                t->start = 0;
        }
        return 0;
}

static int read_once(Transport *t) {
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int) * TRANSPORT_SEND_FDS)];
        } control;
        struct iovec iov = { t->buf + t->end, t->cap - t->end };
        struct msghdr mh = { .msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = control.buf,
                             .msg_controllen = sizeof(control.buf) };
        uint64_t chunk_start = t->base + t->end;
        int r = 0;
        ssize_t n;

        do
                n = recvmsg(t->fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return errno == EAGAIN ? -EAGAIN : -errno;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                unsigned nf;
                int k;

                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                        continue;
                nf = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                if (t->no_fds && r == 0)
                        r = -EPROTO;
                if (r < 0) {
                        close_fds((int *)CMSG_DATA(c), nf);
                        continue;
                }
                k = queue_fds(t, (const int *)CMSG_DATA(c), nf, chunk_start, chunk_start + (uint64_t)n);
                if (k < 0)
                        r = k;
        }
        if (r < 0)
                return r;
        if (mh.msg_flags & MSG_CTRUNC) /* fds lost: no message can be trusted to match its fds */
                return -ETOOMANYREFS;
        if (n == 0)
                return t->end > t->start || t->n_in_fds ? -EPIPE : -ESHUTDOWN;
        t->end += (size_t)n;
        t->stats.reads++;
        /* A read stops early only at the end of the queue or after bytes
         * that carried fds: short and without fds means drained, and the
         * EAGAIN read that would follow is saved (epoll is level-triggered:
         * bytes that arrive meanwhile wake the loop again). */
        return (size_t)n < iov.iov_len && !(mh.msg_controllen && CMSG_FIRSTHDR(&mh)) ? 1 : 0;
}

/* @short_ok: a short read without fds ends the round (from the loop only:
 * epoll is level-triggered, and EPOLLRDHUP makes EOF keep it reading). */
static int do_read(Transport *t, bool short_ok) {
        int r;

        if (t->closed)
                return -ENOTCONN;
        for (unsigned i = 0; i < READS_PER_WAKEUP; i++) {
                r = process(t);
                if (r < 0)
                        return r == -ENOTCONN ? r : fail(t, r);
                r = read_once(t);
                if (r == -EAGAIN)
                        return 0;
                if (r == 1 && short_ok)
                        break;
                if (r == -ESHUTDOWN) { /* EOF between messages: a clean close */
                        fail(t, 0);
                        return -ENOTCONN;
                }
                if (r < 0)
                        return fail(t, r);
        }
        r = process(t);
        return r < 0 && r != -ENOTCONN ? fail(t, r) : r;
}

int transport_read(Transport *t) {
        int r;

        if (!t)
                return -EINVAL;
        enter(t);
        r = do_read(t, false);
        leave(t);
        return r;
}

/* ---- send ---- */

static void consume(Transport *t, size_t n) {
        t->out_bytes -= n;
        while (n) {
                OutMsg *o = t->out_head;
                size_t k = o->len - o->off < n ? o->len - o->off : n;

                o->off += k;
                n -= k;
                if (o->off == o->len) {
                        t->out_head = out_free(o);
                        if (!t->out_head)
                                t->out_tail = NULL;
                        t->stats.messages_out++;
                }
        }
}

static int do_flush(Transport *t) {
        if (t->closed)
                return -ENOTCONN;
        while (t->out_head) {
                union {
                        struct cmsghdr align;
                        char buf[CMSG_SPACE(sizeof(int) * TRANSPORT_SEND_FDS)];
                } control;
                struct iovec iov[TRANSPORT_IOV];
                struct msghdr mh = { .msg_iov = iov };
                OutMsg *o = t->out_head;
                unsigned nf = 0, n_iov = 0;
                ssize_t n;

                if (o->fds_sent < o->n_fds) {
                        struct cmsghdr *c;

                        nf = o->n_fds - o->fds_sent;
                        if (nf > TRANSPORT_SEND_FDS)
                                nf = TRANSPORT_SEND_FDS;
                        memset(&control, 0, sizeof(control));
                        mh.msg_control = control.buf;
                        mh.msg_controllen = CMSG_SPACE(sizeof(int) * nf);
                        c = CMSG_FIRSTHDR(&mh);
                        c->cmsg_level = SOL_SOCKET;
                        c->cmsg_type = SCM_RIGHTS;
                        c->cmsg_len = CMSG_LEN(sizeof(int) * nf);
                        memcpy(CMSG_DATA(c), o->fds + o->fds_sent, sizeof(int) * nf);
                }
                if (o->fds_sent + nf < o->n_fds) {
                        /* more fds follow: one byte now, so the next send still starts inside the message */
                        iov[n_iov++] = (struct iovec){ o->data + o->off, 1 };
                } else {
                        for (OutMsg *p = o; p && n_iov < TRANSPORT_IOV; p = p->next) {
                                if (p != o && p->n_fds)
                                        break;
                                iov[n_iov++] = (struct iovec){ p->data + p->off, p->len - p->off };
                        }
                }
                mh.msg_iovlen = n_iov;
                n = sendmsg(t->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN) {
                                set_events(t, EPOLLIN | EPOLLRDHUP | EPOLLOUT);
                                return -EAGAIN;
                        }
                        return fail(t, errno == EPIPE ? -ECONNRESET : -errno);
                }
                t->stats.writes++;
                o->fds_sent += nf;
                consume(t, (size_t)n);
        }
        set_events(t, EPOLLIN | EPOLLRDHUP);
        return 0;
}

int transport_flush(Transport *t) {
        int r;

        if (!t)
                return -EINVAL;
        enter(t);
        r = do_flush(t);
        leave(t);
        return r;
}

static int queue(Transport *t, void *msg, size_t len, const int *fds, unsigned n_fds) {
        OutMsg *o;

        if (t->closed) {
                free(msg);
                return -ENOTCONN;
        }
        if (!msg || len < WIRE_FIXED_HEADER || len > WIRE_MAX_MESSAGE || n_fds > TRANSPORT_MAX_FDS ||
            (n_fds && !fds)) {
                free(msg);
                return -EINVAL;
        }
        if (n_fds && t->no_fds) {
                free(msg);
                return -EOPNOTSUPP;
        }
        /* a peer that does not read: try the kernel once before counting it against the bound */
        if (t->out_bytes && t->out_bytes + len > t->max_outgoing)
                (void)do_flush(t);
        if (t->closed) {
                free(msg);
                return -ENOTCONN;
        }
        if (t->out_bytes && t->out_bytes + len > t->max_outgoing) {
                free(msg);
                return fail(t, -ENOBUFS);
        }
        o = calloc(1, sizeof(*o));
        if (!o || (n_fds && !(o->fds = malloc(n_fds * sizeof(int))))) {
                free(o);
                free(msg);
                return -ENOMEM;
        }
        o->data = msg;
        o->len = len;
        for (unsigned i = 0; i < n_fds; i++) {
                o->fds[i] = fds[i] < 0 ? -1 : fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
                if (o->fds[i] < 0) {
                        int r = fds[i] < 0 ? -EBADF : -errno;

                        o->n_fds = i;
                        out_free(o);
                        return r;
                }
        }
        o->n_fds = n_fds;
        if (t->out_tail)
                t->out_tail->next = o;
        else
                t->out_head = o;
        t->out_tail = o;
        t->out_bytes += len;
        if (t->defer)
                loop_defer_enable(t->defer);
        return 0;
}

int transport_send_take(Transport *t, void *msg, size_t len, const int *fds, unsigned n_fds) {
        int r;

        if (!t) {
                free(msg);
                return -EINVAL;
        }
        enter(t);
        r = queue(t, msg, len, fds, n_fds);
        leave(t);
        return r;
}

int transport_send(Transport *t, const void *msg, size_t len, const int *fds, unsigned n_fds) {
        void *copy;

        if (!t || !msg || len < WIRE_FIXED_HEADER || len > WIRE_MAX_MESSAGE)
                return -EINVAL;
        copy = malloc(len);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, msg, len);
        return transport_send_take(t, copy, len, fds, n_fds);
}

/* ---- the loop ---- */

static int on_io(busrpc_source *s, int fd, uint32_t revents, void *userdata) {
        Transport *t = userdata;

        (void)s;
        (void)fd;
        enter(t);
        if (revents & EPOLLOUT)
                (void)do_flush(t);
        if (!t->closed && (revents & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)))
                (void)do_read(t, !(revents & (EPOLLHUP | EPOLLERR | EPOLLRDHUP)));
        leave(t);
        return 0;
}

static int on_defer(busrpc_source *s, void *userdata) {
        Transport *t = userdata;
        int r;

        (void)s;
        enter(t);
        if (t->end - t->start >= WIRE_FIXED_HEADER) { /* bytes handed over with the socket */
                r = process(t);
                if (r < 0 && r != -ENOTCONN)
                        fail(t, r);
        }
        (void)do_flush(t);
        leave(t);
        return 0;
}

void transport_detach(Transport *t) {
        if (!t)
                return;
        t->io = busrpc_source_release(t->io);
        t->defer = busrpc_source_release(t->defer);
        t->loop = NULL;
}

int transport_attach(Transport *t, busrpc_loop *l) {
        uint32_t events;
        int r;

        if (!t || !l)
                return -EINVAL;
        if (t->closed)
                return -ENOTCONN;
        transport_detach(t);
        events = EPOLLIN | EPOLLRDHUP | (t->out_head ? EPOLLOUT : 0);
        r = loop_add_io_events(l, t->fd, events, on_io, t, &t->io);
        if (r < 0)
                return r;
        r = loop_add_defer(l, on_defer, t, &t->defer);
        if (r < 0) {
                t->io = busrpc_source_release(t->io);
                return r;
        }
        t->io_events = events;
        t->loop = l;
        /* bytes handed over with the socket may hold whole messages already */
        if (t->end > t->start)
                loop_defer_enable(t->defer);
        return 0;
}

/* ---- the object ---- */

int transport_new_with(Transport **ret, int fd, const void *pending, size_t len, const int *fds,
                       unsigned n_fds, TransportMsgFn on_msg, TransportCloseFn on_close, void *userdata) {
        Transport *t;
        int fl, r;

        if (!ret || fd < 0 || (len && !pending) || len > WIRE_MAX_MESSAGE || (n_fds && !fds) ||
            n_fds > MAX_QUEUED_FDS) {
                r = -EINVAL;
                goto fail;
        }
        fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
                r = -errno;
                goto fail;
        }
        r = -ENOMEM;
        t = calloc(1, sizeof(*t));
        if (!t)
                goto fail;
        t->cap = len > TRANSPORT_READ_SIZE ? len : TRANSPORT_READ_SIZE;
        t->buf = malloc(t->cap);
        if (!t->buf) {
                free(t);
                goto fail;
        }
        t->max_queued_fds = MAX_QUEUED_FDS;
        if (n_fds && queue_fds(t, fds, n_fds, 0, len) < 0) { /* closes them */
                free(t->buf);
                free(t);
                close(fd);
                return -ENOMEM;
        }
        if (len)
                memcpy(t->buf, pending, len);
        t->end = len;
        t->fd = fd;
        t->on_msg = on_msg;
        t->on_close = on_close;
        t->userdata = userdata;
        t->max_outgoing = TRANSPORT_MAX_OUTGOING_DEFAULT;
        t->max_message = WIRE_MAX_MESSAGE;
        *ret = t;
        return 0;
fail:
        if (fd >= 0)
                close(fd);
        if (n_fds && fds)
                close_fds((int *)fds, n_fds);
        return r;
}

int transport_new(Transport **ret, int fd, TransportMsgFn on_msg, TransportCloseFn on_close,
                  void *userdata) {
        return transport_new_with(ret, fd, NULL, 0, NULL, 0, on_msg, on_close, userdata);
}

Transport *transport_free(Transport *t) {
        if (!t)
                return NULL;
        t->notified = true; /* freeing is not a loss to report */
        fail(t, 0);
        if (t->busy) {
                /* From a callback (a handler dropping the last reference to
                 * its connection): the entry points still on the stack use
                 * @t; the outermost one frees it. Nothing is called back. */
                t->on_msg = NULL;
                t->on_close = NULL;
                t->doomed = true;
                return NULL;
        }
        destroy(t);
        return NULL;
}

void transport_set_unix_fds(Transport *t, bool allowed) {
        if (t)
                t->no_fds = !allowed;
}

int transport_fd(const Transport *t) {
        return t ? t->fd : -1;
}

bool transport_is_open(const Transport *t) {
        return t && !t->closed;
}

bool transport_get_unix_fds(const Transport *t) {
        return t && !t->no_fds;
}

void transport_close(Transport *t, int error) {
        if (!t || t->closed)
                return;
        enter(t);
        (void)fail(t, error);
        leave(t);
}

const TransportStats *transport_stats(const Transport *t) {
        ((Transport *)t)->stats.rx_buffer = t->cap;
        return &t->stats;
}

int transport_set_max_outgoing_bytes(Transport *t, uint32_t bytes) {
        if (!t || bytes > INT32_MAX)
                return -EINVAL;
        t->max_outgoing = bytes ? bytes : TRANSPORT_MAX_OUTGOING_DEFAULT;
        return 0;
}

uint32_t transport_get_max_outgoing_bytes(const Transport *t) {
        return t ? t->max_outgoing : 0;
}

int transport_set_max_message_size(Transport *t, uint32_t bytes) {
        if (!t || bytes > WIRE_MAX_MESSAGE)
                return -EINVAL;
        t->max_message = bytes ? bytes : WIRE_MAX_MESSAGE;
        return 0;
}

int transport_set_max_queued_fds(Transport *t, unsigned n) {
        if (!t || n > MAX_QUEUED_FDS)
                return -EINVAL;
        t->max_queued_fds = n ? n : MAX_QUEUED_FDS;
        return 0;
}

unsigned transport_get_max_queued_fds(const Transport *t) {
        return t ? t->max_queued_fds : 0;
}

size_t transport_outgoing_bytes(const Transport *t) {
        return t ? t->out_bytes : 0;
}

uint32_t transport_next_serial(Transport *t) {
        if (++t->serial == 0)
                t->serial = 1;
        return t->serial;
}
