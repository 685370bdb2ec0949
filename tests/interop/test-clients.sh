#!/bin/sh
# busrpc clients calling services busrpc did not write: the generated client
# of interop.idl (interop-client) checks, value by value, every type
# category, fds, shm, signals, PropertiesChanged, properties and a declared
# error against the python-dbus service (service.py) on a private bus and on
# its peer socket; then, as a control, against the busrpc service.
. "$top_srcdir/tests/tap.sh"
. "$top_srcdir/tests/interop/lib.sh"
[ -x "$IOP_CLIENT" ] || tap_bail "$IOP_CLIENT not built"

start_bus
start_py_service org.busrpc.InteropPy
start_c_service

embed_tap "python service, bus" "$IOP_CLIENT" --bus "$BUS" --dest org.busrpc.InteropPy
embed_tap "python service, bus, child object" "$IOP_CLIENT" --bus "$BUS" --dest org.busrpc.InteropPy \
	--path /org/busrpc/Interop/Child
embed_tap "python service, peer" "$IOP_CLIENT" --peer "$PY_PEER"
embed_tap "busrpc service, bus" "$IOP_CLIENT" --bus "$BUS" --dest "$IOP_NAME"
embed_tap "busrpc service, peer" "$IOP_CLIENT" --peer "$PEER"

# A client asking for a name nobody owns gets an error, not a hang.
out=$("$IOP_CLIENT" --bus "$BUS" --dest org.busrpc.Nobody 2>&1)
ok $((! $?)) "a client of a missing service fails"
has "$out" "ServiceUnknown" "it reports org.freedesktop.DBus.Error.ServiceUnknown"

stop_pid "$PY_PID"
is "$STOP_STATUS" 0 "service.py exits 0 on SIGTERM"
[ "$STOP_STATUS" -eq 0 ] || sed 's/^/#   service.py: /' "$iop_dir/py.err" | tail -20
stop_pid "$C_PID"
is "$STOP_STATUS" 0 "interop-service exits 0 on SIGTERM"
tap_done
