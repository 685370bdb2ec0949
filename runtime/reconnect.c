/* reconnect.c: what happens when a bus or client peer connection is lost
 * (the bus restarted or was killed, the peer went away): the program is
 * told (busrpc_conn_on_event()) or, by default, the loop quits with
 * -ECONNRESET so a supervised service exits instead of running on no bus;
 * with busrpc_conn_set_reconnect(), the same address is dialled again and
 * the names are asked for again. The object tree lives in the busrpc_conn,
 * not in libdbus, so the objects are served again as they were.
 *
 * The loss is seen in the filter, while libdbus dispatches the local
 * Disconnected signal, or in the transport's close callback on the fast
 * path; it is handled from a timer, after that dispatch or read has
 * finished (the calls in flight complete first), so the link is never
 * swapped under libdbus's or the transport's feet. */
#include <stdlib.h>
#include "conn.h"
#include "loop.h"
#include "name.h"

static void emit(busrpc_conn *c, busrpc_conn_event ev, int error) {
        if (c->event_cb)
                c->event_cb(c, ev, error, c->event_userdata);
}

static void give_up(busrpc_conn *c, int error) {
        c->lost_error = -ECONNRESET;
        if (c->event_cb)
                emit(c, BUSRPC_CONN_LOST, error);
        else if (c->loop)
                busrpc_loop_quit(c->loop, -ECONNRESET);
}

static int lost_timer_fire(busrpc_source *s, void *userdata);

static int arm(busrpc_conn *c, unsigned ms) {
        busrpc_source_release(c->lost_timer);
        c->lost_timer = NULL;
        return busrpc_loop_add_timer(c->loop, (uint64_t)ms * 1000u, false, lost_timer_fire, c,
                                     &c->lost_timer);
}

static int try_reconnect(busrpc_conn *c) {
        int r = conn_relink(c);

        if (r < 0)
                return r;
        c->lost = false;
        c->retry_ms = 0;
        if (c->kind == CONN_BUS)
                (void)name_request_all(c); /* each name's callback tells its fate */
        return 0;
}

static int lost_timer_fire(busrpc_source *s, void *userdata) {
        busrpc_conn *c = userdata;
        int r;

        /* One-shot: gone once it ran; arm() makes the next one if any. */
        c->lost_timer = busrpc_source_release(s);
        busrpc_conn_ref(c);
        if (c->lost_error < 0 || !c->reconnect_usec || !c->address) {
                give_up(c, -ECONNRESET);
                goto out;
        }
        if (c->retry_ms == 0) {
                c->retry_ms = RECONNECT_FIRST_MS;
                emit(c, BUSRPC_CONN_RECONNECTING, -ECONNRESET);
                if (c->closing || !c->lost)
                        goto out;
        }
        r = try_reconnect(c);
        if (r >= 0) {
                emit(c, BUSRPC_CONN_RECONNECTED, 0);
                goto out;
        }
        if (loop_now_usec() - c->lost_at >= c->reconnect_usec) {
                give_up(c, r);
                goto out;
        }
        if (arm(c, c->retry_ms) < 0) {
                give_up(c, -ENOMEM);
                goto out;
        }
        c->retry_ms =
                c->retry_ms * 2 > RECONNECT_MAX_INTERVAL_MS ? RECONNECT_MAX_INTERVAL_MS : c->retry_ms * 2;
out:
        busrpc_conn_unref(c);
        return 0;
}

void conn_lost(busrpc_conn *c) {
        if (c->closing || c->lost || !c->loop)
                return;
        c->lost = true;
        c->lost_at = loop_now_usec();
        c->retry_ms = 0;
        /* The names went with the bus; a reconnection asks for them again. */
        for (busrpc_name *n = c->names; n; n = n->next)
                n->owned = false;
        if (arm(c, 0) < 0)
                give_up(c, -ENOMEM);
}

/* A lost conn moved to another loop: its pending handling moves along,
 * and a loss already final without a handler quits the new loop's run
 * too (the fast path hears of a hangup at once, libdbus one dispatch
 * later: the same program sees the same thing on either link). */
void conn_lost_moved(busrpc_conn *c) {
        if ((c->lost_timer || (c->lost_error < 0 && !c->event_cb)) && arm(c, 0) < 0)
                give_up(c, -ENOMEM);
}

void conn_lost_free(busrpc_conn *c) {
        c->lost_timer = busrpc_source_release(c->lost_timer);
}

BUSRPC_EXPORT int busrpc_conn_on_event(busrpc_conn *c, busrpc_conn_event_fn cb, void *userdata) {
        return_if_fail(c && (c->kind == CONN_BUS || c->kind == CONN_PEER), -EINVAL);
        c->event_cb = cb;
        c->event_userdata = cb ? userdata : NULL;
        return 0;
}

BUSRPC_EXPORT int busrpc_conn_set_reconnect(busrpc_conn *c, uint64_t timeout_usec) {
        return_if_fail(c && (c->kind == CONN_BUS || c->kind == CONN_PEER), -EINVAL);
        c->reconnect_usec = timeout_usec;
        return 0;
}
