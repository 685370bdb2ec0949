# libFuzzer targets over the runtime (issue 9). Each takes a marshalled
# D-Bus message (dbus_message_demarshal()):
#   fuzz/fuzz-dispatch  a live busrpc_server serving fuzz/fuzz.idl's
#                       generated skeletons to a real libdbus client;
#   fuzz/fuzz-variant   busrpc_iter_get_variant() and every variant call;
#   fuzz/fuzz-message   the typed reader (busrpc_iter_*) generated code uses.
# Plain rules like fuzz/fuzz-idl's (tests/xml.mk): clang with libFuzzer,
# ASan and UBSan over the runtime's own sources (all of
# libbusrpc_la_SOURCES, so a new runtime file needs no edit here). Without
# clang nothing is built and tests/test-fuzz.sh fails, saying so.
# `make fuzz FUZZ_SECONDS=n` runs each for n seconds; the seeds are
# fuzz/msgs/ (made by fuzz/mkseeds.py), the kept inputs fuzz/regress/*/
# (each target runs all of them: they are all messages).
fuzz_rt_targets = fuzz/fuzz-dispatch$(EXEEXT) fuzz/fuzz-variant$(EXEEXT) fuzz/fuzz-message$(EXEEXT) \
	fuzz/fuzz-wire$(EXEEXT) fuzz/fuzz-marshal$(EXEEXT) fuzz/fuzz-transport$(EXEEXT) fuzz/fuzz-fastcall$(EXEEXT)
fuzz_rt_sources = $(filter %.c,$(libbusrpc_la_SOURCES))
fuzz_rt_headers = $(filter %.h,$(libbusrpc_la_SOURCES)) include/busrpc/busrpc.h fuzz/fuzz-msg.h
fuzz_rt_gen = fuzz/gen/fz.h fuzz/gen/fz-server.c

$(fuzz_rt_gen): fuzz/gen/.stamp
	@test -f $@ || { rm -f fuzz/gen/.stamp; $(MAKE) $(AM_MAKEFLAGS) fuzz/gen/.stamp; }
fuzz/gen/.stamp: $(srcdir)/fuzz/fuzz.idl busrpc-idlc$(EXEEXT)
	$(AM_V_GEN)$(MKDIR_P) fuzz/gen && \
	./busrpc-idlc$(EXEEXT) -o fuzz/gen --header --server $(srcdir)/fuzz/fuzz.idl && \
	touch $@

fuzz/fuzz-dispatch$(EXEEXT): fuzz/fuzz-dispatch.c fuzz/fz-service.h $(fuzz_rt_gen) $(fuzz_rt_sources) $(fuzz_rt_headers)
	@if test -z "$(CLANG)"; then \
	  echo "fuzz: clang not found (configure looks for it): $@ is not built" >&2; \
	else \
	  $(MKDIR_P) fuzz && echo "  CLANG    $@" && \
	  $(CLANG) $(AM_CPPFLAGS) -I$(srcdir)/runtime -Ifuzz/gen $(DBUS_CFLAGS) $(FUZZ_CFLAGS) -o $@ \
	    $(filter %.c,$^) $(DBUS_LIBS); \
	fi
# fuzz/fuzz-fastcall: the fast path's answers (BUSRPC_FAST_PATH=1: the
# transport and fastcall.c) against the libdbus path's (=0), two servers
# of the same object in one process, the same messages to both.
fuzz/fuzz-fastcall$(EXEEXT): fuzz/fuzz-fastcall.c fuzz/fz-service.h $(fuzz_rt_gen) $(fuzz_rt_sources) $(fuzz_rt_headers)
	@if test -z "$(CLANG)"; then \
	  echo "fuzz: clang not found (configure looks for it): $@ is not built" >&2; \
	else \
	  $(MKDIR_P) fuzz && echo "  CLANG    $@" && \
	  $(CLANG) $(AM_CPPFLAGS) -I$(srcdir)/runtime -I$(srcdir)/fuzz -Ifuzz/gen $(DBUS_CFLAGS) $(FUZZ_CFLAGS) -o $@ \
	    $(filter %.c,$^) $(DBUS_LIBS); \
	fi
fuzz/fuzz-variant$(EXEEXT): fuzz/fuzz-variant.c $(fuzz_rt_sources) $(fuzz_rt_headers)
	@if test -z "$(CLANG)"; then \
	  echo "fuzz: clang not found (configure looks for it): $@ is not built" >&2; \
	else \
	  $(MKDIR_P) fuzz && echo "  CLANG    $@" && \
	  $(CLANG) $(AM_CPPFLAGS) -I$(srcdir)/runtime $(DBUS_CFLAGS) $(FUZZ_CFLAGS) -o $@ \
	    $(filter %.c,$^) $(DBUS_LIBS); \
	fi
