#!/usr/bin/python3
"""mkseeds.py: write the seed messages of the runtime fuzzers.

Usage: fuzz/mkseeds.py SEEDDIR REGRESSDIR
Writes well-formed marshalled D-Bus messages (GLib's marshaller, so the
seeds do not come from the code under test) to SEEDDIR: a call of every
method of fuzz/fuzz.idl, Introspect, Properties Get/Set/GetAll of every
property, the bus-driver calls, Peer, signals and replies, some big-endian.
Each method call is also written in the short form of fuzz/fuzz-msg.h
(short-*). REGRESSDIR gets the hand-made hostile inputs that issue 9 asks
to keep.
The files are committed; run this again only to change them.
"""
import os
import struct
import sys

from gi.repository import Gio, GLib

IFACE = "org.busrpc.fuzz.Every"
PROPS = "org.freedesktop.DBus.Properties"
V = GLib.Variant

serial = [0]


def call(path, iface, member, body=None, dest=None, noreply=False, big=False):
    m = Gio.DBusMessage.new_method_call(dest, path, iface, member)
    if body is not None:
        m.set_body(body)
    if noreply:
        m.set_flags(Gio.DBusMessageFlags.NO_REPLY_EXPECTED)
    return finish(m, big)


def finish(m, big=False):
    serial[0] += 1
    m.set_serial(serial[0])
    if big:
        m.set_byte_order(Gio.DBusMessageByteOrder.BIG_ENDIAN)
    return m.to_blob(Gio.DBusCapabilityFlags.UNIX_FD_PASSING)


def basics(s="str", v=None):
    return (True, 7, -2, 3, -40000, 40000, -(1 << 40), 1 << 50, 2.5, s, "/a/b", "a{sv}",
            v if v is not None else V("i", 42))


BASICS = "(bynqiuxtdsogv)"
NEST = "(aa{si}aa" + BASICS + "a{ua{sv}}aya{yq}abah)"
DEEP = V("a{sv}", {"n": V("v", V("as", ["x", "y"])), "m": V("a{sv}", {"k": V("(ii)", (1, 2))})})


