/* test-fastcall.c: calls made and served on the fast path without a
 * DBusMessage (runtime/fastcall.c, issue 12), both sides busrpc with
 * BUSRPC_FAST_PATH=1 (set here, whatever the environment says), on a peer
 * socket and through a private dbus-daemon.
 *
 * That the fast path is taken is measured, not assumed: this program
 * defines libdbus's message constructors (dbus_message_new*,
 * dbus_message_demarshal, dbus_message_copy) itself, counting each call
 * before handing it to libdbus (tests/libdbus-count.h); libbusrpc's calls
 * bind to these. A control connection opened with BUSRPC_FAST_PATH=0 shows
 * that the counter sees the DBusMessage path; on the fast path a hundred
 * calls make no DBusMessage in the client nor in the server (it counts in
 * its own process and says so through a call).
 *
 * Cases: every descriptor kind round-trips (basic types, variant, enums,
 * flags, nested arrays, maps, structs), fds both ways and their limit per
 * call, a variant holding an fd and an shm method (the
 * DBusMessage path, same results), errors (busrpc_call_fail, an op's
 * -errno, unknown method, a call whose signature does not match: error,
 * and the service keeps serving), @noreply, deferred replies and a
 * deferred error (busrpc_call_get_msg() on a deferred fast call), the
 * caller's unique name, uid and pid (on a bus a sync call from the op),
 * 64 async calls in flight and a cancelled one, the limit of calls in
 * progress per served peer;
 * busctl, gdbus and python3-dbus calling the fast-path server; the
 * fast-path client calling a python3-dbus service. Both processes stop
 * cleanly and call dbus_shutdown(): test-fastcall-valgrind.sh runs it
 * under valgrind.
 */
#include <dbus/dbus.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <busrpc/busrpc.h>

#include "libdbus-count.h"
#include "marshal-types.h"
#include "tap.h"
#include "bus-fixture.h"

#define NAME     "org.busrpc.test.Fast"
#define IFACE    "org.busrpc.test.Fast"
#define OBJ_PATH "/org/busrpc/test/fast"
#define UTF8     "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xf0\x9f\x98\x80"

/* ------------------------------------------------------------------ */
/* The interface, in descriptors                                        */

typedef struct AddIn {
        int32_t a, b;
} AddIn;
typedef struct AddOut {
        int32_t sum;
} AddOut;
static const busrpc_field add_in_fields[] = { FIELD(busrpc_type_int32, AddIn, a),
                                              FIELD(busrpc_type_int32, AddIn, b) };
static const busrpc_args add_in = { "ii", add_in_fields, 2, sizeof(AddIn) };
static const busrpc_field add_out_fields[] = { FIELD(busrpc_type_int32, AddOut, sum) };
static const busrpc_args add_out = { "i", add_out_fields, 1, sizeof(AddOut) };
static const busrpc_args no_args = { "", NULL, 0, 0 };

typedef struct OneInt {
        int32_t a;
} OneInt;
static const busrpc_field one_int_fields[] = { FIELD(busrpc_type_int32, OneInt, a) };
static const busrpc_args one_int = { "i", one_int_fields, 1, sizeof(OneInt) };

/* every kind: Basics (every basic type and a variant), Nest (arrays,
 * maps, nested containers, enums as keys, an fd array), EnumSet */
typedef struct EchoArgs {
        Basics a;
        Nest n;
        EnumSet e;
} EchoArgs;
static const busrpc_field echo_fields[] = { FIELD(basics_type, EchoArgs, a), FIELD(nest_type, EchoArgs, n),
                                            FIELD(enum_set_type, EchoArgs, e) };
#define ECHO_SIG "(bynqiuxtdsogv)(aa{si}aa(bynqiuxtdsogv)a{ua{sv}}aya{yq}abahadai)(yntqux)"
static const busrpc_args echo_args = { ECHO_SIG, echo_fields, 3, sizeof(EchoArgs) };

typedef struct FdIn {
        int fd;
} FdIn;
typedef struct FdOut {
        int fd;
        char *text;
} FdOut;
static const busrpc_field fd_in_fields[] = { FIELD(busrpc_type_fd, FdIn, fd) };
static const busrpc_args fd_in = { "h", fd_in_fields, 1, sizeof(FdIn) };
static const busrpc_field fd_out_fields[] = { FIELD(busrpc_type_fd, FdOut, fd),
                                              FIELD(busrpc_type_string, FdOut, text) };
static const busrpc_args fd_out = { "hs", fd_out_fields, 2, sizeof(FdOut) };

typedef struct BlobIn {
        busrpc_shm *data;
} BlobIn;
typedef struct BlobOut {
        uint64_t size;
        uint64_t sum;
} BlobOut;
static const busrpc_field blob_in_fields[] = { FIELD(busrpc_type_shm, BlobIn, data) };
static const busrpc_args blob_in = { "h", blob_in_fields, 1, sizeof(BlobIn) };
static const busrpc_field blob_out_fields[] = { FIELD(busrpc_type_uint64, BlobOut, size),
                                                FIELD(busrpc_type_uint64, BlobOut, sum) };
static const busrpc_args blob_out = { "tt", blob_out_fields, 2, sizeof(BlobOut) };

typedef struct FireIn {
        char *what;
        I32Array nums;
} FireIn;
static const busrpc_field fire_in_fields[] = { FIELD(busrpc_type_string, FireIn, what),
                                               FIELD(i32_array_type, FireIn, nums) };
static const busrpc_args fire_in = { "sai", fire_in_fields, 2, sizeof(FireIn) };

typedef struct StatsOut {
        uint64_t msgs;  /* DBusMessages the server made so far */
        uint64_t calls; /* ops run */
        char *last_fire;
} StatsOut;
static const busrpc_field stats_fields[] = { FIELD(busrpc_type_uint64, StatsOut, msgs),
                                             FIELD(busrpc_type_uint64, StatsOut, calls),
                                             FIELD(busrpc_type_string, StatsOut, last_fire) };
static const busrpc_args stats_out = { "tts", stats_fields, 3, sizeof(StatsOut) };

typedef struct StrArg {
        char *s;
} StrArg;
static const busrpc_field str_arg_fields[] = { FIELD(busrpc_type_string, StrArg, s) };
static const busrpc_args str_arg = { "s", str_arg_fields, 1, sizeof(StrArg) };

typedef struct SenderOut {
        char *sender;
        int64_t uid, pid; /* -1: not known */
} SenderOut;
static const busrpc_field sender_out_fields[] = { FIELD(busrpc_type_string, SenderOut, sender),
                                                  FIELD(busrpc_type_int64, SenderOut, uid),
                                                  FIELD(busrpc_type_int64, SenderOut, pid) };
static const busrpc_args sender_out = { "sxx", sender_out_fields, 3, sizeof(SenderOut) };

