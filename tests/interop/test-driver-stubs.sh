#!/bin/sh
# Typed busrpc stubs for a service busrpc did not write: dbus-daemon's own
# org.freedesktop.DBus. Its introspection XML is captured now, from the
# running daemon (busctl introspect --xml-interface, and dbus-send
# Introspect), busrpc-idlc generates C from it, and driver-client.c is
# compiled (-Werror) against that and run: ListNames contains our unique
# name, GetNameOwner, NameHasOwner, GetId (32 hex digits, the same as
# dbus-send sees), RequestName with its signals, credentials, properties.
. "$top_srcdir/tests/tap.sh"
. "$top_srcdir/tests/interop/lib.sh"
need "$BUSCTL" dbus-send pkg-config
CC=${CC:-cc}
need "${CC%% *}"
IDLC=${BUSRPC_IDLC:-$top_builddir/busrpc-idlc}
[ -x "$IDLC" ] || tap_bail "$IDLC not built"
[ -f "$top_builddir/.libs/libbusrpc.so" ] || [ -f "$top_builddir/.libs/libbusrpc.a" ] ||
	tap_bail "libbusrpc not built in $top_builddir/.libs"

start_bus
d=$iop_dir/drv
mkdir -p "$d/busctl" "$d/dbus-send" "$d/gen-busctl" "$d/gen-dbus-send"

"$BUSCTL" --address="$BUS" introspect --xml-interface org.freedesktop.DBus /org/freedesktop/DBus \
	> "$d/busctl/fdo.xml" 2> "$d/busctl.err"
ok $? "busctl introspect --xml-interface of the driver"
dbus-send --bus="$BUS" --print-reply=literal --dest=org.freedesktop.DBus /org/freedesktop/DBus \
	org.freedesktop.DBus.Introspectable.Introspect > "$d/dbus-send/fdo.xml" 2> "$d/dbus-send.err"
ok $? "dbus-send Introspect of the driver"
check "the XML declares org.freedesktop.DBus" grep -q '<interface name="org.freedesktop.DBus">' "$d/busctl/fdo.xml"

for how in busctl dbus-send; do
	"$IDLC" -o "$d/gen-$how" --header --client "$d/$how/fdo.xml" > "$d/idlc-$how.out" 2>&1
	st=$?
	is "$st" 0 "busrpc-idlc accepts the driver's XML (from $how)"
	[ "$st" -eq 0 ] || sed 's/^/#   /' "$d/idlc-$how.out" | head -20
done
check "both captures give the same header" cmp "$d/gen-busctl/fdo.h" "$d/gen-dbus-send/fdo.h"
check "both captures give the same client" cmp "$d/gen-busctl/fdo-client.c" "$d/gen-dbus-send/fdo-client.c"
check "the header declares fdo_dbus_list_names()" grep -q '^int fdo_dbus_list_names(' "$d/gen-busctl/fdo.h"

# Compile the generated stubs and the client as a user would: installed-style
# include path, strict warnings as errors.
set -- -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
	-Wpointer-arith -Wundef -D_GNU_SOURCE \
	-I"$top_srcdir/include" -I"$top_srcdir/tests" -I"$d/gen-busctl" $(pkg-config --cflags dbus-1)
$CC "$@" -o "$d/driver-client" "$top_srcdir/tests/interop/driver-client.c" "$d/gen-busctl/fdo-client.c" \
	-L"$top_builddir/.libs" -Wl,-rpath,"$top_builddir/.libs" -lbusrpc $(pkg-config --libs dbus-1) \
	> "$d/cc.out" 2>&1
st=$?
is "$st" 0 "driver-client.c + the generated fdo-client.c compile with -Werror ($CC)"
[ "$st" -eq 0 ] || { sed 's/^/#   /' "$d/cc.out" | head -40; tap_bail "cannot build the driver client"; }
if [ -n "${CLANG:-}" ] && command -v "$CLANG" >/dev/null 2>&1; then
	"$CLANG" "$@" -c -o "$d/fdo-client-clang.o" "$d/gen-busctl/fdo-client.c" > "$d/clang.out" 2>&1
	st=$?
	is "$st" 0 "the generated fdo-client.c also compiles with $CLANG -Werror"
	[ "$st" -eq 0 ] || sed 's/^/#   /' "$d/clang.out" | head -20
fi

id=$(dbus-send --bus="$BUS" --print-reply=literal --dest=org.freedesktop.DBus /org/freedesktop/DBus \
	org.freedesktop.DBus.GetId | tr -d ' \n')
embed_tap "driver stubs" "$d/driver-client" "$BUS" "$id"
tap_done
