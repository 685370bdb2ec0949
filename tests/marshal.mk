# The descriptor-driven marshaller (issue 10 item 1): values, copy, errors,
# and a descriptor-only server and client through a private dbus-daemon;
# test-marshal-valgrind.sh runs the same under valgrind (leaks, fds).
check_PROGRAMS += tests/test-marshal
tests_test_marshal_SOURCES = tests/test-marshal.c tests/marshal-types.h tests/bus-fixture.h tests/tap.h
tests_test_marshal_CFLAGS = $(AM_CFLAGS) $(DBUS_CFLAGS)
tests_test_marshal_LDADD = libbusrpc.la $(DBUS_LIBS)
TESTS += tests/test-marshal
TESTS += tests/test-marshal-valgrind.sh
EXTRA_DIST += tests/test-marshal-valgrind.sh