typedef struct LaterOut {
        int32_t sum;
        char *member; /* what busrpc_call_get_msg() of the kept call says */
        char *sig;
} LaterOut;
static const busrpc_field later_out_fields[] = { FIELD(busrpc_type_int32, LaterOut, sum),
                                                 FIELD(busrpc_type_string, LaterOut, member),
                                                 FIELD(busrpc_type_string, LaterOut, sig) };
static const busrpc_args later_out = { "iss", later_out_fields, 3, sizeof(LaterOut) };

/* ------------------------------------------------------------------ */
/* The server (a child process)                                         */

typedef struct Server {
        busrpc_conn *conn;
        busrpc_server *peers;
        busrpc_object *obj, *peer_obj;
        uint64_t calls;
        char *last_fire;
        busrpc_call *deferred;
        AddIn deferred_in;
        bool deferred_fail;
        busrpc_source *timer;
        busrpc_call *held[4]; /* Hold: never answered until Release */
        unsigned n_held;
} Server;

static int op_add(busrpc_call *call, const void *ops, void *self, void *in, void *out) {
        const AddIn *i = in;

        (void)call, (void)ops;
        ((Server *)self)->calls++;
        ((AddOut *)out)->sum = i->a + i->b;
        return 0;
}

static int op_echo(busrpc_call *call, const void *ops, void *self, void *in, void *out) {
        const EchoArgs *i = in;
        EchoArgs *o = out;
        int r;

        (void)call, (void)ops;
        ((Server *)self)->calls++;
        r = busrpc_value_copy(&basics_type, &o->a, &i->a);
        if (r >= 0)
                r = busrpc_value_copy(&nest_type, &o->n, &i->n);
        o->e = i->e;
        return r;
}

/* Reads what the fd holds, answers it and the same file. */
static int op_fd(busrpc_call *call, const void *ops, void *self, void *in, void *out) {
        int fd = ((FdIn *)in)->fd;
        FdOut *o = out;
        char buf[128];
        ssize_t n;

        (void)call, (void)ops;
        ((Server *)self)->calls++;
        n = pread(fd, buf, sizeof(buf) - 1, 0);
        if (n < 0)
                return -errno;
        buf[n] = '\0';
        o->text = strdup(buf);
        o->fd = dup(fd);
        return o->text && o->fd >= 0 ? 0 : -ENOMEM;
}

static int op_blob(busrpc_call *call, const void *ops, void *self, void *in, void *out) {
        busrpc_shm *s = ((BlobIn *)in)->data;
        const uint8_t *p = busrpc_shm_const_data(s);
        BlobOut *o = out;

        (void)call, (void)ops;
        ((Server *)self)->calls++;
        o->size = busrpc_shm_size(s);
        for (size_t i = 0; p && i < o->size; i++)
                o->sum += p[i];
        return 0;
}

static int op_fire(busrpc_call *call, const void *ops, void *self, void *in, void *out) {
        Server *s = self;
        const FireIn *f = in;
        char buf[96];
        int32_t sum = 0;

        (void)call, (void)ops, (void)out;
        s->calls++;
        for (size_t i = 0; i < f->nums.n; i++)
                sum += f->nums.items[i];
        snprintf(buf, sizeof(buf), "%s:%d:%s", f->what, sum,
                 busrpc_call_no_reply_expected(call) ? "noreply" : "reply");
        free(s->last_fire);
        s->last_fire = strdup(buf);
        return 0;
}

static int op_stats(busrpc_call *call, const void *ops, void *self, void *in, void *out) {
        Server *s = self;
        StatsOut *o = out;

        (void)call, (void)ops, (void)in;
        o->msgs = msgs_made;
        o->calls = s->calls;
        o->last_fire = strdup(s->last_fire ? s->last_fire : "");
        return o->last_fire ? 0 : -ENOMEM;
}

static int op_fail(busrpc_call *call, const void *ops, void *self, void *in, void *out) {
        (void)ops, (void)self, (void)in, (void)out;
        return busrpc_call_fail(call, "org.busrpc.test.Error.Nope", "nope %d " UTF8, 42);
}

static int op_errno(busrpc_call *call, const void *ops, void *self, void *in, void *out) {
        (void)call, (void)ops, (void)self, (void)in, (void)out;
        return -EACCES;
}

/* Who calls: the sender, and uid and pid (on a bus the op asks the
 * bus, a sync call from inside a call served on the fast path). */
static int op_sender(busrpc_call *call, const void *ops, void *self, void *in, void *out) {
        const char *s = busrpc_call_get_sender(call);
        SenderOut *o = out;
        uid_t uid;
        pid_t pid;

        (void)ops, (void)self, (void)in;
        o->uid = busrpc_call_get_uid(call, &uid) == 0 ? (int64_t)uid : -1;
        o->pid = busrpc_call_get_pid(call, &pid) == 0 ? (int64_t)pid : -1;
        o->sender = strdup(s ? s : "");
        return o->sender ? 0 : -ENOMEM;
}

static int later_fire(busrpc_source *src, void *userdata) {
        Server *s = userdata;
        busrpc_call *call = s->deferred;
        busrpc_msg *m;
        LaterOut o = { 0 };

        (void)src;
        s->deferred = NULL;
        s->timer = busrpc_source_release(s->timer);
        if (s->deferred_fail) {
                busrpc_call_fail(call, "org.busrpc.test.Error.Late", "late %d", s->deferred_in.a);
        } else {
                /* The message of a kept call, after its op returned. */
                m = busrpc_call_get_msg(call);
                o.sum = s->deferred_in.a + s->deferred_in.b;
                o.member = (char *)(m ? busrpc_msg_get_member(m) : "(none)");
                o.sig = (char *)(m ? busrpc_msg_get_signature(m) : "(none)");
                busrpc_call_reply_args(call, &later_out, &o);
        }
        busrpc_call_unref(call);
        return 0;
}

static int defer(busrpc_call *call, Server *s, const AddIn *in, bool fail) {
        if (s->deferred)
                return busrpc_call_fail(call, "org.busrpc.test.Error.Busy", "one at a time");
        s->calls++;
        s->deferred = busrpc_call_ref(call);
        s->deferred_in = *in;
        s->deferred_fail = fail;
        if (busrpc_loop_add_timer(busrpc_conn_get_loop(s->conn), 2000, false, later_fire, s, &s->timer) <
            0) {
                s->deferred = busrpc_call_unref(s->deferred);
                return -ENOMEM;
        }
        return BUSRPC_DEFER;
}

static int op_later(busrpc_call *call, const void *ops, void *self, void *in, void *out) {
        (void)ops, (void)out;
        return defer(call, self, in, false);
}

static int op_later_fail(busrpc_call *call, const void *ops, void *self, void *in, void *out) {
        (void)ops, (void)out;
        return defer(call, self, in, true);
}

static int op_hold(busrpc_call *call, const void *ops, void *self, void *in, void *out) {
        Server *s = self;

        (void)ops, (void)in, (void)out;
        if (s->n_held == sizeof(s->held) / sizeof(s->held[0]))
                return busrpc_call_fail(call, "org.busrpc.test.Error.Busy", "held enough");
        s->held[s->n_held++] = busrpc_call_ref(call);
        return BUSRPC_DEFER;
}

