#!/bin/sh
# python-dbus (/usr/bin/python3 with python3-dbus and GLib) calling the
# busrpc service, value by value, for every type category of interop.idl
# (fd and shm included), the Event signal, PropertiesChanged, properties,
# the declared error, the introspection XML and wrong-signature calls: on a
# private bus (dbus.bus.BusConnection) and on the service's peer socket
# (dbus.connection.Connection). The checks are in client.py.
. "$top_srcdir/tests/tap.sh"
. "$top_srcdir/tests/interop/lib.sh"
need_python

start_bus
start_c_service

embed_tap "python, bus" "$PY" "$top_srcdir/tests/interop/client.py" --bus "$BUS" --dest "$IOP_NAME"
embed_tap "python, peer" "$PY" "$top_srcdir/tests/interop/client.py" --peer "$PEER"
# Twice on the peer socket at once: every peer gets its own replies and signals.
"$PY" "$top_srcdir/tests/interop/client.py" --peer "$PEER" --only test_signals > "$iop_dir/p1.out" 2>&1 &
p1=$!
"$PY" "$top_srcdir/tests/interop/client.py" --peer "$PEER" --only test_signals > "$iop_dir/p2.out" 2>&1
st2=$?
wait "$p1"
st1=$?
is "$st1/$st2" "0/0" "python, two peers at once: both see their signals"
[ "$st1/$st2" = "0/0" ] || sed 's/^/#   /' "$iop_dir/p1.out" "$iop_dir/p2.out"

stop_pid "$C_PID"
is "$STOP_STATUS" 0 "the service exits 0 on SIGTERM"
[ "$STOP_STATUS" -eq 0 ] || sed 's/^/#   service: /' "$iop_dir/c.err" | tail -20
tap_done
