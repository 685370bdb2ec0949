#!/bin/sh
# Hostile peers against a busrpc peer server (tests/hostile/hostile.py):
# slowloris (1,000 silent connections, another uid, out of fds), a peer
# that never reads its replies, shutdown with 40 stuck peers, an fd sent
# with BEGIN, a fully pipelined client, 16/17 fds per message, a monitor.
# Raw sockets through tests/hostile/wire.py. Every case runs against the
# server on libdbus and on the fast path (BUSRPC_FAST_PATH=0, then 1).
. "$top_srcdir/tests/tap.sh"
need /usr/bin/python3 setpriv "${BUSCTL:-busctl}"
exec /usr/bin/python3 "$top_srcdir/tests/hostile/hostile.py"
