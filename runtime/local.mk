lib_LTLIBRARIES += libbusrpc.la
busrpcinclude_HEADERS += include/busrpc/busrpc.h
# The core (connections, loop, serving) and the data layer (messages,
# values, calling) each list their files in their own variable.
libbusrpc_core_sources = \
	runtime/core.h \
	runtime/loop.c runtime/conn.c runtime/name.c runtime/server.c runtime/driver.c \
	runtime/object.c runtime/introspect.c runtime/property.c runtime/call.c runtime/creds.c \
	runtime/registry.c runtime/registry.h \
	runtime/reconnect.c runtime/server.h runtime/limits.c
libbusrpc_data_sources = \
	runtime/data.h \
	runtime/message.c runtime/validate.c runtime/variant.c runtime/shm.c runtime/error.c \
	runtime/proxy.c runtime/pending.c runtime/signal.c \
	runtime/reply.c runtime/reply.h
# The marshaller: values by type descriptor, calling and serving by descriptor.
libbusrpc_marshal_sources = \
	runtime/marshal.c runtime/marshal.h runtime/invoke.c
libbusrpc_la_SOURCES = \
	$(libbusrpc_marshal_sources) \
	runtime/busrpc-internal.h \
	runtime/version.c \
	$(libbusrpc_core_sources) \
	$(libbusrpc_data_sources)
libbusrpc_la_CFLAGS = $(AM_CFLAGS) $(VISIBILITY_CFLAGS) $(DBUS_CFLAGS)
libbusrpc_la_LIBADD = $(DBUS_LIBS)
libbusrpc_la_LDFLAGS = -version-info $(BUSRPC_LT_VERSION) \
	-Wl,--version-script=$(top_srcdir)/runtime/libbusrpc.sym -no-undefined
EXTRA_libbusrpc_la_DEPENDENCIES = runtime/libbusrpc.sym
EXTRA_DIST += runtime/libbusrpc.sym runtime/busrpc.pc.in
pkgconfig_DATA += runtime/busrpc.pc
