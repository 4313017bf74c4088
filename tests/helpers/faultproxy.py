"""A TCP proxy on loopback that breaks HTTP/1.1 exchanges on purpose, one exchange at a time.

It understands just enough HTTP to find where each request and reply ends (``Content-Length``
or chunked), so a fault can be chosen per exchange even on a kept-alive connection:

* ``pass``: forward both ways;
* ``delay``: hold the reply for a moment, then forward it;
* ``reset_before``: reset the client connection (RST, ``SO_LINGER`` 0) before the request
  reaches the server — the server never sees it;
* ``lost_reply``: forward the request, let the server answer in full, then reset the client —
  the server stored the batch but the kiosk never hears so;
* ``cut_body``: forward the headers and half the body, then close: a truncated reply;
* ``stall``: forward the request and then say nothing until the client gives up (timeout).

One thread per client connection, bounded by ``max_connections``; every wait is bounded too.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable
from enum import StrEnum


class Fault(StrEnum):
    PASS = "pass"
    DELAY = "delay"
    RESET_BEFORE = "reset_before"
    LOST_REPLY = "lost_reply"
    CUT_BODY = "cut_body"
    STALL = "stall"


#: Chooses the fault for one exchange from the request line (e.g. ``POST /v1/... HTTP/1.1``).
Chooser = Callable[[str], Fault]


class _Closed(Exception):
    """The peer closed or the proxy is stopping."""


class _Reader:
    """Reads whole HTTP/1.1 messages from a socket, keeping any bytes read past the end."""

    def __init__(self, sock: socket.socket, stopping: threading.Event, idle_s: float) -> None:
        self.sock = sock
        self.buf = b""
        self._stopping = stopping
        self._idle_s = idle_s

    def _more(self) -> None:
        deadline = time.monotonic() + self._idle_s
        while not self._stopping.is_set() and time.monotonic() < deadline:
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                raise _Closed from None
            if not chunk:
                raise _Closed
            self.buf += chunk
            return
        raise _Closed

    def _until(self, marker: bytes) -> int:
        while (i := self.buf.find(marker)) < 0:
            self._more()
        return i

    def _take(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._more()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def message(self) -> tuple[bytes, int]:
        """One message and the offset where its body starts."""
        end = self._until(b"\r\n\r\n") + 4
        head = self._take(end)
        headers = head.decode("latin-1").lower()
        length = 0
        for line in headers.split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name.strip() == "content-length":
                length = int(value.strip())
            if name.strip() == "transfer-encoding" and "chunked" in value:
                return head + self._chunked(), end
        return head + self._take(length), end

    def _chunked(self) -> bytes:
        body = b""
        while True:
            line_end = self._until(b"\r\n") + 2
            size_line = self._take(line_end)
            size = int(size_line.split(b";")[0].strip(), 16)
            body += size_line + self._take(size + 2)
            if size == 0:
                return body


def _reset(sock: socket.socket) -> None:
    """Close with RST instead of FIN: the peer sees 'connection reset'."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


class FaultProxy:
    """Listen on 127.0.0.1 (a free port) and forward to ``upstream`` with chosen faults."""

    def __init__(
        self,
        upstream: tuple[str, int],
        choose: Chooser,
        *,
        delay_s: float = 0.05,
        stall_s: float = 10.0,
        idle_s: float = 30.0,
        max_connections: int = 32,
        on_forwarded: Callable[[str], None] | None = None,
    ) -> None:
        self.upstream = upstream
        self.choose = choose
        self.delay_s = delay_s
        self.stall_s = stall_s
        self.idle_s = idle_s
        self.on_forwarded = on_forwarded  # called once a request is with the server
        self.counts: Counter[Fault] = Counter()
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_connections)
        self._stopping = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._accepter = threading.Thread(target=self._accept, name="faultproxy", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> FaultProxy:
        self._accepter.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stopping.set()
        self._accepter.join(5)
        for thread in self._threads:
            thread.join(self.stall_s + 5)
        self._listener.close()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if not self._slots.acquire(timeout=self.idle_s):
                _reset(client)
                continue
            thread = threading.Thread(target=self._serve, args=(client,), daemon=True)
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
            thread.start()

    def _serve(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        replies: _Reader | None = None
        try:
            client.settimeout(0.2)
            requests = _Reader(client, self._stopping, self.idle_s)
            while True:
                request, _ = requests.message()
                fault = self.choose(request.split(b"\r\n", 1)[0].decode("latin-1"))
                with self._lock:
                    self.counts[fault] += 1
                if fault is Fault.RESET_BEFORE:
                    _reset(client)
                    return
                if upstream is None or replies is None:
                    upstream = socket.create_connection(self.upstream, timeout=5)
                    upstream.settimeout(0.2)
                    replies = _Reader(upstream, self._stopping, self.idle_s)
                upstream.sendall(request)
                if self.on_forwarded is not None:
                    self.on_forwarded(request.split(b"\r\n", 1)[0].decode("latin-1"))
                reply, body_at = replies.message()
                if not self._deliver(client, fault, reply, body_at):
                    return
        except (_Closed, OSError, ValueError):
            _reset(client)
        finally:
            with contextlib.suppress(OSError):
                client.close()
            if upstream is not None:
                with contextlib.suppress(OSError):
                    upstream.close()
            self._slots.release()

    def _deliver(self, client: socket.socket, fault: Fault, reply: bytes, body_at: int) -> bool:
        """Send (or break) one reply; False when the connection is finished."""
        if fault is Fault.DELAY:
            self._stopping.wait(self.delay_s)
        if fault in (Fault.PASS, Fault.DELAY):
            client.sendall(reply)
            return True
        if fault is Fault.LOST_REPLY:
            _reset(client)
        elif fault is Fault.CUT_BODY:
            client.sendall(reply[: body_at + (len(reply) - body_at) // 2])
            client.shutdown(socket.SHUT_RDWR)
        elif fault is Fault.STALL:
            # Say nothing until the client times out and closes, or the bound is reached.
            deadline = time.monotonic() + self.stall_s
            while time.monotonic() < deadline and not self._stopping.is_set():
                try:
                    if not client.recv(1024):
                        break
                except TimeoutError:
                    continue
                except OSError:
                    break
        return False
