/* getall.c: Properties.GetAll read by a property table, synchronously
 * (busrpc_proxy_get_all_values()): what every generated X_get_all() did
 * with a static copy of the same loop in each client file.
 *
 * Stricter than what a watch or a cache reads (watch.c's props_read_dict()
 * skips a value of another signature, as a signal may carry a property a
 * newer service retyped): a caller that asked for everything at once is
 * told the reply does not match its table (-EBADMSG, InvalidArgs naming
 * the property), rather than given a partial answer it cannot tell apart.
 */
#include "watch.h"
#include <stdlib.h>
#include <string.h>

static int read_dict(const busrpc_property_table *t, busrpc_msg *reply, void *values, uint64_t *present,
                     busrpc_error *err) {
        char sigbuf[BUSRPC_SIGNATURE_MAX + 1];
        busrpc_iter it, dict, entry, value;
        int r;

        r = busrpc_msg_read(reply, &it);
        if (r >= 0)
                r = busrpc_iter_recurse(&it, &dict);
        while (r >= 0 && busrpc_iter_type(&dict) == BUSRPC_TYPE_DICT_ENTRY) {
                const busrpc_property_info *p;
                const char *name = NULL, *sig;
                int i;

                r = busrpc_iter_recurse(&dict, &entry);
                if (r >= 0)
                        r = busrpc_iter_get_basic(&entry, BUSRPC_TYPE_STRING, &name);
                if (r < 0)
                        break;
                i = prop_table_find(t, name);
                if (i < 0 || (*present & PROP_BIT(i)))
                        continue; /* unknown to the table, or sent twice: the first counts */
                p = &t->props[i];
                sig = busrpc_iter_get_variant_signature(&entry, sigbuf, sizeof(sigbuf)) >= 0 ? sigbuf : NULL;
                if (!sig || strcmp(sig, p->type->signature) != 0) {
                        busrpc_error_set(err, BUSRPC_ERROR_INVALID_ARGS, "property %s has type '%s', expected '%s'",
                                         name, sig ? sig : "?", p->type->signature);
                        return -EBADMSG;
                }
                r = busrpc_iter_recurse(&entry, &value);
                if (r < 0)
                        break;
                r = busrpc_value_read(&value, p->type, (char *)values + p->offset, err);
                if (r < 0)
                        return r;
                *present |= PROP_BIT(i);
        }
        return r < 0 ? busrpc_error_set_errno(err, r) : 0;
}

BUSRPC_EXPORT int busrpc_proxy_get_all_values(busrpc_proxy *p, const busrpc_property_table *t, void *values,
                                              uint64_t *ret_present, busrpc_error *err) {
        busrpc_msg *reply = NULL;
        uint64_t present = 0;
        int r;

        return_if_fail(p && values && ret_present, -EINVAL);
        r = prop_table_check(t);
        if (r < 0)
                return r;
        for (size_t i = 0; i < t->n_props; i++)
                busrpc_value_init(t->props[i].type, (char *)values + t->props[i].offset);
        r = busrpc_proxy_get_all(p, t->interface, &reply, err);
        if (r < 0)
                return r;
        r = read_dict(t, reply, values, &present, err);
        busrpc_msg_unref(reply);
        if (r < 0) {
                for (size_t i = 0; i < t->n_props; i++)
                        busrpc_value_clear(t->props[i].type, (char *)values + t->props[i].offset);
                return r;
        }
        *ret_present = present;
        return 0;
}
