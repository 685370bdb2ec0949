#!/bin/sh
# What a received shm and a map may cost a service (tests/hostile/limits.py):
# sealed sparse memfds of 4 GiB and 1 TiB to examples/bulk, one byte over
# --max-shm, duplicate map keys to examples/calc; each on a private
# busrpc-bus and on the peer socket, through raw sockets (wire.py); the
# services on libdbus, then on the fast path (BUSRPC_FAST_PATH=0, 1).
. "$top_srcdir/tests/tap.sh"
need /usr/bin/python3
exec /usr/bin/python3 "$top_srcdir/tests/hostile/limits.py"
