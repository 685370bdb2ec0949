# Hostile peers against the peer-to-peer server (issue 9: slowloris, a peer
# that never reads, shutdown with stuck peers, an fd sent with BEGIN).
# tests/hostile/wire.py is a raw D-Bus client other tests may reuse.
check_PROGRAMS += tests/hostile-server tests/hostile/test-attach
tests_hostile_server_SOURCES = tests/hostile/server.c
tests_hostile_server_CFLAGS = $(AM_CFLAGS) $(DBUS_CFLAGS)
tests_hostile_server_LDADD = libbusrpc.la $(DBUS_LIBS)
tests_hostile_test_attach_SOURCES = tests/hostile/test-attach.c tests/tap.h
tests_hostile_test_attach_CFLAGS = $(AM_CFLAGS) $(DBUS_CFLAGS) -I$(top_srcdir)/tests
tests_hostile_test_attach_LDADD = libbusrpc.la $(DBUS_LIBS)
TESTS += tests/hostile/test-hostile-server.sh tests/hostile/test-hostile-valgrind.sh tests/hostile/test-attach
EXTRA_DIST += tests/hostile/wire.py tests/hostile/hostile.py tests/hostile/test-hostile-server.sh \
	tests/hostile/test-hostile-valgrind.sh
# The bound on a received shm and duplicate map keys, against examples/bulk
# and examples/calc on a bus and a peer socket (issue 9 items 6, 7).
TESTS += tests/hostile/test-limits.sh
EXTRA_DIST += tests/hostile/test-limits.sh tests/hostile/limits.py
