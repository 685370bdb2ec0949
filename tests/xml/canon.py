#!/usr/bin/python3
"""canon.py FILE.xml: print D-Bus introspection XML in a canonical form.

Two files print the same text when they describe the same interfaces:
every interface (of every node, the first of each name), member, arg
name, signature, direction, property access and annotation. What may
legitimately differ is left out: layout, comments, the order of
annotations, the interleaving of in and out args, extension elements
and the annotations busrpc-idlc adds for the structs it generates
(org.busrpc.Type, org.busrpc.Declaration). A nameless arg is named arg<N>
by its position, as busrpc-idlc names it. A <doc:doc> element
(xmlns:doc="http://www.freedesktop.org/dbus/1.0/doc.dtd") counts as an
org.gtk.GDBus.DocString annotation holding its text, laid out as
docs/idl-xml.md says (paragraphs, `code`, "- term: definition" items),
since that is what busrpc-idlc turns it into.

With --count, print only "interfaces members args annotations" (so the
test can check that a file is not trivially empty).
"""
import sys
import xml.etree.ElementTree as ET

ADDED = ("org.busrpc.Type", "org.busrpc.Declaration")


DOC = "{http://www.freedesktop.org/dbus/1.0/doc.dtd}"


class DocText:
    """The text of a <doc:doc>, built from its start/text/end events."""

    def __init__(self):
        self.paras, self.para, self.space, self.in_item, self.url = [], "", False, 0, None

    def chars(self, s):
        for ch in s:
            if ch in " \t\n\r":
                self.space = self.para != ""
                continue
            if self.space:
                self.para += " "
            self.space = False
            self.para += ch

    def brk(self):
        if self.para:
            self.paras.append(self.para)
        self.para, self.space = "", False

    def start(self, el):
        l = el.tag[len(DOC):] if el.tag.startswith(DOC) else None
        if l is None:
            self.brk()
        elif l == "tt":
            self.chars("`")
        elif l == "ulink":
            self.url = el.get("url", self.url)
        elif l in ("ref", "term"):
            pass
        elif l == "definition" and self.in_item:
            self.space = False
            self.chars(":")
            self.space = True
        elif l == "item":
            self.brk()
            self.chars("-")
            self.space = True
            self.in_item += 1
        elif not self.in_item:
            self.brk()

    def end(self, el):
        l = el.tag[len(DOC):] if el.tag.startswith(DOC) else None
        if l == "tt":
            sp, self.space = self.space, False
            self.chars("`")
            self.space = sp
        elif l == "ulink":
            if self.url is not None:
                self.chars(" (%s)" % self.url)
                self.url = None
        elif l in ("ref", "term", "definition"):
            pass
        elif l == "item":
            self.in_item -= 1
            self.brk()
        elif not self.in_item:
            self.brk()

    def walk(self, el):
        self.start(el)
        self.chars(el.text or "")
        for ch in el:
            self.walk(ch)
            self.chars(ch.tail or "")
        self.end(el)


def doc_text(el):
    d = DocText()
    d.chars(el.text or "")
    for ch in el:
        d.walk(ch)
        d.chars(ch.tail or "")
    d.brk()
    return "\n\n".join(d.paras)


def annots(el):
    out = []
    for d in el.findall(DOC + "doc"):
        t = doc_text(d)
        if t:
            out.append("@org.gtk.GDBus.DocString=%r" % t)
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
