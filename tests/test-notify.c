/* test-notify.c (issue 13 items 2-3): busrpc_object_notify(), coalescing
 * and the flush calls, driven from inside a service: this process is a
 * busrpc_server at /org/busrpc/Props and /org/busrpc/Props/b, and
 * tests/props-client (a child, a peer connection) prints every signal it
 * receives to a pipe that the service's loop reads. What
 * tests/test-props.sh does not reach from outside: argument checks, a
 * getter failing when the signal is built, a write-only property, several
 * objects in one iteration, the flush calls, a change queued when the
 * server goes, a detached handle. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>
#include <dbus/dbus.h>
#include "busrpc/busrpc.h"
#include "tap.h"

#define IFACE "org.busrpc.Props" /* the interface props-client listens to */
#define O1 "/org/busrpc/Props"
#define O2 "/org/busrpc/Props/b"
#define PC1 "PC " O1 " " IFACE
#define PC2 "PC " O2 " " IFACE
#define MAX_SEEN 64
#define N_MANY 40

static char dir[] = "/tmp/busrpc-test-notify-XXXXXX";
static busrpc_loop *loop;
static char seen[MAX_SEEN][256]; /* props-client's lines: "PC <path> <iface> <name>=<value>... | <inval>...", "Marker <s>" */
static unsigned n_seen;
static int32_t value_a = 1, value_b = 2;

static int get_a(busrpc_iter *v, const void *ops, void *self, busrpc_error *err) {
        (void)ops, (void)self, (void)err;
        return busrpc_iter_append_basic(v, 'i', &value_a);
}

static int get_b(busrpc_iter *v, const void *ops, void *self, busrpc_error *err) {
        (void)ops, (void)self, (void)err;
        return busrpc_iter_append_basic(v, 'i', &value_b);
}

static int get_broken(busrpc_iter *v, const void *ops, void *self, busrpc_error *err) {
        (void)v, (void)ops, (void)self;
        return busrpc_error_set(err, IFACE ".Error.Broken", "cannot read it now");
}

static int set_any(busrpc_iter *v, const void *ops, void *self, busrpc_error *err) {
        (void)v, (void)ops, (void)self, (void)err;
        return 0;
}

#define R BUSRPC_PROP_READ
static const busrpc_property_desc props[] = {
        { .name = "A", .sig = "i", .get = get_a, .flags = R | BUSRPC_PROP_EMITS_TRUE },
        { .name = "B", .sig = "i", .get = get_b, .flags = R | BUSRPC_PROP_EMITS_TRUE },
        { .name = "Inv", .sig = "i", .get = get_a, .flags = R | BUSRPC_PROP_EMITS_INVALIDATES },
        { .name = "Const", .sig = "i", .get = get_a, .flags = R | BUSRPC_PROP_EMITS_CONST },
        { .name = "Quiet", .sig = "i", .get = get_a, .flags = R | BUSRPC_PROP_EMITS_FALSE },
        { .name = "Broken", .sig = "i", .get = get_broken, .flags = R | BUSRPC_PROP_EMITS_TRUE },
        { .name = "Secret", .sig = "i", .set = set_any, .flags = BUSRPC_PROP_WRITE | BUSRPC_PROP_EMITS_TRUE },
};
static const busrpc_signal_desc sigs[] = { { .name = "Marker", .sig = "s" } };
static const busrpc_interface_desc iface = {
        .name = IFACE,
        .properties = props,
        .n_properties = sizeof(props) / sizeof(props[0]),
        .signals = sigs,
        .n_signals = 1,
};

/* Emit Marker(@s) from @o now (not queued). */
static void marker(busrpc_object *o, const char *s) {
        busrpc_msg *m;
        busrpc_iter it;

        if (busrpc_object_signal_new(o, "Marker", &m) < 0)
                tap_bail("signal_new");
        busrpc_msg_append(m, &it);
        busrpc_iter_append_basic(&it, 's', &s);
        if (busrpc_msg_send(m) < 0)
                tap_bail("send");
}

