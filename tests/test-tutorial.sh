#!/bin/sh
# test-tutorial.sh: follow docs/tutorial.md literally, so it cannot rot.
#
# The tutorial marks its blocks: ```LANG file=NAME is a file to save,
# ```sh run a command block to run (in order, in one empty directory), and
# ```text output the exact output the run block before it must print.
# The commands run against a fresh `make install` into a DESTDIR, found
# through PATH, pkg-config (PKG_CONFIG_SYSROOT_DIR) and LD_LIBRARY_PATH.
. "$top_srcdir/tests/tap.sh"
need pkg-config cc awk busctl timeout
tmp=$(mktemp -d) || tap_bail "mktemp failed"
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/root
work=$tmp/work
steps=$tmp/steps
mkdir -p "$work" "$steps"

# Split the tutorial into numbered steps: NNN.file (+ NNN.name), NNN.run, NNN.out.
awk -v dir="$steps" '
	function flush() { if (kind != "") close(path); kind = "" }
	/^```/ {
		if (inblock) { inblock = 0; flush(); next }
		inblock = 1; kind = ""
		if (match($0, /file=[^ ]+/)) {
			n++; kind = "file"; path = sprintf("%s/%03d.file", dir, n)
			printf "%s\n", substr($0, RSTART + 5, RLENGTH - 5) > sprintf("%s/%03d.name", dir, n)
			close(sprintf("%s/%03d.name", dir, n))
			printf "" > path
		} else if ($0 ~ /^```sh run[ \t]*$/) {
			n++; kind = "run"; path = sprintf("%s/%03d.run", dir, n); printf "" > path
		} else if ($0 ~ /^```text output[ \t]*$/) {
			n++; kind = "out"; path = sprintf("%s/%03d.out", dir, n); printf "" > path
		}
		next
	}
	inblock && kind != "" { print > path }
' "$top_srcdir/docs/tutorial.md" || tap_bail "cannot read docs/tutorial.md"

n_files=$(ls "$steps" | grep -c '\.file$')
n_runs=$(ls "$steps" | grep -c '\.run$')
n_outs=$(ls "$steps" | grep -c '\.out$')
ok "$([ "$n_files" -ge 4 ] && [ "$n_runs" -ge 4 ] && [ "$n_outs" -ge 2 ]; echo $?)" \
	"the tutorial has marked blocks ($n_files files, $n_runs commands, $n_outs outputs)"

# What a newcomer needs before step 1: a git checkout has no configure yet,
# and a fresh install under /usr/local is found only after ldconfig (or
# with an rpath, or LD_LIBRARY_PATH, as this test does).
check "the install line starts with ./autogen.sh" \
	grep -q '^\./autogen\.sh && \./configure && make && sudo make install' "$top_srcdir/docs/tutorial.md"
for word in ldconfig rpath LD_LIBRARY_PATH 'cannot open shared object file'; do
	check "the tutorial mentions $word" grep -q "$word" "$top_srcdir/docs/tutorial.md"
done

check "make install into DESTDIR" ${MAKE:-make} -C "$top_builddir" install DESTDIR="$dest"
prefix=$(sed -n 's/^prefix=//p' "$top_builddir/runtime/busrpc.pc")
libdir=$(PKG_CONFIG_PATH= pkg-config --variable=libdir "$top_builddir/runtime/busrpc.pc")
PATH=$dest$prefix/bin:$PATH
PKG_CONFIG_PATH=$dest$libdir/pkgconfig
PKG_CONFIG_SYSROOT_DIR=$dest
LD_LIBRARY_PATH=$dest$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export PATH PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR LD_LIBRARY_PATH
unset DBUS_SESSION_BUS_ADDRESS
is "$(command -v busrpc-idlc)" "$dest$prefix/bin/busrpc-idlc" "busrpc-idlc comes from the installation"
is "$(command -v busrpc-bus)" "$dest$prefix/bin/busrpc-bus" "busrpc-bus comes from the installation"

last_out=
for f in $(ls "$steps" | sort); do
	step=$steps/$f
	case $f in
	*.name) ;;
	*.file)
		name=$(cat "${step%.file}.name")
		cp "$step" "$work/$name"
		ok $? "save $name"
		;;
	*.run)
		desc=$(head -n 1 "$step")
		last_out=$tmp/${f%.run}.got
		(cd "$work" && timeout 120 sh -e "$step") >"$last_out" 2>"$tmp/stderr"
		st=$?
		ok $st "run: $desc"
		case $desc in cc\ *)
			is "$(cat "$tmp/stderr")" "" "the tutorial's code compiles without a warning"
		esac
		if [ $st -ne 0 ]; then
			sed 's/^/#   out: /' "$last_out"
			sed 's/^/#   err: /' "$tmp/stderr"
		fi
		;;
	*.out)
		if [ -z "$last_out" ]; then
			ok 1 "an output block follows a command block ($f)"
		else
			is "$(cat "$last_out")" "$(cat "$step")" "output as shown in the tutorial ($f)"
		fi
		last_out=
		;;
	esac
done

# Nothing the tutorial started may outlive it: no process still runs in its directory.
left=
for p in /proc/[0-9]*; do
	[ "$(readlink "$p/cwd" 2>/dev/null)" = "$work" ] && left="$left ${p#/proc/}"
done
is "$left" "" "no process of the tutorial left running"
tap_done
