# bench/: the benchmark programs and their driver (make bench).
#
# Each program serves and calls one interface (bench/bench.idl) through one
# implementation: busrpc's generated stubs, hand-written libdbus, sd-bus
# (when configure finds libsystemd), and a bare AF_UNIX socket. They are
# check programs, so the suite builds them and tests/test-bench.sh runs each
# once with tiny counts (a smoke test, never a timing); `make bench` runs the
# real rounds and prints the table (bench/run --help).

bench_programs = bench/bench-busrpc$(EXEEXT) bench/bench-libdbus$(EXEEXT) bench/bench-raw$(EXEEXT)
check_PROGRAMS += bench/bench-busrpc bench/bench-libdbus bench/bench-raw
bench_gen = bench/gen/bench.h bench/gen/bench-client.c bench/gen/bench-server.c
$(bench_gen): bench/gen/.stamp
	@test -f $@ || { rm -f bench/gen/.stamp; $(MAKE) $(AM_MAKEFLAGS) bench/gen/.stamp; }
bench/gen/.stamp: $(top_srcdir)/bench/bench.idl busrpc-idlc$(EXEEXT)
	$(AM_V_GEN)$(MKDIR_P) bench/gen && \
	./busrpc-idlc$(EXEEXT) -o bench/gen --header --client --server $(top_srcdir)/bench/bench.idl && \
	touch $@
bench_bench_busrpc_SOURCES = bench/bench-busrpc.c bench/common.h
nodist_bench_bench_busrpc_SOURCES = $(bench_gen)
bench_bench_busrpc_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_builddir)/bench/gen -I$(top_srcdir)/bench
bench_bench_busrpc_LDADD = libbusrpc.la
$(bench_bench_busrpc_OBJECTS): bench/gen/bench.h
bench_bench_libdbus_SOURCES = bench/bench-libdbus.c bench/common.h
bench_bench_libdbus_CFLAGS = $(AM_CFLAGS) $(DBUS_CFLAGS)
bench_bench_libdbus_LDADD = $(DBUS_LIBS)
bench_bench_raw_SOURCES = bench/bench-raw.c bench/common.h
# bench/bench-wire: one Add message built and read by the wire codec vs
# libdbus, for callgrind (docs/performance.md); the codec is hidden in the
# library, so the program compiles it itself.
check_PROGRAMS += bench/bench-wire
bench_bench_wire_SOURCES = bench/bench-wire.c \
	runtime/wire.h runtime/wire.c runtime/wire-signature.c runtime/wire-rw.c runtime/wire-value.h runtime/wire-value-write.c runtime/wire-value-read.c \
	common/names.h common/names.c
bench_bench_wire_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/runtime
bench_bench_wire_CFLAGS = $(AM_CFLAGS) $(DBUS_CFLAGS)
bench_bench_wire_LDADD = libbusrpc.la $(DBUS_LIBS)
if HAVE_SYSTEMD
check_PROGRAMS += bench/bench-sdbus
bench_programs += bench/bench-sdbus$(EXEEXT)
bench_bench_sdbus_SOURCES = bench/bench-sdbus.c bench/common.h
bench_bench_sdbus_CFLAGS = $(AM_CFLAGS) $(SYSTEMD_CFLAGS)
bench_bench_sdbus_LDADD = $(SYSTEMD_LIBS)
endif
CLEANFILES += $(bench_gen) bench/gen/.stamp
EXTRA_DIST += bench/bench.idl bench/run

TESTS += tests/test-bench.sh
EXTRA_DIST += tests/test-bench.sh

BENCH_ARGS =
bench: $(bench_programs) busrpc-bus$(EXEEXT)
	/usr/bin/python3 $(top_srcdir)/bench/run --builddir $(abs_top_builddir) $(BENCH_ARGS)
.PHONY: bench
