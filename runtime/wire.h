/* wire.h: busrpc's own D-Bus wire codec (internal; nothing here is exported).
 *
 * What libdbus does for a message, without libdbus: parse and validate a
 * marshalled message as strictly as the D-Bus specification asks (both
 * byte orders), read and write bodies by signature on a growable buffer,
 * prebuild the header of a method once (a template: serial and lengths
 * patched per message), and read and write the descriptor contract's C
 * values (busrpc_type, busrpc_args) straight from and to the wire bytes
 * (wire-value-*.c). The transport and the descriptor marshaller build on it;
 * tests/test-wire.c and fuzz/fuzz-wire.c hold it against libdbus.
 *
 * Where libdbus and the specification differ, docs/reliability.md
 * ("The wire codec against libdbus") says which one this follows; in short: libdbus's
 * verdict everywhere, except two documented places where busrpc is
 * stricter (WIRE_E_DEPTH and WIRE_E_FD_INDEX below).
 *
 * Conventions: functions return 0 (or a length) on success and a negative
 * errno on failure; why a message was refused is a WireErr code, kept
 * with the offset where it was found.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "busrpc/busrpc.h"
#include "../common/names.h"

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define WIRE_NATIVE WIRE_LITTLE
#else
#define WIRE_NATIVE WIRE_BIG
#endif

#define WIRE_FIXED_HEADER 16u             /* yyyyuu + the fields array's length */
#define WIRE_MAX_MESSAGE (128u << 20)     /* header + body */
#define WIRE_MAX_ARRAY (64u << 20)        /* bytes of one array */
#define WIRE_MAX_SIGNATURE 255u
#define WIRE_MAX_NAME 255u                /* interface, member, error and bus names (NAMES_MAX_LEN) */
#define WIRE_MAX_ARRAY_DEPTH 32u          /* arrays around a value, in one signature */
#define WIRE_MAX_STRUCT_DEPTH 32u         /* structs (and, apart, dict entries) in one signature */
#define WIRE_MAX_DEPTH 64u                /* all containers around a value, across variants */
#define WIRE_MAX_FDS (WIRE_MAX_MESSAGE / 4) /* libdbus's bound on UNIX_FDS */

enum {
        WIRE_LITTLE = 'l',
        WIRE_BIG = 'B',
};

enum {
        WIRE_METHOD_CALL = 1,
        WIRE_METHOD_RETURN = 2,
        WIRE_ERROR = 3,
        WIRE_SIGNAL = 4,
};

enum {
        WIRE_FLAG_NO_REPLY = 0x1,
        WIRE_FLAG_NO_AUTO_START = 0x2,
        WIRE_FLAG_ALLOW_INTERACTIVE = 0x4,
};

enum {
        WIRE_FIELD_PATH = 1,
        WIRE_FIELD_INTERFACE = 2,
        WIRE_FIELD_MEMBER = 3,
        WIRE_FIELD_ERROR_NAME = 4,
        WIRE_FIELD_REPLY_SERIAL = 5,
        WIRE_FIELD_DESTINATION = 6,
        WIRE_FIELD_SENDER = 7,
        WIRE_FIELD_SIGNATURE = 8,
        WIRE_FIELD_UNIX_FDS = 9,
        WIRE_FIELD_CONTAINER = 10, /* libdbus 1.14's CONTAINER_INSTANCE ('o'); not in the specification */
        WIRE_FIELD_LAST = WIRE_FIELD_CONTAINER,
};

