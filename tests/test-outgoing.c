/* test-outgoing.c: the bound on bytes a client connection queues toward
 * a peer that does not read (busrpc_conn_set_max_outgoing_bytes()).
 *
 * A busrpc server in a process of its own (this program run again with
 * --serve) is stopped with SIGSTOP; the client queues 32 async calls of
 * 1 MiB each. With the default bound (1 GiB) every call is answered once
 * the server gets SIGCONT; with a 4 MiB bound the connection is closed:
 * BUSRPC_CONN_LOST, and the calls fail with -ECONNRESET. Both links: the
 * test runs everything with BUSRPC_FAST_PATH=1 and then =0 (the server
 * follows the same setting). Plus the setter's and getter's edge values,
 * on a client conn and a served peer, and the server's own bound
 * (busrpc_server_limits.max_outgoing_bytes).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "busrpc/busrpc.h"
#include "tap.h"
#include "tap-util.h"

#define IFACE  "org.busrpc.Outgoing"
#define PATH   "/org/busrpc/Outgoing"
#define MS     BUSRPC_USEC_PER_MSEC
#define N_CALL 32
#define MIB    (1024u * 1024u)

/* Iterate the default loop until *@n reaches @want or @ms pass (a bound against a hang). */
static bool spin(const int *n, int want, int ms) {
        busrpc_loop *l = NULL;
        long end = tap_now_ms() + ms;

        busrpc_loop_default(&l);
        while (*n < want && tap_now_ms() < end)
                busrpc_loop_iterate(l, 20 * MS);
        busrpc_loop_unref(l);
        return *n >= want;
}

/* ---- the server (this program with --serve ADDRESS) ---- */

static int srv_put(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        busrpc_msg *reply = NULL;
        int r;

        (void)args;
        (void)ops;
        (void)self;
        r = busrpc_call_reply_new(call, &reply);
        return r < 0 ? r : busrpc_msg_send(reply);
}

/* What the setter and getter say on a served peer's conn. */
static int srv_probe(busrpc_call *call, busrpc_iter *args, const void *ops, void *self) {
        busrpc_conn *c = busrpc_call_get_conn(call);
        int32_t set = busrpc_conn_set_max_outgoing_bytes(c, 1);
        uint64_t got = busrpc_conn_get_max_outgoing_bytes(c);
        busrpc_msg *reply = NULL;
        busrpc_iter it;
        int r;

        (void)args;
        (void)ops;
        (void)self;
        r = busrpc_call_reply_new(call, &reply);
        if (r < 0)
                return r;
        busrpc_msg_append(reply, &it);
        busrpc_iter_append_basic(&it, 'i', &set);
        busrpc_iter_append_basic(&it, 't', &got);
        return busrpc_msg_send(reply);
}

static const busrpc_method_desc srv_methods[] = {
        { .name = "Put", .in_sig = "ay", .out_sig = "", .fn = srv_put },
        { .name = "Probe", .in_sig = "", .out_sig = "it", .fn = srv_probe },
};
static const busrpc_interface_desc srv_iface = {
        .name = IFACE,
        .methods = srv_methods,
        .n_methods = 2,
};

static int serve(const char *address) {
        busrpc_server *s = NULL;
        busrpc_loop *l = NULL;

        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (busrpc_server_new(address, &s) < 0 ||
            busrpc_object_export(busrpc_server_get_objects(s), PATH, &srv_iface, NULL, NULL, NULL) < 0)
                return 1;
        busrpc_loop_default(&l);
        busrpc_loop_run(l); /* until SIGTERM kills it */
        return 0;
}

static pid_t server_start(const char *address) {
        pid_t pid = fork();

        if (pid < 0)
                tap_bail("fork");
        if (pid == 0) {
                execl("/proc/self/exe", "test-outgoing", "--serve", address, (char *)NULL);
                _exit(127);
        }
        return pid;
}

static void server_stop(pid_t pid) {
        kill(pid, SIGCONT);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
}

/* A client conn to @address, retried until the server listens. */
static busrpc_conn *client_open(const char *address) {
        busrpc_conn *c = NULL;

        for (long end = tap_now_ms() + 10000; tap_now_ms() < end; usleep(10000))
                if (busrpc_conn_open_peer(address, &c) == 0)
                        return c;
        tap_bail("the server did not start at %s", address);
}

/* ---- the client ---- */

typedef struct Run {
        int done, ok, reset, other;
        int lost, lost_error;
} Run;

static void on_reply(busrpc_msg *reply, int r, const busrpc_error *err, void *userdata) {
        Run *run = userdata;

        (void)reply;
        (void)err;
        if (r == 0)
                run->ok++;
        else if (r == -ECONNRESET)
                run->reset++;
        else
                run->other++;
        run->done++;
}

static void on_event(busrpc_conn *c, busrpc_conn_event ev, int error, void *userdata) {
        Run *run = userdata;

        (void)c;
        if (ev == BUSRPC_CONN_LOST) {
                run->lost++;
                run->lost_error = error;
        }
}

