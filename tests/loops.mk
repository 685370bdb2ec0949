# tests/loops.mk (H11): the foreign-loop adapters (runtime/adapters/) with
# the examples of examples/loops/; see tests/test-loops.sh.
TESTS += tests/test-loops.sh
EXTRA_DIST += tests/test-loops.sh

# The adapters' life cycle (bad arguments, detach from a busrpc callback,
# re-attach); tests/test-loops.sh runs it under valgrind. Built when all
# three adapters are.
if HAVE_GLIB
if HAVE_SYSTEMD
if HAVE_LIBUV
check_PROGRAMS += tests/test-loops-detach
tests_test_loops_detach_SOURCES = tests/test-loops-detach.c tests/tap.h
tests_test_loops_detach_CFLAGS = $(AM_CFLAGS) $(DBUS_CFLAGS) $(GLIB_CFLAGS) $(SYSTEMD_CFLAGS) $(LIBUV_CFLAGS)
tests_test_loops_detach_LDADD = libbusrpc-glib.la libbusrpc-sd-event.la libbusrpc-libuv.la libbusrpc.la \
	$(DBUS_LIBS) $(GLIB_LIBS) $(SYSTEMD_LIBS) $(LIBUV_LIBS)
endif
endif
endif
