# runtime/adapters/ (H11): one small library per foreign event loop, each
# built when configure finds that loop's development files, each with its
# own header, version script and pkg-config module. They use only the
# public API of libbusrpc.

EXTRA_DIST += runtime/adapters/libbusrpc-glib.sym runtime/adapters/busrpc-glib.pc.in \
	runtime/adapters/libbusrpc-sd-event.sym runtime/adapters/busrpc-sd-event.pc.in \
	runtime/adapters/libbusrpc-libuv.sym runtime/adapters/busrpc-libuv.pc.in \
	include/busrpc/busrpc-glib.h include/busrpc/busrpc-sd-event.h include/busrpc/busrpc-libuv.h
adapters_ldflags = -version-info $(BUSRPC_LT_VERSION) -no-undefined

if HAVE_GLIB
lib_LTLIBRARIES += libbusrpc-glib.la
busrpcinclude_HEADERS += include/busrpc/busrpc-glib.h
pkgconfig_DATA += runtime/adapters/busrpc-glib.pc
libbusrpc_glib_la_SOURCES = runtime/adapters/glib.c
libbusrpc_glib_la_CFLAGS = $(AM_CFLAGS) $(VISIBILITY_CFLAGS) $(GLIB_CFLAGS)
libbusrpc_glib_la_LIBADD = libbusrpc.la $(GLIB_LIBS)
libbusrpc_glib_la_LDFLAGS = $(adapters_ldflags) \
	-Wl,--version-script=$(top_srcdir)/runtime/adapters/libbusrpc-glib.sym
EXTRA_libbusrpc_glib_la_DEPENDENCIES = runtime/adapters/libbusrpc-glib.sym
endif

if HAVE_SYSTEMD
lib_LTLIBRARIES += libbusrpc-sd-event.la
busrpcinclude_HEADERS += include/busrpc/busrpc-sd-event.h
pkgconfig_DATA += runtime/adapters/busrpc-sd-event.pc
libbusrpc_sd_event_la_SOURCES = runtime/adapters/sd-event.c
libbusrpc_sd_event_la_CFLAGS = $(AM_CFLAGS) $(VISIBILITY_CFLAGS) $(SYSTEMD_CFLAGS)
libbusrpc_sd_event_la_LIBADD = libbusrpc.la $(SYSTEMD_LIBS)
libbusrpc_sd_event_la_LDFLAGS = $(adapters_ldflags) \
	-Wl,--version-script=$(top_srcdir)/runtime/adapters/libbusrpc-sd-event.sym
EXTRA_libbusrpc_sd_event_la_DEPENDENCIES = runtime/adapters/libbusrpc-sd-event.sym
endif

if HAVE_LIBUV
lib_LTLIBRARIES += libbusrpc-libuv.la
busrpcinclude_HEADERS += include/busrpc/busrpc-libuv.h
pkgconfig_DATA += runtime/adapters/busrpc-libuv.pc
libbusrpc_libuv_la_SOURCES = runtime/adapters/libuv.c
libbusrpc_libuv_la_CFLAGS = $(AM_CFLAGS) $(VISIBILITY_CFLAGS) $(LIBUV_CFLAGS)
libbusrpc_libuv_la_LIBADD = libbusrpc.la $(LIBUV_LIBS)
libbusrpc_libuv_la_LDFLAGS = $(adapters_ldflags) \
	-Wl,--version-script=$(top_srcdir)/runtime/adapters/libbusrpc-libuv.sym
EXTRA_libbusrpc_libuv_la_DEPENDENCIES = runtime/adapters/libbusrpc-libuv.sym
endif