/* Why bytes were refused: one code per rule of the specification. */
typedef enum WireErr {
        WIRE_OK = 0,
        WIRE_E_ENDIAN,         /* byte 0 is neither 'l' nor 'B' */
        WIRE_E_TYPE,           /* message type 0 (INVALID) */
        WIRE_E_VERSION,        /* protocol version is not 1 */
        WIRE_E_SERIAL,         /* serial 0 */
        WIRE_E_TOO_LONG,       /* header + body above 128 MiB, or a length field insane */
        WIRE_E_FIELD_CODE,     /* header field code 0 */
        WIRE_E_FIELD_TYPE,     /* a known header field with another type than its own */
        WIRE_E_FIELD_TWICE,    /* a known header field twice */
        WIRE_E_MISSING,        /* a field the message type requires is absent */
        WIRE_E_LOCAL,          /* path or interface org.freedesktop.DBus.Local (reserved) */
        WIRE_E_PATH,           /* an object path */
        WIRE_E_INTERFACE,      /* an interface name */
        WIRE_E_MEMBER,         /* a member name */
        WIRE_E_ERROR_NAME,     /* an error name */
        WIRE_E_BUS_NAME,       /* destination or sender */
        WIRE_E_REPLY_SERIAL,   /* REPLY_SERIAL 0 */
        WIRE_E_SIGNATURE,      /* a signature (syntax, length, dict entry rules) */
        WIRE_E_PADDING,        /* a padding byte is not zero */
        WIRE_E_SHORT,          /* a value runs past the end of its message, or of its array */
        WIRE_E_TRAILING,       /* bytes left after the last value of the body */
        WIRE_E_UTF8,           /* a string is not UTF-8, or holds a NUL */
        WIRE_E_NUL,            /* a string, path or signature lacks its terminating NUL */
        WIRE_E_BOOL,           /* a boolean other than 0 or 1 */
        WIRE_E_ARRAY_LEN,      /* an array above 64 MiB */
        WIRE_E_ARRAY_PARTIAL,  /* a fixed-size array's length is not a multiple of its element's size */
        WIRE_E_VARIANT,        /* a variant's signature is not exactly one complete type */
        WIRE_E_DEPTH,          /* nesting above 32 arrays / 32 structs / 64 in all (stricter than libdbus) */
        WIRE_E_FD_INDEX,       /* an fd index not below UNIX_FDS (libdbus only checks when read) */
        WIRE_E_FDS_MISSING,    /* UNIX_FDS above the fds received with the message */
        WIRE_E__MAX,
} WireErr;

/* A short English name of @e ("bad padding"), for messages and tests. */
const char *wire_strerror(WireErr e);

/* ---- names and signatures (length-based: wire strings hold their length) ---- */

/* The name rules are common/names.c's (one copy for idlc, the runtime and
 * the tool), applied as libdbus 1.14 applies them to received messages. */
static inline bool wire_valid_utf8(const char *s, size_t len) {
        return names_utf8_valid(s, len);
}

static inline bool wire_valid_path(const char *s, size_t len) {
        return names_valid_object_path_len(s, len);
}

/* Also error names. */
static inline bool wire_valid_interface(const char *s, size_t len) {
        return names_check_dotted(s, len, NULL) == NAMES_OK;
}

static inline bool wire_valid_member(const char *s, size_t len) {
        return names_check_member(s, len, NULL) == NAMES_OK;
}

/* Unique names as libdbus reads them (names.h: NAMES_BUS_LAX_UNIQUE). */
static inline bool wire_valid_bus_name(const char *s, size_t len) {
        return names_valid_bus_name_len(s, len, NAMES_BUS_LAX_UNIQUE);
}

/**
 * wire_signature_check() - validate a signature of any number of complete
 * types (the body's, a 'g' value). @ret_depth (may be NULL) is the most
 * containers any value of it sits in (a 'v' counts one). Return: 0, or the
 * WireErr (WIRE_E_SIGNATURE, WIRE_E_DEPTH).
 */
WireErr wire_signature_check(const char *s, size_t len, unsigned *ret_depth);
/* Length of the complete type at @s (0 when it is not one), no checks beyond syntax. */
size_t wire_type_len(const char *s);
/* Alignment of a value of type code @t (1, 2, 4 or 8). */
unsigned wire_align_of(char t);
/* True for y b n q i u x t d h: values of a fixed size. */
bool wire_is_fixed(char t);

/* ---- a parsed message: a view into the caller's bytes ---- */

typedef struct WireMsg {
        const uint8_t *data; /* the message: header, padding, body */
        uint32_t size;       /* header_len + body_len */
        uint32_t header_len; /* the fixed header, the fields and the padding to 8 */
        uint32_t body_len;
        uint8_t endian; /* WIRE_LITTLE / WIRE_BIG */
        uint8_t type;   /* WIRE_METHOD_CALL.. (an unknown type > 4 is kept: the transport ignores it) */
        uint8_t flags;
        uint32_t serial;
        uint32_t reply_serial; /* 0 when absent */
        uint32_t unix_fds;     /* 0 when absent */
        /* NUL-terminated, inside @data; NULL when absent (signature: "") */
        const char *path, *interface, *member, *error_name, *destination, *sender, *signature, *container;
        uint8_t sig_len;
        uint8_t sig_depth; /* wire_signature_check()'s depth of the body signature */
        WireErr err;       /* after a failed parse: why */
        uint32_t err_at;   /* and where (offset in the message) */
} WireMsg;

