/* fz-service.h: the object the runtime's serving fuzz targets export
 * (fuzz-dispatch, fuzz-fastcall): fuzz/fuzz.idl's generated skeletons with
 * ops that do something with every input (copy, sum, keep, notify, emit),
 * so replies carry what was sent. A target includes it once, after fz.h,
 * with fz_service_die() defined.
 */
#pragma once

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fz.h"

static void fz_service_die(const char *what);

typedef struct State {
        fz_string_array tags;
        busrpc_variant *any;
        fz_basics snapshot;
        fz_string_variant_map settings;
        int32_t secret;
        char *last_fire;
        /* /fz: setters notify, Fire emits Changed (to the peers whose
         * match rules, set by earlier inputs through AddMatch, accept it). */
        busrpc_object *obj;
} State;

static char *dup_str(const char *s) {
        return strdup(s ? s : "");
}

static int basics_copy(fz_basics *to, const fz_basics *from) {
        fz_basics_init(to);
        *to = *from;
        to->s = dup_str(from->s);
        to->o = dup_str(from->o && *from->o ? from->o : "/");
        to->g = dup_str(from->g);
        to->v = from->v ? busrpc_variant_ref(from->v) : NULL;
        if (!to->v && busrpc_variant_new_int32(0, &to->v) < 0)
                to->v = NULL;
        if (!to->s || !to->o || !to->g || !to->v) {
                fz_basics_clear(to);
                return -ENOMEM;
        }
        return 0;
}

static int strings_copy(fz_string_array *to, char *const *items, size_t n) {
        memset(to, 0, sizeof(*to));
        if (n == 0)
                return 0;
        to->items = calloc(n, sizeof(*to->items));
        if (!to->items)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                to->items[i] = dup_str(items[i]);
                to->n = i + 1;
                if (!to->items[i]) {
                        fz_string_array_clear(to);
                        return -ENOMEM;
                }
        }
        return 0;
}

static int variant_map_copy(fz_string_variant_map *to, const fz_string_variant_map *from) {
        memset(to, 0, sizeof(*to));
        if (from->n == 0)
                return 0;
        to->keys = calloc(from->n, sizeof(*to->keys));
        to->values = calloc(from->n, sizeof(*to->values));
        if (!to->keys || !to->values) {
                free(to->keys);
                free(to->values);
                to->keys = NULL;
                to->values = NULL;
                return -ENOMEM;
        }
        for (size_t i = 0; i < from->n; i++) {
                to->keys[i] = dup_str(from->keys[i]);
                to->values[i] = busrpc_variant_ref(from->values[i]);
                to->n = i + 1;
                if (!to->keys[i]) {
                        fz_string_variant_map_clear(to);
                        return -ENOMEM;
                }
        }
        return 0;
}

static int op_basic(void *self, busrpc_call *call, bool b, uint8_t y, int16_t n, uint16_t q, int32_t i, uint32_t u,
                    int64_t x, uint64_t t, double d, const char *s, const char *path, const char *g,
                    busrpc_variant *v, bool *ob, uint8_t *oy, int16_t *on, uint16_t *oq, int32_t *oi, uint32_t *ou,
                    int64_t *ox, uint64_t *ot, double *od, char **os, char **oo, char **og, busrpc_variant **ov) {
        *ob = b;
        *oy = y;
        *on = n;
        *oq = q;
        *oi = i;
        *ou = u;
        *ox = x;
        *ot = t;
        *od = d;
        *os = dup_str(s);
        *oo = dup_str(path);
        *og = dup_str(g);
        *ov = busrpc_variant_ref(v);
        return *os && *oo && *og ? 0 : -ENOMEM;
}

static int op_arrays(void *self, busrpc_call *call, const fz_bool_array *b, const fz_byte_array *y,
                     const fz_int16_array *n, const fz_uint16_array *q, const fz_int32_array *i,
                     const fz_uint32_array *u, const fz_int64_array *x, const fz_uint64_array *t,
                     const fz_double_array *d, const fz_string_array *s, const fz_objpath_array *paths,
                     const fz_signature_array *g, const fz_variant_array *v, const fz_fd_array *h,
                     fz_int32_array *oi, fz_string_array *os, fz_variant_array *ov, uint64_t *count) {
        uint64_t sum = 0;
        int r;

        for (size_t k = 0; k < y->n; k++)
                sum += y->items[k];
        for (size_t k = 0; k < b->n; k++)
                sum += b->items[k];
        *count = sum + b->n + y->n + n->n + q->n + i->n + u->n + x->n + t->n + d->n + s->n + paths->n + g->n +
                 v->n + h->n;
        if (i->n) {
                oi->items = malloc(i->n * sizeof(*oi->items));
                if (!oi->items)
                        return -ENOMEM;
                memcpy(oi->items, i->items, i->n * sizeof(*oi->items));
                oi->n = i->n;
        }
        r = strings_copy(os, s->items, s->n);
        if (r < 0)
                return r;
        if (v->n) {
                ov->items = calloc(v->n, sizeof(*ov->items));
                if (!ov->items)
                        return -ENOMEM;
                for (size_t k = 0; k < v->n; k++)
                        ov->items[k] = busrpc_variant_ref(v->items[k]);
                ov->n = v->n;
        }
        return 0;
}

