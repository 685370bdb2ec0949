# busrpc reading and writing the socket itself (runtime/transport.c, issue
# 12): a socketpair with libdbus's marshalled bytes on the other end, and a
# private dbus-daemon. Transport, codec and loop are hidden in the library,
# so the test compiles their sources itself.
check_PROGRAMS += tests/test-transport
tests_test_transport_SOURCES = tests/test-transport.c tests/tap.h \
	runtime/transport.h runtime/transport.c runtime/transport-dbus.c runtime/sasl.h runtime/sasl.c runtime/loop.h runtime/loop.c \
	runtime/wire.h runtime/wire.c runtime/wire-signature.c runtime/wire-rw.c common/names.h common/names.c
tests_test_transport_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/runtime
tests_test_transport_CFLAGS = $(AM_CFLAGS) $(DBUS_CFLAGS)
tests_test_transport_LDADD = $(DBUS_LIBS)
TESTS += tests/test-transport
# The transport on the connections' hot path (runtime/conn.c "the link"):
# BUSRPC_FAST_PATH=1 set by the test itself; peer socket and private bus.
check_PROGRAMS += tests/test-link
tests_test_link_SOURCES = tests/test-link.c tests/tap.h
tests_test_link_CFLAGS = $(AM_CFLAGS) $(DBUS_CFLAGS)
tests_test_link_LDADD = libbusrpc.la $(DBUS_LIBS) -ldl
TESTS += tests/test-link tests/test-link-valgrind.sh
EXTRA_DIST += tests/test-link-valgrind.sh
# Callbacks dropping the last reference to the conn being read (review F1);
# takes BUSRPC_FAST_PATH from the environment: run it both ways.
check_PROGRAMS += tests/test-link-free
tests_test_link_free_SOURCES = tests/test-link-free.c tests/tap.h
tests_test_link_free_LDADD = libbusrpc.la
TESTS += tests/test-link-free tests/test-link-free-valgrind.sh
EXTRA_DIST += tests/test-link-free-valgrind.sh
# A client conn's bound on bytes queued toward a peer that does not read
# (busrpc_conn_set_max_outgoing_bytes()); runs both links itself.
check_PROGRAMS += tests/test-outgoing
tests_test_outgoing_SOURCES = tests/test-outgoing.c tests/tap.h
tests_test_outgoing_LDADD = libbusrpc.la
TESTS += tests/test-outgoing
# An 'h' indexing no fd: InvalidArgs and the connection kept, both links
# (the test sets BUSRPC_FAST_PATH itself); a raw-socket client.
check_PROGRAMS += tests/test-fdindex
tests_test_fdindex_SOURCES = tests/test-fdindex.c tests/tap.h
tests_test_fdindex_CFLAGS = $(AM_CFLAGS) $(DBUS_CFLAGS)
tests_test_fdindex_LDADD = libbusrpc.la $(DBUS_LIBS)
TESTS += tests/test-fdindex
# The fds a sync call holds back (busrpc_conn_set_max_held_fds()): a peer
# server and a private bus; takes BUSRPC_FAST_PATH from the environment,
# so `make check-libdbus` runs it on libdbus.
check_PROGRAMS += tests/test-held-fds
tests_test_held_fds_SOURCES = tests/test-held-fds.c tests/tap.h tests/bus-fixture.h
tests_test_held_fds_CFLAGS = $(AM_CFLAGS) $(DBUS_CFLAGS)
tests_test_held_fds_LDADD = libbusrpc.la $(DBUS_LIBS)
TESTS += tests/test-held-fds tests/test-held-fds-valgrind.sh
EXTRA_DIST += tests/test-held-fds-valgrind.sh