static int put_async(busrpc_proxy *p, const uint8_t *data, Run *run) {
        busrpc_msg *m = NULL;
        busrpc_iter it;
        int r;

        r = busrpc_proxy_method_new(p, IFACE, "Put", &m);
        if (r < 0)
                return r;
        busrpc_msg_append(m, &it);
        r = busrpc_iter_append_fixed_array(&it, 'y', data, MIB);
        if (r < 0) {
                busrpc_msg_unref(m);
                return r;
        }
        return busrpc_proxy_call_async(p, m, "", on_reply, run, NULL);
}

/* 32 x 1 MiB toward a stopped server; @bound 0: the default. */
static void test_queue(const char *dir, const char *mode, uint32_t bound) {
        char address[300];
        busrpc_conn *c;
        busrpc_proxy *p = NULL;
        busrpc_msg *m = NULL, *reply = NULL;
        busrpc_error err = BUSRPC_ERROR_INIT;
        uint8_t *data = malloc(MIB);
        Run run = { 0 };
        int sent = 0, refused = 0, first_refusal = 0;
        pid_t pid;

        if (!data)
                tap_bail("malloc");
        memset(data, 0x5a, MIB);
        snprintf(address, sizeof(address), "unix:path=%s/peer-%c-%u", dir, mode[0], bound);
        pid = server_start(address);
        c = client_open(address);
        busrpc_conn_on_event(c, on_event, &run);
        if (bound)
                is_int(busrpc_conn_set_max_outgoing_bytes(c, bound), 0, tap_name("%s: bound set to %u", mode, bound));
        if (busrpc_proxy_new(c, NULL, PATH, &p) < 0)
                tap_bail("busrpc_proxy_new");
        busrpc_proxy_set_timeout(p, 60000 * MS);
        /* one round trip first: the server is serving this peer */
        if (busrpc_proxy_method_new(p, IFACE, "Probe", &m) < 0)
                tap_bail("busrpc_proxy_method_new");
        is_int(busrpc_proxy_call(p, m, "it", &reply, &err), 0, tap_name("%s: the server answers", mode));
        busrpc_msg_unref(reply);
        busrpc_error_clear(&err);

        kill(pid, SIGSTOP);
        for (int i = 0; i < N_CALL; i++) {
                int r = put_async(p, data, &run);

                if (r == 0) {
                        sent++;
                } else {
                        if (!refused)
                                first_refusal = r;
                        refused++;
                }
        }
        if (!bound) {
                is_int(sent, N_CALL, tap_name("%s, default bound: all %d calls queued", mode, N_CALL));
                ok(busrpc_conn_get_max_outgoing_bytes(c) == BUSRPC_MAX_OUTGOING_BYTES_DEFAULT,
                   "%s: the default bound in force", mode);
                kill(pid, SIGCONT);
                spin(&run.done, sent, 60000);
                ok(run.done == sent, "%s, default bound: every call completed (%d of %d)", mode, run.done, sent);
                is_int(run.ok, N_CALL, tap_name("%s, default bound: all answered after SIGCONT", mode));
                is_int(run.lost, 0, tap_name("%s, default bound: the connection was not lost", mode));
        } else {
                ok(sent > 0 && sent < N_CALL, "%s, %u bound: the first calls are queued, not all (%d sent, %d refused, first %d)",
                   mode, bound, sent, refused, first_refusal);
                ok(spin(&run.lost, 1, 20000), "%s, %u bound: BUSRPC_CONN_LOST", mode, bound);
                spin(&run.done, sent, 20000);
                ok(run.done == sent, "%s, %u bound: every queued call completed (%d of %d)", mode, bound, run.done,
                   sent);
                is_int(run.reset, sent, tap_name("%s, %u bound: every queued call failed with -ECONNRESET", mode, bound));
                is_int(run.ok, 0, tap_name("%s, %u bound: none answered", mode, bound));
                is_int(run.other, 0, tap_name("%s, %u bound: no other error", mode, bound));
                ok(refused == 0 || first_refusal < 0, "%s: the refused calls failed at once (%d)", mode,
                   first_refusal);
                is_int(busrpc_conn_get_max_outgoing_bytes(c), bound, tap_name("%s: the bound is kept", mode));
        }
        busrpc_proxy_unref(p);
        busrpc_conn_unref(c);
        server_stop(pid);
        free(data);
}

/* The setter's and getter's edge values, on a client conn, a server's
 * handle and a served peer (asked through Probe). */
