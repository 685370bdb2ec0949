/* calc-service: serves org.example.Calculator (calc.idl) on a bus, on a
 * peer-to-peer socket, or on both at once.
 *
 *   calc-service [--bus ADDRESS] [--peer ADDRESS]
 *
 * --bus takes "session", "system" or a bus address (what busrpc-bus
 * prints); the service owns the name org.example.Calculator there.
 * --peer listens for direct connections, e.g. unix:path=/tmp/dir/calc.sock.
 * With neither option it uses the session bus. SIGTERM or SIGINT stop it;
 * SIGHUP does nothing; losing the bus makes it exit 1 (for a supervisor).
 *
 * What it shows: plain methods, a declared error (DivideByZero), a reply
 * deferred to a timer (Slow), a signal (Overflowed), and properties of the
 * three access modes; one implementation (struct Calc) exported twice: on
 * the bus connection (calculator_export()) and on the peer-to-peer server
 * (calculator_export_server()).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calc.h"

#define CALC_NAME "org.example.Calculator"
#define CALC_PATH "/org/example/Calculator"
#define SLOW_MAX_MS 60000

typedef struct SlowCall SlowCall;

typedef struct Calc {
        busrpc_loop *loop;
        SlowCall *slow_calls; /* deferred Slow calls, answered by their timers */
        busrpc_object *objects[2]; /* the same calculator on the bus and on the peer server */
        size_t n_objects;
        calc_rounding mode;
        uint64_t calls;
        char *secret;
} Calc;

/* A Slow call waiting for its timer. */
struct SlowCall {
        Calc *calc;
        busrpc_call *call;
        busrpc_source *timer;
        int32_t value;
        SlowCall *next;
};

static void slow_free(SlowCall *slow) {
        SlowCall **p = &slow->calc->slow_calls;

        while (*p != slow)
                p = &(*p)->next;
        *p = slow->next;
        busrpc_source_release(slow->timer);
        busrpc_call_unref(slow->call);
        free(slow);
}

static int calc_add(void *self, busrpc_call *call, int32_t a, int32_t b, int32_t *sum) {
        Calc *calc = self;
        int64_t exact = (int64_t)a + b;

        calc->calls++;
        /* Wrap as two's complement does, without signed overflow in C. */
        *sum = (int32_t)(uint32_t)((uint32_t)a + (uint32_t)b);
        if (exact > INT32_MAX || exact < INT32_MIN)
                /* The signal leaves before the reply, so the caller has it when the call returns. */
                calculator_emit_overflowed(busrpc_call_get_object(call), exact, "Add");
        return 0;
}

static int calc_subtract(void *self, busrpc_call *call, int32_t a, int32_t b, int32_t *difference) {
        (void)call;
        ((Calc *)self)->calls++;
        *difference = (int32_t)(uint32_t)((uint32_t)a - (uint32_t)b);
        return 0;
}

static int calc_divide(void *self, busrpc_call *call, double a, double b, double *quotient) {
        Calc *calc = self;
        double q;

        calc->calls++;
        if (b == 0)
                return calculator_error_divide_by_zero(call, "cannot divide %g by zero", a);
        q = a / b;
        switch (calc->mode) {
        case CALC_ROUNDING_NEAREST:
                q = round(q);
                break;
        case CALC_ROUNDING_DOWN:
                q = floor(q);
                break;
        case CALC_ROUNDING_UP:
                q = ceil(q);
                break;
        case CALC_ROUNDING_NONE:
                break;
        }
        *quotient = q;
        return 0;
}

static int calc_centroid(void *self, busrpc_call *call, const calc_point_array *points, calc_point *centre) {
        int64_t x = 0, y = 0;

        ((Calc *)self)->calls++;
        if (points->n == 0)
                return busrpc_call_fail(call, BUSRPC_ERROR_INVALID_ARGS, "the centroid of no points is undefined");
        for (size_t i = 0; i < points->n; i++) {
                x += points->items[i].x;
                y += points->items[i].y;
        }
        centre->x = (int32_t)(x / (int64_t)points->n);
        centre->y = (int32_t)(y / (int64_t)points->n);
        return 0;
}

