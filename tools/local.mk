# busrpc-bus (H7): a private dbus-daemon on an owner-only Unix socket.
# Standalone (libc only); DBUS_DAEMON_PATH and PACKAGE_VERSION come from config.h.
bin_PROGRAMS += busrpc-bus
busrpc_bus_SOURCES = tools/busrpc-bus.c
dist_man_MANS += docs/man/busrpc-bus.1

TESTS += tests/test-bus.sh
EXTRA_DIST += tests/test-bus.sh
