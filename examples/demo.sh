#!/bin/sh
# examples/demo.sh BUILDDIR: the busrpc demo (scripts/demo runs it).
#
# 1. starts a private bus with busrpc-bus in a fresh mktemp -d directory;
# 2. starts the calc service on it, also listening on a peer-to-peer socket;
# 3. calls it from calc-client through the bus, printing each call and result;
# 4. shows it with `busctl tree` and `busctl introspect`, as for any service;
# 5. lists the names on the bus with bus-client (stubs generated from XML);
#    then does 3 and 4 again straight over the peer socket (no dbus-daemon);
# 6. stops everything it started, by PID.
# Exit status: 0 when every step worked, 1 otherwise.
set -u

b=${1:?usage: examples/demo.sh BUILDDIR}
b=$(cd "$b" && pwd) || exit 1
for f in busrpc-bus examples/calc/calc-service examples/calc/calc-client examples/bus-client/bus-client; do
	if [ ! -x "$b/$f" ]; then
		echo "demo: $b/$f is missing: build first (make -C $b)" >&2
		exit 1
	fi
done
busctl=$(command -v busctl) || { echo "demo: busctl not found (Debian: systemd)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/busrpc-demo.XXXXXX") || exit 1
bus_pid= svc_pid= failed=0
stop() {  # stop PID: SIGTERM, then wait for it (it is our child)
	[ -n "$1" ] || return 0
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}
cleanup() {
	stop "$svc_pid"
	stop "$bus_pid"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -t 1 ]; then bold=$(printf '\033[1m') plain=$(printf '\033[0m'); else bold= plain=; fi
say() { printf '\n%s==> %s%s\n' "$bold" "$*" "$plain"; }
# show CMD...: print a command as the user would type it.
show() { printf '$ %s\n' "$*" | sed -e "s|$b/||g" -e "s|$tmp|\$DIR|g" -e "s|$busctl |busctl |g"; }
# run CMD...: show the command (paths shortened), run it, remember a failure.
run() {
	show "$@"
	if ! "$@"; then
		echo "demo: FAILED: $*" >&2
		failed=1
	fi
}
# run_fails CMD...: the same for a command that must fail (a D-Bus error).
run_fails() {
	show "$@"
	if "$@"; then
		echo "demo: FAILED: this should have failed: $*" >&2
		failed=1
	fi
}
# wait_for FILE PATTERN: up to 10 s for a line matching PATTERN in FILE.
wait_for() {
	i=0
	while [ $i -lt 100 ]; do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

say "A private bus: busrpc-bus --socket \$DIR/bus.sock (DIR=$tmp)"
"$b/busrpc-bus" --socket "$tmp/bus.sock" >"$tmp/bus.out" 2>"$tmp/bus.err" &
bus_pid=$!
if ! wait_for "$tmp/bus.out" '^unix:'; then
	echo "demo: busrpc-bus did not start:" >&2
	cat "$tmp/bus.err" >&2
	exit 1
fi
bus=$(head -n 1 "$tmp/bus.out")
echo "bus address: $bus"

peer="unix:path=$tmp/peer/calc.sock"
say "The calc service, on the bus and on a peer socket"
show "$b/examples/calc/calc-service" --bus "$bus" --peer "$peer" "&"
"$b/examples/calc/calc-service" --bus "$bus" --peer "$peer" >"$tmp/svc.log" 2>&1 &
svc_pid=$!
if ! wait_for "$tmp/svc.log" 'ready'; then
	echo "demo: calc-service did not start:" >&2
	cat "$tmp/svc.log" >&2
	exit 1
fi
sed "s|$tmp|\$DIR|g" "$tmp/svc.log"

say "Calling it through the bus (typed stubs generated from calc.idl)"
run "$b/examples/calc/calc-client" --bus "$bus"

say "What busctl sees on the bus"
run "$busctl" --address="$bus" tree org.example.Calculator
run "$busctl" --address="$bus" introspect org.example.Calculator /org/example/Calculator
run "$busctl" --address="$bus" call org.example.Calculator /org/example/Calculator \
	org.example.Calculator Add ii 20 22

say "The bus itself, through stubs generated from the XML it reports (bus-client)"
run "$b/examples/bus-client/bus-client" --bus "$bus"

say "The same over the peer-to-peer socket: no dbus-daemon in between"
run "$b/examples/calc/calc-client" --peer "$peer"
run "$busctl" --address="$peer" tree org.example.Calculator
run "$busctl" --address="$peer" introspect org.example.Calculator /org/example/Calculator org.example.Calculator
run_fails "$busctl" --address="$peer" call org.example.Calculator /org/example/Calculator \
	org.example.Calculator Divide dd 1 0 2>&1

say "Stopping the service (SIGTERM: it releases its name and exits 0)"
kill "$svc_pid"
if wait "$svc_pid"; then
	sed -n '$p' "$tmp/svc.log"
else
	echo "demo: calc-service exited with status $?" >&2
	failed=1
fi
svc_pid=
stop "$bus_pid"
bus_pid=

if [ "$failed" -eq 0 ]; then
	say "Demo done: every step worked."
else
	say "Demo done, with failures (see above)."
fi
exit "$failed"
