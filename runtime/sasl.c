/* sasl.c: the server side of SASL EXTERNAL, read with recvmsg() so that
 * what a client pipelines after BEGIN (and its fds) reaches the transport
 * (sasl.h says why). The D-Bus specification's "Authentication protocol":
 * a NUL byte, then CRLF-terminated lines; EXTERNAL only; a pipelining
 * client (AUTH, DATA, NEGOTIATE_UNIX_FD, BEGIN and its first message in
 * one write) is answered line by line as if it had waited.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sasl.h"

enum { ST_AUTH, ST_DATA, ST_BEGIN, ST_DONE };

int sasl_server_init(SaslServer *s, int fd, const char *guid, SaslUidAllowedFn allowed, void *userdata) {
        struct ucred cred;
        socklen_t len = sizeof(cred);

        memset(s, 0, sizeof(*s));
        s->fd = fd;
        s->allowed = allowed;
        s->userdata = userdata;
        s->max_fds = SASL_MAX_FDS;
        snprintf(s->guid, sizeof(s->guid), "%s", guid ? guid : "");
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return -errno;
        s->peer_uid = cred.uid;
        s->have_creds = true;
        return 0;
}

void sasl_server_set_max_fds(SaslServer *s, unsigned n) {
        s->max_fds = n && n < SASL_MAX_FDS ? n : SASL_MAX_FDS;
}

static int reply(SaslServer *s, const char *line) {
        size_t n = strlen(line);

        if (s->out_len + n + 2 > sizeof(s->out)) /* a client that does not read its answers */
                return -EPROTO;
        memcpy(s->out + s->out_len, line, n);
        memcpy(s->out + s->out_len + n, "\r\n", 2);
        s->out_len += n + 2;
        return 0;
}

static int refuse(SaslServer *s, const char *line) {
        if (++s->rejects > SASL_MAX_REJECTS)
                return -EPROTO;
        return reply(s, line);
}

static int flush_out(SaslServer *s) {
        while (s->out_len) {
                ssize_t n = send(s->fd, s->out, s->out_len, MSG_NOSIGNAL | MSG_DONTWAIT);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return errno == EAGAIN ? 0 : -errno;
                }
                memmove(s->out, s->out + n, s->out_len - (size_t)n);
                s->out_len -= (size_t)n;
        }
        return 0;
}

