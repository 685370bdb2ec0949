# lib.sh: helpers for the interop tests (H9). Source after tests/tap.sh.
#
# Every test gets its own mktemp -d directory, its own private bus (busrpc-bus,
# i.e. the real dbus-daemon) and its own services, all stopped by PID on exit.
# The machine's session bus is never used.
unset DBUS_SESSION_BUS_ADDRESS DBUS_STARTER_ADDRESS DBUS_STARTER_BUS_TYPE
# Always the system python: the one first on PATH may lack python3-dbus.
PY=/usr/bin/python3
BUSCTL=${BUSCTL:-busctl}
IOP_NAME=org.busrpc.Interop
IOP_PATH=/org/busrpc/Interop
IOP_IFACE=org.busrpc.Interop
IOP_SERVICE=$top_builddir/tests/interop/interop-service
IOP_CLIENT=$top_builddir/tests/interop/interop-client
BUSRPC_BUS=$top_builddir/busrpc-bus

iop_dir=$(mktemp -d) || tap_bail "mktemp failed"
iop_dir=$(cd "$iop_dir" && pwd -P)
# busrpc-bus keeps its generated configuration under TMPDIR: keep it in ours.
mkdir "$iop_dir/td" && TMPDIR=$iop_dir/td && export TMPDIR
iop_pids=""
iop_cleanup() {
	for p in $iop_pids; do kill "$p" 2>/dev/null; done
	for p in $iop_pids; do wait "$p" 2>/dev/null; done
	rm -rf "$iop_dir"
}
trap iop_cleanup EXIT
trap 'exit 1' INT TERM

# need_python: /usr/bin/python3 with python3-dbus and GLib (python3-gi).
need_python() {
	[ -x "$PY" ] || tap_bail "$PY not found"
	"$PY" -c 'import dbus, dbus.mainloop.glib' 2>/dev/null || tap_bail "$PY lacks python3-dbus"
	"$PY" -c 'from gi.repository import GLib' 2>/dev/null || tap_bail "$PY lacks python3-gi (GLib)"
}

# wait_file FILE [SECONDS]: up to SECONDS (default 10) for FILE to be non-empty.
wait_file() {
	for _ in $(seq $((${2:-10} * 20))); do [ -s "$1" ] && return 0; sleep 0.05; done
	return 1
}

# wait_grep FILE PATTERN [N]: up to 10 s for N (default 1) lines of FILE to match.
wait_grep() {
	for _ in $(seq 200); do
		[ "$(grep -c -- "$2" "$1" 2>/dev/null)" -ge "${3:-1}" ] && return 0
		sleep 0.05
	done
	return 1
}

# start_bus: a private bus; sets BUS (its address).
start_bus() {
	[ -x "$BUSRPC_BUS" ] || tap_bail "$BUSRPC_BUS not built"
	"$BUSRPC_BUS" --socket "$iop_dir/bus/socket" --print-pid > "$iop_dir/bus.out" 2> "$iop_dir/bus.err" &
	iop_pids="$iop_pids $!"
	for _ in $(seq 200); do [ "$(wc -l < "$iop_dir/bus.out")" -ge 2 ] && break; sleep 0.05; done
	BUS=$(sed -n 1p "$iop_dir/bus.out")
	dpid=$(sed -n 2p "$iop_dir/bus.out")
	[ -n "$BUS" ] && [ -n "$dpid" ] || { sed 's/^/#   /' "$iop_dir/bus.err"; tap_bail "busrpc-bus did not start"; }
	iop_pids="$iop_pids $dpid"
}

# start_c_service: the busrpc service on $BUS and on a peer socket; sets
# PEER (the peer address) and C_PID. $IOP_WRAP, if set, runs it (valgrind).
start_c_service() {
	[ -x "$IOP_SERVICE" ] || tap_bail "$IOP_SERVICE not built"
	$IOP_WRAP "$IOP_SERVICE" --bus "$BUS" --peer "unix:path=$iop_dir/cpeer/socket" --ready "$iop_dir/c.ready" \
		> "$iop_dir/c.out" 2> "$iop_dir/c.err" &
	C_PID=$!
	iop_pids="$iop_pids $C_PID"
	if ! wait_file "$iop_dir/c.ready" 60; then
		sed 's/^/#   /' "$iop_dir/c.err"
		tap_bail "interop-service did not start"
	fi
	PEER=$(sed -n 1p "$iop_dir/c.ready")
}

# start_py_service: the python-dbus service on $BUS (as $IOP_NAME) and on a
# peer socket; sets PY_PEER and PY_PID.
start_py_service() {  # [NAME]
	need_python
	"$PY" "$top_srcdir/tests/interop/service.py" --bus "$BUS" \
		--peer "unix:path=$iop_dir/pypeer/socket" --ready "$iop_dir/py.ready" --name "${1:-$IOP_NAME}" \
		> "$iop_dir/py.out" 2> "$iop_dir/py.err" &
	PY_PID=$!
	iop_pids="$iop_pids $PY_PID"
	if ! wait_file "$iop_dir/py.ready"; then
		sed 's/^/#   /' "$iop_dir/py.err"
		tap_bail "service.py did not start"
	fi
	PY_PEER=$(sed -n 1p "$iop_dir/py.ready")
}

# stop_pid PID: SIGTERM, wait, and set STOP_STATUS to its exit status.
stop_pid() {
	kill -TERM "$1" 2>/dev/null
	wait "$1"
	STOP_STATUS=$?
}

# embed_tap PREFIX CMD...: run a TAP producer and fold its results into this
# test's own numbering (each "ok"/"not ok" becomes ours, "PREFIX: ..."). Its
# exit status and its plan are checked too.
embed_tap() {
	prefix=$1; shift
	"$@" > "$iop_dir/embed.out" 2> "$iop_dir/embed.err"
	st=$?
	n_emb=0
	while IFS= read -r line; do
		case $line in
		"ok "*) n_emb=$((n_emb + 1)); ok 0 "$prefix: $(printf '%s' "$line" | sed 's/^ok [0-9]* *-* *//')" ;;
		"not ok "*) n_emb=$((n_emb + 1)); ok 1 "$prefix: $(printf '%s' "$line" | sed 's/^not ok [0-9]* *-* *//')" ;;
		"Bail out!"*) ok 1 "$prefix: $line" ;;
		"#"*) printf '%s\n' "$line" ;;
		esac
	done < "$iop_dir/embed.out"
	plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$iop_dir/embed.out")
	is "${plan:-none}" "$n_emb" "$prefix: ran to the end (plan 1..$n_emb)"
	is "$st" 0 "$prefix: exit status"
	[ "$st" -eq 0 ] || sed 's/^/#   stderr: /' "$iop_dir/embed.err" | tail -20
}

# has TEXT PATTERN DESC: ok when the fixed string PATTERN occurs in TEXT.
has() {
	case $1 in
	*"$2"*) ok 0 "$3" ;;
	*) ok 1 "$3"; printf '#   wanted: %s\n#   in: %s\n' "$2" "$(printf '%s' "$1" | head -c 2000)" | sed '3,$s/^/#   /' ;;
	esac
}