static void test_edges(const char *dir, const char *mode) {
        char address[300];
        busrpc_conn *c;
        busrpc_server *s = NULL;
        busrpc_server_limits lim;
        busrpc_proxy *p = NULL;
        busrpc_msg *m = NULL, *reply = NULL;
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_iter it;
        int32_t set = 0;
        uint64_t got = 1;
        pid_t pid;

        is_int(busrpc_conn_set_max_outgoing_bytes(NULL, 1), -EINVAL, tap_name("%s: NULL is -EINVAL", mode));
        ok(busrpc_conn_get_max_outgoing_bytes(NULL) == 0, "%s: NULL's bound is 0", mode);

        snprintf(address, sizeof(address), "unix:path=%s/edges-%c", dir, mode[0]);
        pid = server_start(address);
        c = client_open(address);
        ok(busrpc_conn_get_max_outgoing_bytes(c) == (UINT64_C(1) << 30), "%s: default 1 GiB", mode);
        is_int(busrpc_conn_set_max_outgoing_bytes(c, INT32_MAX), 0, tap_name("%s: INT32_MAX accepted", mode));
        ok(busrpc_conn_get_max_outgoing_bytes(c) == INT32_MAX, "%s: INT32_MAX in force", mode);
        is_int(busrpc_conn_set_max_outgoing_bytes(c, (uint64_t)INT32_MAX + 1), -EINVAL,
               tap_name("%s: INT32_MAX + 1 is -EINVAL", mode));
        is_int(busrpc_conn_set_max_outgoing_bytes(c, UINT64_MAX), -EINVAL, tap_name("%s: UINT64_MAX is -EINVAL", mode));
        ok(busrpc_conn_get_max_outgoing_bytes(c) == INT32_MAX, "%s: a refused value changes nothing", mode);
        is_int(busrpc_conn_set_max_outgoing_bytes(c, 1), 0, tap_name("%s: 1 byte accepted", mode));
        ok(busrpc_conn_get_max_outgoing_bytes(c) == 1, "%s: 1 in force", mode);
        is_int(busrpc_conn_set_max_outgoing_bytes(c, 0), 0, tap_name("%s: 0 accepted", mode));
        ok(busrpc_conn_get_max_outgoing_bytes(c) == BUSRPC_MAX_OUTGOING_BYTES_DEFAULT, "%s: 0 restores the default",
           mode);

        /* a 1-byte bound still lets a message go when nothing is queued */
        is_int(busrpc_conn_set_max_outgoing_bytes(c, 1), 0, tap_name("%s: 1 byte again", mode));
        if (busrpc_proxy_new(c, NULL, PATH, &p) < 0 || busrpc_proxy_method_new(p, IFACE, "Probe", &m) < 0)
                tap_bail("busrpc_proxy_new");
        busrpc_proxy_set_timeout(p, 10000 * MS);
        is_int(busrpc_proxy_call(p, m, "it", &reply, &err), 0,
               tap_name("%s: a call larger than a 1-byte bound goes when nothing is queued", mode));
        if (reply && busrpc_msg_read(reply, &it) == 0) {
                busrpc_iter_get_basic(&it, 'i', &set);
                busrpc_iter_get_basic(&it, 't', &got);
        }
        is_int(set, -EINVAL, tap_name("%s: on a served peer the setter is -EINVAL", mode));
        ok(got == 0, "%s: on a served peer the getter says 0 (%ju)", mode, (uintmax_t)got);
        busrpc_msg_unref(reply);
        busrpc_error_clear(&err);
        busrpc_proxy_unref(p);
        busrpc_conn_unref(c);
        server_stop(pid);

        snprintf(address, sizeof(address), "unix:path=%s/own-%c", dir, mode[0]);
        if (busrpc_server_new(address, &s) < 0)
                tap_bail("busrpc_server_new");
        /* a server's own bound toward each peer: busrpc_server_limits */
        lim = (busrpc_server_limits){ 0 };
        busrpc_server_get_limits(s, &lim);
        ok(lim.max_outgoing_bytes == 16 * MIB, "%s: a server's bound is max_outgoing_bytes, 16 MiB by default", mode);
        lim.max_outgoing_bytes = (uint32_t)INT32_MAX + 1;
        is_int(busrpc_server_set_limits(s, &lim), -EINVAL, tap_name("%s: a server's bound above INT32_MAX is -EINVAL", mode));
        busrpc_server_free(s);
}

int main(int argc, char **argv) {
        char dir[] = "/tmp/busrpc-outgoing-XXXXXX", cmd[320];
        static const char *const modes[] = { "1", "0" };

        if (argc == 3 && strcmp(argv[1], "--serve") == 0)
                return serve(argv[2]);
        signal(SIGPIPE, SIG_IGN);
        if (!mkdtemp(dir))
                tap_bail("mkdtemp");
        for (unsigned i = 0; i < 2; i++) {
                const char *mode = modes[i][0] == '1' ? "fast path" : "libdbus";

                setenv("BUSRPC_FAST_PATH", modes[i], 1);
                tap_diag("BUSRPC_FAST_PATH=%s", modes[i]);
                test_edges(dir, mode);
                test_queue(dir, mode, 0);
                test_queue(dir, mode, 4 * MIB);
        }
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
                tap_diag("could not remove %s", dir);
        return tap_done();
}