def seeds():
    out = {}
    out["basic"] = call("/fz", IFACE, "Basic", V("(bynqiuxtdsogv)", basics(v=DEEP)))
    out["basic-be"] = call("/fz", IFACE, "Basic", V("(bynqiuxtdsogv)", basics()), big=True)
    out["basic-noiface"] = call("/fz/child", None, "Basic", V("(bynqiuxtdsogv)", basics(s="")))
    out["arrays"] = call("/fz", IFACE, "Arrays", V(
        "(abayanaqaiauaxatadasaoagavah)",
        ([True, False], b"bytes", [-1, 2], [3], [1, 2, 3], [4], [-5], [6], [0.5, -1e300], ["a", "b"],
         ["/x", "/y/z"], ["i", "a(ii)"], [V("s", "v"), DEEP], [])))
    out["enums"] = call("/fz", IFACE, "Enums", V("(yntqu)", (2, -3, 1, 3, 0x80000001)))
    out["enums-bad"] = call("/fz", IFACE, "Enums", V("(yntqu)", (9, 5, 7, 0x10, 2)))
    out["structs"] = call("/fz", IFACE, "Structs", V(
        "(" + BASICS + NEST + ")",
        (basics(), ([{"a": 1}], [[basics()], []], {7: {"k": V("t", 5)}}, b"\x00\x01", {1: 3}, [True], []))))
    out["handles"] = call("/fz", IFACE, "Handles", V("((hh(hs)))", ((0, 0, (0, "label")),)))
    out["maps"] = call("/fz", IFACE, "Maps", V(
        "(a{sv}a{xas}a{oa{sv}}a{yd})",
        ({"a": V("i", 1), "b": DEEP}, {-1: ["x"], 5: []}, {"/o": {"p": V("b", True)}}, {1: 1.5})))
    out["typedefs"] = call("/fz", IFACE, "Typedefs", V("(sa{sa" + BASICS + "})", ("n", {"k": [basics()]})))
    out["blob"] = call("/fz", IFACE, "Blob", V("(h)", (0,)))
    out["files"] = call("/fz", IFACE, "Files", V("(hah)", (0, [0, 1])))
    out["nested"] = call("/fz", IFACE, "Nested", V("(aavaaai)", ([[V("y", 1)], []], [[[1, 2], []], []])))
    out["fire"] = call("/fz", IFACE, "Fire", V("(sai)", ("what", [1, 2, 3])), noreply=True)
    out["fire-reply"] = call("/fz", IFACE, "Fire", V("(sai)", ("what", [])))
    out["nothing"] = call("/fz", IFACE, "Nothing")
    out["fail"] = call("/fz", IFACE, "Fail", V("(i)", (3,)))
    out["fail-errno"] = call("/fz", IFACE, "Fail", V("(i)", (-22,)))
    out["unknown-method"] = call("/fz", IFACE, "Nope")
    out["unknown-object"] = call("/nope", IFACE, "Nothing")
    out["unknown-iface"] = call("/fz", "org.nope", "Nothing")
    out["wrong-sig"] = call("/fz", IFACE, "Basic", V("(s)", ("x",)))
    for p in ("/", "/fz", "/fz/child", "/nope"):
        out["introspect" + p.replace("/", "-")] = call(p, "org.freedesktop.DBus.Introspectable", "Introspect")
    out["managed"] = call("/", "org.freedesktop.DBus.ObjectManager", "GetManagedObjects")
    values = {
        "Tree": V("a{sa" + BASICS + "}", {"k": [basics()]}),
        "Tags": V("as", ["a", "b"]),
        "Limit": V("t", 1),
        "Secret": V("i", 5),
        "Any": V("v", DEEP),
        "Snapshot": V(BASICS, basics()),
        "Settings": V("a{sv}", {"x": V("d", 1.0)}),
    }
    for name, value in values.items():
        out["get-" + name] = call("/fz", PROPS, "Get", V("(ss)", (IFACE, name)))
        out["set-" + name] = call("/fz", PROPS, "Set", V("(ssv)", (IFACE, name, value)))
    out["set-Secret-negative"] = call("/fz", PROPS, "Set", V("(ssv)", (IFACE, "Secret", V("i", -1))))
    out["set-Tags-wrong"] = call("/fz", PROPS, "Set", V("(ssv)", (IFACE, "Tags", V("ai", [1]))))
    out["getall"] = call("/fz", PROPS, "GetAll", V("(s)", (IFACE,)))
    out["getall-empty"] = call("/fz", PROPS, "GetAll", V("(s)", ("",)))
    out["get-noiface"] = call("/fz", None, "Get", V("(ss)", (IFACE, "Tags")))
    drv = ("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus")
    for member, body in (("Hello", None), ("AddMatch", V("(s)", ("type='signal',interface='a.b',arg0='x'",))),
                         ("AddMatch-changed", V("(s)", ("type='signal',interface='org.busrpc.fuzz.Every',"
                                                        "member='Changed',path='/fz',arg0='what'",))),
                         ("AddMatch-props", V("(s)", ("type='signal',sender='org.freedesktop.DBus',"
                                                      "interface='org.freedesktop.DBus.Properties',"
                                                      "path_namespace='/fz',destination=':1.1'",))),
                         ("RemoveMatch", V("(s)", ("type='signal',interface='a.b',arg0='x'",))),
                         ("RequestName", V("(su)", ("org.busrpc.Fz", 4))), ("ReleaseName", V("(s)", ("org.busrpc.Fz",))),
                         ("GetNameOwner", V("(s)", ("org.freedesktop.DBus",))), ("ListNames", None),
                         ("NameHasOwner", V("(s)", (":1.0",))), ("GetId", None),
                         ("GetConnectionUnixUser", V("(s)", (":1.1",))),
                         ("GetConnectionCredentials", V("(s)", (":1.1",))),
                         ("StartServiceByName", V("(su)", ("x.y", 0))), ("ListActivatableNames", None)):
        out["driver-" + member] = call(drv[1], drv[2], member.split("-")[0], body, dest=drv[0])
    out["peer-ping"] = call("/", "org.freedesktop.DBus.Peer", "Ping")
    out["peer-machine-id"] = call("/", "org.freedesktop.DBus.Peer", "GetMachineId")
    sig = Gio.DBusMessage.new_signal("/fz", IFACE, "Changed")
    sig.set_body(V("(sv)", ("x", DEEP)))
    out["signal"] = finish(sig)
    ret = Gio.DBusMessage.new_method_call(None, "/", "a.b", "C")
    ret.set_serial(99)
    reply = ret.new_method_reply()
    reply.set_body(V("(v)", (DEEP,)))
    out["reply"] = finish(reply)
    err = ret.new_method_error_literal("org.x.Error", "message")
    out["error"] = finish(err)
    return out


# fuzz/fuzz-msg.h's fuzz_calls[], in its order: (destination, path, interface, member).
DRIVER = ("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus")
CALLS = [(None, None, IFACE, m) for m in ("Basic", "Arrays", "Enums", "Structs", "Handles", "Maps", "Typedefs", "Blob",
                                         "Files", "Nested", "Fire", "Nothing", "Fail")] + [
    (None, None, PROPS, "Get"), (None, None, PROPS, "Set"), (None, None, PROPS, "GetAll"),
    (None, None, "org.freedesktop.DBus.Introspectable", "Introspect"),
    (None, "/", "org.freedesktop.DBus.ObjectManager", "GetManagedObjects"),
    (None, None, None, "Get"), (None, None, None, "Set")] + [
    DRIVER + (m,) for m in ("Hello", "AddMatch", "RemoveMatch", "RequestName", "ReleaseName", "GetNameOwner",
                            "NameHasOwner", "GetConnectionUnixUser", "GetConnectionCredentials")]


