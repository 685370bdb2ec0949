"""wire.py: a small raw D-Bus client for tests, on nothing but the socket.

It speaks the protocol itself, so a test can do what a well-behaved
library never would: stay silent after connecting, stop reading, send an
fd in the same sendmsg() as BEGIN, forge a header.

    c = wire.Conn("unix:path=/run/x/sock")   # connect only, nothing sent
    c.auth()                                  # SASL EXTERNAL (+ fd negotiation)
    c.begin()                                 # BEGIN (optionally + bytes + fds)
    reply = c.call("/obj", "org.example.I", "Add", "ii", [2, 3])
    reply.body                                # [5]

Values: y n q i u x t h -> int (h is an index into the message's fds),
b -> bool, d -> float, s o g -> str, a -> list (a{..} -> list of
(key, value) pairs), (...) -> tuple, v -> (signature, value).

Message building and parsing are plain functions (message(), parse()) so
bytes can be written by hand; Conn only moves them. Little-endian only.
"""
import os
import select
import socket
import struct
import time

METHOD_CALL, METHOD_RETURN, ERROR, SIGNAL = 1, 2, 3, 4
NO_REPLY_EXPECTED = 0x1

# header field codes and their types
PATH, INTERFACE, MEMBER, ERROR_NAME, REPLY_SERIAL, DESTINATION, SENDER, SIGNATURE, UNIX_FDS = range(1, 10)
_FIELD_SIG = {PATH: "o", INTERFACE: "s", MEMBER: "s", ERROR_NAME: "s", REPLY_SERIAL: "u",
              DESTINATION: "s", SENDER: "s", SIGNATURE: "g", UNIX_FDS: "u"}

_FIXED = {"y": ("B", 1), "b": ("I", 4), "n": ("h", 2), "q": ("H", 2), "i": ("i", 4),
          "u": ("I", 4), "x": ("q", 8), "t": ("Q", 8), "d": ("d", 8), "h": ("I", 4)}


class WireError(Exception):
    pass


def _complete(sig, i):
    """End index of the single complete type starting at sig[i]."""
    c = sig[i]
    if c == "a":
        return _complete(sig, i + 1)
    if c in "({":
        close = ")" if c == "(" else "}"
        i += 1
        while sig[i] != close:
            i = _complete(sig, i)
        return i + 1
    return i + 1


def split_signature(sig):
    out, i = [], 0
    while i < len(sig):
        j = _complete(sig, i)
        out.append(sig[i:j])
        i = j
    return out


def _align(t):
    c = t[0]
    if c in "({":
        return 8
    if c == "a":
        return 4
    if c in "sog":
        return 4 if c != "g" else 1
    if c == "v":
        return 1
    return _FIXED[c][1]


class _Writer:
    def __init__(self):
        self.buf = bytearray()

    def pad(self, n):
        while len(self.buf) % n:
            self.buf.append(0)

    def write(self, t, v):
        c = t[0]
        if c in _FIXED:
            fmt, size = _FIXED[c]
            self.pad(size)
            self.buf += struct.pack("<" + fmt, int(v) if c != "d" else float(v))
        elif c in "so":
            b = v.encode()
            self.pad(4)
            self.buf += struct.pack("<I", len(b)) + b + b"\0"
        elif c == "g":
            b = v.encode()
            self.buf += struct.pack("<B", len(b)) + b + b"\0"
        elif c == "v":
            vsig, val = v
            self.write("g", vsig)
            self.write(vsig, val)
        elif c == "(":
            self.pad(8)
            for sub, x in zip(split_signature(t[1:-1]), v):
                self.write(sub, x)
        elif c == "a":
            elem = t[1:]
            self.pad(4)
            at = len(self.buf)
            self.buf += b"\0\0\0\0"
            self.pad(_align(elem))
            start = len(self.buf)
            if elem[0] == "{":
                k, val = split_signature(elem[1:-1])
                for key, x in v:
                    self.pad(8)
                    self.write(k, key)
                    self.write(val, x)
            elif elem == "y" and isinstance(v, (bytes, bytearray)):
                self.buf += v
            else:
                for x in v:
                    self.write(elem, x)
            struct.pack_into("<I", self.buf, at, len(self.buf) - start)
        else:
            raise WireError("cannot write type %r" % t)


