# busrpc's own D-Bus wire codec (runtime/wire*.c, issue 12): held against
# libdbus on the same bytes. The codec's symbols are hidden in the
# library, so the test compiles its sources itself.
check_PROGRAMS += tests/test-wire
tests_test_wire_SOURCES = tests/test-wire.c tests/tap.h tests/wire-compare.h \
	runtime/wire.h runtime/wire.c runtime/wire-signature.c runtime/wire-rw.c runtime/wire-value.h runtime/wire-value-write.c runtime/wire-value-read.c \
	common/names.h common/names.c
tests_test_wire_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/runtime
tests_test_wire_CFLAGS = $(AM_CFLAGS) $(DBUS_CFLAGS)
tests_test_wire_LDADD = libbusrpc.la $(DBUS_LIBS)
TESTS += tests/test-wire
