"""The simulator's HTTP surface: OpenAI Files + Batches under /v1, and a /_sim control surface for tests."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence

import msgspec
from aiohttp import BodyPartReader, web

from tests.support.batch_upstream.faults import Fault, Faults, Route
from tests.support.batch_upstream.options import SimOptions
from tests.support.batch_upstream.store import Store
from tests.support.batch_upstream.wire import BatchObject, FileObject

__all__ = ["Recorder", "build_app"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class _CreateBody(msgspec.Struct):
    input_file_id: str
    endpoint: str
    completion_window: str
    metadata: dict[str, str] | None = None


class Recorder:
    """What the upstream saw: every Authorization header and a call count per route."""

    def __init__(self) -> None:
        self.authorizations: list[str | None] = []
        self.calls: Counter[str] = Counter()


def _json(obj: object, status: int = 200) -> web.Response:
    return web.Response(body=msgspec.json.encode(obj), status=status, content_type="application/json")


def _malformed() -> web.Response:
    return web.Response(status=200, text='{"object": "batch", "id": ', content_type="application/json")


def _error(status: int, message: str, fault: Fault | None = None) -> web.Response:
    response = _json({"error": {"message": message, "type": "server_error", "param": None, "code": None}}, status)
    if fault is not None and fault.retry_after is not None:
        response.headers["Retry-After"] = fault.retry_after
    if fault is not None and fault.retry_after_ms is not None:
        response.headers["retry-after-ms"] = str(fault.retry_after_ms)
    return response


class _Api:
    def __init__(self, store: Store, faults: Faults, recorder: Recorder) -> None:
        self.store, self.faults, self.recorder = store, faults, recorder

    def guarded(self, route: Route, handler: Handler) -> Handler:
        async def wrapper(request: web.Request) -> web.StreamResponse:
            self.recorder.authorizations.append(request.headers.get("Authorization"))
            self.recorder.calls[route] += 1
            if request.headers.get("Authorization") != f"Bearer {self.store.options.api_key}":
                return _error(401, "Incorrect API key provided.")
            if self.store.options.batch_api_status:  # as DeepSeek's API answers a path it does not have
                return _error(self.store.options.batch_api_status, "Not Found")
            fault = self.faults.take(route)
            if fault is not None and fault.hang_seconds > 0:
                await asyncio.sleep(fault.hang_seconds)
            if fault is not None and fault.slow_only:
                return await handler(request)
            if fault is not None and not fault.after_commit:
                return _malformed() if fault.malformed else _error(fault.status, "Simulated upstream fault.", fault)
            response = await handler(request)
            if fault is None:
                return response
            return _malformed() if fault.malformed else _error(fault.status, "Simulated fault after commit.", fault)

        return wrapper

    async def upload(self, request: web.Request) -> web.StreamResponse:
        reader = await request.multipart()
        purpose, filename, data = "", "upload", bytearray()
        async for part in reader:
            if not isinstance(part, BodyPartReader):
                continue
            if part.name == "purpose":
                purpose = (await part.read()).decode()
            elif part.name == "file":
                filename = part.filename or "upload"
                while chunk := await part.read_chunk(1 << 16):
                    data += chunk
        return _json(self.store.add_file(filename, purpose, bytes(data)))

    async def list_files(self, request: web.Request) -> web.StreamResponse:
        purpose = request.query.get("purpose")
        files = [f for f in reversed(self.store.files.values()) if purpose is None or f.purpose == purpose]
        return _json(_page(files, request, 10000))

    async def delete_file(self, request: web.Request) -> web.StreamResponse:
        file_id = request.match_info["id"]
        if self.store.files.pop(file_id, None) is None:
            return _error(404, f"No such File object: {file_id}")
        self.store.contents.pop(file_id, None)
        return _json({"id": file_id, "object": "file", "deleted": True})

    async def content(self, request: web.Request) -> web.StreamResponse:
        data = self.store.contents.get(request.match_info["id"])
        if data is None:
            return _error(404, "No such File object.")
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        response.content_length = len(data)
        await response.prepare(request)
        view = memoryview(data)
        for start in range(0, len(data), 1 << 16):
            await response.write(view[start : start + (1 << 16)])
        await response.write_eof()
        return response

    async def create(self, request: web.Request) -> web.StreamResponse:
        body = msgspec.json.decode(await request.read(), type=_CreateBody)
        if body.input_file_id not in self.store.files:
            return _error(404, f"No such File object: {body.input_file_id}")
        if (body.metadata or {}).get("batchgate_shard") in self.store.options.refused_shards:
            return _error(400, "Simulated refusal of this batch.")
        return _json(self.store.create_batch(body.input_file_id, body.endpoint, body.completion_window, body.metadata))

    async def list_batches(self, request: web.Request) -> web.StreamResponse:
        batches = list(reversed(self.store.batches.values()))
        return _json(_page(batches, request, 20, self.store.options.list_batches_max_limit))

    async def retrieve(self, request: web.Request) -> web.StreamResponse:
        batch = self.store.batches.get(request.match_info["id"])
        return _json(batch) if batch is not None else _error(404, "No such batch.")

    async def cancel(self, request: web.Request) -> web.StreamResponse:
        batch = self.store.batches.get(request.match_info["id"])
        if batch is None:
            return _error(404, "No such batch.")
        if batch.status not in ("validating", "in_progress", "finalizing", "cancelling"):
            return _error(400, f"Cannot cancel a batch with status {batch.status}.")
        self.store.cancel(batch)
        return _json(batch)


def _page(
    items: Sequence[FileObject | BatchObject], request: web.Request, default: int, cap: int = 10000
) -> dict[str, object]:
    after = request.query.get("after")
    limit = min(int(request.query.get("limit", default)), cap)
    ids = [item.id for item in items]
    start = ids.index(after) + 1 if after in ids else 0
    data = items[start : start + limit]
    first = data[0].id if data else None
    last = data[-1].id if data else None
    return {"object": "list", "data": data, "first_id": first, "last_id": last, "has_more": start + limit < len(items)}


def _control_routes(app: web.Application, store: Store, faults: Faults, recorder: Recorder) -> None:
    async def set_options(request: web.Request) -> web.StreamResponse:
        store.options = msgspec.json.decode(await request.read(), type=SimOptions)
        return _json({"ok": True})

    async def add_fault(request: web.Request) -> web.StreamResponse:
        faults.add(msgspec.json.decode(await request.read(), type=Fault))
        return _json({"ok": True})

    async def stats(request: web.Request) -> web.StreamResponse:
        statuses = Counter(batch.status for batch in store.batches.values())
        return _json({"calls": dict(recorder.calls), "batches": dict(statuses), "files": len(store.files)})

    app.router.add_post("/_sim/options", set_options)
    app.router.add_post("/_sim/faults", add_fault)
    app.router.add_get("/_sim/stats", stats)


def build_app(store: Store, faults: Faults, recorder: Recorder) -> web.Application:
    api = _Api(store, faults, recorder)
    app = web.Application(client_max_size=1 << 30)
    routes: list[tuple[str, str, Route, Handler]] = [
        ("POST", "/v1/files", "upload", api.upload),
        ("GET", "/v1/files", "list_files", api.list_files),
        ("DELETE", "/v1/files/{id}", "delete_file", api.delete_file),
        ("GET", "/v1/files/{id}/content", "content", api.content),
        ("POST", "/v1/batches", "create", api.create),
        ("GET", "/v1/batches", "list_batches", api.list_batches),
        ("GET", "/v1/batches/{id}", "retrieve", api.retrieve),
        ("POST", "/v1/batches/{id}/cancel", "cancel", api.cancel),
    ]
    for method, path, route, handler in routes:
        app.router.add_route(method, path, api.guarded(route, handler))
    _control_routes(app, store, faults, recorder)
    return app