class _Reader:
    def __init__(self, data, pos=0):
        self.data, self.pos = data, pos

    def pad(self, n):
        self.pos += (-self.pos) % n

    def read(self, t):
        c = t[0]
        if c in _FIXED:
            fmt, size = _FIXED[c]
            self.pad(size)
            (v,) = struct.unpack_from("<" + fmt, self.data, self.pos)
            self.pos += size
            return bool(v) if c == "b" else v
        if c in "so":
            self.pad(4)
            (n,) = struct.unpack_from("<I", self.data, self.pos)
            v = bytes(self.data[self.pos + 4:self.pos + 4 + n]).decode()
            self.pos += 4 + n + 1
            return v
        if c == "g":
            n = self.data[self.pos]
            v = bytes(self.data[self.pos + 1:self.pos + 1 + n]).decode()
            self.pos += 1 + n + 1
            return v
        if c == "v":
            vsig = self.read("g")
            return (vsig, self.read(vsig))
        if c == "(":
            self.pad(8)
            return tuple(self.read(sub) for sub in split_signature(t[1:-1]))
        if c == "a":
            elem = t[1:]
            self.pad(4)
            (n,) = struct.unpack_from("<I", self.data, self.pos)
            self.pos += 4
            self.pad(_align(elem))
            end = self.pos + n
            if elem == "y":
                v = bytes(self.data[self.pos:end])
                self.pos = end
                return v
            out = []
            while self.pos < end:
                if elem[0] == "{":
                    self.pad(8)
                    k, val = split_signature(elem[1:-1])
                    out.append((self.read(k), self.read(val)))
                else:
                    out.append(self.read(elem))
            return out
        raise WireError("cannot read type %r" % t)


def message(mtype, serial, path=None, interface=None, member=None, signature="", body=(),
            destination=None, reply_serial=None, error_name=None, n_fds=0, flags=0, sender=None):
    """The bytes of one message. @n_fds goes into the UNIX_FDS field (the
    fds themselves travel in the sendmsg() ancillary data)."""
    fields = []
    for code, v in ((PATH, path), (INTERFACE, interface), (MEMBER, member), (ERROR_NAME, error_name),
                    (REPLY_SERIAL, reply_serial), (DESTINATION, destination), (SENDER, sender),
                    (SIGNATURE, signature or None), (UNIX_FDS, n_fds or None)):
        if v is not None:
            fields.append((code, (_FIELD_SIG[code], v)))
    b = _Writer()
    for t, v in zip(split_signature(signature), body):
        b.write(t, v)
    h = _Writer()
    h.buf += struct.pack("<cBBBII", b"l", mtype, flags, 1, len(b.buf), serial)
    h.write("a(yv)", fields)
    h.pad(8)
    return bytes(h.buf + b.buf)


class Message:
    def __init__(self, mtype, flags, serial, fields, body, fds):
        self.type, self.flags, self.serial, self.fields = mtype, flags, serial, fields
        self.body, self.fds = body, fds

    signature = property(lambda self: self.fields.get(SIGNATURE, ""))
    reply_serial = property(lambda self: self.fields.get(REPLY_SERIAL))
    error_name = property(lambda self: self.fields.get(ERROR_NAME))
    member = property(lambda self: self.fields.get(MEMBER))

    def __repr__(self):
        return "<Message type=%d serial=%d fields=%r body=%r>" % (self.type, self.serial, self.fields,
                                                                  self.body)


def message_size(data):
    """Total size of the message at the start of @data, or None when
    fewer than 16 bytes are there."""
    if len(data) < 16:
        return None
    if data[0:1] != b"l":
        raise WireError("only little-endian messages are parsed")
    blen, _, flen = struct.unpack_from("<III", data, 4)
    return 16 + flen + ((-(16 + flen)) % 8) + blen


def parse(data, fds=()):
    """One complete message from @data (bytes of exactly one message)."""
    mtype, flags, _, blen, serial = struct.unpack_from("<BBBII", data, 1)
    r = _Reader(data, 12)
    fields = dict((code, v[1]) for code, v in r.read("a(yv)"))
    r.pad(8)
    body = []
    if fields.get(SIGNATURE):
        for t in split_signature(fields[SIGNATURE]):
            body.append(r.read(t))
    return Message(mtype, flags, serial, fields, body, list(fds))


def parse_address(address):
    """(family, sockaddr) of a unix:path= or unix:abstract= address."""
    if not address.startswith("unix:"):
        raise WireError("only unix: addresses: %s" % address)
    kv = dict(p.split("=", 1) for p in address[5:].split(",") if "=" in p)
    if "path" in kv:
        return kv["path"]
    if "abstract" in kv:
        return "\0" + kv["abstract"]
    raise WireError("no path or abstract in %s" % address)


