#!/bin/sh
# Runs the libFuzzer target fuzz/fuzz-idl (built by tests/xml.mk with clang
# and ASan + UBSan) for 20 seconds over a corpus seeded with the good IDL
# files and the XML samples. Any crash, leak, sanitizer report or broken
# IDL -> XML -> IDL round trip fails the test; the input that caused it is
# printed (hex) so it can be kept under tests/xml/crashers/.
# Then the runtime's targets (fuzz/local.mk): fuzz-dispatch, fuzz-variant,
# fuzz-message and fuzz-wire (busrpc's wire codec against libdbus's
# verdict and values) each run every input kept under fuzz/regress/ once
# (no fuzzing; each must run clean), then fuzz for 20 seconds from the seed
# messages fuzz/msgs/. A crash found there is kept under fuzz/regress/<target>/.
# fuzz-transport (the transport's framing over a socketpair) reads its own
# record format: it runs only fuzz/regress/transport/ and fuzzes from there.
# fuzz-fastcall holds the fast path's answers to the libdbus path's (two
# servers of one object, the same messages to both).
. "$top_srcdir/tests/tap.sh"
fuzzer=$top_builddir/fuzz/fuzz-idl
[ -n "${CLANG:-}" ] || tap_bail "clang not found by configure: the fuzzer cannot be built"
[ -x "$fuzzer" ] || tap_bail "$fuzzer not built (make fuzz/fuzz-idl)"
need od
tmp=$(mktemp -d) || tap_bail "mktemp failed"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/corpus" "$tmp/seeds" "$tmp/art"
n=0
for f in "$top_srcdir"/tests/idl/good/*.idl "$top_srcdir"/tests/idl/good/*/*.idl \
         "$top_srcdir"/tests/xml/*.idl "$top_srcdir"/tests/xml/*.xml \
         "$top_srcdir"/tests/xml/golden/* "$top_srcdir"/tests/xml/bad/*.xml \
         "$top_srcdir"/tests/xml/warn/*.xml "$top_srcdir"/tests/xml/crashers/*; do
	[ -f "$f" ] || continue
	n=$((n + 1))
	cp "$f" "$tmp/seeds/$n-${f##*/}"
done
[ "$n" -gt 5 ] || tap_bail "too few seed files ($n)"
diag "$n seed files"

# Known crashers first: each must now run clean.
for f in "$top_srcdir"/tests/xml/crashers/*; do
	[ -f "$f" ] || continue
	ASAN_OPTIONS=detect_leaks=1 "$fuzzer" "$f" >"$tmp/log" 2>&1
	ok $? "crasher ${f##*/} runs clean"
done

ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	"$fuzzer" -max_total_time=20 -detect_leaks=1 -rss_limit_mb=2048 -timeout=10 \
	-dict="$top_srcdir/fuzz/idl.dict" -artifact_prefix="$tmp/art/" \
	"$tmp/corpus" "$tmp/seeds" >"$tmp/log" 2>&1
rc=$?
runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$tmp/log")
if [ $rc -eq 0 ] && ! grep -q -e 'ERROR: ' -e 'runtime error:' "$tmp/log" && [ -n "$runs" ]; then
	ok 0 "20 s of fuzzing: $runs runs, no crash, leak or sanitizer report"
else
	ok 1 "20 s of fuzzing (exit $rc)"
	grep -e 'ERROR' -e 'runtime error' -e 'round trip' -e '#[0-9]* 0x' "$tmp/log" | head -40 | sed 's/^/#   /'
	for a in "$tmp"/art/*; do
		[ -f "$a" ] || continue
		diag "input ${a##*/} (hex):"
		od -An -tx1 "$a" | head -20 | sed 's/^/#  /'
	done
fi

# The runtime's targets: kept inputs, then 20 s of fuzzing each.
regress=$(ls "$top_srcdir"/fuzz/regress/*/* 2>/dev/null | grep -v "/regress/transport/")
regress_transport=$(ls "$top_srcdir"/fuzz/regress/transport/* 2>/dev/null)
[ -n "$regress_transport" ] || tap_bail "no kept inputs under $top_srcdir/fuzz/regress/transport"
[ -n "$regress" ] || tap_bail "no regression inputs under $top_srcdir/fuzz/regress"
[ -d "$top_srcdir/fuzz/msgs" ] || tap_bail "no seed messages in $top_srcdir/fuzz/msgs"
for t in dispatch variant message wire marshal transport fastcall; do
	kept=$regress seeds=$top_srcdir/fuzz/msgs
	if [ $t = transport ]; then kept=$regress_transport seeds=$top_srcdir/fuzz/regress/transport; fi
	fz=$top_builddir/fuzz/fuzz-$t
	[ -x "$fz" ] || tap_bail "$fz not built (make fuzz/fuzz-$t)"
	# shellcheck disable=SC2086 # one argument per file
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 "$fz" $kept >"$tmp/log" 2>&1
	rc=$?
	n=$(grep -c '^Running: ' "$tmp/log")
	if [ $rc -eq 0 ] && [ "$n" -eq "$(echo "$kept" | wc -l)" ] && ! grep -q "runtime error:" "$tmp/log"; then
		ok 0 "fuzz-$t runs the $n kept inputs clean"
	else
		ok 1 "fuzz-$t runs the kept inputs clean (exit $rc, $n run)"
		grep -e 'ERROR' -e 'runtime error' -e '^fuzz-' -e 'Running: ' -e '#[0-9]* 0x' "$tmp/log" | tail -40 | sed 's/^/#   /'
	fi
	rm -rf "$tmp/corpus-$t" "$tmp/art" && mkdir -p "$tmp/corpus-$t" "$tmp/art"
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		"$fz" -max_total_time=20 -detect_leaks=1 -rss_limit_mb=2048 -timeout=10 \
		-dict="$top_srcdir/fuzz/dbus.dict" -artifact_prefix="$tmp/art/" \
		"$tmp/corpus-$t" "$seeds" >"$tmp/log" 2>&1
	rc=$?
	runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$tmp/log")
	cov=$(sed -n 's/^#[0-9]*[[:space:]]*DONE *\(cov: [0-9]* ft: [0-9]*\).*/\1/p' "$tmp/log")
	if [ $rc -eq 0 ] && ! grep -q -e 'ERROR: ' -e 'runtime error:' "$tmp/log" && [ -n "$runs" ]; then
		ok 0 "fuzz-$t: 20 s, $runs runs, $cov, no crash, leak or sanitizer report"
	else
		ok 1 "fuzz-$t: 20 s of fuzzing (exit $rc)"
		grep -e 'ERROR' -e 'runtime error' -e '^fuzz-' -e '#[0-9]* 0x' "$tmp/log" | head -40 | sed 's/^/#   /'
		for a in "$tmp"/art/*; do
			[ -f "$a" ] || continue
			diag "input ${a##*/} (hex; keep it under fuzz/regress/$t/):"
			od -An -tx1 "$a" | head -20 | sed 's/^/#  /'
		done
	fi
done
tap_done
