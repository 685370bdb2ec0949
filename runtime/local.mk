lib_LTLIBRARIES += libbusrpc.la
busrpcinclude_HEADERS += include/busrpc/busrpc.h
# One .c and its private .h per concept (busrpc-internal.h has the map).
libbusrpc_core_sources = \
	runtime/loop.c runtime/loop.h runtime/dbus-io.c runtime/dbus-io.h \
	runtime/conn.c runtime/conn.h runtime/conn-limits.c runtime/reconnect.c runtime/name.c runtime/name.h \
	runtime/creds.c runtime/creds.h \
	runtime/server.c runtime/server.h runtime/limits.c runtime/driver.c runtime/driver.h \
	runtime/registry.c runtime/registry.h runtime/object.c runtime/object.h \
	runtime/dispatch.c runtime/dispatch.h \
	runtime/introspect.c runtime/introspect.h runtime/property.c runtime/property.h \
	runtime/call.c runtime/call.h
libbusrpc_data_sources = \
	runtime/message.c runtime/message.h runtime/validate.c runtime/validate.h common/names.c common/names.h \
	runtime/variant.c runtime/variant.h runtime/shm.c runtime/shm-pool.c runtime/shm.h runtime/error.c runtime/error-map.h \
	runtime/proxy.c runtime/proxy.h runtime/pending.c runtime/subscription.c runtime/subscription.h \
	runtime/reply.c runtime/reply.h
# The marshaller: values by type descriptor, calling and serving by descriptor.
libbusrpc_marshal_sources = \
	runtime/marshal.c runtime/marshal-check.c runtime/marshal.h runtime/invoke.c \
	runtime/fastcall.c runtime/fastcall.h
libbusrpc_la_SOURCES = \
	$(libbusrpc_marshal_sources) \
	runtime/busrpc-internal.h \
	runtime/version.c \
	$(libbusrpc_core_sources) \
	$(libbusrpc_data_sources) \
	$(libbusrpc_typing_sources) \
	$(libbusrpc_wire_sources)
# busrpc's own D-Bus wire codec (issue 12): not on the hot path yet.
libbusrpc_wire_sources = \
	runtime/wire.h runtime/wire.c runtime/wire-signature.c runtime/wire-rw.c runtime/wire-value.h runtime/wire-value-write.c runtime/wire-value-read.c \
	runtime/transport.c runtime/transport.h runtime/transport-dbus.c runtime/sasl.c runtime/sasl.h
# The typed client: property watches and cache, ObjectManager client.
libbusrpc_typing_sources = \
	runtime/watch.c runtime/watch.h runtime/om-client.c runtime/getall.c
libbusrpc_la_CFLAGS = $(AM_CFLAGS) $(VISIBILITY_CFLAGS) $(DBUS_CFLAGS)
libbusrpc_la_LIBADD = $(DBUS_LIBS)
libbusrpc_la_LDFLAGS = -version-info $(BUSRPC_LT_VERSION) \
	-Wl,--version-script=$(top_srcdir)/runtime/libbusrpc.sym -no-undefined
EXTRA_libbusrpc_la_DEPENDENCIES = runtime/libbusrpc.sym
EXTRA_DIST += runtime/libbusrpc.sym runtime/busrpc.pc.in
pkgconfig_DATA += runtime/busrpc.pc
