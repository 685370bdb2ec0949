# tests/props.mk (issue 13 items 2-3): PropertiesChanged after a Set from
# the wire, and coalescing; see tests/test-props.sh. tests/test-notify: the
# API's edges in one process (named apart: test-props.log is the script's).
check_PROGRAMS += tests/test-notify
tests_test_notify_SOURCES = tests/test-notify.c tests/tap.h
tests_test_notify_CFLAGS = $(AM_CFLAGS) $(DBUS_CFLAGS)
tests_test_notify_LDADD = libbusrpc.la $(DBUS_LIBS)
TESTS += tests/test-notify
check_PROGRAMS += tests/props-service tests/props-client
tests_props_service_SOURCES = tests/props/service.c
tests_props_service_CFLAGS = $(AM_CFLAGS) $(DBUS_CFLAGS)
tests_props_service_LDADD = libbusrpc.la $(DBUS_LIBS)
tests_props_client_SOURCES = tests/props/client.c
tests_props_client_CFLAGS = $(AM_CFLAGS) $(DBUS_CFLAGS)
tests_props_client_LDADD = libbusrpc.la $(DBUS_LIBS)
# The same service under each foreign loop, through its adapter.
if HAVE_GLIB
check_PROGRAMS += tests/props-service-glib
tests_props_service_glib_SOURCES = tests/props/service.c
tests_props_service_glib_CFLAGS = $(AM_CFLAGS) $(DBUS_CFLAGS) $(GLIB_CFLAGS) -DPROPS_LOOP_GLIB
tests_props_service_glib_LDADD = libbusrpc-glib.la libbusrpc.la $(DBUS_LIBS) $(GLIB_LIBS)
endif
if HAVE_SYSTEMD
check_PROGRAMS += tests/props-service-sd-event
tests_props_service_sd_event_SOURCES = tests/props/service.c
tests_props_service_sd_event_CFLAGS = $(AM_CFLAGS) $(DBUS_CFLAGS) $(SYSTEMD_CFLAGS) -DPROPS_LOOP_SD_EVENT
tests_props_service_sd_event_LDADD = libbusrpc-sd-event.la libbusrpc.la $(DBUS_LIBS) $(SYSTEMD_LIBS)
endif
if HAVE_LIBUV
check_PROGRAMS += tests/props-service-libuv
tests_props_service_libuv_SOURCES = tests/props/service.c
tests_props_service_libuv_CFLAGS = $(AM_CFLAGS) $(DBUS_CFLAGS) $(LIBUV_CFLAGS) -DPROPS_LOOP_LIBUV
tests_props_service_libuv_LDADD = libbusrpc-libuv.la libbusrpc.la $(DBUS_LIBS) $(LIBUV_LIBS)
endif
TESTS += tests/test-props.sh
EXTRA_DIST += tests/test-props.sh tests/props/listen.py
