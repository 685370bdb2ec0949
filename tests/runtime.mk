# Tests of the runtime core (H4).
check_PROGRAMS += tests/runtime-service tests/test-loop tests/test-conn tests/test-server
tests_runtime_service_SOURCES = tests/runtime/service.c
tests_runtime_service_CFLAGS = $(AM_CFLAGS) $(DBUS_CFLAGS)
tests_runtime_service_LDADD = libbusrpc.la $(DBUS_LIBS)
tests_test_loop_SOURCES = tests/test-loop.c tests/tap.h
tests_test_loop_CFLAGS = $(AM_CFLAGS) $(DBUS_CFLAGS)
tests_test_loop_LDADD = libbusrpc.la $(DBUS_LIBS)
tests_test_conn_SOURCES = tests/test-conn.c tests/tap.h
tests_test_conn_CFLAGS = $(AM_CFLAGS) $(DBUS_CFLAGS)
tests_test_conn_LDADD = libbusrpc.la $(DBUS_LIBS)
tests_test_server_SOURCES = tests/test-server.c tests/tap.h
tests_test_server_CFLAGS = $(AM_CFLAGS) $(DBUS_CFLAGS)
tests_test_server_LDADD = libbusrpc.la $(DBUS_LIBS)
TESTS += tests/test-loop tests/test-conn tests/test-server \
	tests/test-runtime-bus.sh tests/test-runtime-peer.sh tests/test-runtime-valgrind.sh
EXTRA_DIST += tests/runtime/lib.sh tests/runtime/listen.py tests/runtime/fds.py tests/test-runtime-bus.sh tests/test-runtime-peer.sh \
	tests/test-runtime-valgrind.sh
# The loop's deadline heap, through the private loop.h (runtime/loop.c linked in).
check_PROGRAMS += tests/test-loop-heap
tests_test_loop_heap_SOURCES = tests/test-loop-heap.c tests/tap.h runtime/loop.c
tests_test_loop_heap_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/runtime
tests_test_loop_heap_CFLAGS = $(AM_CFLAGS) $(DBUS_CFLAGS)
tests_test_loop_heap_LDADD = $(DBUS_LIBS)
TESTS += tests/test-loop-heap
# The object registry at scale (H9, issue 10).
check_PROGRAMS += tests/test-registry
tests_test_registry_SOURCES = tests/test-registry.c tests/tap.h
tests_test_registry_CFLAGS = $(AM_CFLAGS) $(DBUS_CFLAGS)
tests_test_registry_LDADD = libbusrpc.la $(DBUS_LIBS)
TESTS += tests/test-registry
