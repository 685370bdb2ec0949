# Fault tests (issue 9: fds per message, losing the bus, SIGHUP) and
# their service.
check_PROGRAMS += tests/faults-service tests/test-faults
tests_faults_service_SOURCES = tests/faults/service.c
tests_faults_service_CFLAGS = $(AM_CFLAGS) $(DBUS_CFLAGS)
tests_faults_service_LDADD = libbusrpc.la $(DBUS_LIBS)
tests_test_faults_SOURCES = tests/test-faults.c tests/tap.h
tests_test_faults_CFLAGS = $(AM_CFLAGS) $(DBUS_CFLAGS)
tests_test_faults_LDADD = libbusrpc.la $(DBUS_LIBS)
TESTS += tests/test-faults tests/hostile/test-bus-faults.sh
EXTRA_DIST += tests/hostile/test-bus-faults.sh
