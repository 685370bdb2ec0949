# Interoperability tests (H9): busrpc against busctl, gdbus, dbus-send and
# python-dbus, both ways. See tests/interop/README for what each test checks.
#
# interop-service: the busrpc service (interop.idl), on a bus and a peer socket.
# interop-client:  a generated client, run against the python-dbus service
#                  (and against interop-service, C to C).
# The generated C comes from the in-tree ./busrpc-idlc.
check_PROGRAMS += tests/interop/interop-service tests/interop/interop-client
TESTS += tests/interop/test-busctl.sh tests/interop/test-gdbus.sh \
	tests/interop/test-dbus-send.sh tests/interop/test-python.sh \
	tests/interop/test-clients.sh tests/interop/test-driver-stubs.sh \
	tests/interop/test-bad-args.sh tests/interop/test-valgrind.sh
EXTRA_DIST += tests/interop/README tests/interop/interop.idl tests/interop/lib.sh \
	tests/interop/test-busctl.sh tests/interop/test-gdbus.sh \
	tests/interop/test-dbus-send.sh tests/interop/test-python.sh \
	tests/interop/test-clients.sh tests/interop/test-driver-stubs.sh \
	tests/interop/test-bad-args.sh tests/interop/test-valgrind.sh \
	tests/interop/service.py tests/interop/client.py tests/interop/driver-client.c

interop_gen = tests/interop/gen/interop.h tests/interop/gen/interop-client.c \
	tests/interop/gen/interop-server.c
$(interop_gen): tests/interop/gen/.stamp
	@test -f $@ || { rm -f tests/interop/gen/.stamp; $(MAKE) $(AM_MAKEFLAGS) tests/interop/gen/.stamp; }
tests/interop/gen/.stamp: $(top_srcdir)/tests/interop/interop.idl busrpc-idlc$(EXEEXT)
	$(AM_V_GEN)$(MKDIR_P) tests/interop/gen && \
	./busrpc-idlc$(EXEEXT) -o tests/interop/gen --header --client --server \
		$(top_srcdir)/tests/interop/interop.idl && \
	touch $@

interop_cppflags = $(AM_CPPFLAGS) -I$(top_builddir)/tests/interop/gen -I$(top_srcdir)/tests $(DBUS_CFLAGS)

tests_interop_interop_service_SOURCES = tests/interop/service.c
nodist_tests_interop_interop_service_SOURCES = tests/interop/gen/interop.h tests/interop/gen/interop-server.c
tests_interop_interop_service_CPPFLAGS = $(interop_cppflags)
tests_interop_interop_service_LDADD = libbusrpc.la $(DBUS_LIBS)

tests_interop_interop_client_SOURCES = tests/interop/client.c tests/tap.h
nodist_tests_interop_interop_client_SOURCES = tests/interop/gen/interop.h tests/interop/gen/interop-client.c
tests_interop_interop_client_CPPFLAGS = $(interop_cppflags)
tests_interop_interop_client_LDADD = libbusrpc.la $(DBUS_LIBS)

# Every object includes interop.h: it must exist before the first compile.
tests/interop/interop_service-service.$(OBJEXT): tests/interop/gen/interop.h
tests/interop/gen/interop_service-interop-server.$(OBJEXT): tests/interop/gen/interop.h
tests/interop/interop_client-client.$(OBJEXT): tests/interop/gen/interop.h
tests/interop/gen/interop_client-interop-client.$(OBJEXT): tests/interop/gen/interop.h
CLEANFILES += $(interop_gen) tests/interop/gen/.stamp
