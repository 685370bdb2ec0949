/* test-limits-shm.c: the setters of the bound on a received shm, on a
 * peer server (child process) seen by two client peers:
 *  - busrpc_server_limits.max_shm_size (busrpc_server_get_limits(), one
 *    field changed, busrpc_server_set_limits()) is the server's limit,
 *    for every peer;
 *  - on a served peer's conn (busrpc_call_get_conn()) it is that peer's
 *    only; the other peer keeps the server's.
 * The method reads the shm with busrpc_iter_get_shm() (the connection's
 * bound), as a hand-written skeleton would.
 */
#include <dbus/dbus.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include "busrpc/busrpc.h"
#include "tap.h"

#define IFACE "org.busrpc.test.Limits"
#define PATH "/org/busrpc/test/Limits"
#define SERVER_BOUND 8192

/* ---- the server (child process) ---- */

static busrpc_server *srv;

/* Size(h) -> (t): the size of the shm, or InvalidArgs when refused. */
static int srv_size(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        busrpc_shm *shm = NULL;
        busrpc_msg *reply = NULL;
        busrpc_iter it;
        uint64_t size;
        int r;

        (void)ops;
        (void)self;
        r = busrpc_iter_get_shm(args, &shm);
        if (r == -EFBIG)
                return busrpc_call_fail(call, BUSRPC_ERROR_INVALID_ARGS, "too large");
        if (r < 0)
                return r;
        size = busrpc_shm_size(shm);
        busrpc_shm_unref(shm);
        if ((r = busrpc_call_reply_new(call, &reply)) < 0)
                return r;
        busrpc_msg_append(reply, &it);
        busrpc_iter_append_basic(&it, 't', &size);
        return busrpc_msg_send(reply);
}

/* Tighten(t) -> (t, t): bound the calling peer's conn; answers the bound
 * now in force on that conn and the server's (busrpc_server_get_limits()). */
static int srv_tighten(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        busrpc_conn *peer = busrpc_call_get_conn(call);
        busrpc_msg *reply = NULL;
        busrpc_iter it;
        busrpc_server_limits lim;
        uint64_t bytes, mine, all;
        int r;

        (void)ops;
        (void)self;
        if ((r = busrpc_iter_get_basic(args, 't', &bytes)) < 0 ||
            (r = busrpc_conn_set_max_shm_size(peer, bytes)) < 0)
                return r;
        mine = busrpc_conn_get_max_shm_size(peer);
        if ((r = busrpc_server_get_limits(srv, &lim)) < 0)
                return r;
        all = lim.max_shm_size;
        if ((r = busrpc_call_reply_new(call, &reply)) < 0)
                return r;
        busrpc_msg_append(reply, &it);
        busrpc_iter_append_basic(&it, 't', &mine);
        busrpc_iter_append_basic(&it, 't', &all);
        return busrpc_msg_send(reply);
}

static const busrpc_method_desc srv_methods[] = {
        { .name = "Size", .in_sig = "h", .out_sig = "t", .fn = srv_size },
        { .name = "Tighten", .in_sig = "t", .out_sig = "tt", .fn = srv_tighten },
};
static const busrpc_interface_desc srv_iface = {
        .name = IFACE,
        .xml = "<interface name=\"" IFACE "\"></interface>",
        .methods = srv_methods,
        .n_methods = 2,
};

static void server_main(const char *address, int ready_fd) {
        busrpc_server_limits lim;
        int code = 0, r;

        if (busrpc_server_new(address, &srv) < 0)
                _exit(2);
        if (busrpc_server_get_limits(srv, &lim) < 0 || lim.max_shm_size != BUSRPC_MAX_SHM_SIZE_DEFAULT)
                code |= 16; /* the default, before anything is set */
        lim.max_shm_size = SERVER_BOUND;
        if (busrpc_server_set_limits(srv, &lim) < 0 || busrpc_server_get_limits(srv, &lim) < 0 ||
            lim.max_shm_size != SERVER_BOUND)
                code |= 32;
        if (busrpc_object_export(busrpc_server_get_objects(srv), PATH, &srv_iface, NULL, NULL, NULL) < 0)
                _exit(3);
        if (write(ready_fd, code ? "x" : "r", 1) != 1)
                _exit(4);
        close(ready_fd);
        r = busrpc_server_run(srv); /* until SIGTERM */
        busrpc_server_free(srv);
        dbus_shutdown();
        _exit(r == 0 ? 0 : 1);
}

/* ---- the clients ---- */

static int sealed(size_t size) {
        int fd = memfd_create("limits", MFD_ALLOW_SEALING | MFD_CLOEXEC);

        if (fd < 0 || ftruncate(fd, (off_t)size) < 0 ||
            fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK) < 0)
                tap_bail("memfd: %s", strerror(errno));
        return fd;
}

/* Size() of a sealed memfd of @size bytes: 0 with the size echoed, or
 * -EREMOTEIO with InvalidArgs. */
