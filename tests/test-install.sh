#!/bin/sh
# make install into a scratch DESTDIR; pkg-config finds the library there, a
# program builds against it and runs, and the tools and man pages are in place.
. "$top_srcdir/tests/tap.sh"
need pkg-config man ldd "${CC%% *}"
tmp=$(mktemp -d) || tap_bail "mktemp failed"
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/root

check "make install into DESTDIR" ${MAKE:-make} -C "$top_builddir" install DESTDIR="$dest"
prefix=$(sed -n 's/^prefix=//p' "$top_builddir/runtime/busrpc.pc")
libdir=$(PKG_CONFIG_PATH= pkg-config --variable=libdir "$top_builddir/runtime/busrpc.pc")
pcdir=$dest$libdir/pkgconfig
check "busrpc.pc installed" test -f "$pcdir/busrpc.pc"
check "busrpc.h installed" test -f "$dest$prefix/include/busrpc/busrpc.h"
check "busrpc-idlc installed" test -x "$dest$prefix/bin/busrpc-idlc"
check "busrpc-bus installed" test -x "$dest$prefix/bin/busrpc-bus"
check "busrpc installed" test -x "$dest$prefix/bin/busrpc"
# bash-completion loads completions/NAME on demand: the script busrpc prints.
comp=$dest$prefix/share/bash-completion/completions/busrpc
check "the bash completion of busrpc installed" test -f "$comp"
check "... and it is what 'busrpc completion bash' prints" \
	sh -c '"$1" completion bash | cmp -s - "$2"' sh "$top_builddir/busrpc" "$comp"
check "... and bash reads it and defines _busrpc" bash -c '. "$1" && declare -F _busrpc' bash "$comp"
mandir=$dest$prefix/share/man
for page in busrpc-idlc.1 busrpc-bus.1 busrpc.7; do
	sect=${page##*.}
	name=${page%.*}
	found=$(MANPATH=$mandir man -w "$sect" "$name" 2>/dev/null)
	is "$found" "$mandir/man$sect/$page" "man $sect $name finds the installed page"
	MANPATH=$mandir MANWIDTH=80 man "$sect" "$name" 2>/dev/null | grep -q "^NAME"
	ok $? "man $sect $name renders"
done
check "docs installed" test -f "$dest$prefix/share/doc/busrpc/tutorial.md"

# busrpc(7) names the documentation directory of this installation.
docdir=$(sed -n '/^\.SH FILES/,/^\.SH/s/^\.I \(\/.*\)\/$/\1/p' "$mandir/man7/busrpc.7" | head -n 1)
diag "busrpc(7) names $docdir"
check "the doc directory busrpc(7) names exists after install" test -f "$dest$docdir/tutorial.md"
check "and holds the examples it promises" test -f "$dest$docdir/examples/calc/calc.idl"
check "busrpc(7) documents ldconfig, rpath and LD_LIBRARY_PATH" \
	sh -c "grep -q ldconfig '$mandir/man7/busrpc.7' && grep -q rpath '$mandir/man7/busrpc.7' &&
		grep -q LD_LIBRARY_PATH '$mandir/man7/busrpc.7'"

# Installed docs stand on their own: no DESIGN.md (not shipped), no path
# into the source tree's tests/, and every relative link resolves.
: >"$tmp/refs"
for f in $(find "$dest$prefix/share/doc/busrpc" -name '*.md') "$mandir"/man*/busrpc*; do
	grep -Hn 'DESIGN\.md\|`tests/[A-Za-z]' "$f" >>"$tmp/refs"
done
is "$(sed "s|$dest||" "$tmp/refs")" "" "installed docs cite neither DESIGN.md nor files under tests/"
: >"$tmp/links"
for f in "$dest$docdir"/*.md; do
	for l in $(grep -o '](\([^)#:]*\)[)#]' "$f" | sed 's/^](//; s/[)#]$//'); do
		case $f in */README.md) continue ;; esac  # README.md links the source tree's docs/
		[ -e "$(dirname "$f")/$l" ] || echo "${f#"$dest"}: $l" >>"$tmp/links"
	done
done
is "$(cat "$tmp/links")" "" "relative links between installed docs resolve"

flags=$(PKG_CONFIG_SYSROOT_DIR=$dest PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs busrpc)
ok $? "pkg-config --cflags --libs busrpc"
diag "flags: $flags"
check "a program builds against the installed library" \
	$CC -o "$tmp/probe" "$top_srcdir/tests/install-probe.c" $flags
v=$(LD_LIBRARY_PATH=$dest$libdir "$tmp/probe")
is "$v" "$(sed -n 's/^Version: //p' "$top_builddir/runtime/busrpc.pc")" "it runs and reports the package version"
# What the docs say about a prefix the dynamic linker does not search:
# without LD_LIBRARY_PATH (or ldconfig) the library is not found there; an
# rpath to pkg-config's libdir finds it.
found=$(env -u LD_LIBRARY_PATH ldd "$tmp/probe" | sed -n 's/^[[:space:]]*libbusrpc\.so\.0 => \(.*\)$/\1/p')
ok "$(case $found in "$dest"*) echo 1 ;; *) echo 0 ;; esac)" \
	"without LD_LIBRARY_PATH the installed library is not found (${found:-not found})"
# (pkg-config puts the DESTDIR, its sysroot, before the paths it prints or not.)
rpath=$(PKG_CONFIG_SYSROOT_DIR=$dest PKG_CONFIG_PATH=$pcdir pkg-config --variable=libdir busrpc)
case $rpath in "$dest"/*) ;; *) rpath=$dest$rpath ;; esac
check "a program linked with -Wl,-rpath,\$(pkg-config --variable=libdir busrpc) builds" \
	$CC -o "$tmp/probe-rpath" "$top_srcdir/tests/install-probe.c" $flags -Wl,-rpath,"$rpath"
v=$(env -u LD_LIBRARY_PATH "$tmp/probe-rpath")
is "$v" "$(sed -n 's/^Version: //p' "$top_builddir/runtime/busrpc.pc")" "and runs without LD_LIBRARY_PATH"
idlc=$(PKG_CONFIG_SYSROOT_DIR=$dest PKG_CONFIG_PATH=$pcdir pkg-config --variable=idlc busrpc)
case $idlc in "$dest"/*) ;; *) idlc=$dest$idlc ;; esac
is "$("$idlc" --version 2>&1)" "busrpc-idlc $(sed -n 's/^Version: //p' "$top_builddir/runtime/busrpc.pc")" \
	"pkg-config --variable=idlc busrpc names the installed compiler"
v=$("$dest$prefix/bin/busrpc-idlc" --version)
is "$v" "busrpc-idlc $(sed -n 's/^Version: //p' "$top_builddir/runtime/busrpc.pc")" "installed busrpc-idlc --version"
nm -D --defined-only "$dest$libdir/libbusrpc.so" | awk '$2 ~ /[TDBR]/ {print $3}' | grep -v '^busrpc_' > "$tmp/extra"
is "$(cat "$tmp/extra")" "" "libbusrpc exports only busrpc_* symbols"
tap_done
