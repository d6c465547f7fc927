"""The simulated service's memory: files, batches, and each batch's life from validating to a terminal state."""

from __future__ import annotations

import asyncio
import itertools
import random
import time

import msgspec

from tests.support.batch_upstream import results
from tests.support.batch_upstream.options import SimOptions
from tests.support.batch_upstream.wire import BatchObject, Counts, FileObject, InputLine, Usage, fake_usage

__all__ = ["Store"]

_line_decoder = msgspec.json.Decoder(InputLine)


class _Body(msgspec.Struct):
    model: str = ""


_body_decoder = msgspec.json.Decoder(_Body)
_ACTIVE = frozenset({"validating", "in_progress", "finalizing"})


def _now() -> int:
    return int(time.time())


class Store:
    def __init__(self, options: SimOptions) -> None:
        self.options = options
        self.files: dict[str, FileObject] = {}
        self.contents: dict[str, bytes] = {}
        self.batches: dict[str, BatchObject] = {}
        self.models_seen: dict[str, set[str]] = {}  # batch id -> body.model values the upstream received
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08d}{random.randrange(16**6):06x}"

    def add_file(self, filename: str, purpose: str, data: bytes) -> FileObject:
        file = FileObject(
            id=self._new_id(self.options.file_id_prefix),
            bytes=len(data),
            created_at=_now(),
            filename=filename,
            purpose=purpose,
        )
        self.files[file.id] = file
        self.contents[file.id] = data
        return file

    def create_batch(
        self, input_file_id: str, endpoint: str, window: str, metadata: dict[str, str] | None
    ) -> BatchObject:
        now = _now()
        batch = BatchObject(
            id=self._new_id("batch_"), endpoint=endpoint, input_file_id=input_file_id, completion_window=window,
            created_at=now, expires_at=now + 86400, metadata=metadata,
        )  # fmt: skip
        self.batches[batch.id] = batch
        self._spawn(self._run(batch))
        return batch

    def cancel(self, batch: BatchObject) -> None:
        if batch.status in _ACTIVE:
            batch.status, batch.cancelling_at = "cancelling", _now()
            self._spawn(self._finish_cancel(batch))

    def _spawn(self, coro: object) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _lines(self, batch: BatchObject) -> list[InputLine]:
        data = self.contents.get(batch.input_file_id, b"")
        return [_line_decoder.decode(raw) for raw in data.splitlines() if raw.strip()]

    async def _run(self, batch: BatchObject) -> None:
        options = self.options
        await asyncio.sleep(options.validating_seconds)
        if batch.status != "validating":
            return
        lines = self._lines(batch)
        self.models_seen[batch.id] = {_body_decoder.decode(line.body).model for line in lines}
        if options.validation_errors or len(lines) > options.max_requests_per_batch:
            self._fail(batch, len(lines))
            return
        batch.status, batch.in_progress_at = "in_progress", _now()
        batch.request_counts = Counts(total=len(lines))
        batch.model = next(iter(self.models_seen[batch.id]), None)
        if options.hang:
            return
        await asyncio.sleep(options.in_progress_seconds)
        if batch.status != "in_progress":
            return
        if options.expire:
            self._write_results(batch, lines, int(len(lines) * options.expire_fraction), "batch_expired")
            batch.status, batch.expired_at = "expired", _now()
            return
        batch.status, batch.finalizing_at = "finalizing", _now()
        await asyncio.sleep(options.finalizing_seconds)
        if batch.status != "finalizing":
            return
        self._write_results(batch, lines, len(lines), None)
        batch.status, batch.completed_at = "completed", _now()

    def _fail(self, batch: BatchObject, total: int) -> None:
        errors = self.options.validation_errors or [
            {"code": "too_many_tasks", "message": f"{total} requests exceed the limit.", "param": None, "line": None}
        ]
        batch.errors = {"object": "list", "data": errors}
        batch.status, batch.failed_at = "failed", _now()

    async def _finish_cancel(self, batch: BatchObject) -> None:
        await asyncio.sleep(self.options.cancelling_seconds)
        lines = self._lines(batch) if batch.in_progress_at is not None else []
        self._write_results(batch, lines, len(lines) // 2, None)
        batch.status, batch.cancelled_at = "cancelled", _now()

    def _write_results(self, batch: BatchObject, lines: list[InputLine], ran: int, never_ran_code: str | None) -> None:
        """Lines [0, ran) ran; with a code, the rest get never-ran error lines. Both files are shuffled."""
        failing = set(self.options.failed_custom_ids)
        output: list[bytes] = []
        errors: list[bytes] = []
        usage = Usage()
        for line in lines[:ran]:
            body = bytes(line.body)
            if line.custom_id in failing:
                errors.append(results.error_line(line.custom_id))
                continue
            output.append(results.ok_line(line.custom_id, body, batch.endpoint, self.options))
            prompt, cached, completion = fake_usage(line.custom_id, body)
            completion = 0 if batch.endpoint == "/v1/embeddings" else completion
            usage.input_tokens += prompt
            usage.output_tokens += completion
            usage.input_tokens_details["cached_tokens"] += cached
        if never_ran_code is not None:
            errors.extend(results.never_ran_line(line.custom_id, never_ran_code) for line in lines[ran:])
        usage.total_tokens = usage.input_tokens + usage.output_tokens
        batch.usage = usage
        batch.request_counts = Counts(total=len(lines), completed=len(output), failed=ran - len(output))
        batch.output_file_id = self._result_file(batch, "output", output)
        batch.error_file_id = self._result_file(batch, "error", errors)

    def _result_file(self, batch: BatchObject, kind: str, lines: list[bytes]) -> str | None:
        if not lines:
            return None
        random.Random(batch.id + kind).shuffle(lines)
        data = b"".join(line + b"\n" for line in lines)
        return self.add_file(f"{batch.id}_{kind}.jsonl", self.options.output_purpose, data).id