fuzz/fuzz-message$(EXEEXT): fuzz/fuzz-message.c $(fuzz_rt_sources) $(fuzz_rt_headers)
	@if test -z "$(CLANG)"; then \
	  echo "fuzz: clang not found (configure looks for it): $@ is not built" >&2; \
	else \
	  $(MKDIR_P) fuzz && echo "  CLANG    $@" && \
	  $(CLANG) $(AM_CPPFLAGS) -I$(srcdir)/runtime $(DBUS_CFLAGS) $(FUZZ_CFLAGS) -o $@ \
	    $(filter %.c,$^) $(DBUS_LIBS); \
	fi
# fuzz/fuzz-wire: busrpc's wire codec (runtime/wire*.c) against libdbus's
# dbus_message_demarshal() on the same bytes (issue 12).
fuzz/fuzz-wire$(EXEEXT): fuzz/fuzz-wire.c tests/wire-compare.h $(fuzz_rt_sources) $(fuzz_rt_headers)
	@if test -z "$(CLANG)"; then \
	  echo "fuzz: clang not found (configure looks for it): $@ is not built" >&2; \
	else \
	  $(MKDIR_P) fuzz && echo "  CLANG    $@" && \
	  $(CLANG) $(AM_CPPFLAGS) -I$(srcdir)/runtime -I$(srcdir)/fuzz $(DBUS_CFLAGS) $(FUZZ_CFLAGS) -o $@ \
	    $(filter %.c,$^) $(DBUS_LIBS); \
	fi
# fuzz/fuzz-marshal: the descriptor marshaller (runtime/marshal.c) with the
# descriptors of every kind that tests/test-marshal uses.
fuzz/fuzz-marshal$(EXEEXT): fuzz/fuzz-marshal.c tests/marshal-types.h $(fuzz_rt_sources) $(fuzz_rt_headers)
	@if test -z "$(CLANG)"; then \
	  echo "fuzz: clang not found (configure looks for it): $@ is not built" >&2; \
	else \
	  $(MKDIR_P) fuzz && echo "  CLANG    $@" && \
	  $(CLANG) $(AM_CPPFLAGS) -I$(srcdir)/runtime -I$(srcdir)/fuzz $(DBUS_CFLAGS) $(FUZZ_CFLAGS) -o $@ \
	    $(filter %.c,$^) $(DBUS_LIBS); \
	fi
# fuzz/fuzz-transport: the transport's framing (runtime/transport.c) over a
# socketpair, chunks and fds as the input says (kept inputs:
# fuzz/regress/transport/, in its own record format).
fuzz/fuzz-transport$(EXEEXT): fuzz/fuzz-transport.c $(fuzz_rt_sources) $(fuzz_rt_headers)
	@if test -z "$(CLANG)"; then \
	  echo "fuzz: clang not found (configure looks for it): $@ is not built" >&2; \
	else \
	  $(MKDIR_P) fuzz && echo "  CLANG    $@" && \
	  $(CLANG) $(AM_CPPFLAGS) -I$(srcdir)/runtime $(DBUS_CFLAGS) $(FUZZ_CFLAGS) -o $@ \
	    $(filter %.c,$^) $(DBUS_LIBS); \
	fi
check_SCRIPTS += $(fuzz_rt_targets)
CLEANFILES += $(fuzz_rt_targets) $(fuzz_rt_gen) fuzz/gen/.stamp
EXTRA_DIST += fuzz/local.mk fuzz/fuzz.idl fuzz/fuzz-msg.h fuzz/fuzz-dispatch.c fuzz/fuzz-variant.c fuzz/fuzz-message.c \
	fuzz/fz-service.h fuzz/fuzz-fastcall.c fuzz/fuzz-wire.c fuzz/fuzz-marshal.c fuzz/fuzz-transport.c fuzz/dbus.dict fuzz/mkseeds.py fuzz/msgs fuzz/regress

# `make fuzz` (tests/xml.mk) runs these too, each for FUZZ_SECONDS.
fuzz: fuzz-runtime
fuzz-runtime: $(fuzz_rt_targets)
	@for t in dispatch variant message wire marshal transport fastcall; do \
	  $(MKDIR_P) fuzz/corpus-$$t || exit 1; \
	  echo "fuzz: fuzz-$$t for $(FUZZ_SECONDS) s (corpus fuzz/corpus-$$t)"; \
	  ASAN_OPTIONS=detect_leaks=1 ./fuzz/fuzz-$$t$(EXEEXT) -max_total_time=$(FUZZ_SECONDS) \
	    -dict=$(srcdir)/fuzz/dbus.dict -artifact_prefix=fuzz/$$t- \
	    fuzz/corpus-$$t $(srcdir)/fuzz/msgs $(srcdir)/fuzz/regress || exit 1; \
	done
.PHONY: fuzz-runtime
clean-fuzz: clean-fuzz-runtime
clean-fuzz-runtime:
	rm -rf fuzz/corpus-dispatch fuzz/corpus-variant fuzz/corpus-message fuzz/corpus-wire fuzz/corpus-marshal fuzz/corpus-transport \
	  fuzz/corpus-fastcall
.PHONY: clean-fuzz-runtime