typedef struct CountOut {
        uint32_t n;
} CountOut;
static const busrpc_field count_out_fields[] = { FIELD(busrpc_type_uint32, CountOut, n) };
static const busrpc_args count_out = { "u", count_out_fields, 1, sizeof(CountOut) };

static int op_release(busrpc_call *call, const void *ops, void *self, void *in, void *out) {
        Server *s = self;

        (void)call, (void)ops, (void)in;
        ((CountOut *)out)->n = s->n_held;
        while (s->n_held > 0) {
                busrpc_call *held = s->held[--s->n_held];

                busrpc_call_reply_args(held, &no_args, NULL);
                busrpc_call_unref(held);
        }
        return 0;
}

#define METHOD(name, sig_in, sig_out, in, out, op, flags)                                                   \
        { name, sig_in, sig_out, NULL, flags, &(in), &(out), op }
static const busrpc_method_desc methods[] = {
        METHOD("Add", "ii", "i", add_in, add_out, op_add, 0),
        METHOD("Echo", ECHO_SIG, ECHO_SIG, echo_args, echo_args, op_echo, 0),
        METHOD("Fd", "h", "hs", fd_in, fd_out, op_fd, 0),
        METHOD("Blob", "h", "tt", blob_in, blob_out, op_blob, 0),
        METHOD("Fire", "sai", "", fire_in, no_args, op_fire, BUSRPC_METHOD_NOREPLY),
        METHOD("Stats", "", "tts", no_args, stats_out, op_stats, 0),
        METHOD("Fail", "", "", no_args, no_args, op_fail, 0),
        METHOD("Errno", "", "", no_args, no_args, op_errno, 0),
        METHOD("Sender", "", "sxx", no_args, sender_out, op_sender, 0),
        METHOD("Later", "ii", "iss", add_in, later_out, op_later, 0),
        METHOD("LaterFail", "ii", "", add_in, no_args, op_later_fail, 0),
        METHOD("Hold", "", "", no_args, no_args, op_hold, 0),
        METHOD("Release", "", "u", no_args, count_out, op_release, 0),
};

static const busrpc_interface_desc iface = {
        .name = IFACE,
        .xml = "  <interface name=\"" IFACE "\"/>\n",
        .methods = methods,
        .n_methods = sizeof(methods) / sizeof(methods[0]),
};

static char dir[64];
static char address[128];
static char peer_address[128];
static pid_t daemon_pid = -1, server_pid = -1;

static int run_server(int ready_fd) {
        busrpc_server_limits lim;
        Server srv = { 0 };
        int r;

        setenv("BUSRPC_FAST_PATH", "1", 1);
        r = busrpc_conn_open(address, &srv.conn);
        if (r < 0)
                return 10;
        r = busrpc_conn_request_name(srv.conn, NAME, BUSRPC_NAME_DO_NOT_QUEUE, NULL, NULL, NULL);
        if (r != 0)
                return 11;
        r = busrpc_object_export(busrpc_conn_get_objects(srv.conn), OBJ_PATH, &iface, "ops", &srv, &srv.obj);
        if (r >= 0)
                r = busrpc_conn_set_max_call_fds(srv.conn, 4);
        if (r < 0)
                return 12;
        r = busrpc_server_new(peer_address, &srv.peers);
        if (r >= 0)
                r = busrpc_object_export(busrpc_server_get_objects(srv.peers), OBJ_PATH, &iface, "ops", &srv,
                                         &srv.peer_obj);
        /* 4 fds per call as on the bus; two calls in progress per peer (Hold keeps them) */
        if (r >= 0)
                r = busrpc_server_get_limits(srv.peers, &lim);
        if (r >= 0) {
                lim.max_call_fds = 4;
                lim.max_pending_calls = 2;
                r = busrpc_server_set_limits(srv.peers, &lim);
        }
        if (r < 0)
                return 13;
        if (write(ready_fd, "R", 1) != 1)
                return 14;
        close(ready_fd);
        r = busrpc_conn_run(srv.conn);
        if (srv.deferred) {
                busrpc_call_unref(srv.deferred);
                busrpc_source_release(srv.timer);
        }
        while (srv.n_held > 0)
                busrpc_call_unref(srv.held[--srv.n_held]);
        busrpc_object_release(srv.obj);
        busrpc_object_release(srv.peer_obj);
        busrpc_server_free(srv.peers);
        busrpc_conn_unref(srv.conn);
        free(srv.last_fire);
        dbus_shutdown();
        return r < 0 ? 15 : 0;
}

/* ------------------------------------------------------------------ */
/* Processes                                                            */

static pid_t main_pid;

/* A bail-out still stops what this process started, by its pid. */
static void cleanup(void) {
        char cmd[128];

        if (getpid() != main_pid)
                return;
        if (server_pid > 0)
                kill(server_pid, SIGTERM);
        if (daemon_pid > 0)
                kill(daemon_pid, SIGTERM);
        if (dir[0]) {
                snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
                if (system(cmd) != 0)
                        fprintf(stderr, "could not remove %s\n", dir);
        }
}

/* The private daemon: tests/bus-fixture.h's, kept in this file's globals. */
static BusFixture daemon_fixture;

static void start_daemon(void) {
        fixture_start_daemon(&daemon_fixture, "fastcall", NULL);
        snprintf(dir, sizeof(dir), "%s", daemon_fixture.dir);
        snprintf(address, sizeof(address), "%s", daemon_fixture.address);
        snprintf(peer_address, sizeof(peer_address), "unix:path=%s/p/sock", dir);
        daemon_pid = daemon_fixture.daemon_pid;
}

static void start_server(void) {
        int p[2];
        char c;

        if (pipe(p) < 0)
                tap_bail("pipe");
        fflush(stdout);
        server_pid = fork();
        if (server_pid < 0)
                tap_bail("fork");
        if (server_pid == 0) {
                close(p[0]);
                exit(run_server(p[1]));
        }
        close(p[1]);
        if (read(p[0], &c, 1) != 1) {
                int status = 0;
                waitpid(server_pid, &status, 0);
                tap_bail("the server process did not start (exit status %d)",
                         WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        }
        close(p[0]);
}

/* The output of @argv (argv[0] run from $PATH), stdout and stderr. */
static char *run_peer(const char *const *argv) {
        static char out[4096];
        int p[2], status;
        ssize_t got, len = 0;
        pid_t pid;

        if (pipe(p) < 0)
                tap_bail("pipe");
        fflush(stdout);
        pid = fork();
        if (pid == 0) {
                dup2(p[1], 1);
                dup2(p[1], 2);
                close(p[0]);
                close(p[1]);
                execvp(argv[0], (char *const *)argv);
                _exit(127);
        }
        close(p[1]);
        while (len < (ssize_t)sizeof(out) - 1 &&
               (got = read(p[0], out + len, sizeof(out) - 1 - (size_t)len)) > 0)
                len += got;
        close(p[0]);
        out[len] = '\0';
        waitpid(pid, &status, 0);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
                tap_bail("%s not found: it is needed (busctl, gdbus, /usr/bin/python3 with python3-dbus)",
                         argv[0]);
        while (len > 0 && out[len - 1] == '\n')
                out[--len] = '\0';
        return out;
}

static int count_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *e;
        int n = 0;

        if (!d)
                return -1;
        while ((e = readdir(d)))
                n += e->d_name[0] != '.';
        closedir(d);
        return n - 1;
}

