"""A real-time OpenAI-compatible upstream for tests: real HTTP on a loopback port, behaviour on demand.

Serves /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/responses (usage in the Responses
shape, with cached and reasoning tokens) and /v1/moderations (no usage, unless `moderation_usage` is
set) with deterministic usage. Knobs: latency, a server-side RPM limit over a sliding window (429 +
Retry-After), random fault rates (`fault_rates`, e.g. 5% "429" and 2% "500", seeded), and per-request
faults keyed by the request's *marker* (the last message content, the prompt, the input string, or the
last input item's text): `"429"`, `"429quota"`, `"500"`, `"503"`, `"400"`, `"echo401"` (quotes the key
back), `"text502"` (a non-JSON error body), `"hang"` (no answer), `"malformed"` (200 with a non-JSON
body), `"ok"`. Every request is recorded (arrival time, headers, body, status, usage).

Two kinds of 429: a `"429"` (marker or random) limits that one request — its Retry-After binds only a
request with the same marker, which is recorded as early if it comes back before the deadline; the RPM
limit and `"429quota"` limit everyone — they answer with `x-ratelimit-remaining-requests: 0`, and while
their Retry-After runs every request gets another 429 and is recorded as early.

In-process: `with RealtimeUpstream() as upstream: ...` runs the server on its own loop in a thread.
Out of process (benchmarks, kill tests): `python -m tests.support.realtime_upstream --port N`; then
`GET /_stats` returns `{"count", "statuses", "arrivals"}`.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import msgspec
from aiohttp import web

from tests.support.ports import free_port
from tests.support.threaded_server import ThreadedServer

__all__ = ["RealtimeUpstream", "Received", "usage_for"]


class Received(msgspec.Struct):
    at: float
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    status: int
    usage: dict[str, Any] | None = None
    early: bool = False  # arrived before a Retry-After deadline this server gave
    clock_at: float = 0.0  # arrival on the test's business clock (`clock=`), to check against price windows
    answered_clock_at: float = 0.0  # when the answer left, on the same clock (after any hold and latency)


def marker_of(body: dict[str, Any]) -> str:
    if messages := body.get("messages"):
        return str(messages[-1].get("content", ""))
    value = body.get("prompt", body.get("input", ""))
    if isinstance(value, list) and value and isinstance(value[-1], dict):  # Responses input items
        content = value[-1].get("content", value[-1].get("output", ""))
        return content if isinstance(content, str) else "".join(str(part.get("text", "")) for part in content)
    return str(value)


def usage_for(body: dict[str, Any], path: str = "/v1/chat/completions", *, cache_hits: bool = False) -> dict[str, Any]:
    """Deterministic usage; `cache_hits` adds DeepSeek's cache fields (a quarter of the prompt a hit)."""
    prompt = len(marker_of(body)) + 7
    if path.endswith("/responses"):
        output = min(int(body.get("max_output_tokens") or 16), 16)
        return {"input_tokens": prompt, "input_tokens_details": {"cached_tokens": prompt // 4},
                "output_tokens": output, "output_tokens_details": {"reasoning_tokens": output // 2},
                "total_tokens": prompt + output}  # fmt: skip
    completion = 0 if "input" in body else min(int(body.get("max_tokens", 16)), 16)
    usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    if cache_hits:
        usage |= {"prompt_cache_hit_tokens": prompt // 4, "prompt_cache_miss_tokens": prompt - prompt // 4}
    return usage


def _success(path: str, body: dict[str, Any], usage: dict[str, Any] | None, n: int) -> dict[str, Any]:
    model, text = body.get("model"), f"echo: {marker_of(body)}"
    if path.endswith("/responses"):
        message = {"type": "message", "id": f"msg_{n}", "status": "completed", "role": "assistant",
                   "content": [{"type": "output_text", "text": text, "annotations": []}]}  # fmt: skip
        return {"id": f"resp_{n}", "object": "response", "created_at": int(time.time()), "status": "completed",
                "model": model, "output": [message], "usage": usage}  # fmt: skip
    if path.endswith("/moderations"):
        result = {"flagged": "flag" in marker_of(body), "categories": {}, "category_scores": {}}
        return {"id": f"modr-{n}", "model": model, "results": [result]} | ({"usage": usage} if usage else {})
    if path.endswith("/embeddings"):
        data = [{"object": "embedding", "index": 0, "embedding": [0.25, -0.5, 1.0]}]
        return {"object": "list", "data": data, "model": model, "usage": usage}
    if path.endswith("/chat/completions"):
        choice: dict[str, Any] = {"index": 0, "message": {"role": "assistant", "content": text}}
        kind = "chat.completion"
    else:
        choice, kind = {"index": 0, "text": text}, "text_completion"
    choice |= {"finish_reason": "stop", "logprobs": None}
    return {"id": f"cmpl-{n}", "object": kind, "created": int(time.time()), "model": model, "choices": [choice],
            "usage": usage}  # fmt: skip


class RealtimeUpstream:
    def __init__(
        self,
        port: int | None = None,
        *,
        latency: float = 0.0,
        rpm: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.port = port or free_port()
        self.clock = clock
        self.latency = latency
        self.rpm = rpm
        self.window = 60.0  # seconds of the RPM window
        self.retry_after = 1.0  # seconds told on 429
        self.hang_seconds = 30.0
        # Requests after the first `hold_after` wait (unanswered) until `released` is set: a test moves the
        # clock between the two parts of a batch.
        self.hold_after: int | None = None
        self.released = threading.Event()
        self.cache_hits = False  # DeepSeek's prompt_cache_hit/miss_tokens in chat usage
        self.moderation_usage = False  # moderations report no usage, as OpenAI's do, unless this is set
        self.faults: dict[str, list[str]] = {}  # marker -> faults for its next requests, in order
        self.fault_rates: dict[str, float] = {}  # fault -> share of the requests without a marker fault
        self.requests: list[Received] = []
        self._arrivals: collections.deque[float] = collections.deque()
        self._not_before = 0.0  # global: the RPM limit's and "429quota"'s Retry-After
        self._line_not_before: dict[str, float] = {}  # per marker: a "429"'s Retry-After
        self._random = random.Random(7)
        self._lock = threading.Lock()
        self._server = ThreadedServer(self.app, self.port, "realtime upstream simulator")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def app(self) -> web.Application:
        app = web.Application()
        for path in ("/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/responses", "/v1/moderations"):
            app.router.add_post(path, self._handle)
        app.router.add_get("/_stats", self._stats)
        return app

    def _next_fault(self, marker: str) -> str:
        with self._lock:
            queue = self.faults.get(marker)
            if queue:
                return queue.pop(0)
        draw = self._random.random()
        for fault, rate in self.fault_rates.items():
            if draw < rate:
                return fault
            draw -= rate
        return "ok"

    def _throttled(self, now: float) -> float | None:
        """Seconds to tell a request over the RPM limit to wait, or None when it is within the limit."""
        if self.rpm is None:
            return None
        while self._arrivals and self._arrivals[0] <= now - self.window:
            self._arrivals.popleft()
        if len(self._arrivals) >= self.rpm:
            return self._arrivals[0] + self.window - now
        self._arrivals.append(now)
        return None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        now = time.time()
        body = msgspec.json.decode(await request.read())
        headers = {k.lower(): v for k, v in request.headers.items() if k.lower().startswith(("x-", "authorization"))}
        marker = marker_of(body)
        early = now < self._not_before or now < self._line_not_before.get(marker, 0.0)
        record = Received(now, request.path, headers, body, 200, early=early, clock_at=self.clock())
        self.requests.append(record)
        wait = self._not_before - now if now < self._not_before else self._throttled(now)
        fault = "429quota" if wait is not None else self._next_fault(marker)
        if self.hold_after is not None and len(self.requests) > self.hold_after:
            await asyncio.to_thread(self.released.wait)  # set from the test's thread
        if self.latency:
            await asyncio.sleep(self.latency)
        record.answered_clock_at = self.clock()
        return await self._respond(request.path, record, fault, wait)

    async def _respond(self, path: str, record: Received, fault: str, wait: float | None) -> web.StreamResponse:
        n = len(self.requests)
        hdrs = {"x-request-id": f"req_sim_{n}"}
        if fault in ("429", "429quota"):
            wait = self.retry_after if wait is None else wait
            if fault == "429quota":
                self._not_before = max(self._not_before, time.time() + wait)
                hdrs["x-ratelimit-remaining-requests"] = "0"
            else:
                self._line_not_before[marker_of(record.body)] = time.time() + wait
            hdrs["retry-after-ms"] = str(int(wait * 1000) + 1)
            return self._json(record, 429, {"error": {"message": "Rate limit", "type": "rate_limit", "param": None,
                                                       "code": "rate_limit_exceeded"}}, hdrs)  # fmt: skip
        if fault in ("500", "503", "400"):
            error = {"message": f"simulated {fault}", "type": "server_error", "param": None, "code": None}
            return self._json(record, int(fault), {"error": error}, hdrs)
        if fault == "echo401":  # like some real APIs, quote the key it was sent back in the error
            message = f"Incorrect API key provided: {record.headers.get('authorization', '')}"
            return self._json(record, 401, {"error": {"message": message, "type": "auth", "param": None, "code": None}},
                              hdrs)  # fmt: skip
        if fault == "text502":
            record.status = 502
            return web.Response(status=502, text="<html>Bad gateway</html>", headers=hdrs)
        if fault == "hang":
            await asyncio.sleep(self.hang_seconds)
        if fault == "malformed":
            return web.Response(status=200, text="{not json", headers=hdrs)
        if not path.endswith("/moderations") or self.moderation_usage:
            record.usage = usage_for(record.body, path, cache_hits=self.cache_hits)
        return self._json(record, 200, _success(path, record.body, record.usage, n), hdrs)

    @staticmethod
    def _json(record: Received, status: int, payload: dict[str, Any], headers: dict[str, str]) -> web.Response:
        record.status = status
        return web.Response(status=status, body=msgspec.json.encode(payload), headers=headers,
                            content_type="application/json")  # fmt: skip

    async def _stats(self, _: web.Request) -> web.Response:
        statuses = collections.Counter(str(r.status) for r in self.requests)
        arrivals = [r.at for r in self.requests]
        sends = collections.Counter(marker_of(r.body) for r in self.requests)
        stats = {
            "count": len(self.requests),
            "statuses": statuses,
            "arrivals": arrivals,
            "early": sum(1 for r in self.requests if r.early),
            "most_sends": max(sends.values(), default=0),
        }
        return web.json_response(stats)

    # In-process lifecycle: the server runs on its own loop in a daemon thread.
    def start(self) -> RealtimeUpstream:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> RealtimeUpstream:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--rpm", type=int, default=None)
    parser.add_argument("--fail-429", type=float, default=0.0, help="share of requests answered 429 (per line)")
    parser.add_argument("--fail-500", type=float, default=0.0, help="share of requests answered 500")
    parser.add_argument("--retry-after", type=float, default=1.0, help="seconds told on 429")
    args = parser.parse_args()
    upstream = RealtimeUpstream(args.port, latency=args.latency, rpm=args.rpm)
    upstream.retry_after = args.retry_after
    upstream.fault_rates = {"429": args.fail_429, "500": args.fail_500}
    web.run_app(upstream.app(), host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