static int op_enums(void *self, busrpc_call *call, fz_small s, fz_signed g, fz_huge h, fz_bits b, fz_wide w,
                    fz_small *os, fz_signed *og, fz_huge *oh, fz_bits *ob, fz_wide *ow) {
        *os = s;
        *og = g;
        *oh = h;
        *ob = b;
        *ow = w;
        return 0;
}

static int op_structs(void *self, busrpc_call *call, const fz_basics *a, const fz_nest *n, fz_basics *oa,
                      uint64_t *count) {
        uint64_t c = n->maps.n + n->grid.n + n->deep.n + n->smalls.n + n->by_enum.n + n->flags_list.n + n->fds.n;

        for (size_t k = 0; k < n->deep.n; k++)
                c += n->deep.values[k].n;
        for (size_t k = 0; k < n->grid.n; k++)
                c += n->grid.items[k].n;
        *count = c;
        return basics_copy(oa, a);
}

static int op_handles(void *self, busrpc_call *call, const fz_handles *h, uint64_t *count) {
        *count = (h->file >= 0) + (h->blob != NULL) + (h->inner.label ? strlen(h->inner.label) : 0);
        return 0;
}

static int op_maps(void *self, busrpc_call *call, const fz_string_variant_map *props,
                   const fz_int64_string_array_map *lists, const fz_objpath_string_variant_map_map *managed,
                   const fz_byte_double_map *small, fz_string_variant_map *oprops, uint64_t *count) {
        uint64_t c = props->n + lists->n + managed->n + small->n;

        for (size_t k = 0; k < lists->n; k++)
                c += lists->values[k].n;
        for (size_t k = 0; k < managed->n; k++)
                c += managed->values[k].n;
        *count = c;
        return variant_map_copy(oprops, props);
}

static int op_typedefs(void *self, busrpc_call *call, const char *name, const fz_string_basics_array_map *idx,
                       char **oname, uint64_t *count) {
        uint64_t c = idx->n;

        for (size_t k = 0; k < idx->n; k++)
                c += idx->values[k].n;
        *count = c;
        *oname = dup_str(name);
        return *oname ? 0 : -ENOMEM;
}

static int op_blob(void *self, busrpc_call *call, busrpc_shm *data, uint64_t *size, uint64_t *sum) {
        const uint8_t *p = busrpc_shm_const_data(data);
        uint64_t s = 0;

        *size = busrpc_shm_size(data);
        for (size_t k = 0; p && k < *size; k++)
                s += p[k];
        *sum = s;
        return 0;
}

static int op_files(void *self, busrpc_call *call, int a, const fz_fd_array *many, int *ra) {
        *ra = dup(a);
        return *ra >= 0 ? 0 : -errno;
}

static int op_nested(void *self, busrpc_call *call, const fz_variant_array_array *vv,
                     const fz_int32_array_array_array *deep, uint64_t *count) {
        uint64_t c = vv->n + deep->n;

        for (size_t k = 0; k < vv->n; k++)
                c += vv->items[k].n;
        for (size_t k = 0; k < deep->n; k++)
                for (size_t j = 0; j < deep->items[k].n; j++)
                        c += deep->items[k].items[j].n;
        *count = c;
        return 0;
}

static int op_fire(void *self, busrpc_call *call, const char *what, const fz_int32_array *nums) {
        State *st = self;
        char *s = dup_str(what);

        if (!s)
                return -ENOMEM;
        free(st->last_fire);
        st->last_fire = s;
        (void)every_emit_changed(st->obj, what, &st->snapshot);
        return 0;
}

static int op_nothing(void *self, busrpc_call *call) {
        return 0;
}

static int op_fail(void *self, busrpc_call *call, int32_t code) {
        if (code == 0)
                return 0;
        if (code < 0)
                return code < -4095 ? -EINVAL : code; /* an errno: the runtime answers */
        return every_error_broken(call, "broken with code %d", (int)code);
}