static bool same_file(int a, int b) {
        struct stat sa, sb;

        return a >= 0 && b >= 0 && fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_ino == sb.st_ino &&
               sa.st_dev == sb.st_dev;
}

/* ------------------------------------------------------------------ */
/* The client                                                           */

static const busrpc_remote_method r_add = { IFACE, "Add", &add_in, &add_out, 0 };
static const busrpc_remote_method r_echo = { IFACE, "Echo", &echo_args, &echo_args, 0 };
static const busrpc_remote_method r_fd = { IFACE, "Fd", &fd_in, &fd_out, 0 };
static const busrpc_remote_method r_blob = { IFACE, "Blob", &blob_in, &blob_out, 0 };
static const busrpc_remote_method r_fire = { IFACE, "Fire", &fire_in, NULL, BUSRPC_METHOD_NOREPLY };
static const busrpc_remote_method r_stats = { IFACE, "Stats", NULL, &stats_out, 0 };
static const busrpc_remote_method r_fail = { IFACE, "Fail", NULL, NULL, 0 };
static const busrpc_remote_method r_errno = { IFACE, "Errno", NULL, NULL, 0 };
static const busrpc_remote_method r_sender = { IFACE, "Sender", NULL, &sender_out, 0 };
static const busrpc_remote_method r_later = { IFACE, "Later", &add_in, &later_out, 0 };
static const busrpc_remote_method r_later_fail = { IFACE, "LaterFail", &add_in, NULL, 0 };
static const busrpc_remote_method r_nope = { IFACE, "Nope", NULL, NULL, 0 };
/* Add with one argument: the server's signature check */
static const busrpc_remote_method r_add_one = { IFACE, "Add", &one_int, &add_out, 0 };
/* Add, expecting a string back: the client's signature check */
static const busrpc_remote_method r_add_str = { IFACE, "Add", &add_in, &str_arg, 0 };

typedef struct Side {
        const char *name; /* "peer", "bus" */
        busrpc_conn *conn;
        busrpc_proxy *proxy;
} Side;

static StatsOut stats(Side *s) {
        StatsOut o = { 0 };
        busrpc_error err = BUSRPC_ERROR_INIT;

        if (busrpc_proxy_invoke(s->proxy, &r_stats, NULL, &o, &err) < 0)
                tap_diag("%s: Stats: %s", s->name, err.message ? err.message : "?");
        busrpc_error_clear(&err);
        return o;
}

static int add(Side *s, int32_t a, int32_t b, int32_t *sum, busrpc_error *err) {
        AddIn in = { a, b };
        AddOut out = { 0 };
        int r = busrpc_proxy_invoke(s->proxy, &r_add, &in, &out, err);

        *sum = out.sum;
        return r;
}

/* No DBusMessage on either side for calls on the fast path. */
static void test_no_message(Side *s) {
        StatsOut before, after;
        unsigned long mine;
        int32_t sum = 0;
        int bad = 0;

        before = stats(s);
        mine = msgs_made;
        for (int i = 0; i < 100; i++)
                if (add(s, i, 1000, &sum, NULL) < 0 || sum != i + 1000)
                        bad++;
        after = stats(s);
        is_int(bad, 0, "100 Adds answered right");
        ok(after.calls == before.calls + 100, "%s: the server ran 100 ops (%llu)", s->name,
           (unsigned long long)(after.calls - before.calls));
        ok(msgs_made == mine, "%s: the client made no DBusMessage for 101 calls (%lu)", s->name,
           msgs_made - mine);
        ok(after.msgs == before.msgs, "%s: the server made no DBusMessage for them (%llu)", s->name,
           (unsigned long long)(after.msgs - before.msgs));
        busrpc_value_clear(&busrpc_type_string, &before.last_fire);
        busrpc_value_clear(&busrpc_type_string, &after.last_fire);
}

typedef struct Build {
        const busrpc_type *type;
        const void *value;
} Build;

static int build_value(busrpc_iter *it, void *userdata) {
        Build *b = userdata;

        return busrpc_value_append(it, b->type, b->value);
}

/* Equal values: the same bytes once marshalled (no fds in them). */
static bool values_equal(const busrpc_type *t, const void *a, const void *b) {
        Build ba = { t, a }, bb = { t, b };
        busrpc_variant *va = NULL, *vb = NULL;
        bool eq;

        if (busrpc_variant_new_built(t->signature, build_value, &ba, &va) < 0 ||
            busrpc_variant_new_built(t->signature, build_value, &bb, &vb) < 0) {
                busrpc_variant_unref(va);
                return false;
        }
        eq = busrpc_variant_equal(va, vb);
        busrpc_variant_unref(va);
        busrpc_variant_unref(vb);
        return eq;
}

static int build_fd(busrpc_iter *it, void *userdata) {
        return busrpc_iter_append_fd(it, *(int *)userdata);
}

static Basics sample_basics(int k) {
        Basics b = { .b = k & 1,
                     .y = (uint8_t)(200 + k),
                     .n = INT16_MIN + k,
                     .q = UINT16_MAX - k,
                     .i = INT32_MIN + k,
                     .u = UINT32_MAX - k,
                     .x = INT64_MIN + k,
                     .t = UINT64_MAX - k,
                     .d = -1.5e300 + k };

        b.s = strdup(UTF8);
        b.o = strdup("/a/b_c");
        b.g = strdup("a{sv}(ii)");
        busrpc_variant_new_int32(k * 7, &b.v);
        return b;
}

