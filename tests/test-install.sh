#!/bin/sh
# make install into a scratch DESTDIR; pkg-config finds the library there, a
# program builds against it and runs, and the tools and man pages are in place.
. "$top_srcdir/tests/tap.sh"
need pkg-config man "${CC%% *}"
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

flags=$(PKG_CONFIG_SYSROOT_DIR=$dest PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs busrpc)
ok $? "pkg-config --cflags --libs busrpc"
diag "flags: $flags"
check "a program builds against the installed library" \
	$CC -o "$tmp/probe" "$top_srcdir/tests/install-probe.c" $flags
v=$(LD_LIBRARY_PATH=$dest$libdir "$tmp/probe")
is "$v" "$(sed -n 's/^Version: //p' "$top_builddir/runtime/busrpc.pc")" "it runs and reports the package version"
v=$("$dest$prefix/bin/busrpc-idlc" --version)
is "$v" "busrpc-idlc $(sed -n 's/^Version: //p' "$top_builddir/runtime/busrpc.pc")" "installed busrpc-idlc --version"
nm -D --defined-only "$dest$libdir/libbusrpc.so" | awk '$2 ~ /[TDBR]/ {print $3}' | grep -v '^busrpc_' > "$tmp/extra"
is "$(cat "$tmp/extra")" "" "libbusrpc exports only busrpc_* symbols"
tap_done