class Conn:
    """One raw connection. Nothing is sent until a method says so."""

    def __init__(self, address, timeout=5.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(parse_address(address))
        self.timeout = timeout
        self.serial = 0
        self.rbuf = bytearray()
        self.rfds = []
        self.pending = []  # messages read while waiting for another
        self.unix_fds = False

    def fileno(self):
        return self.sock.fileno()

    def close(self):
        if self.sock:
            self.sock.close()
            self.sock = None
        for fd in self.rfds:
            os.close(fd)
        self.rfds = []

    # ---- authentication ----
    def _line(self):
        while b"\r\n" not in self.rbuf:
            d = self.sock.recv(4096)
            if not d:
                raise WireError("closed during authentication")
            self.rbuf += d
        line, _, rest = bytes(self.rbuf).partition(b"\r\n")
        self.rbuf = bytearray(rest)
        return line.decode()

    def auth(self, uid=None, negotiate_fds=True):
        """The NUL byte, AUTH EXTERNAL (as @uid, default ours) and, when
        asked, NEGOTIATE_UNIX_FD. BEGIN is left to begin()."""
        uid = os.geteuid() if uid is None else uid
        self.sock.sendall(b"\0AUTH EXTERNAL " + str(uid).encode().hex().encode() + b"\r\n")
        line = self._line()
        if not line.startswith("OK "):
            raise WireError("auth: " + line)
        self.guid = line[3:]
        if negotiate_fds:
            self.sock.sendall(b"NEGOTIATE_UNIX_FD\r\n")
            self.unix_fds = self._line() == "AGREE_UNIX_FD"
        return self

    def begin(self, extra=b"", fds=()):
        """BEGIN, with @extra bytes (e.g. a first message) and @fds in the
        same sendmsg()."""
        self.send_raw(b"BEGIN\r\n" + extra, fds)
        return self

    def connect_all(self, hello=False):
        """auth() + begin() (+ Hello when @hello)."""
        self.auth().begin()
        if hello:
            self.unique_name = self.call("/org/freedesktop/DBus", "org.freedesktop.DBus", "Hello",
                                         destination="org.freedesktop.DBus").body[0]
        return self

    # ---- messages ----
    def send_raw(self, data, fds=()):
        anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("%di" % len(fds), *fds))] if fds else []
        view = memoryview(data)
        sent = self.sock.sendmsg([view], anc)
        if sent < len(data):
            self.sock.sendall(view[sent:])

    def next_serial(self):
        self.serial += 1
        return self.serial

    def send_call(self, path, interface, member, signature="", body=(), destination=None, fds=(), flags=0):
        """Send a method call; returns its serial (the reply is not read)."""
        serial = self.next_serial()
        self.send_raw(message(METHOD_CALL, serial, path, interface, member, signature, body, destination,
                              n_fds=len(fds), flags=flags), fds)
        return serial

    def recv(self, timeout=None):
        """The next message (fds received with it in .fds), or raise
        WireError on EOF, socket.timeout when nothing came in time."""
        if self.pending:
            return self.pending.pop(0)
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            size = message_size(self.rbuf)
            if size is not None and len(self.rbuf) >= size:
                data = bytes(self.rbuf[:size])
                del self.rbuf[:size]
                m = parse(data)
                n = m.fields.get(UNIX_FDS, 0)
                m.fds, self.rfds = self.rfds[:n], self.rfds[n:]
                return m
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("no message")
            self.sock.settimeout(left)
            data, anc, _, _ = self.sock.recvmsg(65536, socket.CMSG_SPACE(64 * 4))
            self.sock.settimeout(self.timeout)
            for level, kind, payload in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    n = len(payload) // 4
                    self.rfds += list(struct.unpack("%di" % n, payload[:n * 4]))
            if not data:
                raise WireError("connection closed by the server")
            self.rbuf += data

    def wait_reply(self, serial, timeout=None):
        """The reply (return or error) to @serial; other messages are kept."""
        keep = []
        try:
            while True:
                m = self.recv(timeout)
                if m.type in (METHOD_RETURN, ERROR) and m.reply_serial == serial:
                    return m
                keep.append(m)
        finally:
            self.pending = keep + self.pending

    def call(self, path, interface, member, signature="", body=(), destination=None, fds=(), timeout=None):
        """Send a call and wait for its reply. An error reply raises
        WireError("Error.Name: text")."""
        m = self.wait_reply(self.send_call(path, interface, member, signature, body, destination, fds),
                            timeout)
        if m.type == ERROR:
            raise WireError("%s: %s" % (m.error_name, m.body[0] if m.body else ""))
        return m


def wait_closed(sock, timeout):
    """True when the peer closes @sock (EOF or reset) within @timeout s;
    whatever arrives before is discarded."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        r, _, _ = select.select([sock], [], [], left)
        if r:
            try:
                if not sock.recv(65536):
                    return True
            except (ConnectionResetError, BrokenPipeError):
                return True
