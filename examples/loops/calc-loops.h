/* calc-loops.h: what the three loop examples share: a calculator service
 * and a client, both written against a busrpc_loop only. glib-calc.c,
 * sd-event-calc.c and libuv-calc.c each run them from their own loop
 * through that loop's adapter; those files hold all the loop-specific code.
 */
#ifndef CALC_LOOPS_H
#define CALC_LOOPS_H

#include <stdbool.h>
#include "calc.h"

#define CALC_NAME "org.example.Calculator"
#define CALC_PATH "/org/example/Calculator"

typedef struct SlowCall SlowCall;

/* The service: Add (emits Overflowed on overflow), Divide, and Slow, which
 * answers from a busrpc timer, on a bus or a peer socket. */
typedef struct CalcService {
        busrpc_loop *loop;
        busrpc_conn *conn;
        busrpc_server *server;
        busrpc_object *object;
        SlowCall *slow_calls;
} CalcService;

int calc_service_start(CalcService *svc, busrpc_loop *l, const char *bus, const char *peer);
void calc_service_stop(CalcService *svc);

/* The client: from the loop, calls the service asynchronously (Add, a Slow
 * call answered by the service's timer, a Slow call that times out on the
 * client's side) and waits for an Overflowed signal; @done runs from the
 * loop when all of that has completed. */
typedef struct CalcClient {
        busrpc_conn *conn;
        busrpc_proxy *proxy;
        busrpc_subscription *sub;
        void (*done)(void *userdata);
        void *userdata;
        int remaining;
        char lines[5][160];
} CalcClient;

int calc_client_start(CalcClient *cli, busrpc_loop *l, const char *bus, const char *peer,
                      void (*done)(void *userdata), void *userdata);
/* Prints what happened, in a fixed order; frees the client. */
int calc_client_finish(CalcClient *cli);

/* The examples' command line:
 *   NAME (--bus ADDRESS | --peer ADDRESS) [--client]
 *   NAME --idle
 * Returns the mode ('s' serve, 'c' client, 'i' idle) or 0 after printing usage. */
int calc_loops_args(int argc, char **argv, const char **bus, const char **peer);

/* --idle: CPU time used by this process so far, in ms. */
long calc_loops_cpu_ms(void);

#endif
