#!/usr/bin/python3
"""client.py: python-dbus checking the busrpc service, value by value (H9).

Every type category of interop.idl (basic types, arrays, maps, structs,
nested containers, enums, flags, variants, fd, shm as a sealed memfd), the
signal Event, PropertiesChanged, properties (Get/Set/GetAll, readonly), the
declared error, the introspection XML, and wrong-signature calls.

Usage: client.py --bus ADDRESS [--dest NAME] | --peer ADDRESS
On a bus: dbus.bus.BusConnection(ADDRESS); on a peer socket:
dbus.connection.Connection(ADDRESS). Prints TAP; exit 0 when all passed.
"""
import argparse
import fcntl
import os
import sys
import xml.etree.ElementTree as ET

import dbus
import dbus.bus
import dbus.connection
import dbus.mainloop.glib
from gi.repository import GLib

IFACE = "org.busrpc.Interop"
PATH = "/org/busrpc/Interop"
PROPS = "org.freedesktop.DBus.Properties"
UTF8 = "h\u00e9llo \u2713 \U0001F600"

n_tests = 0
n_failed = 0


def ok(cond, desc, detail=None):
    global n_tests, n_failed
    n_tests += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n_tests, desc))
    if not cond:
        n_failed += 1
        if detail is not None:
            for line in str(detail).splitlines():
                print("#   " + line)
    sys.stdout.flush()
    return cond


def is_(got, want, desc):
    return ok(got == want, desc, "got:  %r\nwant: %r" % (got, want))


class Client:
    def __init__(self, conn, dest):
        self.conn = conn
        self.dest = dest
        self.loop = GLib.MainLoop()

    def call(self, method, sig, *args, iface=IFACE, path=PATH):
        return self.conn.call_blocking(self.dest, path, iface, method, sig, args, timeout=10)

    def error_of(self, method, sig, *args, iface=IFACE, path=PATH):
        """Call, expecting an error: returns (name, message), or (None, reply)."""
        try:
            reply = self.call(method, sig, *args, iface=iface, path=path)
        except dbus.exceptions.DBusException as e:
            return e.get_dbus_name(), e.get_dbus_message()
        return None, reply

    def run_until(self, cond, ms=5000):
        """Run the GLib loop until cond() or ms pass."""
        if cond():
            return True
        ctx = self.loop.get_context()
        deadline = GLib.get_monotonic_time() + ms * 1000
        while not cond() and GLib.get_monotonic_time() < deadline:
            ctx.iteration(False) or GLib.usleep(10000)
        return cond()


def test_introspect(c):
    xml = c.call("Introspect", "", iface="org.freedesktop.DBus.Introspectable")
    root = ET.fromstring(str(xml))
    ifaces = {i.get("name"): i for i in root.findall("interface")}
    ok(IFACE in ifaces, "Introspect: the interface is listed")
    for std in ("org.freedesktop.DBus.Introspectable", PROPS, "org.freedesktop.DBus.Peer"):
        ok(std in ifaces, "Introspect: %s is listed" % std)
    it = ifaces.get(IFACE)
    if it is None:
        return
    sigs = {}
    for m in it.findall("method"):
        ins = "".join(a.get("type") for a in m.findall("arg") if a.get("direction", "in") == "in")
        outs = "".join(a.get("type") for a in m.findall("arg") if a.get("direction") == "out")
        sigs[m.get("name")] = (ins, outs)
    is_(sigs.get("Basics"), ("bynqiuxtdsog", "bynqiuxtdsog"), "Introspect: Basics")
    is_(sigs.get("Structs"), ("(is)(sua(is)a{sv})", "(is)(sua(is)a{sv})"), "Introspect: Structs")
    is_(sigs.get("Blob"), ("h", "tuh"), "Introspect: Blob (shm is h on the wire)")
    is_(len(sigs), 12, "Introspect: 12 methods")
    ev = [s for s in it.findall("signal") if s.get("name") == "Event"]
    ok(ev and "".join(a.get("type") for a in ev[0].findall("arg")) == "su", "Introspect: signal Event(su)")
    props = {p.get("name"): (p.get("type"), p.get("access")) for p in it.findall("property")}
    is_(props, {"Name": ("s", "read"), "Level": ("i", "readwrite"), "Shade": ("i", "readwrite"),
                "Tags": ("as", "readwrite")}, "Introspect: the four properties, types and access")
    tags = [p for p in it.findall("property") if p.get("name") == "Tags"]
    ann = {a.get("name"): a.get("value") for a in tags[0].findall("annotation")} if tags else {}
    is_(ann.get("org.freedesktop.DBus.Property.EmitsChangedSignal"), "invalidates",
        "Introspect: Tags is annotated EmitsChangedSignal=invalidates")
    errs = [e for e in it.iter() if "Refused" in (e.get("name") or "") + (e.get("value") or "")]
    del errs  # errors have no standard XML form; nothing to require
    nodes = [n.get("name") for n in root.findall("node")]
    is_(nodes, ["Child"], "Introspect: the child node")
    # A proxy object built from that introspection calls with the right types.
    proxy = c.conn.get_object(c.dest, PATH, introspect=True)
    r = proxy.Enums(0, 1, dbus_interface=IFACE)
    is_((int(r[0]), int(r[1])), (1, 6), "proxy object (introspected): Enums")


