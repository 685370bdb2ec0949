"""limits.py: what a received shm and a map may cost a service (TAP).

Raw sockets (tests/hostile/wire.py) against the real example services on a
private busrpc-bus AND on their peer sockets:
  - examples/bulk gets sealed sparse memfds of 4 GiB and 1 TiB (a 200-byte
    message each; hashing one took bulk 50 s before the bound): InvalidArgs
    at once, the fd closed in the service (/proc/PID/fd), the next caller
    served; with --max-shm, one byte over the bound is refused and the bound
    itself accepted (busrpc_conn_set_max_shm_size() on the bus,
    busrpc_server_limits.max_shm_size on the peer server);
  - examples/bulk gets 100 distinct pool-slot-style memfds (sealed against
    resizing only, the generated stubs' path): each hashed right, at most
    the cache's 32 kept mapped, none once the peer goes, fds closed; one
    that can still shrink is refused;
  - examples/calc gets Tally(a{st}) with a key twice (3 entries, and 10,000
    with the last repeating the first): InvalidArgs, then a good Tally.

Everything runs twice: the services on libdbus (BUSRPC_FAST_PATH=0) and on
busrpc's own transport (=1, their bus connection and their peer server
alike); each check says which ("[libdbus]", "[fast]").

Environment: top_builddir (the build tree).
"""
import fcntl
import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wire  # noqa: E402

BULK = ("org.example.Bulk", "/org/example/Bulk", "org.example.Bulk")
CALC = ("org.example.Calculator", "/org/example/Calculator", "org.example.Calculator")
INVALID_ARGS = "org.freedesktop.DBus.Error.InvalidArgs"
REPLY_WAIT = 10.0  # seconds: far above a refusal, far below hashing 4 GiB

n_test = 0
n_failed = 0
FAST = None  # the services' path in this round


def ok(cond, name, detail=None):
    global n_test, n_failed
    n_test += 1
    tag = "" if FAST is None else ("[fast] " if FAST else "[libdbus] ")
    print("%s %d - %s%s" % ("ok" if cond else "not ok", n_test, tag, name), flush=True)
    if not cond:
        n_failed += 1
        if detail:
            print("#   %s" % detail, flush=True)
    return cond


def bail(msg):
    print("Bail out! %s" % msg, flush=True)
    sys.exit(1)


def sealed_memfd(size, fill=None):
    fd = os.memfd_create("hostile", os.MFD_ALLOW_SEALING | os.MFD_CLOEXEC)
    if fill is not None:
        os.write(fd, fill)
    os.ftruncate(fd, size)
    fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_WRITE | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SHRINK |
                fcntl.F_SEAL_SEAL)
    return fd


def nfds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def fds_back_to(pid, n, timeout=5.0):
    """Wait until the service holds at most n fds (it closes them when the
    call is done, right after the reply is queued)."""
    deadline = time.monotonic() + timeout
    while nfds(pid) > n and time.monotonic() < deadline:
        time.sleep(0.02)
    return nfds(pid) <= n


class Service:
    def __init__(self, tmp, tag, argv):
        self.log = open(os.path.join(tmp, tag + ".log"), "w+")
        env = dict(os.environ, BUSRPC_FAST_PATH="1" if FAST else "0")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            self.log.seek(0)
            if "ready" in self.log.read():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.log.seek(0)
        bail("%s did not start: %s" % (tag, self.log.read()))

    def stop(self):
        self.proc.terminate()
        try:
            return self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def connect(how, address):
    """A raw connection on the bus (Hello) or to a peer socket (one Ping
    first: libdbus loses an fd sent in the very first message)."""
    c = wire.Conn(address, timeout=REPLY_WAIT)
    if how == "bus":
        c.connect_all(hello=True)
    else:
        c.connect_all()
        c.call("/", "org.freedesktop.DBus.Peer", "Ping")
    return c


def call(c, how, target, member, sig, body, fds=()):
    """The reply message, or None when none came within REPLY_WAIT."""
    dest, path, iface = target
    serial = c.send_call(path, iface, member, sig, body, destination=dest if how == "bus" else None, fds=fds)
    try:
        return c.wait_reply(serial, REPLY_WAIT)
    except socket.timeout:
        return None