static int get_tree(void *self, fz_string_basics_array_map *tree, busrpc_error *err) {
        State *st = self;

        tree->keys = calloc(1, sizeof(*tree->keys));
        tree->values = calloc(1, sizeof(*tree->values));
        if (!tree->keys || !tree->values)
                goto oom;
        tree->n = 1;
        tree->keys[0] = strdup("snapshot");
        tree->values[0].items = calloc(1, sizeof(fz_basics));
        if (!tree->keys[0] || !tree->values[0].items)
                goto oom;
        if (basics_copy(&tree->values[0].items[0], &st->snapshot) < 0)
                goto oom;
        tree->values[0].n = 1;
        return 0;
oom:
        return busrpc_error_set_errno(err, -ENOMEM);
}

static int set_tree(void *self, const fz_string_basics_array_map *tree, busrpc_error *err) {
        State *st = self;

        if (tree->n > 0 && tree->values[0].n > 0) {
                fz_basics copy;
                if (basics_copy(&copy, &tree->values[0].items[0]) < 0)
                        return busrpc_error_set_errno(err, -ENOMEM);
                fz_basics_clear(&st->snapshot);
                st->snapshot = copy;
        }
        (void)every_notify_tree(st->obj);
        return 0;
}

static int get_tags(void *self, fz_string_array *tags, busrpc_error *err) {
        State *st = self;
        return strings_copy(tags, st->tags.items, st->tags.n);
}

static int set_tags(void *self, const fz_string_array *tags, busrpc_error *err) {
        State *st = self;
        fz_string_array copy;
        int r = strings_copy(&copy, tags->items, tags->n);

        if (r < 0)
                return r;
        fz_string_array_clear(&st->tags);
        st->tags = copy;
        (void)every_notify_tags(st->obj);
        return 0;
}

static int get_limit(void *self, fz_huge *limit, busrpc_error *err) {
        *limit = FZ_HUGE_HIGH;
        return 0;
}

static int set_secret(void *self, int32_t secret, busrpc_error *err) {
        State *st = self;

        if (secret < 0)
                return busrpc_error_set(err, BUSRPC_ERROR_INVALID_ARGS, "negative secret %d", (int)secret);
        st->secret = secret;
        (void)every_notify_secret(st->obj);
        return 0;
}

static int get_any(void *self, busrpc_variant **any, busrpc_error *err) {
        State *st = self;

        if (st->any) {
                *any = busrpc_variant_ref(st->any);
                return 0;
        }
        return busrpc_variant_new_string("unset", any);
}

static int set_any(void *self, busrpc_variant *any, busrpc_error *err) {
        State *st = self;

        busrpc_variant_unref(st->any);
        st->any = busrpc_variant_ref(any);
        (void)every_notify_any(st->obj);
        return 0;
}

static int get_snapshot(void *self, fz_basics *snapshot, busrpc_error *err) {
        State *st = self;
        return basics_copy(snapshot, &st->snapshot);
}

static int set_snapshot(void *self, const fz_basics *snapshot, busrpc_error *err) {
        State *st = self;
        fz_basics copy;
        int r = basics_copy(&copy, snapshot);

        if (r < 0)
                return r;
        fz_basics_clear(&st->snapshot);
        st->snapshot = copy;
        (void)every_notify_snapshot(st->obj);
        return 0;
}

static int get_settings(void *self, fz_string_variant_map *settings, busrpc_error *err) {
        State *st = self;
        return variant_map_copy(settings, &st->settings);
}

static int set_settings(void *self, const fz_string_variant_map *settings, busrpc_error *err) {
        State *st = self;
        fz_string_variant_map copy;
        int r = variant_map_copy(&copy, settings);

        if (r < 0)
                return r;
        fz_string_variant_map_clear(&st->settings);
        st->settings = copy;
        (void)every_notify_settings(st->obj);
        return 0;
}

static const every_ops ops = {
        .basic = op_basic,
        .arrays = op_arrays,
        .enums = op_enums,
        .structs = op_structs,
        .handles = op_handles,
        .maps = op_maps,
        .typedefs = op_typedefs,
        .blob = op_blob,
        .files = op_files,
        .nested = op_nested,
        .fire = op_fire,
        .nothing = op_nothing,
        .fail = op_fail,
        .get_tree = get_tree,
        .set_tree = set_tree,
        .get_tags = get_tags,
        .set_tags = set_tags,
        .get_limit = get_limit,
        .set_secret = set_secret,
        .get_any = get_any,
        .set_any = set_any,
        .get_snapshot = get_snapshot,
        .set_snapshot = set_snapshot,
        .get_settings = get_settings,
        .set_settings = set_settings,
};

/* The state an export starts from. */
static void state_init(State *st) {
        fz_basics_init(&st->snapshot);
        st->snapshot.s = strdup("s");
        st->snapshot.o = strdup("/");
        st->snapshot.g = strdup("g");
        if (busrpc_variant_new_uint32(7, &st->snapshot.v) < 0 || !st->snapshot.s || !st->snapshot.o ||
            !st->snapshot.g)
                fz_service_die("out of memory");
}
