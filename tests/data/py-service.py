# A D-Bus service written with python3-dbus, for tests/test-python.c:
# busrpc's calling side against another D-Bus implementation.
import sys

import dbus
import dbus.mainloop.glib
import dbus.service
from gi.repository import GLib

IFACE = "org.busrpc.Py"
PROPS = {"Version": dbus.UInt32(3), "Name": dbus.String("py")}


class Service(dbus.service.Object):
    @dbus.service.method(IFACE, in_signature="sxaiv", out_signature="sxaiv")
    def Echo(self, s, x, ai, v):
        return (s, x, ai, v)

    @dbus.service.method(IFACE, in_signature="a{sv}", out_signature="a{sv}")
    def EchoDict(self, d):
        return d

    @dbus.service.method(IFACE, in_signature="", out_signature="")
    def Fail(self):
        raise dbus.DBusException("custom failure", name="org.busrpc.Py.Error.Custom")

    @dbus.service.method(IFACE, in_signature="", out_signature="")
    def Fire(self):
        self.Changed("fired", 7)

    @dbus.service.signal(IFACE, signature="su")
    def Changed(self, s, u):
        pass

    @dbus.service.method(dbus.PROPERTIES_IFACE, in_signature="ss", out_signature="v")
    def Get(self, iface, name):
        return PROPS[name]

    @dbus.service.method(dbus.PROPERTIES_IFACE, in_signature="s", out_signature="a{sv}")
    def GetAll(self, iface):
        return PROPS


def main():
    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    bus = dbus.bus.BusConnection(sys.argv[1])
    name = dbus.service.BusName("org.busrpc.Py", bus)
    svc = Service(bus, "/org/busrpc/Py")
    print("ready", flush=True)
    GLib.MainLoop().run()
    del name, svc


main()
