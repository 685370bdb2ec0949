/* test-attach.c: a connection that never authenticates is closed after
 * auth_timeout_usec even when the server moved to another loop
 * (busrpc_server_attach()) while that connection was waiting: its
 * deadline moves with it, so a silent peer cannot outlive the move. Run
 * with the server on libdbus (BUSRPC_FAST_PATH=0), then on the fast path
 * (=1: busrpc's own SASL phase, whose socket watch moves too); a
 * connection that authenticates half-way (AUTH, no BEGIN) is closed too. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <dbus/dbus.h>
#include "busrpc/busrpc.h"
#include "tap.h"

static uint64_t now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static bool closed_by_peer(int fd) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        char c;

        return poll(&p, 1, 0) == 1 && recv(fd, &c, 1, MSG_DONTWAIT) == 0;
}

static const char *path_name(void) {
        const char *e = getenv("BUSRPC_FAST_PATH");
        return e && strcmp(e, "1") == 0 ? "fast path" : "libdbus";
}

static void test_attach_moves_auth_deadline(void) {
        char dir[] = "/tmp/busrpc-attach-XXXXXX", addr[160];
        busrpc_server_limits lim = { .auth_timeout_usec = 300 * BUSRPC_USEC_PER_MSEC };
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        busrpc_loop *def, *l;
        busrpc_server *srv;
        uint64_t t0;
        bool closed = false, closed2 = false;
        char auth[64], got[128];
        size_t n_got = 0;
        int fd, fd2, n;

        if (!mkdtemp(dir))
                tap_bail("mkdtemp");
        snprintf(addr, sizeof(addr), "unix:path=%s/sock", dir);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock", dir);
        is_int(busrpc_server_new(addr, &srv), 0, "a server on the default loop");
        is_int(busrpc_server_set_limits(srv, &lim), 0, "auth_timeout_usec 300 ms");
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ok(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "a silent connection");
        busrpc_loop_default(&def);
        for (t0 = now_ms(); busrpc_server_count_peers(srv) == 0 && now_ms() - t0 < 5000;)
                busrpc_loop_iterate(def, 50 * BUSRPC_USEC_PER_MSEC);
        tap_diag("the server on %s", path_name());
        is_int(busrpc_server_count_peers(srv), 1, "accepted on the default loop");
        /* AUTH EXTERNAL as our uid, answered OK; no BEGIN */
        fd2 = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ok(connect(fd2, (struct sockaddr *)&sa, sizeof(sa)) == 0, "a second connection");
        n = snprintf(auth, sizeof(auth), "%u", (unsigned)geteuid());
        {
                char hex[32];
                for (int i = 0; i < n; i++)
                        snprintf(hex + 2 * i, 3, "%02x", (unsigned char)auth[i]);
                n = snprintf(auth, sizeof(auth), "%cAUTH EXTERNAL %s\r\n", 0, hex);
        }
        ok(send(fd2, auth, (size_t)n, MSG_NOSIGNAL) == n, "sends AUTH EXTERNAL");
        for (t0 = now_ms(); !memchr(got, '\n', n_got) && now_ms() - t0 < 5000;) {
                ssize_t k;
                busrpc_loop_iterate(def, 50 * BUSRPC_USEC_PER_MSEC);
                k = recv(fd2, got + n_got, sizeof(got) - 1 - n_got, MSG_DONTWAIT);
                if (k > 0)
                        n_got += (size_t)k;
        }
        got[n_got] = '\0';
        ok(strncmp(got, "OK ", 3) == 0, "and is answered OK (then sends nothing more)");
        is_int(busrpc_server_count_peers(srv), 2, "two peers authenticating");

        busrpc_loop_new(&l);
        is_int(busrpc_server_attach(srv, l), 0, "the server moves to another loop");
        for (t0 = now_ms(); !(closed && closed2) && now_ms() - t0 < 5000;) {
                busrpc_loop_iterate(l, 50 * BUSRPC_USEC_PER_MSEC);
                closed = closed || closed_by_peer(fd);
                closed2 = closed2 || closed_by_peer(fd2);
        }
        ok(closed && now_ms() - t0 < 2000, "the silent connection is closed on the new loop (%d ms)",
           (int)(now_ms() - t0));
        ok(closed2, "so is the one that stopped before BEGIN");
        is_int(busrpc_server_count_peers(srv), 0, "and counted no more");
        close(fd);
        close(fd2);
        busrpc_server_free(srv);
        busrpc_loop_unref(l);
        busrpc_loop_unref(def);
        rmdir(dir);
}

int main(void) {
        setenv("BUSRPC_FAST_PATH", "0", 1);
        TAP_RUN(test_attach_moves_auth_deadline);
        setenv("BUSRPC_FAST_PATH", "1", 1);
        TAP_RUN(test_attach_moves_auth_deadline);
        dbus_shutdown();
        return tap_done();
}