/* The client's output, line by line, into seen[]. */
static char buf[4096];
static size_t buf_len;

static int on_client_output(busrpc_source *src, int fd, uint32_t revents, void *userdata) {
        ssize_t n = read(fd, buf + buf_len, sizeof(buf) - buf_len - 1);
        char *nl;

        (void)src, (void)revents, (void)userdata;
        if (n <= 0)
                return 0;
        buf_len += (size_t)n;
        buf[buf_len] = '\0';
        while ((nl = strchr(buf, '\n'))) {
                *nl = '\0';
                if (strcmp(buf, "LISTENING") != 0 && n_seen < MAX_SEEN)
                        snprintf(seen[n_seen++], sizeof(seen[0]), "%.255s", buf);
                buf_len -= (size_t)(nl + 1 - buf);
                memmove(buf, nl + 1, buf_len + 1);
        }
        if (strstr(buf, "LISTENING"))
                buf_len = 0;
        return 0;
}

/* Iterate until @n signals were seen (at most 10 s: a condition, not a delay). */
static bool wait_seen(unsigned n) {
        for (int i = 0; i < 1000 && n_seen < n; i++)
                busrpc_loop_iterate(loop, 10 * BUSRPC_USEC_PER_MSEC);
        return n_seen >= n;
}

typedef struct Peer {
        busrpc_server *srv;
        busrpc_object *o1, *o2;
        pid_t client;
        int fd;
        busrpc_source *out;
} Peer;

/* A server, and props-client listening to it; returns once it listens. */
static void peer_open(Peer *t, const char *name) {
        const char *top = getenv("top_builddir");
        char addr[200], client[400], peer[220];
        int p[2];

        memset(t, 0, sizeof(*t));
        n_seen = 0;
        buf_len = 0;
        snprintf(addr, sizeof(addr), "unix:path=%s/%s", dir, name);
        snprintf(client, sizeof(client), "%s/tests/props-client", top ? top : ".");
        snprintf(peer, sizeof(peer), "peer:%s", addr);
        if (access(client, X_OK) < 0)
                tap_bail("%s is not built", client);
        if (busrpc_server_new(addr, &t->srv) < 0 ||
            busrpc_object_export(busrpc_server_get_objects(t->srv), O1, &iface, NULL, NULL, &t->o1) < 0 ||
            busrpc_object_export(busrpc_server_get_objects(t->srv), O2, &iface, NULL, NULL, &t->o2) < 0 || pipe(p) < 0)
                tap_bail("server set-up");
        t->client = fork();
        if (t->client == 0) {
                dup2(p[1], 1);
                close(p[0]);
                close(p[1]);
                execl(client, client, peer, "-", "listen", (char *)NULL);
                _exit(127);
        }
        close(p[1]);
        t->fd = p[0];
        if (t->client < 0 || busrpc_loop_add_io(loop, t->fd, EPOLLIN, on_client_output, NULL, &t->out) < 0)
                tap_bail("client set-up");
        /* It prints LISTENING once subscribed; the loop serves it meanwhile. */
        for (int i = 0; i < 1000 && !strstr(buf, "LISTENING") && buf_len == 0; i++)
                busrpc_loop_iterate(loop, 10 * BUSRPC_USEC_PER_MSEC);
        marker(t->o1, "start");
        if (!wait_seen(1) || strcmp(seen[0], "Marker start") != 0)
                tap_bail("props-client did not start listening");
        n_seen = 0;
}

static void peer_close(Peer *t) {
        int status;

        if (t->o1)
                marker(t->o1, "end"); /* the client exits on it */
        if (t->srv)
                busrpc_server_flush(t->srv);
        busrpc_object_release(t->o1);
        busrpc_object_release(t->o2);
        busrpc_server_free(t->srv);
        if (waitpid(t->client, &status, 0) < 0 || !WIFEXITED(status))
                tap_diag("props-client did not exit cleanly");
        busrpc_source_release(t->out);
        close(t->fd);
}

