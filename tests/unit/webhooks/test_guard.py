"""The SSRF guard: what a tenant's webhook URL may point to, before and after DNS resolution."""

from __future__ import annotations

import ipaddress

import pytest

from gateway.webhooks import UnsafeUrlError, check_target, parse_target
from gateway.webhooks.sender import _pinned

REFUSED_ADDRESSES = [
    ("https://127.0.0.1/hook", "loopback"),
    ("https://127.8.9.10:8443/hook", "loopback"),
    ("https://[::1]/hook", "loopback"),
    ("https://[::ffff:127.0.0.1]/hook", "loopback"),
    ("https://[::127.0.0.1]/hook", "loopback"),  # IPv4-compatible
    ("https://[64:ff9b::7f00:1]/hook", "loopback"),  # NAT64 to 127.0.0.1
    ("https://[64:ff9b::a9fe:a9fe]/hook", "cloud metadata"),  # NAT64 to 169.254.169.254
    ("https://[2002:a00:1::1]/hook", "private"),  # 6to4 from 10.0.0.1
    ("https://169.254.169.254/latest/meta-data/", "cloud metadata"),
    ("https://[fd00:ec2::254]/", "cloud metadata"),
    ("https://169.254.1.1/hook", "link-local"),
    ("https://[fe80::1]/hook", "link-local"),
    ("https://10.0.0.5/hook", "private"),
    ("https://192.168.1.1/hook", "private"),
    ("https://172.16.0.1/hook", "private"),
    ("https://100.64.0.1/hook", "non-public"),
    ("https://0.0.0.0/hook", "private"),  # "this host": Python counts it private
    ("https://localhost/hook", "loopback"),  # a name: refused after resolution
]


@pytest.mark.parametrize(("url", "reason"), REFUSED_ADDRESSES)
async def test_internal_addresses_are_refused(url: str, reason: str) -> None:
    with pytest.raises(UnsafeUrlError, match=reason):
        await check_target(parse_target(url, []))


async def test_a_public_address_is_accepted_and_pinned() -> None:
    address = await check_target(parse_target("https://8.8.8.8:8443/hook?x=1", []))
    assert str(address) == "8.8.8.8"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://8.8.8.8/hook", "must use https"),
        ("ftp://8.8.8.8/hook", "absolute https"),
        ("/relative", "absolute https"),
        ("https://user:pw@8.8.8.8/hook", "credentials"),
        ("https://" + "a" * 2050 + ".com/", "longer than"),
        ("https://does-not-exist.invalid/hook", "does not resolve"),
    ],
)
async def test_bad_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(UnsafeUrlError, match=message):
        await check_target(parse_target(url, []))


async def test_allowed_hosts_may_be_internal_and_plain_http() -> None:
    target = parse_target("http://127.0.0.1:9000/hook", ["hooks.internal", "127.0.0.1"])
    assert target.trusted
    assert await check_target(target) is None  # connected to by name, no address check
    with pytest.raises(UnsafeUrlError):  # the allowance names hosts, not addresses they resolve to
        await check_target(parse_target("http://localhost:9000/hook", ["127.0.0.1"]))


def test_an_attempt_connects_to_the_checked_address_with_the_hosts_name() -> None:
    """DNS rebinding: the request goes to the address that passed the check; Host and TLS SNI keep the name."""
    target = parse_target("https://hooks.example.com:8443/in?x=1", [])
    headers: dict[str, str] = {}
    url, extensions = _pinned(target, ipaddress.ip_address("93.184.216.34"), headers)
    assert str(url) == "https://93.184.216.34:8443/in?x=1"
    assert headers["host"] == "hooks.example.com:8443"
    assert extensions == {"sni_hostname": "hooks.example.com"}
    url, extensions = _pinned(target, ipaddress.ip_address("2606:2800:220:1::1"), {})
    assert url.host == "2606:2800:220:1::1"