static void test_echo(Side *s) {
        Basics row[2] = { sample_basics(1), sample_basics(2) };
        BasicsArray rows[] = { { row, 2 }, { NULL, 0 } };
        char *keys0[] = { "a", "b" };
        int32_t vals0[] = { 1, -1 };
        SIMap maps[] = { { keys0, vals0, 2 }, { NULL, NULL, 0 } };
        busrpc_variant *vv[2] = { NULL, NULL };
        char *svk[] = { "x", "y" };
        SVMap svm[1];
        uint32_t dk[] = { 7 };
        Small smalls[] = { SMALL_TWO, SMALL_ZERO, SMALL_ONE };
        Small ek[] = { SMALL_ONE, SMALL_TWO };
        Bits ev[] = { BITS_A | BITS_C, 0 };
        bool flags[] = { true, false, true };
        double ds[] = { 0.5, -2.25, 1e300 };
        int32_t ints[300];
        EchoArgs in, out;
        busrpc_error err = BUSRPC_ERROR_INIT;
        int r;

        busrpc_variant_new_string("s", &vv[0]);
        busrpc_variant_new_uint64(UINT64_MAX, &vv[1]);
        svm[0] = (SVMap){ svk, vv, 2 };
        for (int i = 0; i < 300; i++)
                ints[i] = i * i - 500;
        memset(&in, 0, sizeof(in));
        in.a = sample_basics(3);
        in.n.maps = (SIMapArray){ maps, 2 };
        in.n.grid = (Grid){ rows, 2 };
        in.n.deep = (Deep){ dk, svm, 1 };
        in.n.smalls = (SmallArray){ smalls, 3 };
        in.n.by_enum = (ByEnum){ ek, ev, 2 };
        in.n.flags_list = (BoolArray){ flags, 3 };
        in.n.ds = (DArray){ ds, 3 };
        in.n.ints = (I32Array){ ints, 300 };
        in.e = (EnumSet){
                SMALL_TWO, SIGNED_NEG, UINT64_MAX, BITS_B | BITS_C, WIDE_TOP | WIDE_LOW, INT64_MIN
        };
        r = busrpc_proxy_invoke(s->proxy, &r_echo, &in, &out, &err);
        ok(r == 0, "%s: Echo of every kind (%s)", s->name, err.message ? err.message : "ok");
        if (r == 0) {
                ok(values_equal(&basics_type, &in.a, &out.a),
                   "%s: every basic type and the variant came back", s->name);
                ok(values_equal(&nest_type, &in.n, &out.n), "%s: arrays, maps, enum keys, nesting came back",
                   s->name);
                ok(values_equal(&enum_set_type, &in.e, &out.e),
                   "%s: enums and flags of every width came back", s->name);
                busrpc_value_clear(&basics_type, &out.a);
                busrpc_value_clear(&nest_type, &out.n);
        }
        busrpc_error_clear(&err);
        /* A variant holding an fd: the wire writer does not carry one
         * yet, so both sides take the DBusMessage path for this call. */
        {
                int fd = memfd_create("variant", MFD_CLOEXEC), got = -1;
                busrpc_variant *v = NULL;
                busrpc_iter it;

                if (fd < 0 || busrpc_variant_new_built("h", build_fd, &fd, &v) < 0)
                        tap_bail("a variant holding an fd");
                busrpc_variant_unref(in.a.v);
                in.a.v = v;
                r = busrpc_proxy_invoke(s->proxy, &r_echo, &in, &out, &err);
                ok(r == 0, "%s: Echo of a variant holding an fd (%s)", s->name,
                   err.message ? err.message : "ok");
                if (r == 0) {
                        is_str(busrpc_variant_get_signature(out.a.v), "h",
                               "the variant came back holding an fd");
                        if (busrpc_variant_read(out.a.v, &it) >= 0 && busrpc_iter_get_fd(&it, &got) >= 0)
                                ok(same_file(fd, got), "%s: the same file", s->name);
                        else
                                ok(0, "%s: the fd in the variant can be read", s->name);
                        if (got >= 0)
                                close(got);
                        busrpc_value_clear(&basics_type, &out.a);
                        busrpc_value_clear(&nest_type, &out.n);
                }
                busrpc_error_clear(&err);
                close(fd);
        }
        /* An undeclared enum value is refused before it is sent. */
        in.e.s = (Small)7;
        r = busrpc_proxy_invoke(s->proxy, &r_echo, &in, &out, &err);
        is_int(r, -EINVAL, "an undeclared enum value is not sent (-EINVAL)");
        busrpc_error_clear(&err);
        busrpc_value_clear(&basics_type, &in.a);
        busrpc_value_clear(&basics_type, &row[0]);
        busrpc_value_clear(&basics_type, &row[1]);
        busrpc_variant_unref(vv[0]);
        busrpc_variant_unref(vv[1]);
}

static void test_errors(Side *s) {
        busrpc_error err = BUSRPC_ERROR_INIT;
        OneInt one = { 5 };
        AddIn in = { 1, 2 };
        StrArg str = { NULL };
        AddOut out;
        int32_t sum = 0;
        int r;

        r = busrpc_proxy_invoke(s->proxy, &r_fail, NULL, NULL, &err);
        is_int(r, -EREMOTEIO, "busrpc_call_fail() in the op: -EREMOTEIO");
        is_str(err.name, "org.busrpc.test.Error.Nope", "its error name");
        is_str(err.message, "nope 42 " UTF8, "its message (UTF-8)");
        busrpc_error_clear(&err);
        r = busrpc_proxy_invoke(s->proxy, &r_errno, NULL, NULL, &err);
        is_int(r, -EREMOTEIO, "an op's -EACCES: -EREMOTEIO");
        is_str(err.name, BUSRPC_ERROR_FAILED, "as Failed, with strerror");
        busrpc_error_clear(&err);
        r = busrpc_proxy_invoke(s->proxy, &r_nope, NULL, NULL, &err);
        is_int(r, -EREMOTEIO, "an unknown method");
        is_str(err.name, BUSRPC_ERROR_UNKNOWN_METHOD, "UnknownMethod");
        busrpc_error_clear(&err);
        r = busrpc_proxy_invoke(s->proxy, &r_add_one, &one, &out, &err);
        is_int(r, -EREMOTEIO, "Add with signature 'i'");
        is_str(err.name, BUSRPC_ERROR_INVALID_ARGS, "InvalidArgs");
        ok(err.message && strstr(err.message, "expected signature 'ii'"),
           "%s: the message names the signature (%s)", s->name, err.message ? err.message : "");
        busrpc_error_clear(&err);
        r = add(s, 20, 22, &sum, &err);
        ok(r == 0 && sum == 42, "%s: the service keeps serving after a bad call", s->name);
        busrpc_error_clear(&err);
        r = busrpc_proxy_invoke(s->proxy, &r_add_str, &in, &str, &err);
        is_int(r, -EBADMSG, "a reply of another signature than .out: -EBADMSG");
        is_str(err.name, BUSRPC_ERROR_INVALID_ARGS, "InvalidArgs");
        ok(str.s == NULL, "%s: the outputs stay empty", s->name);
        busrpc_error_clear(&err);
}

static void test_noreply(Side *s) {
        int32_t nums[] = { 1, 2, 3 };
        FireIn f = { "shot", { nums, 3 } };
        busrpc_error err = BUSRPC_ERROR_INIT;
        StatsOut st;
        int r;

        r = busrpc_proxy_invoke(s->proxy, &r_fire, &f, NULL, &err);
        is_int(r, 0, "a @noreply call is sent");
        /* Calls on one connection are served in order: Stats sees it. */
        st = stats(s);
        is_str(st.last_fire, "shot:6:noreply", "the server ran it, with the no-reply flag set");
        busrpc_value_clear(&busrpc_type_string, &st.last_fire);
        busrpc_error_clear(&err);
}

