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

# What uses a conn's link (subscriptions, creds) on libdbus and on the fast
# path, both in one run (issue 12).
check_PROGRAMS += tests/test-link-users
tests_test_link_users_SOURCES = tests/test-link-users.c tests/tap.h
tests_test_link_users_CFLAGS = $(AM_CFLAGS) $(DBUS_CFLAGS)
tests_test_link_users_LDADD = libbusrpc.la $(DBUS_LIBS)
TESTS += tests/test-link-users tests/test-link-users-valgrind.sh
EXTRA_DIST += tests/test-link-users-valgrind.sh