def is_invalid_args(m):
    return m is not None and m.type == wire.ERROR and m.error_name == INVALID_ARGS


def digest_ok(c, how, pid, size=4096):
    data = os.urandom(size)
    fd = sealed_memfd(size, data)
    m = call(c, how, BULK, "Digest", "h", [0], fds=[fd])
    os.close(fd)
    return m is not None and m.type == wire.METHOD_RETURN and \
        list(m.body) == [hashlib.sha256(data).hexdigest(), size]


def bulk_sparse(how, address, pid):
    c = connect(how, address)
    before = nfds(pid)
    for size, label in ((4 << 30, "4 GiB"), (1 << 40, "1 TiB")):
        fd = sealed_memfd(size)
        t0 = time.monotonic()
        m = call(c, how, BULK, "Digest", "h", [0], fds=[fd])
        took = time.monotonic() - t0
        os.close(fd)
        ok(is_invalid_args(m), "%s: a sealed sparse memfd of %s is refused with InvalidArgs" % (how, label),
           "got %s after %.1f s" % ("no reply" if m is None else (m.error_name or "a return"), took))
        if m is not None and m.body:
            print("#   %s" % m.body[0], flush=True)
    ok(fds_back_to(pid, before), "%s: the service closed both fds (%d fds, %d before)" % (how, nfds(pid), before))
    ok(digest_ok(c, how, pid), "%s: and serves the next Digest (SHA-256 checked)" % how)
    c.close()


def memfd_maps(pid):
    with open("/proc/%d/maps" % pid) as f:
        return sum(1 for line in f if "/memfd:" in line)


def slot_memfd(data, seals=fcntl.F_SEAL_GROW | fcntl.F_SEAL_SHRINK):
    fd = os.memfd_create("hostile-slot", os.MFD_ALLOW_SEALING | os.MFD_CLOEXEC)
    os.write(fd, data)
    fcntl.fcntl(fd, fcntl.F_ADD_SEALS, seals)
    return fd


def bulk_slots(how, address, pid):
    base_maps = memfd_maps(pid)
    c = connect(how, address)
    before = nfds(pid)
    right = 0
    for i in range(100):
        data = os.urandom(4096)
        fd = slot_memfd(data)
        m = call(c, how, BULK, "Digest", "h", [0], fds=[fd])
        os.close(fd)
        right += m is not None and m.type == wire.METHOD_RETURN and \
            list(m.body) == [hashlib.sha256(data).hexdigest(), 4096]
    ok(right == 100, "%s: 100 distinct slots (sealed against resizing only) hashed right (%d)" % (how, right))
    kept = memfd_maps(pid) - base_maps
    ok(kept <= 32, "%s: the service keeps at most 32 of them mapped (%d)" % (how, kept))
    fd = slot_memfd(b"x" * 4096, fcntl.F_SEAL_GROW)
    m = call(c, how, BULK, "Digest", "h", [0], fds=[fd])
    os.close(fd)
    ok(is_invalid_args(m), "%s: a slot that can still shrink is refused with InvalidArgs" % how)
    ok(fds_back_to(pid, before), "%s: every fd closed (%d fds, %d before)" % (how, nfds(pid), before))
    ok(digest_ok(c, how, pid), "%s: and the next Digest is served" % how)
    c.close()
    if how == "peer":
        deadline = time.monotonic() + 20
        while memfd_maps(pid) > base_maps and time.monotonic() < deadline:
            time.sleep(0.02)
        ok(memfd_maps(pid) <= base_maps, "%s: the peer went: its mappings went (%d, %d before)" %
           (how, memfd_maps(pid), base_maps))


def bulk_bound(how, address, pid, bound):
    c = connect(how, address)
    before = nfds(pid)
    fd = sealed_memfd(bound + 1)
    m = call(c, how, BULK, "Digest", "h", [0], fds=[fd])
    os.close(fd)
    ok(is_invalid_args(m), "%s: --max-shm %d: %d bytes refused" % (how, bound, bound + 1))
    ok(fds_back_to(pid, before), "%s: its fd closed" % how)
    ok(digest_ok(c, how, pid, bound), "%s: exactly %d bytes accepted" % (how, bound))
    c.close()


