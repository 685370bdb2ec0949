/* calc-loops.c: the calculator service and client of the loop examples,
 * written against a busrpc_loop only (see calc-loops.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "calc-loops.h"

struct SlowCall {
        CalcService *svc;
        busrpc_call *call;
        busrpc_source *timer;
        int32_t value;
        SlowCall *next;
};

static void slow_free(SlowCall *slow) {
        SlowCall **p = &slow->svc->slow_calls;

        while (*p != slow)
                p = &(*p)->next;
        *p = slow->next;
        busrpc_source_release(slow->timer);
        busrpc_call_unref(slow->call);
        free(slow);
}

static int svc_add(void *self, busrpc_call *call, int32_t a, int32_t b, int32_t *sum) {
        int64_t exact = (int64_t)a + b;

        *sum = (int32_t)(uint32_t)((uint32_t)a + (uint32_t)b);
        if (exact > INT32_MAX || exact < INT32_MIN)
                calculator_emit_overflowed(busrpc_call_get_object(call), exact, "Add");
        return 0;
}

static int svc_divide(void *self, busrpc_call *call, double a, double b, double *quotient) {
        if (b == 0)
                return calculator_error_divide_by_zero(call, "cannot divide %g by zero", a);
        *quotient = a / b;
        return 0;
}

static int slow_fire(busrpc_source *source, void *userdata) {
        SlowCall *slow = userdata;

        calculator_slow_reply(slow->call, slow->value);
        slow_free(slow);
        return 0;
}

/* Answered from a busrpc timer: the foreign loop must wake for it. */
static int svc_slow(void *self, busrpc_call *call, uint32_t delay_ms, int32_t value, int32_t *echoed) {
        CalcService *svc = self;
        SlowCall *slow;
        int r;

        if (delay_ms > 60000)
                return busrpc_call_fail(call, BUSRPC_ERROR_INVALID_ARGS, "delay_ms must be at most 60000");
        slow = calloc(1, sizeof(*slow));
        if (!slow)
                return -ENOMEM;
        slow->svc = svc;
        slow->value = value;
        r = busrpc_loop_add_timer(svc->loop, (uint64_t)delay_ms * 1000, false, slow_fire, slow, &slow->timer);
        if (r < 0) {
                free(slow);
                return r;
        }
        slow->call = busrpc_call_ref(call);
        slow->next = svc->slow_calls;
        svc->slow_calls = slow;
        return BUSRPC_DEFER;
}

static const calculator_ops svc_ops = {
        .add = svc_add,
        .divide = svc_divide,
        .slow = svc_slow,
};

int calc_service_start(CalcService *svc, busrpc_loop *l, const char *bus, const char *peer) {
        int r;

        memset(svc, 0, sizeof(*svc));
        svc->loop = busrpc_loop_ref(l);
        if (bus) {
                r = busrpc_conn_open(bus, &svc->conn);
                if (r < 0)
                        return r;
                r = busrpc_conn_attach(svc->conn, l);
                if (r < 0)
                        return r;
                r = calculator_export(svc->conn, CALC_PATH, &svc_ops, svc, &svc->object);
                if (r < 0)
                        return r;
                return busrpc_conn_request_name(svc->conn, CALC_NAME, BUSRPC_NAME_DO_NOT_QUEUE, NULL, NULL,
                                                NULL);
        }
        r = busrpc_server_new(peer, &svc->server);
        if (r < 0)
                return r;
        r = busrpc_server_attach(svc->server, l);
        if (r < 0)
                return r;
        return calculator_export_server(svc->server, CALC_PATH, &svc_ops, svc, &svc->object);
}

void calc_service_stop(CalcService *svc) {
        while (svc->slow_calls) {
                busrpc_call_fail(svc->slow_calls->call, BUSRPC_ERROR_NO_REPLY, "the service is stopping");
                slow_free(svc->slow_calls);
        }
        busrpc_object_release(svc->object);
        busrpc_server_free(svc->server);
        busrpc_conn_unref(svc->conn);
        busrpc_loop_unref(svc->loop);
        memset(svc, 0, sizeof(*svc));
}

/* ---- the client ---- */

enum { LINE_ADD, LINE_SLOW, LINE_TIMEOUT, LINE_OVERFLOW, LINE_SIGNAL };

static void client_step(CalcClient *cli, int line, const char *fmt, ...) BUSRPC_PRINTF(3, 4);
static void client_step(CalcClient *cli, int line, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(cli->lines[line], sizeof(cli->lines[line]), fmt, ap);
        va_end(ap);
        if (--cli->remaining == 0)
                cli->done(cli->userdata);
}

static void on_add(int r, const busrpc_error *err, int32_t sum, void *userdata) {
        if (r < 0)
                client_step(userdata, LINE_ADD, "Add(40, 2) -> error %s", err->name);
        else
                client_step(userdata, LINE_ADD, "Add(40, 2) = %" PRId32, sum);
}

