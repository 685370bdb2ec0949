/* busrpc-tool.h: what the parts of the busrpc command share: a small JSON
 * value tree with its reader and writer (busrpc-json.c), the conversion of
 * JSON values to and from D-Bus messages by signature (busrpc-value.c) and
 * the monitor (busrpc-monitor.c). See docs/man/busrpc.1 for the mapping. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <dbus/dbus.h>

#define EXIT_USAGE 2
/* JSON nesting is bounded like D-Bus nesting (64 levels of containers). */
#define JSON_MAX_DEPTH 64

typedef enum {
        JSON_NULL,
        JSON_BOOL,
        JSON_NUMBER, /* kept as its text: 64-bit integers stay exact */
        JSON_STRING,
        JSON_ARRAY,
        JSON_OBJECT,
} JsonType;

typedef struct Json Json;
struct Json {
        JsonType type;
        bool b;
        char *str;      /* NUMBER: the literal; STRING: UTF-8 text (no NUL inside) */
        size_t n;       /* ARRAY, OBJECT: members */
        char **keys;    /* OBJECT: member names */
        Json **items;   /* ARRAY, OBJECT: member values */
};

/* Parse one JSON text. On error returns NULL and writes a message with the
 * byte offset (and line:column) into err. */
Json *json_parse(const char *text, char *err, size_t err_size);
void json_free(Json *j);
const Json *json_get(const Json *obj, const char *key);

/* Whether p[0..len) is UTF-8 without NUL. */
bool utf8_valid(const char *p, size_t len);

/* Writers for the output side, one value at a time. */
void json_write_string(FILE *f, const char *s, size_t len);

/* Byte arrays: how "ay" is printed. */
typedef enum { BYTES_ARRAY, BYTES_BASE64, BYTES_STRING } BytesMode;

/* Append v, as the single complete type at *sig, to it. fds: the --fd/--shm
 * descriptors an "h" value indexes. Returns 0, or -1 with a message in err. */
int value_append(DBusMessageIter *it, const char *sig, const Json *v, const int *fds, size_t n_fds,
                 char *err, size_t err_size);
/* Append a list of JSON values as a message's arguments of signature sig. */
int values_append(DBusMessage *m, const char *sig, Json **vals, size_t n_vals, const int *fds,
                  size_t n_fds, char *err, size_t err_size);
/* Print the value at it as JSON; received fds are printed as {"fd": N}. */
void value_print(FILE *f, DBusMessageIter *it, BytesMode bytes);
/* Print all of a message's arguments as one JSON array. */
void message_args_print(FILE *f, DBusMessage *m, BytesMode bytes);

/* busrpc monitor ADDRESS: see busrpc-monitor.c. */
int monitor_run(DBusConnection *c, bool on_bus, bool json, BytesMode bytes);
