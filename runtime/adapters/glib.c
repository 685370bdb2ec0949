/* glib.c: libbusrpc-glib, a GSource that drives a busrpc_loop.
 *
 * The busrpc loop is one epoll fd: readable when any of its connections,
 * servers, io watches or signal hooks has something. Its timers (including
 * libdbus's call timeouts) and its queue of messages waiting for dispatch
 * are not on that fd; busrpc_loop_get_timeout() covers them, and becomes
 * the GSource's timeout on each prepare. Only the public busrpc API is used.
 */
#include <errno.h>
#include <sys/epoll.h>
#include <glib.h>

#include "busrpc/busrpc-glib.h"

#define EXPORT __attribute__((visibility("default")))

struct busrpc_glib_source {
        GSource base; /* first: g_source_new() allocates the whole struct */
        busrpc_loop *loop;
        gpointer fd_tag;
        busrpc_glib_quit_fn quit_cb;
        void *quit_userdata;
};

static gboolean source_prepare(GSource *base, gint *timeout) {
        busrpc_glib_source *s = (busrpc_glib_source *)base;
        uint64_t usec = BUSRPC_TIMEOUT_INFINITE;

        (void)busrpc_loop_get_timeout(s->loop, &usec);
        *timeout = busrpc_usec_to_poll_ms(usec);
        return usec == 0;
}

static gboolean source_check(GSource *base) {
        busrpc_glib_source *s = (busrpc_glib_source *)base;
        uint64_t usec = BUSRPC_TIMEOUT_INFINITE;

        if (g_source_query_unix_fd(base, s->fd_tag) != 0)
                return TRUE;
        /* The prepare timeout ran out: a busrpc timer may be due. */
        (void)busrpc_loop_get_timeout(s->loop, &usec);
        return usec == 0;
}

static gboolean source_dispatch(GSource *base, GSourceFunc unused_cb, gpointer unused_data) {
        busrpc_glib_source *s = (busrpc_glib_source *)base;
        int r, code = 0;

        /* GLib holds a reference on the source while it dispatches, so a
         * busrpc callback may detach it: s stays valid until we return. */
        r = busrpc_loop_process(s->loop);
        if (r < 0)
                code = r;
        else if (busrpc_loop_take_quit(s->loop, &code) <= 0)
                return G_SOURCE_CONTINUE;
        if (s->quit_cb && !g_source_is_destroyed(base))
                s->quit_cb(s, code, s->quit_userdata);
        return G_SOURCE_CONTINUE;
}

static void source_finalize(GSource *base) {
        busrpc_glib_source *s = (busrpc_glib_source *)base;

        s->loop = busrpc_loop_unref(s->loop);
}

static GSourceFuncs source_funcs = {
        .prepare = source_prepare,
        .check = source_check,
        .dispatch = source_dispatch,
        .finalize = source_finalize,
};

EXPORT int busrpc_glib_attach(busrpc_loop *l, GMainContext *ctx, int priority, busrpc_glib_source **out) {
        busrpc_glib_source *s;
        GIOCondition cond = 0;
        int fd, events;

        if (!l || !out)
                return -EINVAL;
        fd = busrpc_loop_get_fd(l);
        events = busrpc_loop_get_events(l);
        if (fd < 0 || events < 0)
                return fd < 0 ? fd : events;
        if (events & EPOLLIN)
                cond |= G_IO_IN;
        if (events & EPOLLOUT)
                cond |= G_IO_OUT;
        /* GLib aborts on allocation failure: g_source_new() never fails. */
        s = (busrpc_glib_source *)g_source_new(&source_funcs, sizeof(*s));
        s->loop = busrpc_loop_ref(l);
        s->fd_tag = g_source_add_unix_fd(&s->base, fd, cond);
        g_source_set_priority(&s->base, priority);
        g_source_set_name(&s->base, "busrpc");
        g_source_attach(&s->base, ctx);
        *out = s;
        return 0;
}

EXPORT busrpc_glib_source *busrpc_glib_detach(busrpc_glib_source *s) {
        if (!s)
                return NULL;
        g_source_destroy(&s->base);
        g_source_unref(&s->base);
        return NULL;
}

EXPORT void busrpc_glib_set_quit(busrpc_glib_source *s, busrpc_glib_quit_fn cb, void *userdata) {
        if (!s)
                return;
        s->quit_cb = cb;
        s->quit_userdata = userdata;
}

EXPORT GSource *busrpc_glib_get_source(busrpc_glib_source *s) {
        return s ? &s->base : NULL;
}
