"""The load generator's hot loop: non-blocking sockets on epoll, one process per worker.

Where the time goes (measured against nginx on loopback, see bench/loadgen.py): an asyncio +
aiohttp client spends most of each request in Python-level machinery (futures, transports,
header parsing into dicts). Here each request costs one ``send`` of pre-built bytes, one
``recv``, a ``find`` for the end of the headers, a Content-Length read, a clock read and a
histogram increment — no objects per request: about 4.5 µs of user time and 7 µs of kernel
time (send/recv/epoll_wait on loopback) per request, against ~10 µs in all for wrk.

HTTP/1.1 keep-alive is used when the server allows it; ``Connection: close``, HTTP/1.0
answers, chunked bodies and read-until-close bodies are handled (slower path). TLS is not
supported here (use the locust or k6 runner).

A worker runs one *level*: ``connections`` concurrent connections, each sending its next
request as soon as the previous answer is complete, from ``start_at_ns`` until the deadline
or the request budget is used up; answers still in flight then get ``drain_ns`` to finish.
``hard_stop_ns`` ends the level whatever happens. All clocks are CLOCK_MONOTONIC (shared by
all processes of the machine), so the parent can start every worker at the same instant.
"""

from __future__ import annotations

import contextlib
import errno
import select
import socket
import time
from typing import Any

from bmad.adapters.loadgen.histogram import LINEAR_LIMIT, MAX_SHIFT, SIZE, SUB_BITS, SUB_HALF

_NO_BODY_STATUS = (b"204", b"304")
_RETRY_DELAY_NS = 20_000_000  # back-off after a failed connect, so a dead target is not spun on


class _Conn:
    __slots__ = ("addr", "buf", "connecting", "family", "fd", "keep", "need", "out", "request", "sock", "t0")

    def __init__(self, addr: tuple[str, int], request: bytes) -> None:
        self.addr = addr  # the target this connection loads (targets are spread over connections)
        self.family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
        self.request = request
        self.sock: socket.socket | None = None
        self.fd = -1
        self.buf = b""
        self.need = 0  # total bytes of the answer once known; -1: until the server closes
        self.t0 = 0  # when the current request started (ns); 0 = idle
        self.connecting = False
        self.keep = True
        self.out = b""  # unsent rest of a large request


def _chunked_end(data: bytes, start: int) -> int:
    """Offset just past a complete chunked body starting at ``start``; -1 when incomplete."""
    pos = start
    while True:
        eol = data.find(b"\r\n", pos)
        if eol < 0:
            return -1
        size_text = data[pos:eol].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise ValueError("bad chunk size") from None
        if size == 0:
            # Trailers end with an empty line.
            end = data.find(b"\r\n\r\n", eol)
            if end == eol:
                return eol + 4
            return end + 4 if end >= 0 else -1
        pos = eol + 2 + size + 2
        if pos > len(data):
            return -1


