# busrpc reading and writing the socket itself (runtime/transport.c, issue
# 12): a socketpair with libdbus's marshalled bytes on the other end, and a
# private dbus-daemon. Transport, codec and loop are hidden in the library,
# so the test compiles their sources itself.
check_PROGRAMS += tests/test-transport
tests_test_transport_SOURCES = tests/test-transport.c tests/tap.h \
	runtime/transport.h runtime/transport.c runtime/transport-dbus.c runtime/sasl.h runtime/sasl.c runtime/loop.h runtime/loop.c \
	runtime/wire.h runtime/wire.c runtime/wire-names.c runtime/wire-rw.c
tests_test_transport_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/runtime
tests_test_transport_CFLAGS = $(AM_CFLAGS) $(DBUS_CFLAGS)
tests_test_transport_LDADD = $(DBUS_LIBS)
TESTS += tests/test-transport
