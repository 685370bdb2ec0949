lib_LTLIBRARIES += libbusrpc.la
busrpcinclude_HEADERS += include/busrpc/busrpc.h
libbusrpc_la_SOURCES = \
	runtime/busrpc-internal.h \
	runtime/version.c
libbusrpc_la_CFLAGS = $(AM_CFLAGS) $(VISIBILITY_CFLAGS) $(DBUS_CFLAGS)
libbusrpc_la_LIBADD = $(DBUS_LIBS)
libbusrpc_la_LDFLAGS = -version-info $(BUSRPC_LT_VERSION) \
	-Wl,--version-script=$(top_srcdir)/runtime/libbusrpc.sym -no-undefined
EXTRA_libbusrpc_la_DEPENDENCIES = runtime/libbusrpc.sym
EXTRA_DIST += runtime/libbusrpc.sym runtime/busrpc.pc.in
pkgconfig_DATA += runtime/busrpc.pc