# Over 60 lines on purpose: the load generator's hot loop. Every request passes through it; locals
# instead of attributes and no helper calls per event keep one core at tens of thousands of
# requests per second (bench/loadgen.py).
def run_level(plan: dict[str, Any]) -> dict[str, Any]:  # one hot loop, kept in one frame on purpose
    # One or more equivalent targets (e.g. the replicas of a service), spread over the connections.
    targets: list[tuple[str, int, bytes]] = [(t["host"], int(t["port"]), t["request"]) for t in plan["targets"]]
    offset: int = plan.get("target_offset", 0)
    n_conns: int = plan["connections"]
    start_at: int = plan["start_at_ns"]
    deadline: int | None = plan.get("deadline_ns")
    budget: int | None = plan.get("max_requests")
    timeout_ns: int = plan["timeout_ns"]
    drain_ns: int = plan["drain_ns"]
    hard_stop: int = plan["hard_stop_ns"]
    head: bool = plan.get("head", False)

    monotonic_ns = time.monotonic_ns
    counts = [0] * SIZE
    statuses: dict[bytes, int] = {}
    errors: dict[str, int] = {}
    lat_total = 0
    lat_max = 0
    lat_min = 0
    completed = 0
    started = 0

    ep = select.epoll()
    conns: dict[int, _Conn] = {}
    retry: list[tuple[int, _Conn]] = []
    epollin = select.EPOLLIN
    epollout = select.EPOLLOUT

    def error(kind: str) -> None:
        errors[kind] = errors.get(kind, 0) + 1

    def close(c: _Conn) -> None:
        if c.sock is not None:
            with contextlib.suppress(OSError):
                ep.unregister(c.fd)
            conns.pop(c.fd, None)
            c.sock.close()
        c.sock = None
        c.fd = -1
        c.buf = b""
        c.need = 0
        c.t0 = 0
        c.out = b""
        c.connecting = False

    def open_conn(c: _Conn, t0: int) -> None:
        sock = socket.socket(c.family, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.sock = sock
        c.fd = sock.fileno()
        c.t0 = t0
        conns[c.fd] = c
        rc = sock.connect_ex(c.addr)
        if rc in (0, errno.EISCONN):
            c.connecting = False
            ep.register(c.fd, epollin)
            send(c)
        elif rc in (errno.EINPROGRESS, errno.EAGAIN, errno.EALREADY):
            c.connecting = True
            ep.register(c.fd, epollout)
        else:
            fail(c, "connect_" + (errno.errorcode.get(rc, str(rc)).lower()))

    def send(c: _Conn) -> None:
        assert c.sock is not None
        try:
            sent = c.sock.send(c.request)
        except BlockingIOError:
            sent = 0
        except OSError as exc:
            fail(c, _oserror_kind(exc, "send"))
            return
        if sent < len(c.request):
            c.out = c.request[sent:]
            ep.modify(c.fd, epollin | epollout)

    def fail(c: _Conn, kind: str) -> None:
        """A request failed: count it, drop the connection, schedule a fresh one."""
        error(kind)
        was_connect = kind.startswith("connect")
        close(c)
        if sending:
            retry.append((monotonic_ns() + (_RETRY_DELAY_NS if was_connect else 0), c))

    pool = []
    for index in range(n_conns):
        host, port, request = targets[(index + offset) % len(targets)]
        pool.append(_Conn((host, port), request))
    now = monotonic_ns()
    if start_at > now:
        time.sleep((start_at - now) / 1e9)
    sending = True
    level_start = monotonic_ns()
    if deadline is None:
        deadline = hard_stop
    remaining = budget if budget is not None else -1
    for c in pool:
        if remaining == 0:
            break
        if remaining > 0:
            remaining -= 1
        started += 1
        open_conn(c, monotonic_ns())
    if remaining == 0:
        sending = False

    next_sweep = level_start + 100_000_000
    stop_at = hard_stop
    poll = ep.poll
    while True:
        events = poll(0.01)
        now = monotonic_ns()
        for fd, ev in events:
            found = conns.get(fd)
            if found is None:
                continue
            c = found
            sock = c.sock
            assert sock is not None
            if c.connecting:
                err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    fail(c, "connect_" + errno.errorcode.get(err, str(err)).lower())
                    continue
                c.connecting = False
                ep.modify(fd, epollin)
                send(c)
                continue
            if c.out and ev & epollout:
                try:
                    sent = sock.send(c.out)
                except BlockingIOError:
                    sent = 0
                except OSError as exc:
                    fail(c, _oserror_kind(exc, "send"))
                    continue
                c.out = c.out[sent:]
                if not c.out:
                    ep.modify(fd, epollin)
                if not ev & epollin:
                    continue
            try:
                # Not larger: CPython allocates the full size per call, and above glibc's mmap threshold
                # (128 KiB) every recv became an mmap + munmap: 256 KiB cost 28 µs of kernel time per
                # request here, 64 KiB costs 7 µs.
                data = sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError as exc:
                fail(c, _oserror_kind(exc, "recv"))
                continue
            if not data:
                if c.need == -1 and c.buf:
                    data = c.buf  # a read-until-close answer is complete
                    keep = False
                else:
                    fail(c, "connection_closed" if c.t0 else "idle_closed")
                    continue
            else:
                if c.buf:
                    data = c.buf + data
                need = c.need
                if need == -1:
                    c.buf = data
                    continue
                if need:
                    if len(data) < need:
                        c.buf = data
                        continue
                    keep = c.keep
                else:
                    hend = data.find(b"\r\n\r\n")
                    if hend < 0:
                        if len(data) > 65536:
                            fail(c, "bad_response")
                        else:
                            c.buf = data
                        continue
                    if data[:5] != b"HTTP/":
                        fail(c, "bad_response")
                        continue
                    hdr = data[:hend].lower()
                    keep = data[5:8] == b"1.1"
                    if b"\r\nconnection:" in hdr:
                        if b"connection: close" in hdr:
                            keep = False
                        elif b"connection: keep-alive" in hdr:
                            keep = True
                    status = data[9:12]
                    if head or status in _NO_BODY_STATUS or status[:1] == b"1":
                        need = hend + 4
                    else:
                        i = hdr.find(b"\r\ncontent-length:")
                        if i >= 0:
                            j = hdr.find(b"\r\n", i + 17)
                            try:
                                need = hend + 4 + int(hdr[i + 17 : j if j >= 0 else len(hdr)])
                            except ValueError:
                                fail(c, "bad_response")
                                continue
                        elif b"\r\ntransfer-encoding:" in hdr and b"chunked" in hdr:
                            try:
                                need = _chunked_end(data, hend + 4)
                            except ValueError:
                                fail(c, "bad_response")
                                continue
                            if need < 0:
                                c.buf = data  # re-parsed when more arrives
                                continue
                        else:
                            c.buf = data
                            c.need = -1
                            continue
                    if len(data) < need:
                        c.buf = data
                        c.need = need
                        c.keep = keep
                        continue
                if len(data) > need:
                    fail(c, "unexpected_data")
                    continue
            status = data[9:12]
            # One complete answer.
            lat = (now - c.t0) // 1000
            if lat < LINEAR_LIMIT:
                counts[lat if lat > 0 else 0] += 1
            else:
                shift = lat.bit_length() - (SUB_BITS + 1)
                if shift > MAX_SHIFT:
                    shift = MAX_SHIFT
                    lat = (LINEAR_LIMIT << shift) - 1
                counts[((shift + 1) << SUB_BITS) + (lat >> shift) - SUB_HALF] += 1
            if completed == 0 or lat < lat_min:
                lat_min = lat
            if lat > lat_max:
                lat_max = lat
            lat_total += lat
            completed += 1
            statuses[status] = statuses.get(status, 0) + 1
            c.buf = b""
            c.need = 0
            c.t0 = 0
            if not keep:
                close(c)
            if sending:
                if remaining > 0:
                    remaining -= 1
                    if remaining == 0:
                        sending = False
                started += 1
                if keep:
                    c.t0 = monotonic_ns()
                    send(c)
                else:
                    open_conn(c, monotonic_ns())
        if retry and sending:
            due = [item for item in retry if item[0] <= now]
            if due:
                retry[:] = [item for item in retry if item[0] > now]
                for _, c in due:
                    if not sending:
                        break
                    if remaining > 0:
                        remaining -= 1
                        if remaining == 0:
                            sending = False
                    started += 1
                    open_conn(c, monotonic_ns())
        if now >= next_sweep:
            next_sweep = now + 100_000_000
            limit = now - timeout_ns
            for c in list(conns.values()):
                if c.t0 and c.t0 < limit:
                    fail(c, "timeout")
        if sending and now >= deadline:
            sending = False
            stop_at = min(hard_stop, now + drain_ns)
            retry.clear()
        if not sending:
            if not any(c.t0 for c in conns.values()):
                break
            if now >= stop_at:
                for c in list(conns.values()):
                    if c.t0:
                        error("cut_at_level_end")
                break
        if now >= hard_stop:
            for c in list(conns.values()):
                if c.t0:
                    error("cut_at_level_end")
            break
    level_end = monotonic_ns()
    for c in list(conns.values()):
        close(c)
    ep.close()
    return {
        "counts": {i: n for i, n in enumerate(counts) if n},
        "completed": completed,
        "started": started,
        "statuses": {k.decode("latin-1"): v for k, v in statuses.items()},
        "errors": errors,
        "lat_total_us": lat_total,
        "lat_min_us": lat_min,
        "lat_max_us": lat_max,
        "start_ns": level_start,
        "end_ns": level_end,
    }


def _oserror_kind(exc: OSError, where: str) -> str:
    if isinstance(exc, ConnectionResetError):
        return "connection_reset"
    if isinstance(exc, BrokenPipeError):
        return "broken_pipe"
    if isinstance(exc, ConnectionRefusedError):
        return "connect_econnrefused"
    name = errno.errorcode.get(exc.errno or 0, "oserror").lower()
    return f"{where}_{name}"
