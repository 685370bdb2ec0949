#!/usr/bin/python3
"""service.py: org.busrpc.Interop written with python-dbus, not busrpc (H9).

It implements the rules of interop.idl exactly as service.c does, so the
generated busrpc client (client.c) can check a service busrpc did not write.
Served on a bus (dbus.bus.BusConnection, name org.busrpc.Interop) and on a
peer socket (dbus.server.Server), at /org/busrpc/Interop and
/org/busrpc/Interop/Child on each; each transport has its own state.

Usage: service.py --bus ADDRESS --peer unix:path=PATH --ready FILE [--name NAME]
FILE gets the peer address once everything is ready. SIGTERM stops it.
"""
import argparse
import errno
import fcntl
import os
import signal
import sys

import dbus
import dbus.bus
import dbus.mainloop.glib
import dbus.server
import dbus.service
from gi.repository import GLib

IFACE = "org.busrpc.Interop"
NAME = "org.busrpc.Interop"
PATH = "/org/busrpc/Interop"
CHILD = "/org/busrpc/Interop/Child"
PROPS = "org.freedesktop.DBus.Properties"
SEALS = fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW


class Refused(dbus.exceptions.DBusException):
    _dbus_error_name = IFACE + ".Error.Refused"


def dbus_error(name, message):
    return dbus.exceptions.DBusException(message, name=name)


def wrap(v, bits, signed):
    v &= (1 << bits) - 1
    if signed and v >= 1 << (bits - 1):
        v -= 1 << bits
    return v


def value_sig(o):
    """The D-Bus signature of a value received from python-dbus."""
    for cls, sig in ((dbus.Boolean, "b"), (dbus.Byte, "y"), (dbus.Int16, "n"), (dbus.UInt16, "q"),
                     (dbus.Int32, "i"), (dbus.UInt32, "u"), (dbus.Int64, "x"), (dbus.UInt64, "t"),
                     (dbus.Double, "d"), (dbus.ObjectPath, "o"), (dbus.Signature, "g"),
                     (dbus.String, "s"), (dbus.types.UnixFd, "h"), (dbus.ByteArray, "ay")):
        if isinstance(o, cls):
            return sig
    if isinstance(o, dbus.Dictionary):
        return "a{" + o.signature + "}"
    if isinstance(o, dbus.Array):
        return "a" + o.signature
    if isinstance(o, dbus.Struct):
        return "(" + "".join("v" if e.variant_level else value_sig(e) for e in o) + ")"
    raise ValueError("no signature for %r" % (o,))


def variant_sig(v):
    """The signature inside a variant argument (variant_level 1 = one variant)."""
    return "v" if v.variant_level > 1 else value_sig(v)


def read_fd(fd):
    try:
        data = os.pread(fd, 4096, 0)
    except OSError as e:
        if e.errno != errno.ESPIPE:
            raise
        data = b""
    while len(data) < 4096:
        chunk = os.read(fd, 4096 - len(data))
        if not chunk:
            break
        data += chunk
    return data


def sealed_memfd(data):
    fd = os.memfd_create("interop-py", os.MFD_ALLOW_SEALING | os.MFD_CLOEXEC)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    fcntl.fcntl(fd, fcntl.F_ADD_SEALS, SEALS | fcntl.F_SEAL_SEAL)
    return fd


class State:
    """The properties of one object path on one transport."""

    def __init__(self):
        self.level = 7
        self.shade = 1
        self.tags = ["one", "two"]
        self.objects = []  # one Interop per connection, for PropertiesChanged

    def get(self, name):
        if name == "Name":
            return dbus.String("interop")
        if name == "Level":
            return dbus.Int32(self.level)
        if name == "Shade":
            return dbus.Int32(self.shade)
        if name == "Tags":
            return dbus.Array(self.tags, signature="s")
        raise dbus_error("org.freedesktop.DBus.Error.UnknownProperty", "Unknown property '%s'" % name)