static void on_slow(int r, const busrpc_error *err, int32_t echoed, void *userdata) {
        if (r < 0)
                client_step(userdata, LINE_SLOW, "Slow(50, 7) -> error %s", err->name);
        else
                client_step(userdata, LINE_SLOW, "Slow(50, 7) = %" PRId32, echoed);
}

static void on_timeout(int r, const busrpc_error *err, int32_t echoed, void *userdata) {
        if (r < 0)
                client_step(userdata, LINE_TIMEOUT, "Slow(20000, 1) with a 200 ms timeout -> %s (%s)",
                            err->name, strerror(-r));
        else
                client_step(userdata, LINE_TIMEOUT, "Slow(20000, 1) with a 200 ms timeout = %" PRId32, echoed);
}

static void on_overflow_add(int r, const busrpc_error *err, int32_t sum, void *userdata) {
        if (r < 0)
                client_step(userdata, LINE_OVERFLOW, "Add(2147483647, 1) -> error %s", err->name);
        else
                client_step(userdata, LINE_OVERFLOW, "Add(2147483647, 1) = %" PRId32, sum);
}

static void on_overflowed(int64_t value, const char *where, void *userdata) {
        CalcClient *cli = userdata;

        if (cli->lines[LINE_SIGNAL][0])
                return; /* one is expected; a second would be a bug the output shows as missing lines */
        client_step(cli, LINE_SIGNAL, "signal Overflowed(%" PRId64 ", \"%s\")", value, where);
}

int calc_client_start(CalcClient *cli, busrpc_loop *l, const char *bus, const char *peer,
                      void (*done)(void *userdata), void *userdata) {
        int r;

        memset(cli, 0, sizeof(*cli));
        cli->done = done;
        cli->userdata = userdata;
        cli->remaining = 5;
        r = bus ? busrpc_conn_open(bus, &cli->conn) : busrpc_conn_open_peer(peer, &cli->conn);
        if (r < 0)
                return r;
        r = busrpc_conn_attach(cli->conn, l);
        if (r < 0)
                return r;
        r = calculator_proxy_new(cli->conn, bus ? CALC_NAME : NULL, CALC_PATH, &cli->proxy);
        if (r < 0)
                return r;
        /* Subscribed before the call that makes the service emit (on a bus,
         * the match rule is in place when this returns). */
        r = calculator_on_overflowed(cli->proxy, on_overflowed, cli, &cli->sub);
        if (r < 0)
                return r;
        r = calculator_add_async(cli->proxy, 40, 2, on_add, cli, NULL);
        if (r < 0)
                return r;
        r = calculator_slow_async(cli->proxy, 50, 7, on_slow, cli, NULL);
        if (r < 0)
                return r;
        /* Times out in the client's loop, long before the service answers. */
        busrpc_proxy_set_next_timeout(cli->proxy, 200 * BUSRPC_USEC_PER_MSEC);
        r = calculator_slow_async(cli->proxy, 20000, 1, on_timeout, cli, NULL);
        if (r < 0)
                return r;
        return calculator_add_async(cli->proxy, INT32_MAX, 1, on_overflow_add, cli, NULL);
}

int calc_client_finish(CalcClient *cli) {
        int missing = cli->remaining;

        for (size_t i = 0; i < sizeof(cli->lines) / sizeof(cli->lines[0]); i++)
                printf("%s\n", cli->lines[i][0] ? cli->lines[i] : "(missing)");
        busrpc_subscription_release(cli->sub);
        busrpc_proxy_unref(cli->proxy);
        busrpc_conn_unref(cli->conn);
        memset(cli, 0, sizeof(*cli));
        return missing == 0 ? 0 : -ETIMEDOUT;
}

int calc_loops_args(int argc, char **argv, const char **bus, const char **peer) {
        int mode = 's';

        *bus = *peer = NULL;
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--bus") == 0 && i + 1 < argc)
                        *bus = argv[++i];
                else if (strcmp(argv[i], "--peer") == 0 && i + 1 < argc)
                        *peer = argv[++i];
                else if (strcmp(argv[i], "--client") == 0)
                        mode = 'c';
                else if (strcmp(argv[i], "--idle") == 0)
                        mode = 'i';
                else
                        goto usage;
        }
        if (mode == 'i' || (!*bus != !*peer))
                return mode;
usage:
        fprintf(stderr, "usage: %s (--bus ADDRESS | --peer ADDRESS) [--client]\n"
                        "       %s --idle\n", argv[0], argv[0]);
        return 0;
}

long calc_loops_cpu_ms(void) {
        struct rusage ru;

        getrusage(RUSAGE_SELF, &ru);
        return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000L +
               (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000L;
}
