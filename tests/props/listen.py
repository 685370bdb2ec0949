# listen.py ADDRESS: subscribe (Hello + AddMatch, as any bus client does)
# to PropertiesChanged below /org/busrpc/Props and to Marker, and print
# each signal in props-client's format (tests/props/client.c):
#   PC <path> <iface> <name>=<value>... | <invalidated>...
#   Marker <s>
# Prints LISTENING once the match rules are in place; exits after
# Marker "end" (or after 60 s, so a lost marker cannot hang the test).
import sys
import dbus
import dbus.bus
import dbus.mainloop.glib
from gi.repository import GLib

dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
bus = dbus.bus.BusConnection(sys.argv[1])
loop = GLib.MainLoop()


def fmt(v):
    if isinstance(v, dbus.Array):
        return "[" + ",".join(str(s) for s in v) + "]"
    if isinstance(v, dbus.String):
        return '"%s"' % v
    return str(int(v))


def changed(iface, props, invalidated, path=None):
    # python-dbus keeps the a{sv} order of the message
    items = "".join(" %s=%s" % (k, fmt(v)) for k, v in props.items())
    print("PC %s %s%s |%s" % (path, iface, items, "".join(" " + s for s in invalidated)), flush=True)


def marker(s):
    print("Marker", s, flush=True)
    if s == "end":
        loop.quit()


bus.add_signal_receiver(changed, "PropertiesChanged", "org.freedesktop.DBus.Properties", None, None,
                        path_keyword="path")
bus.add_signal_receiver(marker, "Marker", "org.busrpc.Props", None, "/org/busrpc/Props")
bus.call_blocking("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetId", "", [])
print("LISTENING", flush=True)
GLib.timeout_add(60000, loop.quit)
loop.run()