static int calc_tally(void *self, busrpc_call *call, const calc_string_uint64_map *counts, uint64_t *total,
                      calc_string_array *keys) {
        (void)call;
        ((Calc *)self)->calls++;
        *total = 0;
        if (counts->n > 0) {
                /* keys starts empty; what we put in it the skeleton frees after replying. */
                keys->items = calloc(counts->n, sizeof(*keys->items));
                if (!keys->items)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < counts->n; i++) {
                *total += counts->values[i];
                keys->items[i] = strdup(counts->keys[i]);
                if (!keys->items[i])
                        return -ENOMEM;
                keys->n++;
        }
        return 0;
}

static int slow_fire(busrpc_source *source, void *userdata) {
        SlowCall *slow = userdata;

        (void)source;
        /* The caller may have gone away meanwhile: then the reply just fails. */
        calculator_slow_reply(slow->call, slow->value);
        slow_free(slow);
        return 0;
}

/* Slow keeps the call and answers from a timer: the service goes on
 * serving other calls in the meantime. */
static int calc_slow(void *self, busrpc_call *call, uint32_t delay_ms, int32_t value, int32_t *echoed) {
        Calc *calc = self;
        SlowCall *slow;
        int r;

        (void)echoed;
        calc->calls++;
        if (delay_ms > SLOW_MAX_MS)
                return busrpc_call_fail(call, BUSRPC_ERROR_INVALID_ARGS, "delay_ms must be at most %d",
                                        SLOW_MAX_MS);
        slow = calloc(1, sizeof(*slow));
        if (!slow)
                return -ENOMEM;
        slow->calc = calc;
        slow->value = value;
        r = busrpc_loop_add_timer(calc->loop, (uint64_t)delay_ms * 1000, false, slow_fire, slow, &slow->timer);
        if (r < 0) {
                free(slow);
                return r;
        }
        slow->call = busrpc_call_ref(call);
        slow->next = calc->slow_calls;
        calc->slow_calls = slow;
        return BUSRPC_DEFER;
}

static int calc_reset(void *self, busrpc_call *call) {
        (void)call;
        ((Calc *)self)->calls = 0;
        return 0;
}

static int calc_get_name(void *self, char **name, busrpc_error *err) {
        (void)self;
        (void)err;
        *name = strdup("busrpc calculator");
        return *name ? 0 : -ENOMEM;
}

static int calc_get_mode(void *self, calc_rounding *mode, busrpc_error *err) {
        (void)err;
        *mode = ((Calc *)self)->mode;
        return 0;
}

static int calc_set_mode(void *self, calc_rounding mode, busrpc_error *err) {
        Calc *calc = self;

        (void)err; /* the skeleton already refused values outside the enum */
        if (mode == calc->mode)
                return BUSRPC_UNCHANGED; /* Set succeeds, no PropertiesChanged */
        calc->mode = mode;
        /* Returning 0, the runtime sends PropertiesChanged (Mode is readwrite,
         * default emits_changed) from the object the Set came to: on the bus,
         * or to every peer of the server. The same calculator may be exported
         * in both places: tell the other's clients here (the Set's own object
         * merges this into the signal it sends). */
        for (size_t i = 0; i < calc->n_objects; i++)
                calculator_notify_mode(calc->objects[i]);
        return 0;
}

static int calc_get_calls(void *self, uint64_t *calls, busrpc_error *err) {
        (void)err;
        *calls = ((Calc *)self)->calls;
        return 0;
}

static int calc_get_capabilities(void *self, calc_caps *caps, busrpc_error *err) {
        (void)self;
        (void)err;
        *caps = (calc_caps)(CALC_CAPS_FAST | CALC_CAPS_EXACT);
        return 0;
}

static int calc_set_secret(void *self, const char *secret, busrpc_error *err) {
        Calc *calc = self;
        char *copy;

        if (strlen(secret) > 64)
                return busrpc_error_set(err, BUSRPC_ERROR_INVALID_ARGS, "a secret has at most 64 bytes");
        copy = strdup(secret); /* the argument is borrowed: keep a copy */
        if (!copy)
                return -ENOMEM;
        free(calc->secret);
        calc->secret = copy;
        return 0;
}

