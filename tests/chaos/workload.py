"""What a chaos round submits, through the openai SDK, and a client that rides out killed replicas.

Calls go to the API replicas in turn; a connection error or a 5xx (a replica being killed, Redis being
restarted, storage full) is retried on the next replica until a deadline. A create retried after a lost
answer may make a second gateway batch: that is fine, the invariants check every batch the gateway has.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable
from typing import TypeVar

import msgspec
import openai

from tests.conftest import TENANT_KEYS
from tests.support.workflow import jsonl, line

__all__ = ["Plan", "Resilient", "plans_for_round"]

T = TypeVar("T")
_RETRYABLE = (openai.APIConnectionError, openai.InternalServerError, openai.APITimeoutError)


class Plan(msgspec.Struct, kw_only=True):
    name: str
    model: str
    ids: list[str]
    expect: frozenset[str]  # acceptable terminal statuses
    failing: list[str] = msgspec.field(default_factory=list)  # lines the upstream answers with an error
    short_window: bool = False  # created through the replica whose window_seconds is tiny
    cancel: bool = False  # cancelled once it runs
    batch_id: str | None = None

    def body(self) -> bytes:
        return jsonl([line(custom_id, model=self.model) for custom_id in self.ids])


def plans_for_round(rng: random.Random, round_no: int) -> list[Plan]:
    done, ended = frozenset({"completed"}), frozenset({"cancelled", "completed"})
    # The upstream takes 5 s, the window is 3 s: expiry wins unless the kills keep every worker from stepping
    # the batch until the upstream has finished every line, and then `completed` is right (nothing is lost:
    # check_round still finds each custom_id exactly once). tests/e2e/test_expiry.py pins expiry strictly.
    expired = frozenset({"expired", "completed"})

    def ids(prefix: str, low: int, high: int) -> list[str]:
        return [f"r{round_no}-{prefix}-{i}" for i in range(rng.randint(low, high))]

    plans = [
        Plan(name="deepseek", model="deepseek-chat", ids=ids("ds", 30, 60), expect=done),
        Plan(name="deepinfra", model="llama-di", ids=ids("di", 20, 40), expect=done),
        Plan(name="native", model="local-model", ids=ids("nat", 200, 400), expect=done),
        Plan(name="native-cancel", model="local-model", ids=ids("cx", 1500, 2000), expect=ended, cancel=True),
        Plan(name="expiring", model="llama-di", ids=ids("exp", 10, 20), expect=expired, short_window=True),
        Plan(name="deepseek-late", model="deepseek-chat", ids=ids("dsl", 20, 40), expect=done),
        Plan(name="native-late", model="local-model", ids=ids("natl", 100, 200), expect=done),
    ]
    for plan in plans:
        if plan.name in ("deepseek", "deepinfra", "native"):
            plan.failing = rng.sample(plan.ids, 3)
    return plans


class Resilient:
    """The openai SDK over every API replica, retrying what a dying replica or Redis restart causes."""

    def __init__(self, urls: list[str], deadline_seconds: float = 60.0) -> None:
        self.clients = [openai.OpenAI(base_url=url, api_key=TENANT_KEYS["alpha"], max_retries=0) for url in urls]
        self._turn = itertools.cycle(range(len(self.clients)))
        self.deadline_seconds = deadline_seconds
        self.retries = 0

    def call(self, action: Callable[[openai.OpenAI], T]) -> T:
        deadline = time.monotonic() + self.deadline_seconds
        while True:
            client = self.clients[next(self._turn)]
            try:
                return action(client)
            except _RETRYABLE:
                if time.monotonic() > deadline:
                    raise
                self.retries += 1
                time.sleep(0.2)

    def submit(self, plan: Plan, short: openai.OpenAI | None = None) -> str:
        upload = self.call(lambda sdk: sdk.files.create(file=(f"{plan.name}.jsonl", plan.body()), purpose="batch"))

        def create(sdk: openai.OpenAI) -> str:
            target = short if plan.short_window and short is not None else sdk
            batch = target.batches.create(
                input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h"
            )
            return batch.id

        plan.batch_id = self.call(create)
        return plan.batch_id

    def close(self) -> None:
        for client in self.clients:
            client.close()
