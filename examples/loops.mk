# examples/loops/ (H11): the calculator of examples/calc/calc.idl served and
# called from GLib, sd-event and libuv loops through the adapters of
# runtime/adapters/. They reuse calc's generated code (examples/calc/gen).
# tests/test-loops.sh drives them.

loops_sources = examples/loops/calc-loops.c examples/loops/calc-loops.h
nodist_loops_sources = examples/calc/gen/calc.h examples/calc/gen/calc-client.c examples/calc/gen/calc-server.c
loops_cppflags = $(examples_cppflags) -I$(top_builddir)/examples/calc/gen -I$(top_srcdir)/examples/loops
EXTRA_DIST += examples/loops/calc-loops.c examples/loops/calc-loops.h examples/loops/glib-calc.c \
	examples/loops/sd-event-calc.c examples/loops/libuv-calc.c

if HAVE_GLIB
noinst_PROGRAMS += examples/loops/glib-calc
examples_loops_glib_calc_SOURCES = examples/loops/glib-calc.c $(loops_sources)
nodist_examples_loops_glib_calc_SOURCES = $(nodist_loops_sources)
examples_loops_glib_calc_CPPFLAGS = $(loops_cppflags) $(GLIB_CFLAGS)
examples_loops_glib_calc_LDADD = libbusrpc-glib.la libbusrpc.la $(GLIB_LIBS)
$(examples_loops_glib_calc_OBJECTS): examples/calc/gen/calc.h
endif

if HAVE_SYSTEMD
noinst_PROGRAMS += examples/loops/sd-event-calc
examples_loops_sd_event_calc_SOURCES = examples/loops/sd-event-calc.c $(loops_sources)
nodist_examples_loops_sd_event_calc_SOURCES = $(nodist_loops_sources)
examples_loops_sd_event_calc_CPPFLAGS = $(loops_cppflags) $(SYSTEMD_CFLAGS)
examples_loops_sd_event_calc_LDADD = libbusrpc-sd-event.la libbusrpc.la $(SYSTEMD_LIBS)
$(examples_loops_sd_event_calc_OBJECTS): examples/calc/gen/calc.h
endif

if HAVE_LIBUV
noinst_PROGRAMS += examples/loops/libuv-calc
examples_loops_libuv_calc_SOURCES = examples/loops/libuv-calc.c $(loops_sources)
nodist_examples_loops_libuv_calc_SOURCES = $(nodist_loops_sources)
examples_loops_libuv_calc_CPPFLAGS = $(loops_cppflags) $(LIBUV_CFLAGS)
examples_loops_libuv_calc_LDADD = libbusrpc-libuv.la libbusrpc.la $(LIBUV_LIBS)
$(examples_loops_libuv_calc_OBJECTS): examples/calc/gen/calc.h
endif
