# The typed client (issue 13): property watches and cache, typed errors,
# the ObjectManager client; through a private dbus-daemon and a peer socket.
typing_tests = tests/test-watch tests/test-om-client
check_PROGRAMS += $(typing_tests)
TESTS += $(typing_tests)

tests_test_watch_SOURCES = tests/test-watch.c tests/typing-util.h tests/data-bus.h tests/tap.h
tests_test_watch_CFLAGS = $(AM_CFLAGS) $(DBUS_CFLAGS)
tests_test_watch_LDADD = libbusrpc.la $(DBUS_LIBS)

tests_test_om_client_SOURCES = tests/test-om-client.c tests/typing-util.h tests/data-bus.h tests/tap.h
tests_test_om_client_CFLAGS = $(AM_CFLAGS) $(DBUS_CFLAGS)
tests_test_om_client_LDADD = libbusrpc.la $(DBUS_LIBS)