static void test_fds(Side *s) {
        int fd = memfd_create("fastcall", MFD_CLOEXEC), n0;
        busrpc_error err = BUSRPC_ERROR_INIT;
        FdIn in;
        FdOut out = { -1, NULL };
        int r;

        if (fd < 0 || write(fd, "fd payload", 10) != 10)
                tap_bail("memfd");
        n0 = count_fds();
        in.fd = fd;
        r = busrpc_proxy_invoke(s->proxy, &r_fd, &in, &out, &err);
        ok(r == 0, "%s: an fd sent and one received (%s)", s->name, err.message ? err.message : "ok");
        is_str(out.text, "fd payload", "the server read the fd we sent");
        ok(same_file(fd, out.fd), "%s: the fd it answered is the same file", s->name);
        busrpc_value_clear(&busrpc_type_fd, &out.fd);
        busrpc_value_clear(&busrpc_type_string, &out.text);
        is_int(count_fds(), n0, "no fd left behind by the call");
        busrpc_error_clear(&err);
        close(fd);
}

/* The server allows 4 fds per call (busrpc_conn_set_max_call_fds()). */
static void test_fd_limit(Side *s) {
        int fds[5], n0 = count_fds();
        busrpc_error err = BUSRPC_ERROR_INIT;
        EchoArgs in, out;
        int r;

        for (int i = 0; i < 5; i++)
                if ((fds[i] = memfd_create("limit", MFD_CLOEXEC)) < 0)
                        tap_bail("memfd");
        memset(&in, 0, sizeof(in));
        in.a = sample_basics(4);
        in.n.fds = (FdArray){ fds, 5 };
        in.e = (EnumSet){ SMALL_ONE, SIGNED_POS, 1, BITS_A, WIDE_LOW, 5 };
        r = busrpc_proxy_invoke(s->proxy, &r_echo, &in, &out, &err);
        is_int(r, -EREMOTEIO, "5 fds in one call, 4 allowed: refused");
        is_str(err.name, BUSRPC_ERROR_LIMITS_EXCEEDED, "LimitsExceeded");
        busrpc_error_clear(&err);
        in.n.fds.n = 4;
        r = busrpc_proxy_invoke(s->proxy, &r_echo, &in, &out, &err);
        ok(r == 0, "%s: 4 fds: served (%s)", s->name, err.message ? err.message : "ok");
        if (r == 0) {
                ok(out.n.fds.n == 4 && same_file(fds[3], out.n.fds.items[3]), "%s: and echoed", s->name);
                busrpc_value_clear(&basics_type, &out.a);
                busrpc_value_clear(&nest_type, &out.n);
        }
        busrpc_error_clear(&err);
        busrpc_value_clear(&basics_type, &in.a);
        for (int i = 0; i < 5; i++)
                close(fds[i]);
        is_int(count_fds(), n0, "no fd left behind");
}

static void test_shm(Side *s) {
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_shm *shm = NULL;
        BlobIn in;
        BlobOut out = { 0, 0 };
        uint8_t *p;
        int r;

        if (busrpc_shm_new(4096, &shm) < 0 || !(p = busrpc_shm_data(shm)))
                tap_bail("busrpc_shm_new");
        for (int i = 0; i < 4096; i++)
                p[i] = (uint8_t)i;
        in.data = shm;
        r = busrpc_proxy_invoke(s->proxy, &r_blob, &in, &out, &err);
        ok(r == 0, "%s: an shm method (%s)", s->name, err.message ? err.message : "ok");
        ok(out.size == 4096, "%s: the server saw its size (%llu)", s->name, (unsigned long long)out.size);
        {
                uint64_t want = 0;
                for (int i = 0; i < 4096; i++)
                        want += (uint8_t)i;
                is_int(out.sum, want, "the sum of its bytes");
        }
        busrpc_shm_unref(shm);
        busrpc_error_clear(&err);
}

static void test_deferred(Side *s) {
        busrpc_error err = BUSRPC_ERROR_INIT;
        AddIn in = { 30, 12 };
        LaterOut out = { 0 };
        int r;

        r = busrpc_proxy_invoke(s->proxy, &r_later, &in, &out, &err);
        ok(r == 0, "%s: a deferred reply arrives (%s)", s->name, err.message ? err.message : "ok");
        is_int(out.sum, 42, "with its value");
        is_str(out.member, "Later", "busrpc_call_get_msg() of the kept call: its member");
        is_str(out.sig, "ii", "and its signature");
        busrpc_value_clear(&busrpc_type_string, &out.member);
        busrpc_value_clear(&busrpc_type_string, &out.sig);
        busrpc_error_clear(&err);
        in.a = 9;
        r = busrpc_proxy_invoke(s->proxy, &r_later_fail, &in, NULL, &err);
        is_int(r, -EREMOTEIO, "a deferred error");
        is_str(err.name, "org.busrpc.test.Error.Late", "its name");
        is_str(err.message, "late 9", "its message");
        busrpc_error_clear(&err);
}

static void test_sender(Side *s) {
        busrpc_error err = BUSRPC_ERROR_INIT;
        SenderOut out = { NULL, 0, 0 };
        const char *me = busrpc_conn_get_unique_name(s->conn);
        int r;

        r = busrpc_proxy_invoke(s->proxy, &r_sender, NULL, &out, &err);
        is_int(r, 0, "Sender");
        if (strcmp(s->name, "bus") == 0)
                is_str(out.sender, me ? me : "(no unique name)", "on the bus the op sees our unique name");
        else
                is_str(out.sender, "", "on a peer socket there is no sender");
        is_int(out.uid, getuid(), "busrpc_call_get_uid() of a call served on the fast path");
        is_int(out.pid, getpid(), "busrpc_call_get_pid()");
        busrpc_value_clear(&busrpc_type_string, &out.sender);
        busrpc_error_clear(&err);
}

#define N_ASYNC 64

typedef struct Async {
        int n_done;
        int n_right;
        int cancelled_runs;
        int cancelled_r;
} Async;

typedef struct AsyncCall {
        Async *a;
        int32_t want;
} AsyncCall;

static void add_done(int r, const busrpc_error *err, void *out, void (*cb)(void), void *userdata) {
        AsyncCall *c = userdata;

        (void)err, (void)cb;
        c->a->n_done++;
        if (r == 0 && out && ((AddOut *)out)->sum == c->want)
                c->a->n_right++;
}

static void cancelled_done(int r, const busrpc_error *err, void *out, void (*cb)(void), void *userdata) {
        Async *a = userdata;

        (void)err, (void)out, (void)cb;
        a->cancelled_runs++;
        a->cancelled_r = r;
}

