/* calc-client: calls every member of org.example.Calculator (calc.idl) and
 * prints each call with its result.
 *
 *   calc-client [--bus ADDRESS | --peer ADDRESS]
 *
 * --bus: call the service that owns org.example.Calculator on that bus
 * ("session", "system" or an address); --peer: connect straight to the
 * service's peer socket. Exit status 0 when every call gave the expected
 * kind of answer, 1 otherwise.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "calc.h"

#define CALC_NAME "org.example.Calculator"
#define CALC_PATH "/org/example/Calculator"

static int failures;

/* Print the outcome of a call that failed; count it unless it was expected. */
static void print_error(int r, const busrpc_error *err, bool expected) {
        if (r == -EREMOTEIO && err && busrpc_error_is_set(err))
                printf(" -> error %s: %s\n", err->name, err->message);
        else
                printf(" -> failed: %s\n", strerror(-r));
        if (!expected)
                failures++;
}

static void on_overflowed(int64_t value, const char *where, void *userdata) {
        int *seen = userdata;

        printf("  signal Overflowed(%" PRId64 ", \"%s\")\n", value, where);
        (*seen)++;
}

/* Run the loop until *flag becomes non-zero, for at most timeout_usec
 * (microseconds, as every time in busrpc). */
static void wait_for(busrpc_loop *loop, const int *flag, uint64_t timeout_usec) {
        const uint64_t step = 50 * BUSRPC_USEC_PER_MSEC;

        for (uint64_t waited = 0; !*flag && waited < timeout_usec; waited += step)
                busrpc_loop_iterate(loop, step);
}

typedef struct SlowResult {
        int done;
        int r;
        int32_t echoed;
} SlowResult;

static void slow_done(int r, const busrpc_error *err, int32_t echoed, void *userdata) {
        SlowResult *res = userdata;

        printf("Slow(300, 7) = ");
        if (r < 0)
                print_error(r, err, false);
        else
                printf("%" PRId32 " (the reply came after the calls made meanwhile)\n", echoed);
        res->r = r;
        res->echoed = echoed;
        res->done = 1;
}

