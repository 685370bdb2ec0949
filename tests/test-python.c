/* test-python.c: busrpc's calling side against a service written with
 * python3-dbus (tests/data/py-service.py) on a private bus: typed calls,
 * variants and dicts as another implementation marshals them, a custom
 * error name, properties and a signal.
 */
#include <dbus/dbus.h>
#include <errno.h>
#include <sys/prctl.h>
#include <time.h>
#include "busrpc/busrpc.h"
#include "data-bus.h"

#define PY "/usr/bin/python3"
#define PY_NAME "org.busrpc.Py"
#define PY_PATH "/org/busrpc/Py"

static TestBus bus;
static busrpc_conn *conn;
static busrpc_proxy *proxy;
static int py_out = -1;

static long now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static pid_t py_start(void) {
        char script[1024], buf[16];
        const char *src = getenv("top_srcdir");
        int p[2];
        pid_t pid;

        snprintf(script, sizeof(script), "%s/tests/data/py-service.py", src ? src : "..");
        if (access(PY, X_OK) != 0)
                tap_bail("%s not found", PY);
        if (pipe(p) < 0)
                tap_bail("pipe");
        pid = fork();
        if (pid < 0)
                tap_bail("fork");
        if (pid == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                dup2(p[1], STDOUT_FILENO);
                close(p[0]);
                close(p[1]);
                execl(PY, PY, script, bus.address, (char *)NULL);
                _exit(127);
        }
        close(p[1]);
        if (read(p[0], buf, sizeof(buf)) < 5 || strncmp(buf, "ready", 5) != 0)
                tap_bail("python service did not start (python3-dbus and python3-gi needed)");
        py_out = p[0]; /* kept open: python must never write into a closed pipe */
        return pid;
}

static void test_echo(void) {
        busrpc_msg *m = NULL, *reply = NULL;
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_variant *v = NULL, *vback = NULL;
        busrpc_iter it;
        const char *s = "gr\xc3\xbc\xc3\x9f", *sback = NULL;
        int64_t x = INT64_MAX, xback = 0;
        int32_t ints[3] = { 7, -7, INT32_MIN };
        const void *items = NULL;
        size_t n = 0;
        int r;

        busrpc_proxy_method_new(proxy, "org.busrpc.Py", "Echo", &m);
        busrpc_msg_append(m, &it);
        busrpc_iter_append_basic(&it, 's', &s);
        busrpc_iter_append_basic(&it, 'x', &x);
        busrpc_iter_append_fixed_array(&it, 'i', ints, 3);
        busrpc_variant_new_uint16(65535, &v);
        busrpc_iter_append_variant(&it, v);
        r = busrpc_proxy_call(proxy, m, "sxaiv", &reply, &err);
        is_int(r, 0, "Echo on a python service");
        if (err.name)
                tap_diag("%s: %s", err.name, err.message);
        if (r == 0) {
                busrpc_msg_read(reply, &it);
                busrpc_iter_get_basic(&it, 's', &sback);
                busrpc_iter_get_basic(&it, 'x', &xback);
                busrpc_iter_get_fixed_array(&it, 'i', &items, &n);
                is_int(busrpc_iter_get_variant(&it, &vback), 0, "variant from python");
                is_str(sback, s, "UTF-8 string");
                ok(xback == INT64_MAX, "int64 max");
                ok(n == 3 && memcmp(items, ints, sizeof(ints)) == 0, "int array");
                ok(busrpc_variant_equal(v, vback), "variant kept its type (q)");
                busrpc_msg_unref(reply);
        }
        busrpc_error_clear(&err);
        busrpc_variant_unref(vback);
        busrpc_variant_unref(v);
}

static int build_dict(busrpc_iter *it, void *userdata) {
        busrpc_iter a, e;
        const char *k = "answer";
        busrpc_variant *v = userdata;
        int r;

        (void)userdata;
        if ((r = busrpc_iter_open(it, 'a', "{sv}", &a)) < 0 || (r = busrpc_iter_open(&a, 'e', NULL, &e)) < 0 ||
            (r = busrpc_iter_append_basic(&e, 's', &k)) < 0 || (r = busrpc_iter_append_variant(&e, v)) < 0 ||
            (r = busrpc_iter_close(&a, &e)) < 0)
                return r;
        return busrpc_iter_close(it, &a);
}