def calc_dup_keys(how, address, pid):
    c = connect(how, address)
    m = call(c, how, CALC, "Tally", "a{st}", [[("a", 1), ("b", 2), ("a", 3)]])
    ok(is_invalid_args(m), "%s: Tally with key 'a' twice: InvalidArgs" % how,
       "got " + repr(None if m is None else (m.error_name, m.body)))
    if m is not None and m.body:
        print("#   %s" % m.body[0], flush=True)
    many = [("key-%d" % i, i) for i in range(10000)]
    many[-1] = ("key-0", 1)
    m = call(c, how, CALC, "Tally", "a{st}", [many])
    ok(is_invalid_args(m), "%s: 10,000 keys, the last repeating the first: InvalidArgs" % how)
    m = call(c, how, CALC, "Tally", "a{st}", [[("a", 1), ("b", 2), ("c", 3)]])
    ok(m is not None and m.type == wire.METHOD_RETURN and m.body[0] == 6,
       "%s: then a Tally with distinct keys is served (total 6)" % how)
    ok(pid and os.path.exists("/proc/%d" % pid), "%s: calc-service is still running" % how)
    c.close()


def rounds(tmp, bus, bulk_bin, calc_bin, services, r):
    peer = "unix:path=" + os.path.join(tmp, "p" + r, "bulk.sock")
    bulk = Service(tmp, "bulk" + r, [bulk_bin, "--bus", bus, "--peer", peer])
    services.append(bulk)
    for how, address in (("bus", bus), ("peer", peer)):
        bulk_sparse(how, address, bulk.proc.pid)
        bulk_slots(how, address, bulk.proc.pid)
    ok(bulk.stop() == 0, "bulk-service exits 0 on SIGTERM")
    services.remove(bulk)

    bound = 1 << 20
    peer = "unix:path=" + os.path.join(tmp, "p2" + r, "bulk.sock")
    bulk = Service(tmp, "bulk-bound" + r, [bulk_bin, "--bus", bus, "--peer", peer, "--max-shm", str(bound)])
    services.append(bulk)
    for how, address in (("bus", bus), ("peer", peer)):
        bulk_bound(how, address, bulk.proc.pid, bound)
    ok(bulk.stop() == 0, "bulk-service --max-shm exits 0 on SIGTERM")
    services.remove(bulk)

    peer = "unix:path=" + os.path.join(tmp, "c" + r, "calc.sock")
    calc = Service(tmp, "calc" + r, [calc_bin, "--bus", bus, "--peer", peer])
    services.append(calc)
    for how, address in (("bus", bus), ("peer", peer)):
        calc_dup_keys(how, address, calc.proc.pid)
    ok(calc.stop() == 0, "calc-service exits 0 on SIGTERM")
    services.remove(calc)


def main():
    b = os.environ.get("top_builddir")
    if not b:
        bail("top_builddir is not set")
    bus_bin = os.path.join(b, "busrpc-bus")
    bulk_bin = os.path.join(b, "examples/bulk/bulk-service")
    calc_bin = os.path.join(b, "examples/calc/calc-service")
    for p in (bus_bin, bulk_bin, calc_bin):
        if not os.access(p, os.X_OK):
            bail("%s is not built" % p)
    tmp = tempfile.mkdtemp(prefix="busrpc-limits-")
    busd = subprocess.Popen([bus_bin, "--socket", os.path.join(tmp, "s", "bus"), "--print-pid"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    bus = busd.stdout.readline().strip()
    busd.stdout.readline()
    if not bus.startswith("unix:"):
        bail("busrpc-bus did not start")
    services = []
    global FAST
    try:
        for FAST in (False, True):
            rounds(tmp, bus, bulk_bin, calc_bin, services, "f" if FAST else "d")
    finally:
        for s in services:
            s.stop()
        busd.terminate()
        busd.wait()
        subprocess.run(["rm", "-rf", tmp])
    print("1..%d" % n_test)
    return 1 if n_failed else 0


if __name__ == "__main__":
    sys.exit(main())