def short_form(blob):
    """The second input form of fuzz-msg.h (selector, signature, NUL, body)
    for a little-endian method call @blob, or None when no call matches."""
    m = Gio.DBusMessage.new_from_blob(blob, Gio.DBusCapabilityFlags.UNIX_FD_PASSING)
    if blob[0:1] != b"l" or m.get_message_type() != Gio.DBusMessageType.METHOD_CALL:
        return None
    body_len = struct.unpack_from("<I", blob, 4)[0]
    for i, (dest, path, iface, member) in enumerate(CALLS):
        if (dest, iface, member) != (m.get_destination(), m.get_interface(), m.get_member()):
            continue
        if path is not None and m.get_path() != path:
            continue
        if path is None and m.get_path() not in ("/fz", "/fz/child"):
            continue
        sel = i | (0x80 if path is None and m.get_path() == "/fz/child" else 0)
        sig = (m.get_signature() or "").encode()
        return bytes([sel]) + sig + b"\0" + blob[len(blob) - body_len:]
    return None


def raw_body(blob, body, sig):
    """@blob with its body replaced by the raw bytes @body (little-endian
    messages only; the signature header field must already be @sig)."""
    assert blob[0:1] == b"l"
    old_len = struct.unpack_from("<I", blob, 4)[0]
    head = blob[:len(blob) - old_len]
    return head[:4] + struct.pack("<I", len(body)) + head[8:] + body


def pad(b, n):
    return b + b"\0" * (-len(b) % n)


def s(x):
    x = x.encode()
    return struct.pack("<I", len(x)) + x + b"\0"


def g(x):
    x = x.encode()
    return bytes([len(x)]) + x + b"\0"


def regress():
    out = {}
    # An 'ah' where an 'ai' is expected: at top level (the signature check
    # refuses it), and inside variants that the Properties handler and the
    # skeletons take (the 'h' indexes no fd: the message carries none).
    out["ah-for-ai-fire"] = call("/fz", IFACE, "Fire", V("(sah)", ("x", [0, 1, 2])))
    out["ah-for-ai-set-tags"] = call("/fz", PROPS, "Set", V("(ssv)", (IFACE, "Tags", V("ah", [0]))))
    out["ah-in-set-any"] = call("/fz", PROPS, "Set", V("(ssv)", (IFACE, "Any", V("ah", [0, 0]))))
    out["ah-in-basic-variant"] = call("/fz", IFACE, "Basic", V("(bynqiuxtdsogv)", basics(v=V("ah", [3]))))
    out["ah-in-maps"] = call("/fz", IFACE, "Maps", V(
        "(a{sv}a{xas}a{oa{sv}}a{yd})", ({"a": V("ah", [0]), "b": V("ai", [0])}, {}, {}, {})))
    # Arrays whose byte length is not a multiple of the element size.
    base = call("/fz", IFACE, "Fire", V("(sai)", ("x", [1, 2])))
    out["ai-len-6"] = raw_body(base, pad(s("x"), 4) + struct.pack("<I", 6) + b"\1\0\0\0\2\0", "sai")
    out["ai-len-3"] = raw_body(base, pad(s("x"), 4) + struct.pack("<I", 3) + b"\1\0\0", "sai")
    base = call("/fz", PROPS, "Set", V("(ssv)", (IFACE, "Any", V("ax", [1]))))
    body = pad(pad(s(IFACE), 4) + s("Any"), 1) + g("ax")
    body = pad(body, 4) + struct.pack("<I", 12)
    body = pad(body, 8) + b"\1" * 12
    out["ax-len-12-in-variant"] = raw_body(base, body, "ssv")
    base = call("/fz", IFACE, "Arrays", V(
        "(abayanaqaiauaxatadasaoagavah)", ([], b"", [], [], [], [], [], [], [], [], [], [], [], [])))
    # ab of 5 bytes, then the other 13 arrays empty.
    body = struct.pack("<I", 5) + b"\1\0\0\0\1"
    for t in "ynqiuxtdsogvh":
        body = pad(body, 4) + struct.pack("<I", 0)
        if t in "xtd":
            body = pad(body, 8)
    out["ab-len-5"] = raw_body(base, body, "abayanaqaiauaxatadasaoagavah")
    return out


def main():
    seeddir, regdir = sys.argv[1], sys.argv[2]
    os.makedirs(seeddir, exist_ok=True)
    os.makedirs(regdir, exist_ok=True)
    for name, blob in seeds().items():
        with open(os.path.join(seeddir, name), "wb") as f:
            f.write(blob)
        short = short_form(blob)
        if short is not None:
            with open(os.path.join(seeddir, "short-" + name), "wb") as f:
                f.write(short)
    for name, blob in regress().items():
        with open(os.path.join(regdir, name), "wb") as f:
            f.write(blob)


if __name__ == "__main__":
    main()