/**
 * wire_frame() - the framing a stream reader needs, as libdbus's loader
 * checks it: byte order, the fields array and body lengths, the total.
 * Return: the total length of the message at @buf (header + body) when
 * @len bytes hold it, -EAGAIN with *@ret_need (bytes still missing) when
 * not, -EBADMSG with *@ret_err when the fixed header is insane.
 */
int wire_frame(const uint8_t *buf, size_t len, size_t *ret_need, WireErr *ret_err);
/**
 * wire_message_parse() - validate the message at the start of @buf and
 * fill @m (pointing into @buf, which must outlive it). @n_fds: the fds
 * that came with it; UNIX_FDS may not ask for more, and every 'h' in the
 * body must be below UNIX_FDS.
 * Return: the message's length (bytes of @buf after it are not looked
 * at); -EAGAIN when @len is too short, with *@ret_need the bytes still
 * missing (@ret_need may be NULL); -EBADMSG when invalid, with m->err and
 * m->err_at.
 */
int wire_message_parse(WireMsg *m, const uint8_t *buf, size_t len, unsigned n_fds, size_t *ret_need);
/* For the differential fuzzer: wire_message_parse() without the fd index
 * check, the one rule libdbus only applies when a value is read. */
#define WIRE_PARSE_NO_FD_INDEX 1u
int wire_message_parse_flags(WireMsg *m, const uint8_t *buf, size_t len, unsigned n_fds, size_t *ret_need,
                             unsigned flags);
/**
 * wire_body_check() - validate @len bytes at @body (at an 8-aligned
 * offset) as values of @sig (already checked, depth @depth) in byte order
 * @endian; fd indexes must be below @n_fds. Return: WIRE_OK or why not,
 * with *@ret_at (may be NULL) the offset.
 */
WireErr wire_body_check(const uint8_t *body, size_t len, const char *sig, size_t sig_len, unsigned depth,
                        uint8_t endian, uint32_t n_fds, uint32_t *ret_at);

/* ---- reading a validated body ---- */

typedef struct WireReader {
        const uint8_t *base; /* alignment origin (the body) */
        uint32_t pos, end;   /* next value; end of this container */
        const char *sig;     /* type of the next value; at sig_end: the end of this container's types */
        const char *sig_end;
        const char *elem;    /* arrays: the element's type, where sig restarts */
        bool swap;           /* the message's byte order is not the machine's */
        char kind;           /* 0 the body, 'a', 'r' struct, 'e' dict entry, 'v' */
        const int *fds;      /* the message's fds (borrowed), or NULL */
        uint32_t n_fds;
        uint64_t max_shm;    /* an shm value's bound where its type has none (the conn's; 0: the default) */
} WireReader;

/* A reader over @m's body (@m parsed by wire_message_parse()); @fds, n as
 * received. Set max_shm after it to the connection's bound
 * (busrpc_conn_set_max_shm_size()), as the libdbus path's iterator has it. */
void wire_reader_init(WireReader *r, const WireMsg *m, const int *fds, uint32_t n_fds);
/* A reader over @len bytes of values of @sig in @endian (validated by the caller). */
void wire_reader_init_raw(WireReader *r, const uint8_t *body, uint32_t len, const char *sig, uint8_t endian);
/* Type code of the next value ('i', 'a', '(' as 'r', '{' as 'e', 'v'...), 0 at the end. */
char wire_reader_peek(const WireReader *r);
/**
 * wire_read_basic() - read the next basic value of type @t into @ret
 * (uint8_t y; uint32_t b, as 0/1; int16_t/uint16_t n q; int32_t/uint32_t
 * i u h (the fd index); int64_t/uint64_t x t; double d; const char * s o g
 * borrowed from the message). Return: 0, -EBADMSG when the next value is
 * not a @t or the reader is at its end.
 */
