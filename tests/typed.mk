# The generated typed client (issue 13): tests/gen/idl/player.idl compiled
# by the in-tree busrpc-idlc, client and server in one test program, through
# a private dbus-daemon and a peer socket (property changes, cache, typed
# errors, ObjectManager client).
TESTS += tests/test-typed
check_PROGRAMS += tests/test-typed
# tests/test-typed-valgrind.sh: the same under valgrind (errors, leaks, fds).
TESTS += tests/test-typed-valgrind.sh
EXTRA_DIST += tests/test-typed-valgrind.sh
EXTRA_DIST += tests/gen/idl/player.idl tests/gen/golden/player.h tests/gen/golden/player-client.c \
	tests/gen/golden/player-server.c
typed_gen = tests/typed-gen/player.h tests/typed-gen/player-client.c tests/typed-gen/player-server.c
$(typed_gen): tests/typed-gen/.stamp
	@test -f $@ || { rm -f tests/typed-gen/.stamp; $(MAKE) $(AM_MAKEFLAGS) tests/typed-gen/.stamp; }
tests/typed-gen/.stamp: $(top_srcdir)/tests/gen/idl/player.idl busrpc-idlc$(EXEEXT)
	$(AM_V_GEN)$(MKDIR_P) tests/typed-gen && \
	./busrpc-idlc$(EXEEXT) -o tests/typed-gen --header --client --server $(top_srcdir)/tests/gen/idl/player.idl && \
	touch $@
tests_test_typed_SOURCES = tests/test-typed.c tests/typing-util.h tests/data-bus.h tests/tap.h
nodist_tests_test_typed_SOURCES = $(typed_gen)
tests_test_typed_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_builddir)/tests/typed-gen -I$(top_srcdir)/tests $(DBUS_CFLAGS)
tests_test_typed_LDADD = libbusrpc.la $(DBUS_LIBS)
tests/test_typed-test-typed.$(OBJEXT): tests/typed-gen/player.h
tests/typed-gen/test_typed-player-client.$(OBJEXT): tests/typed-gen/player.h
tests/typed-gen/test_typed-player-server.$(OBJEXT): tests/typed-gen/player.h
CLEANFILES += $(typed_gen) tests/typed-gen/.stamp
