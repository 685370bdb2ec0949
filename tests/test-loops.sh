#!/bin/sh
# test-loops.sh: the foreign-loop adapters (libbusrpc-glib, -sd-event,
# -libuv) driving real services and clients. For each adapter, on a private
# bus (busrpc-bus) and on a peer socket, examples/loops/NAME-calc:
# - serves busctl and gdbus calls from that loop (a reply deferred to a
#   busrpc timer included: the loop must wake for the timer);
# - as a client, from that loop: async calls, a proxy timeout firing while
#   the foreign loop runs, a signal emitted by the service and received;
# - stops on SIGTERM through the adapter's quit forwarding, and ends with
#   -ECONNRESET when its bus goes away.
# Then: the adapter with nothing to do (no spinning; a busrpc timer added
# from a foreign callback still fires; quit reaches the foreign loop), no
# leaks under valgrind (service + client, and attach/idle/detach), and the
# libraries, headers and .pc files installed into a DESTDIR, a program built
# from pkg-config against them. A missing adapter fails, naming its package.
. "$top_srcdir/tests/tap.sh"
need "${BUSCTL:-busctl}" gdbus timeout valgrind pkg-config nm "${CC:-cc}"
busctl=${BUSCTL:-busctl}
b=$top_builddir
[ -x "$b/busrpc-bus" ] || tap_bail "busrpc-bus not built"
tmp=$(mktemp -d) || tap_bail "mktemp failed"
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT

# wait_for FILE PATTERN: up to 20 s (valgrind starts slowly).
wait_for() {
	i=0
	while [ $i -lt 200 ]; do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

adapters=
for a in glib:libglib2.0-dev sd-event:libsystemd-dev libuv:libuv1-dev; do
	name=${a%%:*} pkg=${a#*:}
	if [ -x "$b/examples/loops/$name-calc" ] && [ -f "$b/.libs/libbusrpc-$name.so" ]; then
		adapters="$adapters $name"
	else
		ok 1 "libbusrpc-$name was not built: configure did not find it (apt-get install $pkg, then re-run configure)"
	fi
done

"$b/busrpc-bus" --socket "$tmp/bus/socket" >"$tmp/bus.out" 2>"$tmp/bus.err" &
bus_pid=$!
pids=$bus_pid
wait_for "$tmp/bus.out" '^unix:' || tap_bail "busrpc-bus did not start: $(cat "$tmp/bus.err")"
bus=$(head -n 1 "$tmp/bus.out")
diag "bus: $bus"

client_expected='Add(40, 2) = 42
Slow(50, 7) = 7
Slow(20000, 1) with a 200 ms timeout -> org.freedesktop.DBus.Error.NoReply (Connection timed out)
Add(2147483647, 1) = -2147483648
signal Overflowed(2147483648, "Add")'

calc_call() {  # calc_call ADDRESS-OPTION METHOD SIG ARGS...: busctl
	where=$1 m=$2
	shift 2
	timeout 10 "$busctl" --address="$where" call org.example.Calculator /org/example/Calculator \
		org.example.Calculator "$m" "$@" 2>&1
}

# serve NAME TRANSPORT [WRAPPER...]: start NAME-calc, set $svc_pid and $addr.
serve() {
	name=$1 transport=$2
	shift 2
	if [ "$transport" = bus ]; then
		addr=$bus
		set -- "$@" "$b/examples/loops/$name-calc" --bus "$bus"
	else
		addr=unix:path=$tmp/$name-peer/calc.sock
		mkdir -p "$tmp/$name-peer" && chmod 700 "$tmp/$name-peer"
		set -- "$@" "$b/examples/loops/$name-calc" --peer "$addr"
	fi
	log=$tmp/$name-$transport.log
	# Emptied here, not by the background job's redirection: the valgrind
	# round reuses the log, and wait_for must not see the last run's "ready".
	: >"$log"
	"$@" >"$log" 2>&1 &
	svc_pid=$!
	pids="$svc_pid $pids"
	wait_for "$log" ready
	ok $? "$name-calc serves on the $transport from its own loop"
}

for name in $adapters; do
	for transport in bus peer; do
		serve "$name" "$transport"
		is "$(calc_call "$addr" Add ii 40 2)" "i 42" "$name/$transport: busctl Add(40, 2)"
		# The reply comes from a busrpc timer: only if the adapter wakes for it.
		is "$(calc_call "$addr" Slow ui 50 7)" "i 7" "$name/$transport: busctl Slow(50, 7), answered from a busrpc timer"
		out=$(timeout 10 gdbus call --address "$addr" -d org.example.Calculator -o /org/example/Calculator \
			-m org.example.Calculator.Add 2 3 2>&1)
		is "$out" "(5,)" "$name/$transport: gdbus Add(2, 3)"
		out=$(timeout 10 gdbus call --address "$addr" -d org.example.Calculator -o /org/example/Calculator \
			-m org.example.Calculator.Divide 1 0 2>&1)
		case $out in
		*org.example.Calculator.Error.DivideByZero*) ok 0 "$name/$transport: gdbus Divide(1, 0) gets the declared error" ;;
		*) ok 1 "$name/$transport: gdbus Divide(1, 0) gets the declared error (got: $out)" ;;
		esac
		# The client side, from the same kind of loop.
		out=$(timeout 30 "$b/examples/loops/$name-calc" --"$transport" "$addr" --client 2>&1)
		ok $? "$name/$transport: the $name client exits 0"
		is "$out" "$client_expected" "$name/$transport: async calls, a timeout and a signal, all in the $name loop"
		kill -TERM "$svc_pid"
		wait "$svc_pid"
		ok $? "$name/$transport: SIGTERM (busrpc_loop_handle_signals) stops the $name loop, exit 0"
		grep -q "stopped (0)" "$log"
		ok $? "$name/$transport: the quit request reached the $name loop with code 0"
		pids=$bus_pid
	done

	# Nothing to do: no spinning; then a busrpc timer added from a foreign callback.
	out=$(timeout 10 "$b/examples/loops/$name-calc" --idle 2>&1)
	ok $? "$name --idle exits 0"
	cpu=$(echo "$out" | sed -n 's/^idle 300 ms: \([0-9]*\) ms of CPU$/\1/p')
	[ -n "$cpu" ] && [ "$cpu" -lt 100 ]
	ok $? "$name: an attached adapter with no busrpc work does not spin (${cpu:-?} ms of CPU in 300 ms)"
	echo "$out" | grep -q "busrpc timer fired; its busrpc_loop_quit(3) reached .* as 3"
	ok $? "$name: a busrpc timer added from a foreign callback fires; quit(3) reaches the foreign loop"