class Interop(dbus.service.Object):
    def __init__(self, conn, path, state):
        super().__init__(conn, path)
        self.state = state
        state.objects.append(self)

    @dbus.service.method(IFACE, in_signature="bynqiuxtdsog", out_signature="bynqiuxtdsog")
    def Basics(self, b, y, n, q, i, u, x, t, d, s, o, g):
        return (not b, wrap(y + 1, 8, False), wrap(n - 1, 16, True), wrap(q + 1, 16, False),
                wrap(i * 2, 32, True), wrap(u + 1, 32, False), wrap(x - 1, 64, True),
                wrap(t + 1, 64, False), d * 2, s + "!", ("" if o == "/" else o) + "/child", g + "i")

    @dbus.service.method(IFACE, in_signature="aiasayadab", out_signature="aiasayadab")
    def Arrays(self, ints, strs, bys, dbls, bools):
        return (list(reversed(ints)), list(reversed(strs)), list(reversed(bys)),
                list(reversed(dbls)), list(reversed(bools)))

    @dbus.service.method(IFACE, in_signature="a{si}a{us}", out_signature="a{is}xas")
    def Maps(self, counts, byid):
        inverted = {v: k for k, v in counts.items()}
        names = ["%s=%d" % (byid[k], k) for k in sorted(byid)]
        return inverted, sum(counts.values()), names

    @dbus.service.method(IFACE, in_signature="(is)(sua(is)a{sv})", out_signature="(is)(sua(is)a{sv})")
    def Structs(self, pair, r):
        name, rid, pairs, extra = r
        out_extra = dbus.Dictionary({k: v for k, v in extra.items() if k != "seen"}, signature="sv")
        out_extra["seen"] = dbus.Boolean(True, variant_level=1)
        return ((wrap(pair[0] + 1, 32, True), pair[1] + "!"),
                (name, wrap(rid + 1, 32, False), list(reversed(pairs)), out_extra))

    @dbus.service.method(IFACE, in_signature="a{sai}aa(is)", out_signature="a{si}aa(is)u")
    def Nested(self, groups, grid):
        sums = {k: wrap(sum(v), 32, True) for k, v in groups.items()}
        return sums, list(reversed(grid)), sum(len(row) for row in grid)

    @dbus.service.method(IFACE, in_signature="iu", out_signature="iu")
    def Enums(self, c, perm):
        return {0: 1, 1: 5}.get(int(c), 0), perm ^ 7

    @dbus.service.method(IFACE, in_signature="v", out_signature="gv")
    def Variant(self, v):
        return variant_sig(v), v

    @dbus.service.method(IFACE, in_signature="s", out_signature="v")
    def MakeVariant(self, kind):
        made = {
            "int": lambda: dbus.Int32(42),
            "string": lambda: dbus.String("hello"),
            "strings": lambda: dbus.Array(["a", "b"], signature="s"),
            "dict": lambda: dbus.Dictionary({"k": dbus.UInt32(1, variant_level=1)}, signature="sv"),
            "struct": lambda: dbus.Struct((dbus.Int32(7), dbus.String("seven"))),
            "variant": lambda: dbus.Int32(1, variant_level=2),
        }.get(str(kind))
        if made is None:
            raise Refused("unknown kind: %s" % kind)
        return made()

    @dbus.service.method(IFACE, in_signature="h", out_signature="sh")
    def Fd(self, f):
        fd = f.take()
        try:
            data = read_fd(fd)
        finally:
            os.close(fd)
        r, w = os.pipe()
        os.write(w, b"busrpc:" + data)
        os.close(w)
        back = dbus.types.UnixFd(r)
        os.close(r)
        return data.decode("utf-8"), back

    @dbus.service.method(IFACE, in_signature="h", out_signature="tuh")
    def Blob(self, data):
        fd = data.take()
        try:
            if fcntl.fcntl(fd, fcntl.F_GET_SEALS) & SEALS != SEALS:
                raise dbus_error("org.freedesktop.DBus.Error.InvalidArgs", "shm argument is not sealed")
            size = os.fstat(fd).st_size
            blob = os.pread(fd, size, 0)
        finally:
            os.close(fd)
        mfd = sealed_memfd(blob + blob)
        doubled = dbus.types.UnixFd(mfd)
        os.close(mfd)
        return size, sum(blob) & 0xFFFFFFFF, doubled

    @dbus.service.method(IFACE, in_signature="su", out_signature="u")
    def Fire(self, text, times):
        if times > 1000:
            raise Refused("too many: %d" % times)
        for seq in range(1, times + 1):
            self.Event(text, seq)
        return times

    @dbus.service.method(IFACE, in_signature="i", out_signature="i")
    def Check(self, value):
        if value < 0:
            raise Refused("negative: %d" % value)
        return value

    @dbus.service.signal(IFACE, signature="su")
    def Event(self, text, seq):
        pass

    # ---- org.freedesktop.DBus.Properties, by hand (python-dbus has none) ----

    def _check_iface(self, iface):
        if iface not in (IFACE, ""):
            raise dbus_error("org.freedesktop.DBus.Error.UnknownInterface", "Unknown interface '%s'" % iface)

    @dbus.service.method(PROPS, in_signature="ss", out_signature="v")
    def Get(self, iface, name):
        self._check_iface(iface)
        return self.state.get(name)

    @dbus.service.method(PROPS, in_signature="s", out_signature="a{sv}")
    def GetAll(self, iface):
        self._check_iface(iface)
        return dbus.Dictionary({n: self.state.get(n) for n in ("Name", "Level", "Shade", "Tags")},
                               signature="sv")

    @dbus.service.method(PROPS, in_signature="ssv", out_signature="")
    def Set(self, iface, name, value):
        self._check_iface(iface)
        st = self.state
        st.get(name)  # UnknownProperty
        if name == "Name":
            raise dbus_error("org.freedesktop.DBus.Error.PropertyReadOnly", "Property 'Name' is read-only")
        want = {"Level": "i", "Shade": "i", "Tags": "as"}[name]
        if variant_sig(value) != want:
            raise dbus_error("org.freedesktop.DBus.Error.InvalidArgs",
                             "Invalid value for property '%s': expected '%s'" % (name, want))
        if name == "Level":
            st.level = int(value)
        elif name == "Shade":
            if int(value) not in (0, 1, 5):
                raise dbus_error("org.freedesktop.DBus.Error.InvalidArgs", "Invalid Color %d" % value)
            st.shade = int(value)
        else:
            st.tags = [str(s) for s in value]
        for obj in list(st.objects):
            if name == "Tags":
                obj.PropertiesChanged(IFACE, dbus.Dictionary({}, signature="sv"), ["Tags"])
            else:
                obj.PropertiesChanged(IFACE, dbus.Dictionary({name: st.get(name)}, signature="sv"), [])

    @dbus.service.signal(PROPS, signature="sa{sv}as")
    def PropertiesChanged(self, iface, changed, invalidated):
        pass