static void test_args(void) {
        Peer t;

        peer_open(&t, "args");
        is_int(busrpc_object_notify(NULL, "A"), -EINVAL, "notify(NULL)");
        is_int(busrpc_object_notify(t.o1, NULL), -EINVAL, "notify of no property");
        is_int(busrpc_object_notify(t.o1, "Nope"), -EINVAL, "notify of an unknown property");
        is_int(busrpc_object_flush_changes(NULL), -EINVAL, "busrpc_object_flush_changes(NULL)");
        is_int(busrpc_objects_flush_changes(NULL), -EINVAL, "busrpc_objects_flush_changes(NULL)");
        is_int(busrpc_object_flush_changes(t.o1), 0, "flush with nothing queued");
        is_int(busrpc_objects_flush_changes(busrpc_server_get_objects(t.srv)), 0, "flush a server with nothing queued");
        ok(busrpc_object_get_server(t.o1) == t.srv, "a server's object: busrpc_object_get_server() is the server");
        ok(busrpc_object_get_conn(t.o1) == NULL, "and busrpc_object_get_conn() NULL");
        peer_close(&t);
}

static void test_coalesce(void) {
        Peer t;

        peer_open(&t, "coalesce");
        value_a = 10;
        is_int(busrpc_object_notify(t.o1, "B"), 0, "notify B");
        is_int(busrpc_object_notify(t.o2, "A"), 0, "notify A on another object");
        is_int(busrpc_object_notify(t.o1, "Inv"), 0, "notify Inv (invalidates)");
        is_int(busrpc_object_notify(t.o1, "A"), 0, "notify A");
        value_a = 11;
        is_int(busrpc_object_notify(t.o1, "B"), 0, "notify B again");
        is_int(busrpc_object_notify(t.o1, "Const"), 0, "notify Const: nothing to send, not an error");
        is_int(busrpc_object_notify(t.o1, "Quiet"), 0, "notify Quiet (emits false)");
        is_int(busrpc_object_notify(t.o1, "Secret"), 0, "notify a write-only property");
        marker(t.o1, "sent-before-the-iteration-ends");
        ok(wait_seen(3), "one marker and two PropertiesChanged arrive");
        is_str(seen[0], "Marker sent-before-the-iteration-ends", "queued changes wait for the next iteration");
        is_str(seen[1], PC1 " B=2 A=11 | Inv", "o1: one signal, properties in the order first changed, the latest value");
        is_str(seen[2], PC2 " A=11 |", "o2: its own signal, after o1's (first changed later)");
        is_int(busrpc_objects_flush_changes(busrpc_server_get_objects(t.srv)), 0, "nothing left to flush");
        marker(t.o1, "end");
        ok(wait_seen(4), "the end marker arrives");
        is_str(seen[3], "Marker end", "and nothing else was sent (const, false, write-only)");
        peer_close(&t);
}

static void test_flush(void) {
        Peer t;

        peer_open(&t, "flush");
        value_b = 5;
        busrpc_object_notify(t.o1, "B");
        busrpc_object_notify(t.o2, "B");
        is_int(busrpc_object_flush_changes(t.o2), 0, "flush o2 alone");
        marker(t.o1, "after-o2");
        is_int(busrpc_objects_flush_changes(busrpc_server_get_objects(t.srv)), 0, "flush the server's objects");
        marker(t.o1, "after-all");
        ok(wait_seen(4), "four signals");
        is_str(seen[0], PC2 " B=5 |", "o2's change goes at once");
        is_str(seen[1], "Marker after-o2", "then the marker");
        is_str(seen[2], PC1 " B=5 |", "o1's, flushed with the server's objects");
        is_str(seen[3], "Marker after-all", "before the next marker");
        peer_close(&t);
}

static void test_getter_fails(void) {
        Peer t;

        peer_open(&t, "getter");
        busrpc_object_notify(t.o1, "Broken");
        busrpc_object_notify(t.o1, "A");
        ok(wait_seen(1), "a signal arrives");
        is_str(seen[0], PC1 " A=11 | Broken", "a getter that fails: the property is invalidated, the others sent");
        peer_close(&t);
}

