# tests/props.mk (issue 13 items 2-3): PropertiesChanged after a Set from
# the wire, and coalescing; see tests/test-props.sh.
check_PROGRAMS += tests/props-service tests/props-client
tests_props_service_SOURCES = tests/props/service.c
tests_props_service_CFLAGS = $(AM_CFLAGS) $(DBUS_CFLAGS)
tests_props_service_LDADD = libbusrpc.la $(DBUS_LIBS)
tests_props_client_SOURCES = tests/props/client.c
tests_props_client_CFLAGS = $(AM_CFLAGS) $(DBUS_CFLAGS)
tests_props_client_LDADD = libbusrpc.la $(DBUS_LIBS)
TESTS += tests/test-props.sh
EXTRA_DIST += tests/test-props.sh tests/props/listen.py
