# busrpc-bus (H7): a private dbus-daemon on an owner-only Unix socket.
# Standalone (libc only); DBUS_DAEMON_PATH and PACKAGE_VERSION come from config.h.
bin_PROGRAMS += busrpc-bus
busrpc_bus_SOURCES = tools/busrpc-bus.c
dist_man_MANS += docs/man/busrpc-bus.1

TESTS += tests/test-bus.sh
EXTRA_DIST += tests/test-bus.sh

# busrpc (H12): call/get/set/introspect/tree/monitor from the shell, JSON values.
bin_PROGRAMS += busrpc
busrpc_SOURCES = tools/busrpc.c tools/busrpc-tool.h tools/busrpc-json.c tools/busrpc-value.c common/names.c \
	tools/busrpc-monitor.c
busrpc_CFLAGS = $(AM_CFLAGS) $(DBUS_CFLAGS) $(EXPAT_CFLAGS)
busrpc_LDADD = $(DBUS_LIBS) $(EXPAT_LIBS) -lm

# The bash completion script is the one `busrpc completion bash` prints (one
# copy of the text); installed where bash-completion looks for it on demand.
bashcompletiondir = $(datadir)/bash-completion/completions
noinst_DATA = tools/busrpc.bash
tools/busrpc.bash: busrpc$(EXEEXT)
	$(AM_V_GEN)$(MKDIR_P) tools && ./busrpc$(EXEEXT) completion bash > $@.tmp && mv $@.tmp $@
CLEANFILES += tools/busrpc.bash
install-data-local: install-bash-completion
uninstall-local: uninstall-bash-completion
install-bash-completion: tools/busrpc.bash
	$(MKDIR_P) '$(DESTDIR)$(bashcompletiondir)'
	$(INSTALL_DATA) tools/busrpc.bash '$(DESTDIR)$(bashcompletiondir)/busrpc'
uninstall-bash-completion:
	rm -f '$(DESTDIR)$(bashcompletiondir)/busrpc'
.PHONY: install-bash-completion uninstall-bash-completion