static void test_server_goes(void) {
        Peer t;
        busrpc_object *o1;

        peer_open(&t, "goes");
        value_a = 42;
        busrpc_object_notify(t.o1, "A");
        busrpc_object_notify(t.o2, "Inv");
        /* No iteration in between: the server goes with the changes queued. */
        o1 = t.o1;
        t.o1 = NULL;
        t.srv = busrpc_server_free(t.srv);
        ok(wait_seen(2), "the changes still arrive");
        is_str(seen[0], PC1 " A=42 |", "o1's change was sent before the server went");
        is_str(seen[1], PC2 " | Inv", "and o2's");
        ok(busrpc_object_get_server(o1) == NULL, "a handle without its server: get_server NULL");
        is_int(busrpc_object_notify(o1, "A"), -ENOTCONN, "a handle without its server: -ENOTCONN");
        is_int(busrpc_object_flush_changes(o1), 0, "nothing to flush on it");
        busrpc_object_release(o1);
        peer_close(&t);
}

/* Many objects changed in one iteration (the queue's index by object),
 * two of them unexported with their changes queued. */
static void test_many(void) {
        busrpc_object *m[N_MANY];
        char path[64], want[256];
        bool in_order = true;
        Peer t;
        int r = 0;

        peer_open(&t, "many");
        for (int i = 0; i < N_MANY; i++) {
                snprintf(path, sizeof(path), O1 "/m/%d", i);
                if (busrpc_object_export(busrpc_server_get_objects(t.srv), path, &iface, NULL, NULL, &m[i]) < 0)
                        tap_bail("export %s", path);
        }
        value_a = 7, value_b = 8;
        for (int i = 0; i < N_MANY && r >= 0; i++)
                r = busrpc_object_notify(m[i], "A");
        for (int i = N_MANY - 1; i >= 0 && r >= 0; i--)
                r = busrpc_object_notify(m[i], "B");
        is_int(r, 0, "A then B queued on 40 objects");
        m[5] = busrpc_object_release(m[5]);
        m[17] = busrpc_object_release(m[17]);
        for (int i = 0; i < N_MANY && r >= 0; i++)
                if (m[i])
                        r = busrpc_object_notify(m[i], "Inv");
        is_int(r, 0, "another change on each of the others, after two left the queue");
        ok(wait_seen(N_MANY), "40 signals");
        is_str(seen[0], "PC " O1 "/m/5 " IFACE " A=7 B=8 |", "an unexported object's changes went first, at once");
        is_str(seen[1], "PC " O1 "/m/17 " IFACE " A=7 B=8 |", "and the second's");
        for (int i = 0, k = 2; i < N_MANY && k < N_MANY; i++) {
                if (i == 5 || i == 17)
                        continue;
                snprintf(want, sizeof(want), "PC " O1 "/m/%d " IFACE " A=7 B=8 | Inv", i);
                if (strcmp(seen[k], want) != 0) {
                        tap_diag("  got \"%s\", want \"%s\"", seen[k], want);
                        in_order = false;
                }
                k++;
        }
        ok(in_order, "the others: one signal each, in the order first changed, all three changes");
        for (int i = 0; i < N_MANY; i++)
                busrpc_object_release(m[i]);
        peer_close(&t);
}

int main(void) {
        char cmd[300];

        if (!mkdtemp(dir))
                tap_bail("mkdtemp");
        if (busrpc_loop_default(&loop) < 0)
                tap_bail("loop");
        TAP_RUN(test_args);
        TAP_RUN(test_coalesce);
        TAP_RUN(test_flush);
        TAP_RUN(test_getter_fails);
        TAP_RUN(test_many);
        TAP_RUN(test_server_goes);
        busrpc_loop_unref(loop);
        dbus_shutdown();
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
                tap_diag("cleanup failed");
        return tap_done();
}