static const calculator_ops calc_ops = {
        .add = calc_add,
        .subtract = calc_subtract,
        .divide = calc_divide,
        .centroid = calc_centroid,
        .tally = calc_tally,
        .slow = calc_slow,
        .reset = calc_reset,
        .get_name = calc_get_name,
        .get_mode = calc_get_mode,
        .set_mode = calc_set_mode,
        .get_calls = calc_get_calls,
        .get_capabilities = calc_get_capabilities,
        .set_secret = calc_set_secret,
};

static void usage(FILE *f) {
        fprintf(f, "usage: calc-service [--bus ADDRESS] [--peer ADDRESS]\n"
                   "  --bus ADDRESS   serve " CALC_NAME " on a bus: session, system or unix:path=...\n"
                   "  --peer ADDRESS  also listen for peer-to-peer clients, e.g. unix:path=DIR/calc.sock\n");
}

int main(int argc, char **argv) {
        const char *bus = NULL, *peer = NULL;
        Calc calc = { .mode = CALC_ROUNDING_NONE };
        busrpc_conn *conn = NULL;
        busrpc_server *server = NULL;
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
        if (!bus && !peer)
                bus = "session";

        r = busrpc_loop_default(&calc.loop);
        if (r < 0)
                goto fail;
        if (bus) {
                r = busrpc_conn_open(bus, &conn);
                if (r < 0) {
                        fprintf(stderr, "calc-service: cannot connect to %s: %s\n", bus, strerror(-r));
                        goto out;
                }
                /* Export first, then take the name: no caller can arrive before the object. */
                r = calculator_export(conn, CALC_PATH, &calc_ops, &calc, &calc.objects[calc.n_objects]);
                if (r < 0)
                        goto fail;
                calc.n_objects++;
                r = busrpc_conn_request_name(conn, CALC_NAME, BUSRPC_NAME_DO_NOT_QUEUE, NULL, NULL, NULL);
                if (r < 0) {
                        fprintf(stderr, "calc-service: cannot own %s: %s\n", CALC_NAME, strerror(-r));
                        goto out;
                }
                printf("calc-service: %s at %s on %s (%s)\n", CALC_NAME, CALC_PATH, bus,
                       busrpc_conn_get_unique_name(conn));
        }
        if (peer) {
                r = busrpc_server_new(peer, &server);
                if (r < 0) {
                        fprintf(stderr, "calc-service: cannot listen on %s: %s\n", peer, strerror(-r));
                        goto out;
                }
                /* Exported once on the server: every peer, now or later, sees it. */
                r = calculator_export_server(server, CALC_PATH, &calc_ops, &calc,
                                             &calc.objects[calc.n_objects]);
                if (r < 0)
                        goto fail;
                calc.n_objects++;
                printf("calc-service: %s for peers at %s\n", CALC_PATH, busrpc_server_get_address(server));
        }
        r = busrpc_loop_handle_signals(calc.loop);
        if (r < 0)
                goto fail;
        printf("calc-service: ready\n");
        fflush(stdout);

        r = busrpc_loop_run(calc.loop);
        if (r == -ECONNRESET) {
                /* The bus went away (restarted or killed): exit non-zero, so a
                 * supervisor starts us again on the new bus. */
                fprintf(stderr, "calc-service: lost the connection to %s; exiting\n", bus);
                goto out;
        }
        if (r < 0)
                goto fail;
        printf("calc-service: stopped after %" PRIu64 " calls since the last reset\n", calc.calls);
        goto out;
fail:
        fprintf(stderr, "calc-service: %s\n", strerror(-r));
out:
        /* Stopped with Slow calls still waiting: answer them rather than leave the callers hanging. */
        while (calc.slow_calls) {
                busrpc_call_fail(calc.slow_calls->call, BUSRPC_ERROR_NO_REPLY, "the service is stopping");
                slow_free(calc.slow_calls);
        }
        for (size_t i = 0; i < calc.n_objects; i++)
                busrpc_object_release(calc.objects[i]);
        busrpc_server_free(server);
        busrpc_conn_unref(conn);
        busrpc_loop_unref(calc.loop);
        free(calc.secret);
        return r < 0 ? 1 : 0;
}
