# lib.sh: helpers for the runtime shell tests (source after tests/tap.sh).
# Every test gets its own directory, private dbus-daemon and services, all
# stopped by PID on exit. Never the machine's session bus.
rt_dir=$(mktemp -d) || tap_bail "mktemp failed"
chmod 0755 "$rt_dir"
rt_pids=""
rt_cleanup() {
	for p in $rt_pids; do kill "$p" 2>/dev/null; done
	for p in $rt_pids; do wait "$p" 2>/dev/null; done
	rm -rf "$rt_dir"
}
trap rt_cleanup EXIT
SERVICE=$top_builddir/tests/runtime-service
[ -x "$SERVICE" ] || tap_bail "tests/runtime-service not built"
BUSCTL=${BUSCTL:-busctl}
DBUS_DAEMON=${DBUS_DAEMON:-dbus-daemon}

# start_bus: a private dbus-daemon; sets BUS (its address) and BUS_PID.
start_bus() {
	cat > "$rt_dir/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=$rt_dir/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
CONF
	"$DBUS_DAEMON" --config-file="$rt_dir/bus.conf" --nofork --print-address=1 > "$rt_dir/bus.addr" 2>"$rt_dir/bus.log" &
	BUS_PID=$!
	rt_pids="$rt_pids $BUS_PID"
	for _ in $(seq 100); do [ -s "$rt_dir/bus.addr" ] && break; sleep 0.05; done
	[ -s "$rt_dir/bus.addr" ] || tap_bail "dbus-daemon did not start"
	BUS=$(head -n1 "$rt_dir/bus.addr")
}

# start_service TAG ARGS...: run the test service in the background; waits
# for its READY line. Sets SVC_PID; output in $rt_dir/TAG.out/.err.
start_service() {
	tag=$1; shift
	$RT_WRAP "$SERVICE" "$@" > "$rt_dir/$tag.out" 2> "$rt_dir/$tag.err" &
	SVC_PID=$!
	rt_pids="$rt_pids $SVC_PID"
	for _ in $(seq 200); do
		grep -q '^READY' "$rt_dir/$tag.out" 2>/dev/null && return 0
		kill -0 "$SVC_PID" 2>/dev/null || break
		sleep 0.05
	done
	diag "service $tag did not start:"; sed 's/^/#   /' "$rt_dir/$tag.err"
	return 1
}

# wait_for FILE PATTERN: up to 5 s for PATTERN to appear in FILE.
wait_for() {
	for _ in $(seq 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
	return 1
}

# stop PID: SIGTERM and wait; prints the exit status.
stop() {
	kill -TERM "$1" 2>/dev/null
	wait "$1"
	echo $?
}