class PeerServer(dbus.server.Server):
    """Serves both objects to every peer that connects."""

    def setup(self, states):
        self.states = states
        self.objects = {}

    def connection_added(self, conn):
        objs = [Interop(conn, PATH, self.states[0]), Interop(conn, CHILD, self.states[1])]
        self.objects[id(conn)] = objs
        super().connection_added(conn)

    def connection_removed(self, conn):
        for obj in self.objects.pop(id(conn), []):
            obj.state.objects.remove(obj)
        super().connection_removed(conn)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bus", required=True)
    ap.add_argument("--peer", required=True)
    ap.add_argument("--ready", required=True)
    ap.add_argument("--name", default=NAME)
    args = ap.parse_args()
    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    loop = GLib.MainLoop()

    bus = dbus.bus.BusConnection(args.bus)
    bus_states = [State(), State()]
    Interop(bus, PATH, bus_states[0])
    Interop(bus, CHILD, bus_states[1])
    name = dbus.service.BusName(args.name, bus=bus, do_not_queue=True)

    if args.peer.startswith("unix:path="):
        os.makedirs(os.path.dirname(args.peer[len("unix:path="):].split(",")[0]), mode=0o700, exist_ok=True)
    server = PeerServer(args.peer)
    server.setup([State(), State()])

    with open(args.ready + ".tmp", "w") as f:
        f.write(server.address + "\n")
    os.rename(args.ready + ".tmp", args.ready)

    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, loop.quit)
    loop.run()
    server.disconnect()
    del name
    bus.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
