/* test-attach.c: a connection that never authenticates is closed after
 * auth_timeout_usec even when the server moved to another loop
 * (busrpc_server_attach()) while that connection was waiting: its
 * deadline moves with it, so a silent peer cannot outlive the move. */
#include <poll.h>
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

static void test_attach_moves_auth_deadline(void) {
        char dir[] = "/tmp/busrpc-attach-XXXXXX", addr[160];
        busrpc_server_limits lim = { .auth_timeout_usec = 300 * BUSRPC_USEC_PER_MSEC };
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        busrpc_loop *def, *l;
        busrpc_server *srv;
        uint64_t t0;
        bool closed = false;
        int fd;

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
                busrpc_loop_iterate(def, 50);
        is_int(busrpc_server_count_peers(srv), 1, "accepted on the default loop");

        busrpc_loop_new(&l);
        is_int(busrpc_server_attach(srv, l), 0, "the server moves to another loop");
        for (t0 = now_ms(); !closed && now_ms() - t0 < 5000;) {
                busrpc_loop_iterate(l, 50);
                closed = closed_by_peer(fd);
        }
        ok(closed && now_ms() - t0 < 2000, "the silent connection is closed on the new loop (%d ms)",
           (int)(now_ms() - t0));
        is_int(busrpc_server_count_peers(srv), 0, "and counted no more");
        close(fd);
        busrpc_server_free(srv);
        busrpc_loop_unref(l);
        busrpc_loop_unref(def);
        rmdir(dir);
}

int main(void) {
        TAP_RUN(test_attach_moves_auth_deadline);
        dbus_shutdown();
        return tap_done();
}
