"""The stdlib server behind `journeybot serve`, the demo and the tests (bot/web.py): whole
responses, small and large, on a pool of threads."""

from __future__ import annotations

import concurrent.futures
import http.client

import pytest

from bot.web import HttpServer


def _app(environ, start_response):
    size = int(environ.get("QUERY_STRING") or 0)
    body = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    start_response("200 OK", [("Content-Type", "application/octet-stream"),
                              ("Content-Length", str(len(body)))])
    return [body]


@pytest.fixture
def server():
    running = HttpServer(_app).start()
    yield running
    running.stop()


def _get(url: str, size: int) -> tuple[int, dict, bytes]:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request("GET", f"/?{size}")
        reply = conn.getresponse()
        return reply.status, dict(reply.getheaders()), reply.read()
    finally:
        conn.close()


@pytest.mark.parametrize("size", [0, 5, 65_535, 65_536, 300_001])
def test_a_response_arrives_whole_whatever_its_size(server, size):
    status, headers, body = _get(server.url, size)
    assert status == 200
    assert int(headers["Content-Length"]) == size == len(body)
    assert body[:256] == (bytes(range(256)) if size >= 256 else b"x" * size)


def test_many_clients_at_once_each_get_their_own_response(server):
    sizes = [n * 997 for n in range(64)]
    with concurrent.futures.ThreadPoolExecutor(24) as pool:
        replies = list(pool.map(lambda size: _get(server.url, size), sizes))
    assert [len(body) for _, _, body in replies] == sizes
    assert {status for status, _, _ in replies} == {200}
