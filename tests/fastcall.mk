# Calls made and served on the fast path without a DBusMessage (issue 12,
# runtime/fastcall.c): both sides busrpc on a peer socket and a private
# dbus-daemon, foreign peers both ways, the DBusMessages each side makes
# counted; test-fastcall-valgrind.sh runs it under valgrind.
check_PROGRAMS += tests/test-fastcall
tests_test_fastcall_SOURCES = tests/test-fastcall.c tests/bus-fixture.h tests/libdbus-count.h tests/marshal-types.h tests/tap.h
tests_test_fastcall_CFLAGS = $(AM_CFLAGS) $(DBUS_CFLAGS)
tests_test_fastcall_LDADD = libbusrpc.la $(DBUS_LIBS)
TESTS += tests/test-fastcall
TESTS += tests/test-fastcall-valgrind.sh
EXTRA_DIST += tests/test-fastcall-valgrind.sh
# Signals emitted on the fast path (fast_emit()): busrpc, python3-dbus and
# gdbus monitor receiving from a bus and a peer server, both emitter modes.
check_PROGRAMS += tests/test-fastsignal
tests_test_fastsignal_SOURCES = tests/test-fastsignal.c tests/bus-fixture.h tests/libdbus-count.h tests/marshal-types.h tests/tap.h
tests_test_fastsignal_CFLAGS = $(AM_CFLAGS) $(DBUS_CFLAGS)
tests_test_fastsignal_LDADD = libbusrpc.la $(DBUS_LIBS)
TESTS += tests/test-fastsignal
TESTS += tests/test-fastsignal-valgrind.sh
EXTRA_DIST += tests/test-fastsignal-valgrind.sh
