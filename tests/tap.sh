# tap.sh: TAP helpers for the shell tests. Source it; call tap_done at the end.
# A test that needs something missing calls tap_bail, which fails the test.
tap_n=0
tap_failed=0
ok() {  # ok STATUS DESCRIPTION
	tap_n=$((tap_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $tap_n - $2"
	else
		echo "not ok $tap_n - $2"
		tap_failed=$((tap_failed + 1))
	fi
}
check() {  # check DESCRIPTION CMD...: ok when CMD succeeds
	desc=$1; shift
	if out=$("$@" 2>&1); then ok 0 "$desc"; else ok 1 "$desc"; printf '%s\n' "$out" | sed 's/^/#   /'; fi
}
is() {  # is GOT WANT DESCRIPTION
	if [ "$1" = "$2" ]; then ok 0 "$3"; else
		ok 1 "$3"
		printf '#   got:  %s\n#   want: %s\n' "$1" "$2"
	fi
}
diag() { printf '# %s\n' "$*"; }
tap_bail() { echo "Bail out! $*"; exit 1; }
need() {  # need PROGRAM...: bail out (fail) when one is missing
	for p in "$@"; do
		command -v "$p" >/dev/null 2>&1 || tap_bail "required program '$p' not found"
	done
}
tap_done() { echo "1..$tap_n"; [ "$tap_failed" -eq 0 ]; }
: "${top_srcdir:?run me through make check}" "${top_builddir:?run me through make check}"
