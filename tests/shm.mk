# The shared-memory pool (issue 12 item 3): slots, the receive cache,
# hostile fds, a python-dbus peer; on a peer socket and a private bus;
# and the same under valgrind (invalid accesses, definite leaks, fds).
check_PROGRAMS += tests/test-shm-pool
TESTS += tests/test-shm-pool tests/test-shm-pool-valgrind.sh
EXTRA_DIST += tests/test-shm-pool-valgrind.sh
tests_test_shm_pool_SOURCES = tests/test-shm-pool.c tests/data-bus.h
tests_test_shm_pool_CFLAGS = $(AM_CFLAGS) $(DBUS_CFLAGS)
tests_test_shm_pool_LDADD = libbusrpc.la $(DBUS_LIBS)