int wire_read_basic(WireReader *r, char t, void *ret);
/* Enter the container that is next ('a' 'r' 'e' 'v'); wire_read_exit()
 * moves @r past it (skipping what @sub did not read). */
int wire_read_enter(WireReader *r, WireReader *sub);
int wire_read_exit(WireReader *r, WireReader *sub);
/* Skip the next value. */
int wire_read_skip(WireReader *r);
/* Bytes left in @r's container: after wire_read_enter() of an array, its length in bytes. */
static inline uint32_t wire_reader_left(const WireReader *r) {
        return r->end - r->pos;
}
/* Arrays of fixed-size values: the items in place (in the message's byte order), their count. */
int wire_read_fixed_array(WireReader *r, char t, const void **ret_items, uint32_t *ret_n);

/* ---- writing ---- */

typedef struct WireBuf {
        uint8_t *p;
        size_t n, cap;
        int err; /* sticky: the first failure (-ENOMEM, -E2BIG, -EINVAL) */
} WireBuf;

void wire_buf_init(WireBuf *b);
void wire_buf_free(WireBuf *b);
/* Room for @n more bytes. */
int wire_buf_reserve(WireBuf *b, size_t n);

typedef struct WireWriter {
        WireBuf *buf;
        size_t origin;    /* offset the alignment counts from (the message's start) */
        size_t len_at;    /* arrays: where the length goes */
        size_t start;     /* arrays: where the elements start */
        bool swap;        /* write the other byte order */
        char kind;        /* 0 the body, 'a' 'r' 'e' 'v' */
        uint8_t depth;    /* containers around */
        char elem_align;  /* arrays: alignment of the elements */
        char *sig;        /* the body: the signature being built (WIRE_MAX_SIGNATURE + 1 bytes), or NULL */
        uint16_t sig_len;
} WireWriter;

/**
 * wire_writer_init() - write values at the end of @b, aligned from
 * @origin (the offset of the message in @b; the body starts 8-aligned),
 * in byte order @endian. @sig: room for the signature the top-level
 * values make (WIRE_MAX_SIGNATURE + 1 bytes), or NULL not to build one.
 */
void wire_writer_init(WireWriter *w, WireBuf *b, size_t origin, uint8_t endian, char *sig);
/* Append a basic value (same C types as wire_read_basic()). Strings are checked: -EINVAL. */
int wire_write_basic(WireWriter *w, char t, const void *value);
/* Append a string of @len bytes (no NUL inside; checked as UTF-8 / path / signature by @t). */
int wire_write_string(WireWriter *w, char t, const char *s, size_t len);
/* A fixed-size array of @n items of @t (machine byte order) in one copy. */
int wire_write_fixed_array(WireWriter *w, char t, const void *items, uint32_t n);
/**
 * wire_write_open() - open a container: 'a' with @contents the element's
 * type, 'v' with @contents the value's type, 'r' (@contents the fields,
 * needed only at the top level, for the signature), 'e'. Close with
 * wire_write_close(), which patches an array's length (-E2BIG above 64 MiB).
 */
int wire_write_open(WireWriter *w, WireWriter *sub, char kind, const char *contents);
int wire_write_close(WireWriter *w, WireWriter *sub);

/* Copy the next value of @r to @w (re-encoding it in @w's byte order). */
int wire_write_from(WireWriter *w, WireReader *r);

/* ---- header templates ---- */

/* The header fields of a message (NULL / 0: absent). */
typedef struct WireHeader {
        uint8_t type, flags;
        const char *path, *interface, *member, *error_name, *destination, *sender, *signature;
        uint32_t reply_serial, unix_fds;
} WireHeader;

enum {
        WIRE_SLOT_REPLY_SERIAL = 1 << 0, /* a REPLY_SERIAL field patched per message */
        WIRE_SLOT_UNIX_FDS = 1 << 1,     /* a UNIX_FDS field patched per message */
};

/* A prebuilt header: the bytes up to the body, with the offsets patched per message. */
typedef struct WireTemplate {
        uint8_t *bytes;
        uint32_t len; /* 8-aligned */
        uint32_t reply_serial_at, unix_fds_at; /* 0: no such slot */
        uint8_t endian;
} WireTemplate;

