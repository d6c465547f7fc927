"""One signed POST of an event to an endpoint: guarded, pinned to the checked address, redirects not followed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from gateway.webhooks.guard import IPAddress, Target, UnsafeUrlError, check_target, parse_target
from gateway.webhooks.records import EndpointRecord
from gateway.webhooks.signing import signed_headers

__all__ = ["Attempt", "open_client", "send"]

USER_AGENT = "batchgate-webhooks/1"


@dataclass(frozen=True)
class Attempt:
    status_code: int | None  # None: no HTTP answer (refused by the guard, connection error, timeout)
    error: str | None
    seconds: float

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def result(self) -> str:
        """A bounded label: `2xx`..`5xx`, `refused` (SSRF guard) or `error` (no answer)."""
        if self.status_code is not None:
            return f"{min(max(self.status_code // 100, 1), 5)}xx"
        return "refused" if self.error and self.error.startswith("refused") else "error"


def open_client(timeout_seconds: float) -> httpx.AsyncClient:
    """No redirects (a 3xx is a failed attempt), no pooled connections: each attempt connects to the address
    it just checked, with the SNI of the URL's host, so a kept-alive connection must never be reused. No proxy
    from the environment either: a proxy would connect by name, past the address check."""
    return httpx.AsyncClient(
        follow_redirects=False,
        timeout=httpx.Timeout(timeout_seconds),
        limits=httpx.Limits(max_keepalive_connections=0),
        trust_env=False,
    )


async def send(
    http: httpx.AsyncClient,
    endpoint: EndpointRecord,
    webhook_id: str,
    body: bytes,
    *,
    allowed_hosts: Sequence[str],
    timeout_seconds: float,
) -> Attempt:
    started = time.monotonic()
    try:
        async with asyncio.timeout(timeout_seconds):  # resolution included: a hanging DNS is a failed attempt
            status = await _post(http, endpoint, webhook_id, body, allowed_hosts)
    except UnsafeUrlError as exc:
        return Attempt(None, f"refused: {exc}", time.monotonic() - started)
    except (httpx.HTTPError, TimeoutError) as exc:
        return Attempt(None, type(exc).__name__, time.monotonic() - started)
    return Attempt(status, None, time.monotonic() - started)


async def _post(
    http: httpx.AsyncClient, endpoint: EndpointRecord, webhook_id: str, body: bytes, allowed_hosts: Sequence[str]
) -> int:
    target = parse_target(endpoint.url, allowed_hosts)
    address = await check_target(target)
    now = int(time.time())
    headers = signed_headers(webhook_id, now, body, endpoint.signing_secrets(now))
    headers |= {"content-type": "application/json", "user-agent": USER_AGENT}
    url, extensions = _pinned(target, address, headers)
    # Streamed and closed unread: the receiver's body is of no interest and could be large.
    async with http.stream("POST", url, content=body, headers=headers, extensions=extensions) as response:
        return response.status_code


def _pinned(target: Target, address: IPAddress | None, headers: dict[str, str]) -> tuple[httpx.URL, dict[str, str]]:
    """The URL with its host replaced by the checked address; Host header and TLS SNI keep the name."""
    if address is None:
        return target.url, {}
    headers["host"] = target.url.netloc.decode("ascii")
    extensions = {"sni_hostname": target.host} if target.url.scheme == "https" else {}
    return target.url.copy_with(host=str(address)), extensions
