# listen.py ADDRESS COUNT: subscribe (Hello + AddMatch, as any bus client
# does) to Tick and PropertiesChanged of /org/busrpc/Test, print each signal,
# exit after COUNT signals or 5 s. Prints LISTENING once the match rules are
# in place.
import sys
import dbus
import dbus.bus
import dbus.mainloop.glib
from gi.repository import GLib

dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
address, want = sys.argv[1], int(sys.argv[2])
bus = dbus.bus.BusConnection(address)
loop = GLib.MainLoop()
got = [0]


def done():
    got[0] += 1
    if got[0] >= want:
        loop.quit()


def tick(s):
    print("Tick", s, flush=True)
    done()


def changed(iface, props, invalidated):
    items = " ".join("%s=%s" % (k, int(v)) for k, v in sorted(props.items()))
    print("PropertiesChanged", iface, items, "invalidated=" + ",".join(invalidated), flush=True)
    done()


bus.add_signal_receiver(tick, "Tick", "org.busrpc.Test", None, "/org/busrpc/Test")
bus.add_signal_receiver(changed, "PropertiesChanged", "org.freedesktop.DBus.Properties", None, "/org/busrpc/Test")
bus.call_blocking("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetId", "", [])
print("LISTENING", flush=True)
GLib.timeout_add(5000, loop.quit)
loop.run()
