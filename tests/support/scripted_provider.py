"""A provider for lifecycle tests: it "runs" each line instantly and deterministically, and can be held.

It implements `providers.base.Provider` with its whole state in the opaque state bytes, so it behaves
correctly when a different worker continues a batch. Lines whose custom_id starts with "fail" get an
HTTP 400 error line; everything else succeeds with usage derived from the line.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import msgspec

from providers.base import BatchJob, BlobStore, Finished, PollOutcome, Progress, Running


class _State(msgspec.Struct):
    custom_ids: list[str]
    cancelled: bool = False


class _Line(msgspec.Struct):
    custom_id: str


def result_line(custom_id: str, index: int) -> bytes:
    if custom_id.startswith("fail"):
        body = {"error": {"message": "bad request", "type": "invalid_request_error", "param": None, "code": None}}
        response = {"status_code": 400, "request_id": f"req_{index}", "body": body}
    else:
        usage = {
            "prompt_tokens": 10 + index,
            "completion_tokens": 5,
            "total_tokens": 15 + index,
            "prompt_tokens_details": {"cached_tokens": 2},
        }
        body = {"id": f"chatcmpl-{index}", "object": "chat.completion", "choices": [], "usage": usage}
        response = {"status_code": 200, "request_id": f"req_{index}", "body": body}
    return msgspec.json.encode(
        {"id": f"batch_req_{index}", "custom_id": custom_id, "response": response, "error": None}
    )


class ScriptedProvider:
    def __init__(self, name: str, blobs: BlobStore) -> None:
        self.name = name
        self.blobs = blobs
        self.hold = False  # while True, polls say in_progress
        self.finish_as: str = "completed"
        self.submits: list[str] = []
        self.cancels: list[str] = []
        self.polls = 0

    async def submit(self, job: BatchJob) -> bytes:
        self.submits.append(job.batch_id)
        data = b""
        async for chunk in self.blobs.open_read(job.input_key):
            data += chunk
        ids = [msgspec.json.decode(line, type=_Line).custom_id for line in data.splitlines() if line.strip()]
        return msgspec.json.encode(_State(custom_ids=ids))

    async def poll(self, job: BatchJob, state: bytes) -> tuple[PollOutcome, bytes]:
        self.polls += 1
        current = msgspec.json.decode(state, type=_State)
        total = len(current.custom_ids)
        if current.cancelled:
            done = total // 2
            return Finished(outcome="cancelled", progress=Progress(total=total, completed=done)), state
        if self.hold:
            return Running(progress=Progress(total=total)), state
        outcome = self.finish_as
        return Finished(outcome=outcome, progress=Progress(total=total, completed=total)), state  # type: ignore[arg-type]

    async def cancel(self, job: BatchJob, state: bytes) -> bytes:
        self.cancels.append(job.batch_id)
        current = msgspec.json.decode(state, type=_State)
        return msgspec.json.encode(msgspec.structs.replace(current, cancelled=True))

    async def fetch_results(self, job: BatchJob, state: bytes) -> AsyncIterator[bytes]:
        current = msgspec.json.decode(state, type=_State)
        ids = current.custom_ids[: len(current.custom_ids) // 2] if current.cancelled else current.custom_ids
        for index, custom_id in enumerate(ids):
            yield result_line(custom_id, index)

    async def cleanup(self, job: BatchJob, state: bytes) -> None:
        return None

    async def aclose(self) -> None:
        return None