static int hexval(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* @hex: the EXTERNAL identity, hex-encoded decimal uid; empty: the socket's. */
static int identity(SaslServer *s, const char *hex, size_t len) {
        uint64_t uid = 0;

        if (len % 2 || len / 2 > 10)
                return refuse(s, "REJECTED EXTERNAL");
        for (size_t i = 0; i < len; i += 2) {
                int hi = hexval(hex[i]), lo = hexval(hex[i + 1]);
                char c;

                if (hi < 0 || lo < 0)
                        return refuse(s, "REJECTED EXTERNAL");
                c = (char)(hi * 16 + lo);
                if (c < '0' || c > '9')
                        return refuse(s, "REJECTED EXTERNAL");
                uid = uid * 10 + (uint64_t)(c - '0');
        }
        if (len && uid != (uint64_t)s->peer_uid)
                return refuse(s, "REJECTED EXTERNAL");
        if (s->allowed ? !s->allowed(s->peer_uid, s->userdata) : s->peer_uid != geteuid())
                return -EACCES;
        s->state = ST_BEGIN;
        {
                char ok[40];

                snprintf(ok, sizeof(ok), "OK %s", s->guid);
                return reply(s, ok);
        }
}

static int line(SaslServer *s, char *l, size_t len) {
        char *arg = memchr(l, ' ', len);
        size_t cmd_len = arg ? (size_t)(arg - l) : len, arg_len = arg ? len - cmd_len - 1 : 0;

        if (arg)
                arg++;
        for (size_t i = 0; i < len; i++)
                if ((unsigned char)l[i] < 0x20 || (unsigned char)l[i] > 0x7e)
                        return -EPROTO;
#define IS(word) (cmd_len == sizeof(word) - 1 && memcmp(l, word, cmd_len) == 0)
        if (IS("AUTH")) {
                char *resp;
                size_t mech_len;

                if (s->state != ST_AUTH)
                        return refuse(s, "ERROR \"AUTH in the middle of an exchange\"");
                resp = arg ? memchr(arg, ' ', arg_len) : NULL;
                mech_len = resp ? (size_t)(resp - arg) : arg_len;
                if (!arg || mech_len != 8 || memcmp(arg, "EXTERNAL", 8) != 0)
                        return refuse(s, "REJECTED EXTERNAL");
                if (!resp) { /* no initial response: ask for one (may be empty) */
                        s->state = ST_DATA;
                        return reply(s, "DATA");
                }
                return identity(s, resp + 1, arg_len - mech_len - 1);
        }
        if (IS("DATA")) {
                if (s->state != ST_DATA)
                        return refuse(s, "ERROR \"DATA unexpected\"");
                return identity(s, arg ? arg : "", arg_len);
        }
        if (IS("NEGOTIATE_UNIX_FD")) {
                if (s->state != ST_BEGIN || arg)
                        return refuse(s, "ERROR \"NEGOTIATE_UNIX_FD unexpected\"");
                s->unix_fd = true;
                return reply(s, "AGREE_UNIX_FD");
        }
        if (IS("BEGIN")) {
                if (s->state != ST_BEGIN || arg)
                        return refuse(s, "ERROR \"BEGIN before OK\"");
                s->state = ST_DONE;
                return 0;
        }
        if (IS("CANCEL") || IS("ERROR")) {
                s->state = ST_AUTH;
                return refuse(s, "REJECTED EXTERNAL");
        }
#undef IS
        return refuse(s, "ERROR \"unknown command\"");
}

/* Handle the complete lines in the buffer; stop after BEGIN's. */
static int lines(SaslServer *s) {
        size_t pos = 0;
        int r = 0;

        if (!s->got_nul && s->in_len) {
                if (s->in[0] != '\0')
                        return -EPROTO;
                s->got_nul = true;
                pos = 1;
        }
        while (s->state != ST_DONE) {
                char *cr = memchr(s->in + pos, '\n', s->in_len - pos);
                size_t len;

                if (!cr)
                        break;
                len = (size_t)(cr - (s->in + pos));
                if (!len || s->in[pos + len - 1] != '\r')
                        return -EPROTO;
                r = line(s, s->in + pos, len - 1);
                pos += len + 1;
                if (r < 0)
                        return r;
        }
        memmove(s->in, s->in + pos, s->in_len - pos);
        s->in_len -= pos;
        if (s->state != ST_DONE && s->in_len == sizeof(s->in))
                return -EPROTO; /* a line longer than the whole budget */
        return 0;
}

int sasl_server_step(SaslServer *s) {
        int r;

        if (!s->have_creds)
                return -EINVAL;
        while (s->state != ST_DONE) {
                union {
                        struct cmsghdr align;
                        char b[CMSG_SPACE(sizeof(int) * 253)];
                } control;
                struct iovec iov = { s->in + s->in_len, sizeof(s->in) - s->in_len };
                struct msghdr mh = { .msg_iov = &iov,
                                     .msg_iovlen = 1,
                                     .msg_control = control.b,
                                     .msg_controllen = sizeof(control.b) };
                ssize_t n = recvmsg(s->fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        break;
                if (n < 0)
                        return -errno;
                r = 0;
                for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                        unsigned k;
                        int *fds = (int *)CMSG_DATA(c);

                        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                                continue;
                        k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                        for (unsigned i = 0; i < k; i++) {
                                if (s->n_fds < s->max_fds)
                                        s->fds[s->n_fds++] = fds[i];
                                else {
                                        close(fds[i]);
                                        r = -EPROTO;
                                }
                        }
                }
                if (r < 0)
                        return r;
                if (mh.msg_flags & MSG_CTRUNC)
                        return -EPROTO;
                if (n == 0)
                        return -ECONNRESET;
                s->in_len += (size_t)n;
                r = lines(s);
                if (r < 0) {
                        /* the answers so far (the refusals before the last
                         * one, as libdbus sends them), best effort */
                        (void)flush_out(s);
                        return r;
                }
                r = flush_out(s);
                if (r < 0)
                        return r;
        }
        r = flush_out(s);
        if (r < 0)
                return r;
        /* fds from a client that did not negotiate fd passing */
        if (s->n_fds && !s->unix_fd)
                return -EPROTO;
        /* BEGIN read: what went before it must be out before the transport writes */
        return s->state == ST_DONE && !s->out_len ? 1 : 0;
}

bool sasl_server_wants_write(const SaslServer *s) {
        return s->out_len > 0;
}

bool sasl_server_wants_read(const SaslServer *s) {
        return s->state != ST_DONE;
}

bool sasl_server_unix_fd(const SaslServer *s) {
        return s->unix_fd;
}

const void *sasl_server_rest(const SaslServer *s, size_t *ret_len) {
        *ret_len = s->state == ST_DONE ? s->in_len : 0;
        return s->in;
}

void sasl_server_take_fds(SaslServer *s, int *fds, unsigned *ret_n) {
        memcpy(fds, s->fds, s->n_fds * sizeof(int));
        *ret_n = s->n_fds;
        s->n_fds = 0;
}

void sasl_server_clear(SaslServer *s) {
        for (unsigned i = 0; i < s->n_fds; i++)
                close(s->fds[i]);
        s->n_fds = 0;
}
