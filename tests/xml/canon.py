#!/usr/bin/python3
"""canon.py FILE.xml: print D-Bus introspection XML in a canonical form.

Two files print the same text when they describe the same interfaces:
every interface (of every node, the first of each name), member, arg
name, signature, direction, property access and annotation. What may
legitimately differ is left out: layout, comments, the order of
annotations, the interleaving of in and out args, extension elements
(<doc:doc>), and the annotations busrpc-idlc adds for the structs it
generates (org.busrpc.Type, org.busrpc.Declaration). A nameless arg is
named arg<N> by its position, as busrpc-idlc names it.

With --count, print only "interfaces members args annotations" (so the
test can check that a file is not trivially empty).
"""
import sys
import xml.etree.ElementTree as ET

ADDED = ("org.busrpc.Type", "org.busrpc.Declaration")


def annots(el):
    out = []
    for a in el.findall("annotation"):
        name = a.get("name", "")
        if name in ADDED:
            continue
        out.append("@%s=%r" % (name, a.get("value", "")))
    return sorted(out)


def main():
    args = sys.argv[1:]
    count = "--count" in args
    args = [a for a in args if a != "--count"]
    root = ET.parse(args[0]).getroot()
    if root.tag != "node":
        sys.exit("canon.py: root element is <%s>" % root.tag)
    seen = set()
    lines = []
    n = [0, 0, 0, 0]
    for iface in root.iter("interface"):
        name = iface.get("name")
        if name in seen:
            continue
        seen.add(name)
        n[0] += 1
        lines.append("interface %s" % name)
        for a in annots(iface):
            n[3] += 1
            lines.append("  " + a)
        for kind in ("method", "signal", "property"):
            for m in iface.findall(kind):
                n[1] += 1
                head = "  %s %s" % (kind, m.get("name"))
                if kind == "property":
                    head += " type=%s access=%s" % (m.get("type"), m.get("access"))
                lines.append(head)
                for a in annots(m):
                    n[3] += 1
                    lines.append("    " + a)
                byd = {"in": [], "out": []}
                for i, arg in enumerate(m.findall("arg")):
                    n[2] += 1
                    d = arg.get("direction")
                    if kind == "signal":
                        d = "out"  # signal args: none or "out", both mean out
                    elif d is None:
                        d = "in"
                    aname = arg.get("name") or "arg%d" % i
                    byd.setdefault(d, []).append(
                        "    %s arg %s type=%s" % (d, aname, arg.get("type")))
                    for a in annots(arg):
                        n[3] += 1
                        byd[d].append("      " + a)
                for d in sorted(byd):
                    lines.extend(byd[d])
    if count:
        print(" ".join(str(x) for x in n))
    else:
        print("\n".join(lines))


if __name__ == "__main__":
    main()
