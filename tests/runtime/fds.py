# fds.py ADDRESS N: a plain peer (no Hello) calls Echo with N unix fds after
# one round trip; prints "reply …" or "error NAME MESSAGE".
import sys
import dbus
import dbus.connection
n = int(sys.argv[2])
c = dbus.connection.Connection(sys.argv[1])
c.call_blocking(None, "/", "org.freedesktop.DBus.Peer", "Ping", "", [], timeout=5)
fds = [dbus.types.UnixFd(0) for _ in range(n)]
try:
    r = c.call_blocking(None, "/org/busrpc/Test", "org.busrpc.Test", "Echo", "s" + "h" * n, ["x"] + fds, timeout=5)
    print("reply", r)
except dbus.exceptions.DBusException as e:
    print("error", e.get_dbus_name(), e.get_dbus_message())