def test_basics(c):
    r = c.call("Basics", "bynqiuxtdsog", True, 255, -32768, 65535, 0x40000001, 0xFFFFFFFF,
               -2**63, 2**64 - 1, 1.25, UTF8, dbus.ObjectPath("/a/b"), dbus.Signature("a{sv}"))
    is_(list(r), [False, 0, 32767, 0, -2147483646, 0, 2**63 - 1, 0, 2.5, UTF8 + "!", "/a/b/child", "a{sv}i"],
        "Basics: every basic type, with wrapping")
    types = [type(v).__name__ for v in r]
    is_(types, ["Boolean", "Byte", "Int16", "UInt16", "Int32", "UInt32", "Int64", "UInt64", "Double",
                "String", "ObjectPath", "Signature"], "Basics: the reply's D-Bus types")
    r = c.call("Basics", "bynqiuxtdsog", False, 0, 0, 0, -3, 0, 0, 0, -0.5, "", "/", "")
    is_(list(r), [True, 1, -1, 1, -6, 1, -1, 1, -1.0, "!", "/child", "i"], "Basics: zeros and the root path")


def test_arrays(c):
    r = c.call("Arrays", "aiasayadab", [1, -2, 3, 2**31 - 1], ["x", "yy", UTF8], [0, 1, 255], [0.5, -1.5],
               [True, False, False])
    is_([list(r[0]), list(r[1]), [int(b) for b in r[2]], list(r[3]), list(r[4])],
        [[2**31 - 1, 3, -2, 1], [UTF8, "yy", "x"], [255, 1, 0], [-1.5, 0.5], [False, False, True]],
        "Arrays: all reversed")
    r = c.call("Arrays", "aiasayadab", [], [], [], [], [])
    is_([len(x) for x in r], [0, 0, 0, 0, 0], "Arrays: empty arrays")
    big = list(range(-5000, 5000))
    r = c.call("Arrays", "aiasayadab", big, [], bytes(range(256)) * 40, [], [])
    ok(list(r[0]) == big[::-1] and bytes(r[2]) == (bytes(range(256)) * 40)[::-1],
       "Arrays: 10000 ints and 10240 bytes reversed")


def test_maps(c):
    r = c.call("Maps", "a{si}a{us}", {"a": 1, "b": -5, UTF8: 100}, {3: "three", 1: "one", 2: "two"})
    is_(dict(r[0]), {1: "a", -5: "b", 100: UTF8}, "Maps: inverted")
    is_(int(r[1]), 96, "Maps: total")
    is_(list(r[2]), ["one=1", "two=2", "three=3"], "Maps: names sorted by id")
    r = c.call("Maps", "a{si}a{us}", {}, {})
    is_((len(r[0]), int(r[1]), len(r[2])), (0, 0, 0), "Maps: empty maps")


def test_structs(c):
    extra = {"n": dbus.Int32(5), "s": "str", "l": dbus.Array([1, 2], signature="x")}
    r = c.call("Structs", "(is)(sua(is)a{sv})", (41, "x"), ("rec", 9, [(1, "p"), (2, UTF8)], extra))
    is_(tuple(r[0]), (42, "x!"), "Structs: pair")
    rec = r[1]
    is_((rec[0], int(rec[1])), ("rec", 10), "Structs: record name and id + 1")
    is_([tuple(p) for p in rec[2]], [(2, UTF8), (1, "p")], "Structs: pairs reversed")
    ex = rec[3]
    is_(sorted(ex.keys()), ["l", "n", "s", "seen"], "Structs: extra keys")
    ok(isinstance(ex.get("n"), dbus.Int32) and ex["n"] == 5, "Structs: extra n is <int32 5>")
    ok(isinstance(ex.get("s"), dbus.String) and ex["s"] == "str", "Structs: extra s is <'str'>")
    ok(isinstance(ex.get("l"), dbus.Array) and ex["l"].signature == "x" and list(ex["l"]) == [1, 2],
       "Structs: extra l is <[int64 1, 2]>")
    ok(isinstance(ex.get("seen"), dbus.Boolean) and ex["seen"], "Structs: extra seen is <true>")