done

# A lost bus quits the busrpc loop with -ECONNRESET: the adapter forwards it.
for name in $adapters; do
	# One output file per bus: a shared one could still hold the previous
	# (killed) bus's address when wait_for reads it.
	"$b/busrpc-bus" --socket "$tmp/bus2-$name/socket" >"$tmp/bus2-$name.out" 2>"$tmp/bus2-$name.err" &
	bus2_pid=$!
	pids="$bus2_pid $pids"
	wait_for "$tmp/bus2-$name.out" '^unix:' || tap_bail "busrpc-bus did not start: $(cat "$tmp/bus2-$name.err")"
	log=$tmp/$name-lost.log
	"$b/examples/loops/$name-calc" --bus "$(head -n 1 "$tmp/bus2-$name.out")" >"$log" 2>&1 &
	svc_pid=$!
	pids="$svc_pid $pids"
	wait_for "$log" ready || diag "$name-calc did not start: $(cat "$log")"
	kill "$bus2_pid" && wait "$bus2_pid"
	timeout 10 tail --pid="$svc_pid" -f /dev/null
	ok $? "$name: the service's loop ends when the bus goes away"
	wait "$svc_pid"
	st=$?
	is "$st:$(grep stopped "$log")" "1:$name-calc: stopped (-104)" \
		"$name: the lost bus reached the $name loop as -ECONNRESET (exit 1)"
	pids=$bus_pid
done