static uint64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void call_methods(busrpc_proxy *p, busrpc_loop *loop) {
        busrpc_error err = BUSRPC_ERROR_INIT;
        int32_t sum, difference, echoed;
        double quotient;
        int overflows = 0, r;

        r = calculator_add(p, 2, 3, &sum, &err);
        printf("Add(2, 3)");
        if (r < 0)
                print_error(r, &err, false);
        else
                printf(" = %" PRId32 "\n", sum);
        busrpc_error_clear(&err);

        /* Subscribe, then overflow: the signal comes before the reply. */
        r = calculator_on_overflowed(p, on_overflowed, &overflows, NULL);
        if (r < 0) {
                printf("subscribing to Overflowed failed: %s\n", strerror(-r));
                failures++;
        }
        r = calculator_add(p, INT32_MAX, 1, &sum, &err);
        printf("Add(2147483647, 1)");
        if (r < 0)
                print_error(r, &err, false);
        else
                printf(" = %" PRId32 "\n", sum);
        busrpc_error_clear(&err);
        wait_for(loop, &overflows, 2 * BUSRPC_USEC_PER_SEC);
        if (!overflows) {
                printf("  (no Overflowed signal arrived)\n");
                failures++;
        }

        r = calculator_subtract(p, 10, 4, &difference, &err);
        printf("Subtract(10, 4)");
        if (r < 0)
                print_error(r, &err, false);
        else
                printf(" = %" PRId32 " (deprecated, still served)\n", difference);
        busrpc_error_clear(&err);

        r = calculator_divide(p, 10, 4, &quotient, &err);
        printf("Divide(10, 4)");
        if (r < 0)
                print_error(r, &err, false);
        else
                printf(" = %g\n", quotient);
        busrpc_error_clear(&err);

        r = calculator_divide(p, 1, 0, &quotient, &err);
        printf("Divide(1, 0)");
        if (r < 0)
                /* The declared error, recognised by its name. */
                print_error(r, &err, busrpc_error_has_name(&err, CALCULATOR_ERROR_DIVIDE_BY_ZERO));
        else {
                printf(" = %g (expected DivideByZero)\n", quotient);
                failures++;
        }
        busrpc_error_clear(&err);

        {
                calc_point pts[] = { { 0, 0 }, { 4, 0 }, { 4, 6 }, { 0, 6 } };
                calc_point_array points = { pts, 4 };
                calc_point centre;

                r = calculator_centroid(p, &points, &centre, &err);
                printf("Centroid([(0, 0), (4, 0), (4, 6), (0, 6)])");
                if (r < 0)
                        print_error(r, &err, false);
                else
                        printf(" = (%" PRId32 ", %" PRId32 ")\n", centre.x, centre.y);
                busrpc_error_clear(&err);
        }

        {
                char *keys_in[] = { "apples", "pears", "plums" };
                uint64_t values[] = { 3, 5, 34 };
                calc_string_uint64_map counts = { keys_in, values, 3 };
                calc_string_array keys = { NULL, 0 };
                uint64_t total;

                r = calculator_tally(p, &counts, &total, &keys, &err);
                printf("Tally({apples: 3, pears: 5, plums: 34})");
                if (r < 0) {
                        print_error(r, &err, false);
                } else {
                        printf(" = %" PRIu64 ", [", total);
                        for (size_t i = 0; i < keys.n; i++)
                                printf("%s%s", i ? ", " : "", keys.items[i]);
                        printf("]\n");
                        calc_string_array_clear(&keys); /* outputs belong to the caller */
                }
                busrpc_error_clear(&err);
        }

        {
                /* Slow is answered from a timer in the service; while it waits we
                 * make another call, which is answered first. */
                SlowResult slow = { 0, 0, 0 };
                uint64_t start = now_ms();

                r = calculator_slow_async(p, 300, 7, slow_done, &slow, NULL);
                if (r < 0) {
                        printf("Slow(300, 7) -> failed to send: %s\n", strerror(-r));
                        failures++;
                } else {
                        r = calculator_add(p, 40, 2, &sum, &err);
                        printf("Add(40, 2)");
                        if (r < 0)
                                print_error(r, &err, false);
                        else
                                printf(" = %" PRId32 " (while Slow is pending)\n", sum);
                        busrpc_error_clear(&err);
                        wait_for(loop, &slow.done, 5 * BUSRPC_USEC_PER_SEC);
                        if (!slow.done) {
                                printf("Slow(300, 7) -> no reply within 5 s\n");
                                failures++;
                        } else if (slow.r == 0 && now_ms() - start < 300) {
                                printf("  (but it came back too early)\n");
                                failures++;
                        }
                }
        }

        r = calculator_slow(p, 100000, 1, &echoed, &err);
        printf("Slow(100000, 1)");
        if (r < 0)
                print_error(r, &err, busrpc_error_has_name(&err, BUSRPC_ERROR_INVALID_ARGS));
        else {
                printf(" = %" PRId32 " (expected InvalidArgs)\n", echoed);
                failures++;
        }
        busrpc_error_clear(&err);
}