def test_nested(c):
    r = c.call("Nested", "a{sai}aa(is)", {"odd": [1, 3, 5], "none": [], "neg": [-1, -2]},
               [[(1, "a")], [(2, "b"), (3, "c")], []])
    is_(dict(r[0]), {"odd": 9, "none": 0, "neg": -3}, "Nested: sums")
    is_([[tuple(p) for p in row] for row in r[1]], [[], [(2, "b"), (3, "c")], [(1, "a")]],
        "Nested: grid rows reversed")
    is_(int(r[2]), 3, "Nested: cells")


def test_enums(c):
    for (col, perm), want in (((0, 1), (1, 6)), ((1, 7), (5, 0)), ((5, 0), (0, 7))):
        r = c.call("Enums", "iu", col, perm)
        is_((int(r[0]), int(r[1])), want, "Enums: (%d, %d)" % (col, perm))
    name, msg = c.error_of("Enums", "iu", 3, 1)
    ok(name is not None, "Enums: 3 is not a Color: an error reply (%s)" % name)
    name, msg = c.error_of("Enums", "iu", 0, 8)
    ok(name is not None, "Enums: 8 is not a Perm flag: an error reply (%s)" % name)
    is_(int(c.call("Check", "i", 2)), 2, "Enums: the next call works")


def test_variants(c):
    cases = [
        ("i", dbus.Int32(-7)),
        ("s", dbus.String(UTF8)),
        ("as", dbus.Array(["a", "b"], signature="s")),
        ("a{sv}", dbus.Dictionary({"k": dbus.UInt32(1)}, signature="sv")),
        ("(is)", dbus.Struct((dbus.Int32(7), "seven"))),
        ("v", dbus.Int16(-4, variant_level=2)),  # <<int16 -4>>
        ("ay", dbus.ByteArray(b"\x00\x01\xff")),
        ("a(is)", dbus.Array([(1, "x")], signature="(is)")),
    ]
    for sig, value in cases:
        r = c.call("Variant", "v", value)
        is_(str(r[0]), sig, "Variant: the service saw signature %s" % sig)
        if sig == "v":
            ok(isinstance(r[1], dbus.Int16) and r[1] == -4 and r[1].variant_level == 2,
               "Variant: <<int16 -4>> comes back (variant_level %d)" % r[1].variant_level)
        elif sig == "ay":
            is_(bytes(bytearray(int(b) for b in r[1])), b"\x00\x01\xff", "Variant: <ay> comes back")
        else:
            is_(r[1], value, "Variant: <%s> comes back equal" % sig)
    kinds = {
        "int": lambda v: isinstance(v, dbus.Int32) and v == 42,
        "string": lambda v: isinstance(v, dbus.String) and v == "hello",
        "strings": lambda v: isinstance(v, dbus.Array) and v.signature == "s" and list(v) == ["a", "b"],
        "dict": lambda v: isinstance(v, dbus.Dictionary) and v.signature == "sv" and
        isinstance(v.get("k"), dbus.UInt32) and v["k"] == 1,
        "struct": lambda v: isinstance(v, dbus.Struct) and tuple(v) == (7, "seven") and
        isinstance(v[0], dbus.Int32),
        "variant": lambda v: isinstance(v, dbus.Int32) and v == 1 and v.variant_level == 2,
    }
    for kind, check in kinds.items():
        v = c.call("MakeVariant", "s", kind)
        ok(check(v), "MakeVariant(%s): the expected value" % kind, "got %r" % (v,))
    name, msg = c.error_of("MakeVariant", "s", "bogus")
    is_(name, IFACE + ".Error.Refused", "MakeVariant(bogus): the declared error")