static void test_async(Side *s) {
        busrpc_loop *l = busrpc_conn_get_loop(s->conn);
        busrpc_pending *pd = NULL;
        AsyncCall calls[N_ASYNC];
        Async a = { 0 };
        AddIn in;
        int r, bad = 0;

        for (int i = 0; i < N_ASYNC; i++) {
                in = (AddIn){ i, 7 * i };
                calls[i] = (AsyncCall){ &a, 8 * i };
                r = busrpc_proxy_invoke_async(s->proxy, &r_add, &in, add_done, NULL, &calls[i], NULL);
                bad += r < 0;
        }
        is_int(bad, 0, "64 async calls sent");
        in = (AddIn){ 1, 1 };
        r = busrpc_proxy_invoke_async(s->proxy, &r_add, &in, cancelled_done, NULL, &a, &pd);
        is_int(r, 0, "one more");
        busrpc_pending_cancel(pd);
        is_int(a.cancelled_runs, 1, "cancelled: its callback ran at once");
        is_int(a.cancelled_r, -ECANCELED, "with -ECANCELED");
        busrpc_pending_unref(pd);
        for (int i = 0; i < 400 && a.n_done < N_ASYNC; i++)
                busrpc_loop_iterate(l, 50000);
        is_int(a.n_done, N_ASYNC, "every async call completed");
        is_int(a.n_right, N_ASYNC, "each with its own sum");
        is_int(a.cancelled_runs, 1, "the cancelled call's reply was dropped");
}

static void hold_done(int r, const busrpc_error *err, void *out, void (*cb)(void), void *userdata) {
        int *n = userdata;

        (void)err, (void)out, (void)cb;
        if (r == 0)
                (*n)++;
}

/* The peer server allows two calls in progress per peer: two held calls,
 * then a third is refused on the fast path as on libdbus; the bus
 * connection (another conn of the same service) releases them. */
static void test_pending_limit(Side *peer, Side *bus) {
        static const busrpc_remote_method r_hold = { IFACE, "Hold", NULL, NULL, 0 };
        static const busrpc_remote_method r_release = { IFACE, "Release", NULL, &count_out, 0 };
        busrpc_loop *l = busrpc_conn_get_loop(peer->conn);
        busrpc_error err = BUSRPC_ERROR_INIT;
        CountOut released = { 0 };
        int n_done = 0, r;
        int32_t sum = 0;

        r = busrpc_proxy_invoke_async(peer->proxy, &r_hold, NULL, hold_done, NULL, &n_done, NULL);
        if (r >= 0)
                r = busrpc_proxy_invoke_async(peer->proxy, &r_hold, NULL, hold_done, NULL, &n_done, NULL);
        is_int(r, 0, "two calls the server keeps");
        r = add(peer, 1, 2, &sum, &err);
        is_int(r, -EREMOTEIO, "a third call of that peer meanwhile: refused");
        is_str(err.name, BUSRPC_ERROR_LIMITS_EXCEEDED, "LimitsExceeded");
        busrpc_error_clear(&err);
        r = busrpc_proxy_invoke(bus->proxy, &r_release, NULL, &released, &err);
        ok(r == 0 && released.n == 2, "another connection releases them (%u)", released.n);
        busrpc_error_clear(&err);
        for (int i = 0; i < 200 && n_done < 2; i++)
                busrpc_loop_iterate(l, 50000);
        is_int(n_done, 2, "both held calls got their replies");
        r = add(peer, 1, 2, &sum, &err);
        ok(r == 0 && sum == 3, "then the peer is served again");
        busrpc_error_clear(&err);
}

static void test_side(Side *s) {
        int32_t sum = 0;

        tap_diag("%s", s->name);
        is_int(add(s, 40, 2, &sum, NULL), 0, "Add");
        is_int(sum, 42, "40 + 2");
        test_no_message(s);
        test_echo(s);
        test_errors(s);
        test_noreply(s);
        test_fds(s);
        test_fd_limit(s);
        test_shm(s);
        test_deferred(s);
        test_sender(s);
        test_async(s);
        test_no_message(s);
}

/* The counter sees the DBusMessage path: a connection opened with the
 * fast path off makes messages for its calls. */
static void test_control(void) {
        Side s = { .name = "control" };
        unsigned long mine;
        int32_t sum = 0;

        setenv("BUSRPC_FAST_PATH", "0", 1);
        if (busrpc_conn_open_peer(peer_address, &s.conn) < 0 ||
            busrpc_proxy_new(s.conn, NULL, OBJ_PATH, &s.proxy) < 0)
                tap_bail("control connection");
        setenv("BUSRPC_FAST_PATH", "1", 1);
        mine = msgs_made;
        is_int(add(&s, 2, 3, &sum, NULL), 0, "control (BUSRPC_FAST_PATH=0): Add");
        ok(msgs_made >= mine + 1, "the counter sees libdbus's messages on that path (%lu)",
           msgs_made - mine);
        busrpc_proxy_unref(s.proxy);
        busrpc_conn_unref(s.conn);
}

static void test_foreign_clients(void) {
        char peer_arg[160], bus_arg[160];
        const char *py = "import dbus, sys\n"
                         "c = dbus.connection.Connection(sys.argv[1]) if sys.argv[2] == 'peer' else "
                         "dbus.bus.BusConnection(sys.argv[1])\n"
                         "o = c.get_object(None if sys.argv[2] == 'peer' else 'org.busrpc.test.Fast', "
                         "'/org/busrpc/test/fast')\n"
                         "f = o.get_dbus_method('Fd', 'org.busrpc.test.Fast')\n"
                         "import os\n"
                         "m = os.memfd_create('py')\n"
                         "os.write(m, b'py fd')\n"
                         "fd, text = f(dbus.types.UnixFd(m))\n"
                         "same = os.fstat(fd.take()).st_ino == os.fstat(m).st_ino\n"
                         "os.close(m)\n"
                         "a = o.get_dbus_method('Add', 'org.busrpc.test.Fast')\n"
                         "try:\n"
                         "    o.get_dbus_method('Fail', 'org.busrpc.test.Fast')()\n"
                         "    e = 'none'\n"
                         "except dbus.DBusException as x:\n"
                         "    e = x.get_dbus_name()\n"
                         "print(int(a(40, 2)), str(text), same, e)\n";
        char *out;

        snprintf(peer_arg, sizeof(peer_arg), "--address=%s", peer_address);
        snprintf(bus_arg, sizeof(bus_arg), "--address=%s", address);
        out = run_peer((const char *const[]){ "busctl", peer_arg, "call", NAME, OBJ_PATH, IFACE, "Add", "ii",
                                              "40", "2", NULL });
        is_str(out, "i 42", "busctl calls the fast-path peer server");
        out = run_peer((const char *const[]){ "busctl", bus_arg, "call", NAME, OBJ_PATH, IFACE, "Add", "ii",
                                              "40", "2", NULL });
        is_str(out, "i 42", "busctl calls the fast-path service on the bus");
        out = run_peer((const char *const[]){ "busctl", bus_arg, "call", NAME, OBJ_PATH, IFACE, "Add", "s",
                                              "x", NULL });
        ok(strstr(out, "xpected signature 'ii'") != NULL,
           "busctl with the wrong signature gets InvalidArgs (%s)", out);
        out = run_peer(
                (const char *const[]){ "busctl", bus_arg, "call", NAME, OBJ_PATH, IFACE, "Fail", NULL });
        ok(strstr(out, "nope 42") != NULL, "busctl sees an op's error (%s)", out);
        out = run_peer((const char *const[]){ "gdbus", "call", "--address", address, "--dest", NAME,
                                              "--object-path", OBJ_PATH, "--method", IFACE ".Add", "40", "2",
                                              NULL });
        is_str(out, "(42,)", "gdbus calls the fast-path service on the bus");
        out = run_peer((const char *const[]){ "gdbus", "call", "--address", peer_address, "--dest", NAME,
                                              "--object-path", OBJ_PATH, "--method", IFACE ".Add", "40", "2",
                                              NULL });
        is_str(out, "(42,)", "gdbus calls the fast-path peer server");
        out = run_peer((const char *const[]){ "/usr/bin/python3", "-c", py, peer_address, "peer", NULL });
        is_str(out, "42 py fd True org.busrpc.test.Error.Nope",
               "python3-dbus on the peer socket: Add, an fd, an error");
        out = run_peer((const char *const[]){ "/usr/bin/python3", "-c", py, address, "bus", NULL });
        is_str(out, "42 py fd True org.busrpc.test.Error.Nope",
               "python3-dbus on the bus: Add, an fd, an error");
}