/**
 * wire_template_init() - build the header of @h once (names checked here,
 * never per message). @slots: WIRE_SLOT_*; a slot's field is written even
 * when @h gives 0 for it. Return: 0, -EINVAL (a name or signature the
 * specification refuses, a required field missing), -ENOMEM.
 */
int wire_template_init(WireTemplate *t, uint8_t endian, const WireHeader *h, unsigned slots);
void wire_template_clear(WireTemplate *t);
/* Append the template's bytes to @b and a writer for the body after them. Return: offset of the message. */
int wire_template_begin(const WireTemplate *t, WireBuf *b, WireWriter *body, char *sig);
/**
 * wire_template_finish() - patch the body length, @serial and the slots of
 * the message begun at @msg_at (the body is everything after it in @b).
 * Return: the message's length; -E2BIG above 128 MiB; @b's sticky error.
 */
int wire_template_finish(const WireTemplate *t, WireBuf *b, size_t msg_at, uint32_t serial,
                         uint32_t reply_serial, uint32_t unix_fds);
/**
 * wire_message_build() - a whole message at once at the end of @b (8-aligned):
 * the header of @h (its signature must be the body's), then @body_len bytes
 * of @body (written at an 8-aligned origin). Return: the message's length;
 * -EINVAL, -E2BIG, -ENOMEM (then @b is as it was).
 */
int wire_message_build(WireBuf *b, uint8_t endian, const WireHeader *h, uint32_t serial, const void *body,
                       size_t body_len);

/* ---- the descriptor contract's C values (wire-value-write.c, wire-value-read.c) ---- */

/* The fds a message carries: appended by the writer (borrowed, not dup'ed). */
typedef struct WireFds {
        int *fds;
        uint32_t n, cap;
} WireFds;

void wire_fds_free(WireFds *f);

/**
 * wire_value_write() - append the C value at @value (of @type, the
 * representation of busrpc.h's "Type descriptors") to @w. FD and SHM
 * values append their fd to @fds (borrowed: keep the value alive until
 * the message is sent) and write its index; an SHM is sealed first.
 * VARIANT values are walked through the busrpc_variant API; one holding
 * an fd is not carried yet (-EOPNOTSUPP).
 * Return: 0; -EINVAL for what cannot be sent (as busrpc_value_append());
 * -ENOMEM, -E2BIG.
 */
int wire_value_write(WireWriter *w, const busrpc_type *type, const void *value, WireFds *fds);
int wire_args_write(WireWriter *w, const busrpc_args *args, const void *values, WireFds *fds);
/**
 * wire_value_read() - read the next value of @r (validated, of @type's
 * signature: the caller compared it) into @value, which the caller owns
 * afterwards (busrpc_value_clear()). FDs are dup'ed from the reader's fds
 * (the message keeps its own). Enum values not declared, flags bits not
 * declared, a map key twice, an shm above its bound: -EBADMSG / -ENOTUNIQ
 * / -EFBIG with InvalidArgs in @err (may be NULL), as busrpc_value_read().
 * On failure @value is empty.
 */
int wire_value_read(WireReader *r, const busrpc_type *type, void *value, busrpc_error *err);
int wire_args_read(WireReader *r, const busrpc_args *args, void *values, busrpc_error *err);
/* Release what a value read by wire_value_read() owns and empty it (busrpc_value_clear() without the library). */
void wire_value_clear(const busrpc_type *type, void *value);
void wire_args_clear(const busrpc_args *args, void *values);

/* ---- byte order ---- */

static inline uint16_t wire_get16(const uint8_t *p, bool swap) {
        uint16_t v;

        memcpy(&v, p, sizeof(v));
        return swap ? __builtin_bswap16(v) : v;
}

static inline uint32_t wire_get32(const uint8_t *p, bool swap) {
        uint32_t v;

        memcpy(&v, p, sizeof(v));
        return swap ? __builtin_bswap32(v) : v;
}

static inline uint64_t wire_get64(const uint8_t *p, bool swap) {
        uint64_t v;

        memcpy(&v, p, sizeof(v));
        return swap ? __builtin_bswap64(v) : v;
}

static inline void wire_put32(uint8_t *p, uint32_t v, bool swap) {
        if (swap)
                v = __builtin_bswap32(v);
        memcpy(p, &v, sizeof(v));
}