def test_fd(c):
    fd = os.memfd_create("py-fd", os.MFD_CLOEXEC)
    os.write(fd, b"python file\n")
    r = c.call("Fd", "h", dbus.types.UnixFd(fd))
    os.close(fd)
    is_(str(r[0]), "python file\n", "Fd: the service read the file")
    back = r[1].take()
    is_(os.read(back, 100), b"busrpc:python file\n", "Fd: the returned fd's content")
    os.close(back)
    rd, wr = os.pipe()
    os.write(wr, b"through a pipe")
    os.close(wr)
    r = c.call("Fd", "h", dbus.types.UnixFd(rd))
    os.close(rd)
    is_(str(r[0]), "through a pipe", "Fd: the service read the pipe")
    back = r[1].take()
    is_(os.read(back, 100), b"busrpc:through a pipe", "Fd: the returned pipe's content")
    os.close(back)


def sealed_memfd(data, seal=True):
    fd = os.memfd_create("py-shm", os.MFD_ALLOW_SEALING | os.MFD_CLOEXEC)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    if seal:
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS,
                    fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL)
    return fd


def test_shm(c):
    blob = bytes(i % 251 for i in range(200000))
    fd = sealed_memfd(blob)
    r = c.call("Blob", "h", dbus.types.UnixFd(fd))
    os.close(fd)
    is_(int(r[0]), len(blob), "Blob: the service saw the size")
    is_(int(r[1]), sum(blob) & 0xFFFFFFFF, "Blob: the service summed the bytes")
    d = r[2].take()
    seals = fcntl.fcntl(d, fcntl.F_GET_SEALS)
    need = fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW
    ok(seals & need == need, "Blob: the returned memfd is sealed (seals 0x%x)" % seals)
    is_(os.fstat(d).st_size, 2 * len(blob), "Blob: the returned memfd has twice the size")
    ok(os.pread(d, 2 * len(blob), 0) == blob + blob, "Blob: it holds the blob twice")
    os.close(d)
    fd = sealed_memfd(b"unsealed", seal=False)
    name, msg = c.error_of("Blob", "h", dbus.types.UnixFd(fd))
    os.close(fd)
    ok(name is not None, "Blob: an unsealed memfd is refused (%s: %s)" % (name, msg))
    is_(int(c.call("Check", "i", 3)), 3, "Blob: the next call works")


def test_signals(c):
    got = []
    tag = "py-%d" % os.getpid()  # other clients' signals may arrive too: keep ours

    def on_event(text, seq):
        if str(text) == tag:
            got.append((str(text), int(seq)))
    match = c.conn.add_signal_receiver(on_event, signal_name="Event", dbus_interface=IFACE, path=PATH)
    is_(int(c.call("Fire", "su", tag, 3)), 3, "Fire: 3 sent")
    c.run_until(lambda: len(got) >= 3)
    is_(got, [(tag, 1), (tag, 2), (tag, 3)], "Event: 3 signals with their values, in order")
    match.remove()


def test_properties(c):
    G = lambda name: c.call("Get", "ss", IFACE, name, iface=PROPS)  # noqa: E731
    S = lambda name, v: c.call("Set", "ssv", IFACE, name, v, iface=PROPS)  # noqa: E731
    v = G("Name")
    ok(isinstance(v, dbus.String) and v == "interop", "Get Name: 'interop'")
    v = G("Level")
    ok(isinstance(v, dbus.Int32) and v == 7, "Get Level: int32 7")
    is_(int(G("Shade")), 1, "Get Shade: GREEN")
    is_(list(G("Tags")), ["one", "two"], "Get Tags")
    all_ = c.call("GetAll", "s", IFACE, iface=PROPS)
    is_({k: (list(v) if isinstance(v, dbus.Array) else v) for k, v in all_.items()},
        {"Name": "interop", "Level": 7, "Shade": 1, "Tags": ["one", "two"]}, "GetAll: the four values")

    changes = []
    match = c.conn.add_signal_receiver(
        lambda iface, changed, inval: changes.append((str(iface), dict(changed), [str(s) for s in inval])),
        signal_name="PropertiesChanged", dbus_interface=PROPS, path=PATH)
    S("Level", dbus.Int32(-40))
    c.run_until(lambda: len(changes) >= 1)
    is_(changes[:1], [(IFACE, {"Level": -40}, [])], "PropertiesChanged: Level = -40, with the value")
    is_(int(G("Level")), -40, "Get Level after Set: -40")
    S("Tags", dbus.Array(["p", "q", "r"], signature="s"))
    c.run_until(lambda: len(changes) >= 2)
    is_(changes[1:2], [(IFACE, {}, ["Tags"])], "PropertiesChanged: Tags invalidated")
    is_(list(G("Tags")), ["p", "q", "r"], "Get Tags after Set")
    S("Shade", dbus.Int32(5))
    is_(int(G("Shade")), 5, "Get Shade after Set: BLUE")
    match.remove()

    name, _ = c.error_of("Set", "ssv", IFACE, "Name", "x", iface=PROPS)
    is_(name, "org.freedesktop.DBus.Error.PropertyReadOnly", "Set Name (readonly): PropertyReadOnly")
    name, _ = c.error_of("Set", "ssv", IFACE, "Level", "x", iface=PROPS)
    is_(name, "org.freedesktop.DBus.Error.InvalidArgs", "Set Level to a string: InvalidArgs")
    name, _ = c.error_of("Set", "ssv", IFACE, "Shade", dbus.Int32(3), iface=PROPS)
    ok(name is not None, "Set Shade to 3 (not a Color): an error (%s)" % name)
    name, _ = c.error_of("Get", "ss", IFACE, "Nope", iface=PROPS)
    is_(name, "org.freedesktop.DBus.Error.UnknownProperty", "Get Nope: UnknownProperty")
    name, _ = c.error_of("Get", "ss", "org.nope", "Level", iface=PROPS)
    is_(name, "org.freedesktop.DBus.Error.UnknownInterface", "Get of an unknown interface: UnknownInterface")
    # Back to the initial values.
    S("Level", dbus.Int32(7))
    S("Tags", dbus.Array(["one", "two"], signature="s"))
    S("Shade", dbus.Int32(1))
    is_(int(G("Level")), 7, "Level back to 7")


