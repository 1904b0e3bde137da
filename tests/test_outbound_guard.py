"""The SSRF guard for outbound requests (app/services/outbound.py): which destinations it
refuses, that it connects to the address it checked (Host and TLS SNI keep the name), that
it never follows a redirect and ignores proxy settings.

No test sends a packet off this machine: names are resolved by a stub (the system resolver
fails the test if it is ever asked), refused destinations go to an inner transport that
fails the test if it is ever called, and the only real connections are to a receiver on
127.0.0.1 that a test starts itself.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from app.core.config import get_settings
from app.services import outbound
from app.services.outbound import DestinationRefused, check_url, guarded_client

PUBLIC_V4 = "93.184.215.14"
PUBLIC_V6 = "2606:2800:21f:cb07:6820:80da:af6b:8b2c"
NAMES = {
    "hooks.lms.example": [PUBLIC_V4],
    "v6.lms.example": [PUBLIC_V6],
    "internal.lms.example": ["10.0.0.1"],
    "split.lms.example": [PUBLIC_V4, "192.168.1.20"],
    "metadata.lms.example": ["169.254.169.254"],
    "nat64.lms.example": ["64:ff9b::a00:1"],  # NAT64 of 10.0.0.1
    "localhost.lms.example": ["127.0.0.1"],
    "127.1": ["127.0.0.1"],  # what getaddrinfo makes of this short IPv4 form
    "2130706433": ["127.0.0.1"],  # and of a decimal one
}


class Resolver:
    """Answers from ``NAMES`` and records what it was asked; an unknown name is no address."""

    def __init__(self, names: dict[str, list[str]] | None = None) -> None:
        self.names = NAMES if names is None else names
        self.asked: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append((host, port))
        if host not in self.names:
            raise OSError(f"{host} does not resolve")
        return self.names[host]


def _no_system_resolver(host: str, port: int) -> list[str]:
    pytest.fail(f"the system resolver was asked for {host}: a packet could leave the machine")


@pytest.fixture(autouse=True)
def _no_real_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outbound, "system_resolver", _no_system_resolver)


@pytest.fixture
def allow_loopback(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("BANGKOM_OUTBOUND_ALLOWED_NETWORKS", "127.0.0.1/32")
    get_settings.cache_clear()
    yield
    monkeypatch.delenv("BANGKOM_OUTBOUND_ALLOWED_NETWORKS")
    get_settings.cache_clear()


class NeverCalled(httpx.AsyncBaseTransport):
    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        pytest.fail(f"the guard let a request to {request.url} through")


class Recorder(httpx.AsyncBaseTransport):
    """Answers 204 and records where each request would have gone."""

    def __init__(self) -> None:
        self.seen: list[dict[str, object]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(
            {
                "url": str(request.url),
                "host": request.url.host,
                "port": request.url.port,
                "host_header": request.headers.get("host"),
                "sni": request.extensions.get("sni_hostname"),
            }
        )
        return httpx.Response(204)


def _send(url: str, resolver: Resolver, inner: httpx.AsyncBaseTransport) -> httpx.Response:
    async def go() -> httpx.Response:
        async with guarded_client(resolver=resolver, inner=inner) as http:
            return await http.post(url, content=b"{}")

    return asyncio.run(go())


REFUSED = [
    ("http://169.254.169.254/latest/meta-data/", "address"),
    ("http://10.0.0.1/", "address"),
    ("http://172.16.5.4:8080/", "address"),
    ("http://192.168.0.1/", "address"),
    ("http://127.0.0.1/", "address"),
    ("http://127.1/", "address"),  # not an address to ipaddress: resolved, then judged
    ("http://2130706433/", "address"),
    ("http://0.0.0.0/", "address"),
    ("http://100.64.0.1/", "address"),
    ("http://[::1]/", "address"),
    ("http://[::ffff:127.0.0.1]/", "address"),
    ("http://[::ffff:169.254.169.254]/", "address"),
    ("http://[fe80::1]/", "address"),
    ("http://[fd12:3456::1]/", "address"),
    ("http://[64:ff9b::a00:1]/", "address"),  # NAT64 of 10.0.0.1
    ("http://[2002:a00:1::1]/", "address"),  # 6to4 of 10.0.0.1
    ("http://[::a00:1]/", "address"),  # IPv4-compatible
    ("http://224.0.0.1/", "address"),
    ("ftp://hooks.lms.example/file", "scheme"),
    ("file:///etc/passwd", "scheme"),
    ("gopher://hooks.lms.example/", "scheme"),
    ("https://internal.lms.example/hook", "address"),
    ("https://split.lms.example/hook", "address"),
    ("https://metadata.lms.example/hook", "address"),
    ("https://nat64.lms.example/hook", "address"),
    ("https://localhost.lms.example/hook", "address"),
    ("https://nowhere.lms.example/hook", "resolve"),
]


@pytest.mark.parametrize(("url", "reason"), REFUSED)
def test_check_url_refuses_with_the_reason(url: str, reason: str) -> None:
    with pytest.raises(DestinationRefused) as refused:
        check_url(url, resolver=Resolver())
    assert refused.value.reason == reason


@pytest.mark.parametrize(("url", "reason"), REFUSED)
def test_the_transport_refuses_before_any_connection(url: str, reason: str) -> None:
    with pytest.raises(DestinationRefused) as refused:
        _send(url, Resolver(), NeverCalled())
    assert refused.value.reason == reason


def test_an_ip_literal_is_never_resolved() -> None:
    resolver = Resolver()
    check_url(f"https://{PUBLIC_V4}/hook", resolver=resolver)
    with pytest.raises(DestinationRefused):
        check_url("http://10.0.0.1/", resolver=resolver)
    assert resolver.asked == []


def test_names_are_resolved_with_the_url_port() -> None:
    resolver = Resolver()
    check_url("https://hooks.lms.example/x", resolver=resolver)
    check_url("http://hooks.lms.example/x", resolver=resolver)
    check_url("https://hooks.lms.example:8443/x", resolver=resolver)
    assert resolver.asked == [
        ("hooks.lms.example", 443),
        ("hooks.lms.example", 80),
        ("hooks.lms.example", 8443),
    ]


def test_the_setting_allows_only_its_networks(allow_loopback: None) -> None:
    check_url("http://127.0.0.1:8123/hook", resolver=Resolver())
    check_url("https://localhost.lms.example/hook", resolver=Resolver())
    check_url("http://[::ffff:127.0.0.1]/", resolver=Resolver())  # the same address
    for url in ("http://127.0.0.2/", "http://[::1]/", "http://10.0.0.1/"):
        with pytest.raises(DestinationRefused):
            check_url(url, resolver=Resolver())


def test_an_allowed_name_is_pinned_to_its_checked_address_keeping_host_and_sni() -> None:
    inner = Recorder()
    assert _send("https://hooks.lms.example/bangkom?x=1", Resolver(), inner).status_code == 204
    assert inner.seen == [
        {
            "url": f"https://{PUBLIC_V4}/bangkom?x=1",
            "host": PUBLIC_V4,
            "port": None,
            "host_header": "hooks.lms.example",
            "sni": "hooks.lms.example",
        }
    ]


def test_plain_http_and_ipv6_are_pinned_too() -> None:
    inner = Recorder()
    _send("http://hooks.lms.example:8080/in", Resolver(), inner)
    _send("https://v6.lms.example/in", Resolver(), inner)
    first, second = inner.seen
    assert (first["host"], first["port"], first["host_header"]) == (PUBLIC_V4, 8080, "hooks.lms.example:8080")  # fmt: skip
    assert first["sni"] is None  # no TLS
    assert second["host"] == PUBLIC_V6 and second["url"] == f"https://[{PUBLIC_V6}]/in"
    assert (second["host_header"], second["sni"]) == ("v6.lms.example", "v6.lms.example")


def test_a_name_that_rebinds_to_a_private_address_is_refused_at_the_next_connection() -> None:
    names = {"rebind.lms.example": [PUBLIC_V4]}
    resolver = Resolver(names)
    check_url("https://rebind.lms.example/", resolver=resolver)  # the API's check passes
    names["rebind.lms.example"] = ["10.0.0.1"]  # then the name points inside
    with pytest.raises(DestinationRefused) as refused:
        _send("https://rebind.lms.example/", resolver, NeverCalled())
    assert refused.value.reason == "address"


class _Receiver(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        _Receiver.hits.append(self.path)
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(302)
        self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST  # noqa: N815

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def redirecting_receiver() -> Iterator[str]:
    _Receiver.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_redirect_is_an_answer_never_followed(
    allow_loopback: None, redirecting_receiver: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a proxy from the environment would bypass the address check: it must be ignored
    # (a closed local port: using it would fail the request)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")

    async def go() -> httpx.Response:
        async with guarded_client(resolver=Resolver()) as http:
            return await http.post(redirecting_receiver + "/hook", content=b"{}")

    response = asyncio.run(go())
    assert response.status_code == 302
    assert response.headers["location"] == "http://169.254.169.254/latest/meta-data/"
    assert _Receiver.hits == ["/hook"]


def test_the_receiver_on_loopback_is_refused_without_the_setting(redirecting_receiver: str) -> None:
    async def go() -> httpx.Response:
        async with guarded_client(resolver=Resolver()) as http:
            return await http.post(redirecting_receiver + "/hook", content=b"{}")

    with pytest.raises(DestinationRefused):
        asyncio.run(go())
    assert _Receiver.hits == []


def test_the_refusal_is_a_bilingual_422_naming_the_field() -> None:
    try:
        check_url("http://10.0.0.1/")
    except DestinationRefused as refused:
        problem = refused.problem("url")
    assert problem.status == 422 and problem.code == "destination_refused"
    assert problem.errors == [
        {
            "loc": ["body", "url"],
            "msg": problem.detail,
            "msg_id": problem.detail_id,
            "type": "destination_address",
        }
    ]