# valgrind: the adapters attach, serve, detach and free everything.
# (through libtool: the uninstalled programs are wrapper scripts)
vg="$b/libtool --mode=execute valgrind -q --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite --error-exitcode=99"
for name in $adapters; do
	# shellcheck disable=SC2086
	serve "$name" peer $vg
	is "$(calc_call "$addr" Slow ui 20 9)" "i 9" "valgrind $name: busctl Slow(20, 9)"
	# shellcheck disable=SC2086
	out=$(timeout 60 $vg "$b/examples/loops/$name-calc" --peer "$addr" --client 2>&1)
	ok $? "valgrind $name: the client runs clean (no errors, no definite leaks)"
	is "$out" "$client_expected" "valgrind $name: the client's results"
	kill -TERM "$svc_pid"
	wait "$svc_pid"
	ok $? "valgrind $name: the service stops clean, adapter detached, nothing leaked"
	pids=$bus_pid
	# shellcheck disable=SC2086
	timeout 60 $vg "$b/examples/loops/$name-calc" --idle >"$tmp/idle.log" 2>&1
	ok $? "valgrind $name: attach, idle, a busrpc timer, quit, detach: clean"
done

# The life cycle: bad arguments, detach from a busrpc callback, re-attach.
if [ -x "$b/tests/test-loops-detach" ]; then
	# shellcheck disable=SC2086
	timeout 120 $vg "$b/tests/test-loops-detach" >"$tmp/detach.log" 2>&1
	st=$?
	ok $st "valgrind: tests/test-loops-detach passes, clean (no errors, no definite leaks)"
	[ $st -eq 0 ] || sed 's/^/#   /' "$tmp/detach.log" | tail -n 30
	grep -c '^ok' "$tmp/detach.log" | sed 's/^/# test-loops-detach checks passed: /'
else
	ok 1 "tests/test-loops-detach not built (it needs all three adapters; make check builds it)"
fi

# Installed: each adapter's library, header and .pc; a program built against them.
dest=$tmp/dest
# Only what the adapters ship (libraries, headers, .pc files): the whole
# install is tests/test-install.sh's.
${MAKE:-make} -s -C "$b" install-libLTLIBRARIES install-busrpcincludeHEADERS install-pkgconfigDATA \
	DESTDIR="$dest" >"$tmp/install.log" 2>&1
st=$?
ok $st "make install (libraries, headers, .pc files) into a DESTDIR"
[ $st -eq 0 ] || sed 's/^/#   /' "$tmp/install.log" | tail -n 20
libdir=$(PKG_CONFIG_PATH= pkg-config --variable=libdir "$b/runtime/busrpc.pc")
prefix=$(sed -n 's/^prefix=//p' "$b/runtime/busrpc.pc")
pcdir=$libdir/pkgconfig
# busrpc's .pc files, relocated into the DESTDIR (a pkg-config sysroot would
# also move the system's glib-2.0 include paths).
mkdir -p "$tmp/pc"
for pc in "$dest$pcdir"/busrpc*.pc; do
	sed "s|^prefix=|prefix=$dest|" "$pc" >"$tmp/pc/${pc##*/}"
done
for name in $adapters; do
	case $name in glib) fn=busrpc_glib_attach ;; sd-event) fn=busrpc_sd_event_attach ;; libuv) fn=busrpc_uv_attach ;; esac
	check "$name: busrpc-$name.pc installed" test -f "$dest$pcdir/busrpc-$name.pc"
	check "$name: <busrpc/busrpc-$name.h> installed" test -f "$dest$prefix/include/busrpc/busrpc-$name.h"
	syms=$(nm -D --defined-only "$dest$libdir/libbusrpc-$name.so" 2>&1 | awk '$2 ~ /[TDBR]/ {print $3}')
	prefix_re=${fn%_attach}
	is "$(echo "$syms" | grep -v "^${prefix_re}_")" "" "$name: libbusrpc-$name.so exports only ${prefix_re}_* ($(echo $syms))"
	flags=$(PKG_CONFIG_PATH=$tmp/pc pkg-config --cflags --libs "busrpc-$name" 2>&1)
	ok $? "$name: pkg-config busrpc-$name resolves (requires busrpc and the loop's library)"
	printf '#include <busrpc/busrpc-%s.h>\nint main(void) { return (int)(long)&%s == 0; }\n' "$name" "$fn" >"$tmp/probe-$name.c"
	# shellcheck disable=SC2086
	${CC:-cc} -o "$tmp/probe-$name" "$tmp/probe-$name.c" $flags >"$tmp/probe-$name.log" 2>&1
	ok $? "$name: a program including the installed busrpc-$name.h links with the installed library"
	LD_LIBRARY_PATH=$dest$libdir "$tmp/probe-$name"
	ok $? "$name: and runs"
done
tap_done