static void test_dict(void) {
        busrpc_msg *m = NULL, *reply = NULL;
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_variant *val = NULL, *dict = NULL, *back = NULL;
        busrpc_iter it;
        char *printed = NULL;
        int r;

        busrpc_variant_new_int32(42, &val);
        busrpc_variant_new_built("a{sv}", build_dict, val, &dict);
        busrpc_proxy_method_new(proxy, "org.busrpc.Py", "EchoDict", &m);
        busrpc_msg_append(m, &it);
        /* The dict itself, not in a variant: read the variant's value. */
        {
                busrpc_iter a, e, src, srca, srce;
                const char *k = NULL;
                busrpc_variant *inner = NULL;

                busrpc_variant_read(dict, &src);
                busrpc_iter_recurse(&src, &srca);
                busrpc_iter_open(&it, 'a', "{sv}", &a);
                while (!busrpc_iter_at_end(&srca)) {
                        busrpc_iter_recurse(&srca, &srce);
                        busrpc_iter_get_basic(&srce, 's', &k);
                        busrpc_iter_get_variant(&srce, &inner);
                        busrpc_iter_open(&a, 'e', NULL, &e);
                        busrpc_iter_append_basic(&e, 's', &k);
                        busrpc_iter_append_variant(&e, inner);
                        busrpc_iter_close(&a, &e);
                        inner = busrpc_variant_unref(inner);
                }
                busrpc_iter_close(&it, &a);
        }
        r = busrpc_proxy_call(proxy, m, "a{sv}", &reply, &err);
        is_int(r, 0, "EchoDict on a python service");
        if (r == 0) {
                busrpc_iter a, e;
                const char *k = NULL;

                busrpc_msg_read(reply, &it);
                busrpc_iter_recurse(&it, &a);
                busrpc_iter_recurse(&a, &e);
                busrpc_iter_get_basic(&e, 's', &k);
                is_str(k, "answer", "key back");
                busrpc_iter_get_variant(&e, &back);
                busrpc_variant_to_string(back, &printed);
                is_str(printed, "i 42", "value back, printed as busctl does");
                busrpc_msg_unref(reply);
        }
        free(printed);
        busrpc_error_clear(&err);
        busrpc_variant_unref(back);
        busrpc_variant_unref(dict);
        busrpc_variant_unref(val);
}

static void test_error_and_props(void) {
        busrpc_msg *m = NULL, *reply = NULL;
        busrpc_error err = BUSRPC_ERROR_INIT;
        busrpc_iter v, it, a;
        uint32_t version = 0;
        int r, n = 0;

        busrpc_proxy_method_new(proxy, "org.busrpc.Py", "Fail", &m);
        r = busrpc_proxy_call(proxy, m, "", NULL, &err);
        is_int(r, -EREMOTEIO, "python exception: -EREMOTEIO");
        is_str(err.name, "org.busrpc.Py.Error.Custom", "its D-Bus error name");
        is_str(err.message, "custom failure", "and message");
        busrpc_error_clear(&err);

        r = busrpc_proxy_get_property(proxy, "org.busrpc.Py", "Version", "u", &reply, &v, &err);
        is_int(r, 0, "Get Version");
        if (r == 0) {
                busrpc_iter_get_basic(&v, 'u', &version);
                is_int(version, 3, "Version 3");
                reply = busrpc_msg_unref(reply);
        }
        r = busrpc_proxy_get_property(proxy, "org.busrpc.Py", "Name", "u", &reply, &v, &err);
        is_int(r, -EBADMSG, "Get Name as uint: -EBADMSG");
        busrpc_error_clear(&err);
        r = busrpc_proxy_get_all(proxy, "org.busrpc.Py", &reply, &err);
        is_int(r, 0, "GetAll");
        if (r == 0) {
                busrpc_msg_read(reply, &it);
                busrpc_iter_recurse(&it, &a);
                while (!busrpc_iter_at_end(&a)) {
                        busrpc_iter e;
                        busrpc_iter_recurse(&a, &e);
                        n++;
                }
                is_int(n, 2, "two properties");
                busrpc_msg_unref(reply);
        }
        busrpc_error_clear(&err);
}

static int fired;
static uint32_t fired_u;

static void on_changed(busrpc_msg *m, busrpc_iter *args, void *userdata) {
        const char *s = NULL;

        (void)m;
        (void)userdata;
        busrpc_iter_get_basic(args, 's', &s);
        busrpc_iter_get_basic(args, 'u', &fired_u);
        if (s && strcmp(s, "fired") == 0)
                fired++;
}

static void test_signal(void) {
        busrpc_subscription *sub = NULL;
        busrpc_msg *m = NULL;
        busrpc_error err = BUSRPC_ERROR_INIT;
        long end;

        is_int(busrpc_proxy_subscribe(proxy, "org.busrpc.Py", "Changed", "su", on_changed, NULL, NULL, &sub), 0,
               "subscribed to a python signal");
        busrpc_proxy_method_new(proxy, "org.busrpc.Py", "Fire", &m);
        is_int(busrpc_proxy_call(proxy, m, "", NULL, &err), 0, "Fire");
        end = now_ms() + 5000;
        while (fired < 1 && now_ms() < end)
                busrpc_loop_iterate(busrpc_conn_get_loop(conn), 50 * BUSRPC_USEC_PER_MSEC);
        is_int(fired, 1, "signal received");
        is_int(fired_u, 7, "with its arguments");
        busrpc_subscription_release(sub);
        busrpc_error_clear(&err);
}

int main(void) {
        pid_t py;
        int r;

        test_bus_start(&bus);
        py = py_start();
        r = busrpc_conn_open(bus.address, &conn);
        if (r < 0) {
                kill(py, SIGKILL);
                test_bus_stop(&bus);
                tap_bail("busrpc_conn_open: %s", strerror(-r));
        }
        busrpc_proxy_new(conn, PY_NAME, PY_PATH, &proxy);
        busrpc_proxy_set_timeout(proxy, 10000 * BUSRPC_USEC_PER_MSEC);
        TAP_RUN(test_echo);
        TAP_RUN(test_dict);
        TAP_RUN(test_error_and_props);
        TAP_RUN(test_signal);
        busrpc_proxy_unref(proxy);
        busrpc_conn_unref(conn);
        kill(py, SIGTERM);
        waitpid(py, NULL, 0);
        close(py_out);
        test_bus_stop(&bus);
        dbus_shutdown();
        return tap_done();
}
