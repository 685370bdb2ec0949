#!/bin/sh
# Hostile peers against a busrpc peer server (tests/hostile/hostile.py):
# slowloris (1,000 silent connections, another uid, out of fds), a peer
# that never reads its replies, shutdown with 40 stuck peers, an fd sent
# with BEGIN. Raw sockets through tests/hostile/wire.py.
. "$top_srcdir/tests/tap.sh"
need /usr/bin/python3 setpriv "${BUSCTL:-busctl}"
exec /usr/bin/python3 "$top_srcdir/tests/hostile/hostile.py"
