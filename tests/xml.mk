# XML front end (idlc/xml-import.c), XML output (idlc/gen-xml.c) and the
# fuzzer. Automake needs literal names: no wildcards.
TESTS += tests/test-xml.sh tests/test-fuzz.sh
EXTRA_DIST += tests/test-xml.sh tests/test-fuzz.sh docs/idl-xml.md \
	tests/xml/canon.py \
	tests/xml/calc.idl tests/xml/geo.idl tests/xml/shapes.idl tests/xml/stats.xml tests/xml/docs.xml \
	tests/xml/types.idl \
	tests/xml/golden/calc.xml tests/xml/golden/shapes.xml tests/xml/golden/stats.idl \
	tests/xml/golden/types.xml \
	tests/xml/real/org.freedesktop.login1.Manager.xml \
	tests/xml/real/org.freedesktop.NetworkManager.xml \
	tests/xml/real/org.freedesktop.Notifications.xml \
	tests/xml/real/org.freedesktop.PackageKit.xml \
	tests/xml/real/org.freedesktop.UPower.xml \
	tests/xml/real/org.mpris.MediaPlayer2.xml \
	tests/xml/bad/access.xml \
	tests/xml/bad/busrpc-type-mismatch.xml \
	tests/xml/bad/check-duplicate-member.xml \
	tests/xml/bad/declaration-conflict.xml \
	tests/xml/bad/direction.xml \
	tests/xml/bad/empty.xml \
	tests/xml/bad/junk-after-root.xml \
	tests/xml/bad/mismatched-tag.xml \
	tests/xml/bad/missing-type.xml \
	tests/xml/bad/not-well-formed.xml \
	tests/xml/bad/root-not-node.xml \
	tests/xml/bad/signature-bad-code.xml \
	tests/xml/bad/signature-dict-key.xml \
	tests/xml/bad/signature-empty-struct.xml \
	tests/xml/bad/signature-too-deep.xml \
	tests/xml/bad/signature-two-types.xml \
	tests/xml/bad/signature-unterminated.xml \
	tests/xml/bad/unclosed-token.xml \
	tests/xml/warn/arg-busrpc-prefix.xml \
	tests/xml/warn/arg-renamed.xml \
	tests/xml/warn/c-name-clash.xml \
	tests/xml/warn/doc-in-node.xml \
	tests/xml/warn/duplicate-args.xml \
	tests/xml/warn/keyword-c-name.xml \
	tests/xml/warn/misplaced.xml \
	tests/xml/warn/types-carrier.xml \
	tests/xml/warn/unknown-attribute.xml \
	tests/xml/warn/unknown-element.xml \
	tests/xml/crashers/doc-invalid-utf8.idl \
	tests/xml/crashers/doc-nul-byte.idl \
	fuzz/fuzz-idl.c fuzz/idl.dict

# --- the fuzzer ---------------------------------------------------------------
# A plain rule, not an automake program: libFuzzer's flags would conflict
# with the project's, and it must be clang. It compiles the compiler's
# sources (all of busrpc_idlc_SOURCES but main.c and the loader, so a new
# file such as idlc/xml-sig.c needs no edit here) and the generated
# scanner and parser directly. Without clang the rule builds nothing and
# tests/test-fuzz.sh fails, saying so.
FUZZ_SECONDS = 60
FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
fuzz_idl_sources = fuzz/fuzz-idl.c \
	$(filter-out idlc/main.c idlc/load.c,$(filter %.c,$(busrpc_idlc_SOURCES)))

fuzz/fuzz-idl$(EXEEXT): $(fuzz_idl_sources) idlc/parser.c idlc/lexer.c idlc/parser.h \
		$(filter %.h,$(busrpc_idlc_SOURCES))
	@if test -z "$(CLANG)"; then \
	  echo "fuzz: clang not found (configure looks for it): the fuzzer is not built" >&2; \
	else \
	  $(MKDIR_P) fuzz && \
	  echo "  CLANG    $@" && \
	  $(CLANG) $(AM_CPPFLAGS) $(EXPAT_CFLAGS) $(FUZZ_CFLAGS) -o $@ \
	    $(filter %.c,$^) $(EXPAT_LIBS); \
	fi
check_SCRIPTS += fuzz/fuzz-idl$(EXEEXT)
CLEANFILES += fuzz/fuzz-idl$(EXEEXT) fuzz/seeds.stamp

# The seed corpus: the good IDL files and the XML samples, copied into
# fuzz/seeds/ (libFuzzer writes what it finds into the first directory it
# is given, fuzz/corpus/, so the tree is never touched).
fuzz/seeds.stamp: $(srcdir)/tests/xml/calc.idl
	$(AM_V_GEN)rm -rf fuzz/seeds && $(MKDIR_P) fuzz/seeds && \
	for f in $(srcdir)/tests/idl/good/*.idl $(srcdir)/tests/idl/good/*/*.idl \
	         $(srcdir)/tests/xml/*.idl $(srcdir)/tests/xml/*.xml \
	         $(srcdir)/tests/xml/golden/* $(srcdir)/tests/xml/bad/*.xml \
	         $(srcdir)/tests/xml/warn/*.xml $(srcdir)/tests/xml/real/*.xml \
	         $(srcdir)/tests/xml/crashers/*; do \
	  test -f "$$f" || continue; \
	  cp "$$f" "fuzz/seeds/$$(echo "$$f" | sed 's|^$(srcdir)/||; s|/|_|g')"; \
	done && touch $@

fuzz: fuzz/fuzz-idl$(EXEEXT) fuzz/seeds.stamp
	$(MKDIR_P) fuzz/corpus
	ASAN_OPTIONS=detect_leaks=1 ./fuzz/fuzz-idl$(EXEEXT) -max_total_time=$(FUZZ_SECONDS) \
	  -dict=$(srcdir)/fuzz/idl.dict -artifact_prefix=fuzz/ fuzz/corpus fuzz/seeds
.PHONY: fuzz

clean-local: clean-fuzz
clean-fuzz:
	rm -rf fuzz/corpus fuzz/seeds
.PHONY: clean-fuzz