def test_errors(c):
    is_(int(c.call("Check", "i", 5)), 5, "Check(5): 5")
    name, msg = c.error_of("Check", "i", -3)
    is_((name, msg), (IFACE + ".Error.Refused", "negative: -3"), "Check(-3): the declared error, name and message")
    is_(int(c.call("Check", "i", 6)), 6, "Check: the next call works")
    name, msg = c.error_of("Nope", "")
    is_(name, "org.freedesktop.DBus.Error.UnknownMethod", "an unknown method: UnknownMethod")
    name, msg = c.error_of("Check", "i", 1, path="/nowhere")
    ok(name in ("org.freedesktop.DBus.Error.UnknownObject", "org.freedesktop.DBus.Error.UnknownMethod"),
       "an unknown object: UnknownObject (%s)" % name)
    name, msg = c.error_of("Ping", "", iface="org.freedesktop.DBus.Peer")
    is_(name, None, "Peer.Ping answers")


def test_bad_args(c):
    for method, sig, args in (("Basics", "s", ("x",)), ("Check", "s", ("5",)), ("Check", "", ()),
                              ("Check", "ii", (1, 2)), ("Arrays", "ai", ([1],)),
                              ("Structs", "(si)(sua(is)a{sv})", (("x", 1), ("r", 1, [], {}))),
                              ("Blob", "s", ("not an fd",))):
        name, msg = c.error_of(method, sig, *args)
        is_(name, "org.freedesktop.DBus.Error.InvalidArgs", "%s with signature '%s': InvalidArgs" % (method, sig))
        is_(int(c.call("Check", "i", 9)), 9, "%s: the next good call works" % method)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bus")
    ap.add_argument("--peer")
    ap.add_argument("--dest", default="org.busrpc.Interop")
    ap.add_argument("--only", help="run only this test function")
    args = ap.parse_args()
    if bool(args.bus) == bool(args.peer):
        ap.error("give --bus or --peer")
    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    if args.bus:
        conn = dbus.bus.BusConnection(args.bus)
        c = Client(conn, args.dest)
    else:
        conn = dbus.connection.Connection(args.peer)
        c = Client(conn, None)
    tests = [test_introspect, test_basics, test_arrays, test_maps, test_structs, test_nested, test_enums,
             test_variants, test_fd, test_shm, test_signals, test_properties, test_errors, test_bad_args]
    for t in tests:
        if args.only and t.__name__ != args.only:
            continue
        print("# " + t.__name__)
        try:
            t(c)
        except Exception as e:  # a crash in one case fails it, the others still run
            ok(False, "%s raised %s: %s" % (t.__name__, type(e).__name__, e))
    conn.close()
    print("1..%d" % n_tests)
    return 1 if n_failed else 0


if __name__ == "__main__":
    sys.exit(main())
