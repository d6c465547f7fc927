"""`python -m tests.support.batch_upstream --port N [--flavour deepseek|deepinfra] [--api-key K]`."""

from __future__ import annotations

import argparse
import asyncio

import msgspec
from aiohttp import web

from tests.support.batch_upstream.app import Recorder, build_app
from tests.support.batch_upstream.faults import Faults
from tests.support.batch_upstream.options import DEEPINFRA, DEEPSEEK
from tests.support.batch_upstream.store import Store


async def _serve(port: int, flavour: str, api_key: str) -> None:
    options = msgspec.structs.replace(DEEPINFRA if flavour == "deepinfra" else DEEPSEEK, api_key=api_key)
    runner = web.AppRunner(build_app(Store(options), Faults(), Recorder()), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print(f"batch upstream listening on http://127.0.0.1:{port}/v1", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--flavour", choices=["deepseek", "deepinfra"], default="deepseek")
    parser.add_argument("--api-key", default="sk-upstream")
    args = parser.parse_args()
    asyncio.run(_serve(args.port, args.flavour, args.api_key))


if __name__ == "__main__":
    main()