/* A python-dbus service; the fast-path client calls it. */
static const char *py_service =
        "import dbus, dbus.mainloop.glib, dbus.service, os, sys\n"
        "from gi.repository import GLib\n"
        "class S(dbus.service.Object):\n"
        "    @dbus.service.method('org.busrpc.test.Fast', in_signature='ii', out_signature='i')\n"
        "    def Add(self, a, b):\n"
        "        return a + b\n"
        "    @dbus.service.method('org.busrpc.test.Fast', in_signature='h', out_signature='hs')\n"
        "    def Fd(self, fd):\n"
        "        f = fd.take()\n"
        "        t = os.pread(f, 100, 0).decode()\n"
        "        return dbus.types.UnixFd(f), t\n"
        "    @dbus.service.method('org.busrpc.test.Fast')\n"
        "    def Fail(self):\n"
        "        raise dbus.DBusException('from python', name='org.busrpc.test.Error.Py')\n"
        "    @dbus.service.method('org.busrpc.test.Fast')\n"
        "    def Quit(self):\n"
        "        loop.quit()\n"
        "dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)\n"
        "bus = dbus.bus.BusConnection(sys.argv[1])\n"
        "name = dbus.service.BusName('org.busrpc.test.Py', bus)\n"
        "s = S(bus, '/py')\n"
        "loop = GLib.MainLoop()\n"
        "print('ready', flush=True)\n"
        "loop.run()\n";

static void test_foreign_service(busrpc_conn *c) {
        static const busrpc_remote_method r_quit = { IFACE, "Quit", NULL, NULL, BUSRPC_METHOD_NOREPLY };
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_proxy *p = NULL;
        char line[32] = "", cmd[300];
        unsigned long mine;
        AddIn in = { 40, 2 };
        AddOut out = { 0 };
        FdIn fin;
        FdOut fout = { -1, NULL };
        int fd, r;
        FILE *f;

        setenv("PY_SERVICE", py_service, 1);
        snprintf(cmd, sizeof(cmd), "exec /usr/bin/python3 -c \"$PY_SERVICE\" '%s'", address);
        fflush(stdout);
        f = popen(cmd, "r");
        if (!f || !fgets(line, sizeof(line), f) || strncmp(line, "ready", 5) != 0)
                tap_bail("python-dbus service did not start (python3-dbus and python3-gi needed)");
        if (busrpc_proxy_new(c, "org.busrpc.test.Py", "/py", &p) < 0)
                tap_bail("proxy");
        mine = msgs_made;
        r = busrpc_proxy_invoke(p, &r_add, &in, &out, &err);
        ok(r == 0 && out.sum == 42, "the fast-path client calls a python3-dbus service (%d)", out.sum);
        ok(msgs_made == mine, "without a DBusMessage (%lu)", msgs_made - mine);
        busrpc_error_clear(&err);
        r = busrpc_proxy_invoke(p, &r_fail, NULL, NULL, &err);
        is_int(r, -EREMOTEIO, "python's exception");
        is_str(err.name, "org.busrpc.test.Error.Py", "its D-Bus name");
        is_str(err.message, "from python", "its message");
        busrpc_error_clear(&err);
        fd = memfd_create("py", MFD_CLOEXEC);
        if (fd < 0 || write(fd, "to python", 9) != 9)
                tap_bail("memfd");
        fin.fd = fd;
        r = busrpc_proxy_invoke(p, &r_fd, &fin, &fout, &err);
        ok(r == 0, "an fd to python and back (%s)", err.message ? err.message : "ok");
        is_str(fout.text, "to python", "python read it");
        ok(same_file(fd, fout.fd), "and sent the same file back");
        busrpc_value_clear(&busrpc_type_fd, &fout.fd);
        busrpc_value_clear(&busrpc_type_string, &fout.text);
        busrpc_error_clear(&err);
        close(fd);
        busrpc_proxy_invoke(p, &r_quit, NULL, NULL, NULL);
        busrpc_proxy_unref(p);
        ok(pclose(f) == 0, "the python service quit when asked");
}

static void stop(pid_t pid, const char *what) {
        int status = 0;

        if (pid <= 0)
                return;
        kill(pid, SIGTERM);
        if (waitpid(pid, &status, 0) == pid && strcmp(what, "server") == 0)
                ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the server stopped cleanly (status %d)",
                   WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

int main(void) {
        Side peer = { .name = "peer" }, bus = { .name = "bus" };

        signal(SIGPIPE, SIG_IGN);
        main_pid = getpid();
        atexit(cleanup);
        start_daemon();
        start_server();
        setenv("BUSRPC_FAST_PATH", "1", 1);
        if (busrpc_conn_open_peer(peer_address, &peer.conn) < 0 ||
            busrpc_proxy_new(peer.conn, NULL, OBJ_PATH, &peer.proxy) < 0)
                tap_bail("peer connection to %s", peer_address);
        if (busrpc_conn_open(address, &bus.conn) < 0 ||
            busrpc_proxy_new(bus.conn, NAME, OBJ_PATH, &bus.proxy) < 0)
                tap_bail("bus connection to %s", address);
        test_control();
        test_side(&peer);
        test_side(&bus);
        test_pending_limit(&peer, &bus);
        test_foreign_clients();
        test_foreign_service(bus.conn);
        busrpc_proxy_unref(peer.proxy);
        busrpc_proxy_unref(bus.proxy);
        busrpc_conn_unref(peer.conn);
        busrpc_conn_unref(bus.conn);
        stop(server_pid, "server");
        stop(daemon_pid, "daemon");
        server_pid = daemon_pid = -1;
        dbus_shutdown();
        return tap_done();
}
