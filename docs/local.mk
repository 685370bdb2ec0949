dist_doc_DATA += README.md
dist_man_MANS += docs/man/busrpc-idlc.1
dist_man_MANS += docs/man/busrpc.1
dist_doc_DATA += docs/idl.md docs/generated-api.md
dist_doc_DATA += docs/tutorial.md docs/runtime.md docs/idl-checks.md docs/idl-xml.md
dist_doc_DATA += docs/busrpc-tool.md
# reliability.md is a contributor's page (how the hostile-peer tests and the
# fuzzers run, from the source tree): shipped in the tarball, not installed.
EXTRA_DIST += docs/reliability.md docs/performance.md
# busrpc(7) names the documentation directory of this installation.
man_MANS = docs/man/busrpc.7
EXTRA_DIST += docs/man/busrpc.7.in
CLEANFILES += docs/man/busrpc.7
docs/man/busrpc.7: $(top_srcdir)/docs/man/busrpc.7.in Makefile
	$(AM_V_GEN)$(MKDIR_P) docs/man && \
	sed -e 's|@docdir[@]|$(docdir)|g' -e 's|@VERSION[@]|$(VERSION)|g' \
	  $(top_srcdir)/docs/man/busrpc.7.in > $@.tmp && mv $@.tmp $@
