"""Request bodies that cost a server memory or time before anyone knows who sent them.

Each test starts the study server in its own process (``epro-sync serve`` on 127.0.0.1, SQLite)
so that its peak memory can be read from ``/proc`` while the attack runs.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from epro_sync.config import ServerSettings
from epro_sync.testing import ScriptedKiosk, make_enrol_code

GIB = 1 << 30
MIB = 1 << 20
#: Peak memory the server may gain while an attack runs: the Python allocator's noise, not
#: the size of any body.
SLACK = 48 * MIB
BODY_MAX = 8 * MIB

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="reads the server's peak memory from /proc"
)


@dataclass
class Server:
    url: str
    port: int
    process: subprocess.Popen[bytes]
    settings: ServerSettings
    clients: list[httpx.Client]

    def peak_rss(self) -> int:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
        return int(line.split()[1]) * 1024

    def kiosk(self) -> ScriptedKiosk:
        client = httpx.Client(base_url=self.url, timeout=30)
        self.clients.append(client)
        kiosk = ScriptedKiosk(client)
        reply = kiosk.enrol(make_enrol_code(self.settings, "UMCU"))
        assert reply.status_code == 200, reply.text
        return kiosk

    def healthy(self) -> bool:
        return httpx.get(f"{self.url}/healthz", timeout=10).status_code == 200


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    key = tmp_path / "study_public_key.json"
    key.write_text(
        json.dumps({"suite": "x25519", "public_key": base64.b64encode(os.urandom(32)).decode()})
    )
    port = _free_port()
    env = {
        **os.environ,
        "EPRO_SYNC_DATABASE_URL": f"sqlite:///{tmp_path / 'server.sqlite3'}",
        "EPRO_SYNC_STUDY_PUBLIC_KEY_FILE": str(key),
        "EPRO_SYNC_BODY_MAX_BYTES": str(BODY_MAX),
    }
    settings = ServerSettings(database_url=env["EPRO_SYNC_DATABASE_URL"], study_public_key_file=key)
    code = f"from epro_sync.cli import main; main(['serve', '--port', '{port}'])"
    process = subprocess.Popen([sys.executable, "-c", code], env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, "the server did not start"
            assert time.monotonic() < deadline, "the server did not answer within 30 s"
            time.sleep(0.1)
        running = Server(url, port, process, settings, [])
        yield running
        for client in running.clients:
            client.close()
    finally:
        process.terminate()
        process.wait(timeout=20)


def _stream(
    server: Server, path: str, headers: dict[str, str], total: int, chunked: bool
) -> tuple[int, int]:
    """Send ``total`` bytes of body to ``path`` on a raw socket for as long as the server
    reads; return the status it answered and how many body bytes went out before it did."""
    head = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{server.port}"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    head.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}")
    piece = b"[" * (256 * 1024)
    frame = b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece
    sent = 0
    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as conn:
        conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        conn.settimeout(0.0)
        reply = b""
        while sent < total:
            with contextlib.suppress(BlockingIOError):
                reply += conn.recv(65536)
            if reply:
                break
            try:
                conn.setblocking(True)
                conn.settimeout(5)
                conn.sendall(frame)
                sent += len(piece)
                conn.settimeout(0.0)
            except (BrokenPipeError, ConnectionResetError, TimeoutError):
                break
        conn.settimeout(30)
        while b"\r\n" not in reply:
            more = conn.recv(65536)
            if not more:
                break
            reply += more
    status = int(reply.split(b" ", 2)[1]) if reply.startswith(b"HTTP/1.1 ") else 0
    return status, sent


def test_a_gigabyte_without_a_token_is_refused_before_it_is_read(server: Server) -> None:
    """What: the upload route. How: 1 GiB streamed (chunked) with no device token.
    Expected: 401 at once; the server reads next to nothing and its memory stays flat."""
    before = server.peak_rss()
    status, sent = _stream(server, "/v1/responses:batch", {}, GIB, chunked=True)
    assert status == 401
    assert sent < 64 * MIB  # answered long before the gigabyte went out
    assert server.peak_rss() - before < SLACK
    assert server.healthy()


def test_a_gigabyte_with_a_made_up_token_is_refused_before_it_is_read(server: Server) -> None:
    """What: the roster route. How: 1 GiB declared by Content-Length, a token no kiosk holds.
    Expected: 401 at once, memory flat."""
    before = server.peak_rss()
    headers = {"Authorization": "Bearer made-up-token"}
    status, sent = _stream(server, "/v1/roster", headers, GIB, chunked=False)
    assert status == 401
    assert sent < 64 * MIB
    assert server.peak_rss() - before < SLACK


def test_a_declared_gigabyte_from_a_real_kiosk_is_refused_by_its_length(server: Server) -> None:
    """What: the upload route. How: a genuine kiosk's token, Content-Length of 1 GiB.
    Expected: 413 from the header alone, before any of the body is read."""
    kiosk = server.kiosk()
    before = server.peak_rss()
    status, sent = _stream(server, "/v1/responses:batch", kiosk.headers, GIB, chunked=False)
    assert status == 413
    assert sent < 64 * MIB
    assert server.peak_rss() - before < SLACK


def test_an_endless_chunked_body_from_a_real_kiosk_is_cut_off_at_the_cap(server: Server) -> None:
    """What: the upload route. How: a genuine kiosk's token, 1 GiB chunked (no length given).
    Expected: 413 once the configured cap is passed; the server holds at most the cap."""
    kiosk = server.kiosk()
    before = server.peak_rss()
    status, sent = _stream(server, "/v1/responses:batch", kiosk.headers, GIB, chunked=True)
    assert status == 413
    assert sent < BODY_MAX + 64 * MIB
    assert server.peak_rss() - before < BODY_MAX + SLACK
    assert server.healthy()


def test_a_million_empty_envelopes_are_counted_before_any_is_validated(server: Server) -> None:
    """What: the batch size limit. How: 3 MB of `{}` items from a genuine kiosk.
    Expected: 413 naming the limit (once this took 26 s and 7.3 GiB before its 413)."""
    kiosk = server.kiosk()
    body = b'{"envelopes":[' + b",".join([b"{}"] * 1_000_000) + b"]}"
    before = server.peak_rss()
    reply = kiosk.post_signed(body)
    assert reply.status_code == 413
    assert "envelopes in one batch" in reply.json()["detail"]
    assert server.peak_rss() - before < 4 * len(body) + SLACK


def test_an_envelope_field_larger_than_any_real_one_is_rejected_by_name(server: Server) -> None:
    """What: field sizes. How: an envelope whose `sealed` is 4 MB of base64.
    Expected: that envelope is rejected naming `sealed`; the server stays up."""
    kiosk = server.kiosk()
    huge = {**kiosk.envelope().model_dump(mode="json"), "sealed": "QUFB" * (1 << 20)}
    reply = kiosk.upload(huge)
    assert reply.status_code == 200
    (receipt,) = reply.json()["receipts"]
    assert receipt["status"] == "rejected"
    assert "sealed" in receipt["message"]
    assert "65536" in receipt["message"]


@pytest.mark.parametrize(
    "path", ["/v1/enrol", "/v1/roster", "/v1/audit-head", "/v1/responses:batch"]
)
def test_json_nested_a_thousand_deep_is_a_plain_4xx(server: Server, path: str) -> None:
    """What: every route that takes a body. How: `[[[[…]]]]` 1,000 deep (and 100,000 deep).
    Expected: a 4xx with a plain sentence, never a 500; the server stays up."""
    kiosk = server.kiosk()
    for depth in (1_000, 100_000):
        body = b"[" * depth + b"]" * depth
        reply = kiosk.post_signed(body, path)
        assert 400 <= reply.status_code < 500, (depth, reply.status_code, reply.text)
        assert reply.json()["detail"]
    assert server.healthy()
