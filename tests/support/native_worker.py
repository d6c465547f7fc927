"""A native-executor worker as its own process, for kill tests.

    python -m tests.support.native_worker --redis-url URL --base-url URL --blobs DIR --worker-id ID

Runs `NativeProvider.run` until SIGTERM/SIGINT (or until SIGKILLed, which is the point).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path

import redis.asyncio as aioredis

from gateway.ops.runtime import run_on_fastest_loop
from providers.config import NativeSettings
from providers.native.provider import NativeProvider
from providers.native.tuning import NativeTuning
from tests.support.blobs import DirBlobs


async def _main(args: argparse.Namespace) -> None:
    settings = NativeSettings(
        base_url=args.base_url, max_concurrency=args.concurrency, max_attempts=args.max_attempts,
        retry_base_seconds=0.02, retry_max_seconds=0.2,
    )  # fmt: skip
    tuning = NativeTuning(chunk_lines=50, claim_idle_seconds=args.claim_idle, shutdown_grace_seconds=1.0)
    redis = aioredis.Redis.from_url(args.redis_url)
    provider = NativeProvider("local", settings, redis, DirBlobs(Path(args.blobs)), "sk-x", worker_id=args.worker_id,
                              tuning=tuning)  # fmt: skip
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await provider.run(stop)
    finally:
        await provider.aclose()
        await redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--blobs", required=True)
    parser.add_argument("--worker-id", required=True)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--max-attempts", type=int, default=5)
    parser.add_argument("--claim-idle", type=float, default=1.0)
    run_on_fastest_loop(_main(parser.parse_args()))  # the event loop of `batchgate worker`


if __name__ == "__main__":
    main()