static int size_call(busrpc_conn *c, size_t size) {
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_proxy *p = NULL;
        busrpc_msg *m = NULL, *reply = NULL;
        busrpc_iter it;
        uint64_t got = 0;
        int fd = sealed(size), r;

        r = busrpc_proxy_new(c, NULL, PATH, &p);
        if (r >= 0)
                r = busrpc_proxy_method_new(p, IFACE, "Size", &m);
        if (r >= 0)
                r = busrpc_msg_append(m, &it);
        if (r >= 0)
                r = busrpc_iter_append_fd(&it, fd);
        close(fd);
        if (r >= 0)
                r = busrpc_proxy_call(p, m, "t", &reply, &err);
        else
                busrpc_msg_unref(m);
        if (r == 0) {
                busrpc_msg_read(reply, &it);
                busrpc_iter_get_basic(&it, 't', &got);
                if (got != size)
                        r = -EIO;
        } else if (r == -EREMOTEIO && !busrpc_error_has_name(&err, BUSRPC_ERROR_INVALID_ARGS)) {
                r = -EPROTO;
        }
        busrpc_msg_unref(reply);
        busrpc_proxy_unref(p);
        busrpc_error_clear(&err);
        return r;
}

static int tighten(busrpc_conn *c, uint64_t bytes, uint64_t *mine, uint64_t *all) {
        busrpc_proxy *p = NULL;
        busrpc_msg *m = NULL, *reply = NULL;
        busrpc_iter it;
        int r;

        r = busrpc_proxy_new(c, NULL, PATH, &p);
        if (r >= 0)
                r = busrpc_proxy_method_new(p, IFACE, "Tighten", &m);
        if (r >= 0)
                r = busrpc_msg_append(m, &it);
        if (r >= 0)
                r = busrpc_iter_append_basic(&it, 't', &bytes);
        if (r >= 0)
                r = busrpc_proxy_call(p, m, "tt", &reply, NULL);
        else
                busrpc_msg_unref(m);
        if (r == 0) {
                busrpc_msg_read(reply, &it);
                busrpc_iter_get_basic(&it, 't', mine);
                busrpc_iter_get_basic(&it, 't', all);
        }
        busrpc_msg_unref(reply);
        busrpc_proxy_unref(p);
        return r;
}

int main(void) {
        char dir[] = "/tmp/busrpc-limits-XXXXXX", address[128], c, cmd[160];
        busrpc_conn *a = NULL, *b = NULL;
        uint64_t mine = 0, all = 0;
        pid_t pid;
        int pfd[2], status = -1;

        if (!mkdtemp(dir))
                tap_bail("mkdtemp");
        snprintf(address, sizeof(address), "unix:path=%s/sock", dir);
        if (pipe(pfd) < 0)
                tap_bail("pipe");
        pid = fork();
        if (pid < 0)
                tap_bail("fork");
        if (pid == 0) {
                close(pfd[0]);
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                server_main(address, pfd[1]);
        }
        close(pfd[1]);
        if (read(pfd[0], &c, 1) != 1)
                tap_bail("peer server did not start");
        close(pfd[0]);
        ok(c == 'r', "server: max_shm_size 256 MiB by default, then 8192 (get_limits, set_limits, read back)");
        if (busrpc_conn_open_peer(address, &a) < 0 || busrpc_conn_open_peer(address, &b) < 0)
                tap_bail("busrpc_conn_open_peer");

        is_int(size_call(a, SERVER_BOUND), 0, "peer A: 8192 bytes accepted");
        is_int(size_call(a, SERVER_BOUND + 1), -EREMOTEIO, "peer A: 8193 refused with InvalidArgs");
        is_int(size_call(b, SERVER_BOUND + 1), -EREMOTEIO, "peer B: 8193 refused too (one server limit)");

        is_int(tighten(a, 100, &mine, &all), 0, "peer A's own conn bounded to 100 bytes");
        ok(mine == 100 && all == SERVER_BOUND, "A's conn says 100, the server's limits still 8192");
        is_int(size_call(a, 100), 0, "peer A: 100 bytes accepted");
        is_int(size_call(a, 101), -EREMOTEIO, "peer A: 101 refused");
        is_int(size_call(b, 4096), 0, "peer B: 4096 still accepted");
        is_int(tighten(a, 0, &mine, &all), 0, "peer A's bound back to 0");
        ok(mine == SERVER_BOUND, "0 means the server's again (%llu)", (unsigned long long)mine);
        is_int(size_call(a, 4096), 0, "peer A: 4096 accepted again");

        is_int(busrpc_conn_get_max_shm_size(a), BUSRPC_MAX_SHM_SIZE_DEFAULT, "a client conn: the default");
        is_int(busrpc_conn_get_max_shm_size(NULL), 0, "NULL: 0");

        busrpc_conn_unref(a);
        busrpc_conn_unref(b);
        kill(pid, SIGTERM);
        waitpid(pid, &status, 0);
        ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "SIGTERM: busrpc_server_run() returns 0 (status %d)",
           status);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
                tap_diag("could not remove %s", dir);
        dbus_shutdown();
        return tap_done();
}
