/* bench-raw: the floor. The same calls over a bare AF_UNIX stream socket
 * with a fixed 8-byte header (op, length) and no marshalling at all: what
 * the kernel's socket costs, which no D-Bus binding can beat.
 *
 *   bench-raw server peer ADDRESS
 *   bench-raw client peer ADDRESS TEST N [SIZE]
 *
 * (the same command line as the D-Bus programs; only "peer" exists here). */
#include <errno.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common.h"

enum { OP_ADD = 1, OP_SUM = 2, OP_QUIT = 3 };

typedef struct Header {
        uint32_t op;
        uint32_t len;
} Header;

static int io_all(int fd, void *buf, size_t n, bool rd) {
        uint8_t *p = buf;

        while (n > 0) {
                ssize_t k = rd ? read(fd, p, n) : write(fd, p, n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return k < 0 ? -errno : -ECONNRESET;
                p += k;
                n -= (size_t)k;
        }
        return 0;
}

static const char *address_path(const char *address) {
        return strncmp(address, "unix:path=", 10) == 0 ? address + 10 : address;
}

static int serve(const char *address) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        uint8_t *buf = NULL;
        size_t cap = 0;
        int l, fd, r = 0;

        l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", address_path(address));
        unlink(sa.sun_path);
        if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 1) < 0)
                return -errno;
        bench_ready();
        fd = accept4(l, NULL, NULL, SOCK_CLOEXEC);
        close(l);
        if (fd < 0)
                return -errno;
        for (;;) {
                Header h;

                r = io_all(fd, &h, sizeof(h), true);
                if (r < 0)
                        break;
                if (h.len > cap) {
                        free(buf);
                        cap = h.len;
                        buf = malloc(cap);
                        if (!buf) {
                                r = -ENOMEM;
                                break;
                        }
                }
                r = io_all(fd, buf, h.len, true);
                if (r < 0)
                        break;
                if (h.op == OP_ADD) {
                        int32_t ab[2], sum;

                        memcpy(ab, buf, sizeof(ab));
                        sum = (int32_t)((uint32_t)ab[0] + (uint32_t)ab[1]);
                        r = io_all(fd, &sum, sizeof(sum), false);
                } else if (h.op == OP_SUM) {
                        uint64_t sum = bench_sum(buf, h.len);

                        r = io_all(fd, &sum, sizeof(sum), false);
                } else {
                        break;
                }
                if (r < 0)
                        break;
        }
        free(buf);
        close(fd);
        return r == -ECONNRESET ? 0 : r;
}

static int call_add(int fd, int32_t a, int32_t b, int32_t *sum) {
        struct {
                Header h;
                int32_t ab[2];
        } req = { { OP_ADD, 8 }, { a, b } };
        int r = io_all(fd, &req, sizeof(req), false);

        return r < 0 ? r : io_all(fd, sum, sizeof(*sum), true);
}

static int run_client(const char *address, const char *test, unsigned long n, size_t size) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        uint8_t *payload = NULL;
        uint64_t want = 0, t0;
        BenchWindow w = { 0 };
        int fd, r = 0;

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", address_path(address));
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return -errno;
        if (strcmp(test, "bytes") == 0 && !(payload = bench_payload(size, &want)))
                return -ENOMEM;

        if (strcmp(test, "quit") != 0) {
                int32_t sum;

                r = call_add(fd, 1, 2, &sum);
        }
        t0 = bench_now_ns();
        if (strcmp(test, "add") == 0) {
                for (unsigned long i = 0; i < n && r >= 0; i++) {
                        int32_t sum;

                        r = call_add(fd, (int32_t)i, 1, &sum);
                        if (r >= 0 && sum != (int32_t)i + 1)
                                r = -EPROTO;
                }
        } else if (strcmp(test, "pipeline") == 0) {
                /* A sliding window: read whatever replies have arrived (one
                 * read), then send as many new calls (one write). */
                struct {
                        Header h;
                        int32_t ab[2];
                } req[BENCH_WINDOW];
                uint8_t in[BENCH_WINDOW * sizeof(int32_t)];
                size_t have = 0;

                for (unsigned k = 0; k < BENCH_WINDOW; k++) {
                        req[k].h = (Header){ OP_ADD, 8 };
                        req[k].ab[0] = 1;
                        req[k].ab[1] = 2;
                }
                for (unsigned long i = 0; (i < n || w.outstanding > 0) && r >= 0;) {
                        unsigned k = 0, done;
                        ssize_t got;

                        while (w.outstanding < BENCH_WINDOW && i < n) {
                                bench_window_send(&w);
                                k++;
                                i++;
                        }
                        if (k)
                                r = io_all(fd, req, k * sizeof(req[0]), false);
                        bench_window_sent(&w);
                        if (r < 0 || w.outstanding == 0)
                                break;
                        do
                                got = read(fd, in + have, w.outstanding * sizeof(int32_t) - have);
                        while (got < 0 && errno == EINTR);
                        if (got <= 0) {
                                r = got < 0 ? -errno : -ECONNRESET;
                                break;
                        }
                        have += (size_t)got;
                        done = (unsigned)(have / sizeof(int32_t));
                        for (unsigned j = 0; j < done; j++) {
                                int32_t sum;

                                memcpy(&sum, in + j * sizeof(sum), sizeof(sum));
                                bench_window_reply(&w, sum == 3);
                        }
                        have -= done * sizeof(int32_t);
                        memmove(in, in + done * sizeof(int32_t), have);
                }
                if (r >= 0 && (w.failed || w.replies != n))
                        r = -EPROTO;
        } else if (strcmp(test, "bytes") == 0) {
                for (unsigned long i = 0; i < n && r >= 0; i++) {
                        Header h = { OP_SUM, (uint32_t)size };
                        uint64_t got = 0;

                        r = io_all(fd, &h, sizeof(h), false);
                        if (r >= 0)
                                r = io_all(fd, payload, size, false);
                        if (r >= 0)
                                r = io_all(fd, &got, sizeof(got), true);
                        if (r >= 0 && got != want)
                                r = -EPROTO;
                }
        } else if (strcmp(test, "quit") == 0) {
                Header h = { OP_QUIT, 0 };

                r = io_all(fd, &h, sizeof(h), false);
        } else {
                r = -EINVAL;
        }
        if (r >= 0 && strcmp(test, "pipeline") == 0)
                bench_report_window(test, n, bench_now_ns() - t0, &w);
        else if (r >= 0)
                bench_report(test, n, bench_now_ns() - t0);
        free(payload);
        close(fd);
        return r;
}

int main(int argc, char **argv) {
        int r = -EINVAL;

        if (argc >= 4 && strcmp(argv[1], "server") == 0 && strcmp(argv[2], "peer") == 0)
                r = serve(argv[3]);
        else if (argc >= 6 && strcmp(argv[1], "client") == 0 && strcmp(argv[2], "peer") == 0)
                r = run_client(argv[3], argv[4], strtoul(argv[5], NULL, 10), argc > 6 ? strtoul(argv[6], NULL, 10) : 0);
        else
                fprintf(stderr, "usage: bench-raw server peer ADDRESS | client peer ADDRESS TEST N [SIZE]\n");
        if (r < 0 && r != -EINVAL)
                fprintf(stderr, "bench-raw: %s\n", strerror(-r));
        return r < 0 ? 1 : 0;
}