static void use_properties(busrpc_proxy *p) {
        busrpc_error err = BUSRPC_ERROR_INIT;
        calculator_properties all;
        calc_rounding mode;
        calc_caps caps;
        uint64_t calls;
        char *name;
        double quotient;
        int r;

        r = calculator_get_name(p, &name, &err);
        printf("get Name");
        if (r < 0)
                print_error(r, &err, false);
        else {
                printf(" = \"%s\"\n", name);
                free(name);
        }
        busrpc_error_clear(&err);

        r = calculator_get_capabilities(p, &caps, &err);
        printf("get Capabilities");
        if (r < 0)
                print_error(r, &err, false);
        else
                printf(" = 0x%x (%s%s)\n", (unsigned)caps, caps & CALC_CAPS_FAST ? "FAST " : "",
                       caps & CALC_CAPS_EXACT ? "EXACT" : "");
        busrpc_error_clear(&err);

        r = calculator_get_mode(p, &mode, &err);
        printf("get Mode");
        if (r < 0)
                print_error(r, &err, false);
        else
                printf(" = %s\n", calc_rounding_to_string(mode));
        busrpc_error_clear(&err);

        r = calculator_set_mode(p, CALC_ROUNDING_UP, &err);
        printf("set Mode = UP");
        if (r < 0)
                print_error(r, &err, false);
        else
                printf("\n");
        busrpc_error_clear(&err);

        r = calculator_divide(p, 10, 4, &quotient, &err);
        printf("Divide(10, 4)");
        if (r < 0)
                print_error(r, &err, false);
        else
                printf(" = %g (rounded UP)\n", quotient);
        busrpc_error_clear(&err);

        r = calculator_set_secret(p, "hunter2", &err);
        printf("set Secret = \"hunter2\"");
        if (r < 0)
                print_error(r, &err, false);
        else
                printf("\n");
        busrpc_error_clear(&err);

        {
                /* A writeonly property has no generated getter; ask the raw way. */
                busrpc_msg *reply = NULL;
                busrpc_iter value;

                r = busrpc_proxy_get_property(p, CALCULATOR_INTERFACE_NAME, "Secret", "s", &reply, &value, &err);
                printf("get Secret");
                if (r < 0)
                        print_error(r, &err, true);
                else {
                        printf(" = (a value: a writeonly property was read)\n");
                        failures++;
                        busrpc_msg_unref(reply);
                }
                busrpc_error_clear(&err);
        }

        r = calculator_get_calls(p, &calls, &err);
        printf("get Calls");
        if (r < 0)
                print_error(r, &err, false);
        else
                printf(" = %" PRIu64 "\n", calls);
        busrpc_error_clear(&err);

        r = calculator_reset(p, &err);
        printf("Reset()");
        if (r < 0)
                print_error(r, &err, false);
        else
                printf(" (no reply expected)\n");
        busrpc_error_clear(&err);

        /* Calls on one connection arrive in order: Reset is done before GetAll. */
        r = calculator_get_all(p, &all, &err);
        printf("GetAll");
        if (r < 0)
                print_error(r, &err, false);
        else {
                printf(" = Name \"%s\", Mode %s, Calls %" PRIu64 ", Capabilities 0x%x\n",
                       all.has.name ? all.name : "?", all.has.mode ? calc_rounding_to_string(all.mode) : "?",
                       all.has.calls ? all.calls : UINT64_MAX, all.has.capabilities ? (unsigned)all.capabilities : 0);
                calculator_properties_clear(&all);
        }
        busrpc_error_clear(&err);

        /* Put the mode back, so the next client starts from the same state. */
        calculator_set_mode(p, CALC_ROUNDING_NONE, NULL);
}

static void usage(FILE *f) {
        fprintf(f, "usage: calc-client [--bus ADDRESS | --peer ADDRESS]\n");
}

int main(int argc, char **argv) {
        const char *bus = NULL, *peer = NULL;
        busrpc_conn *conn = NULL;
        busrpc_proxy *proxy = NULL;
        busrpc_loop *loop = NULL;
        int r;

        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--bus") == 0 && i + 1 < argc) {
                        bus = argv[++i];
                } else if (strcmp(argv[i], "--peer") == 0 && i + 1 < argc) {
                        peer = argv[++i];
                } else if (strcmp(argv[i], "--help") == 0) {
                        usage(stdout);
                        return 0;
                } else {
                        usage(stderr);
                        return 2;
                }
        }
        if (bus && peer) {
                usage(stderr);
                return 2;
        }

        if (peer)
                r = busrpc_conn_open_peer(peer, &conn);
        else
                r = busrpc_conn_open(bus ? bus : "session", &conn);
        if (r < 0) {
                fprintf(stderr, "calc-client: cannot connect to %s: %s\n", peer ? peer : bus ? bus : "session",
                        strerror(-r));
                return 1;
        }
        /* On a peer connection there is no bus name: the destination is NULL. */
        r = calculator_proxy_new(conn, peer ? NULL : CALC_NAME, CALC_PATH, &proxy);
        if (r < 0) {
                fprintf(stderr, "calc-client: %s\n", strerror(-r));
                busrpc_conn_unref(conn);
                return 1;
        }
        loop = busrpc_conn_get_loop(conn);

        call_methods(proxy, loop);
        use_properties(proxy);

        busrpc_proxy_unref(proxy);
        busrpc_conn_unref(conn);
        if (failures)
                fprintf(stderr, "calc-client: %d unexpected result(s)\n", failures);
        return failures ? 1 : 0;
}
