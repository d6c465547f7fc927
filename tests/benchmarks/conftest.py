"""Benchmarks run against what the product ships, not the test suite's stricter settings:

- the event loop is uvloop (`serve` gets it through uvicorn's loop="auto", `batchgate worker` directly);
  a test marked `@pytest.mark.asyncio(loop_factories=LOOPS)` runs once on each loop, so a figure can be
  compared with the stdlib loop's;
- Redis appends with `appendfsync everysec`, as deploy/compose.yaml and the embedded Redis run it (the
  suite's own Redis fsyncs every write, for the tests that kill it);
- the garbage collector is tuned as the native executor tunes its process, for every benchmark (not only
  after the first executor run), so figures do not depend on the order benchmarks run in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Mapping

import pytest
import uvloop

from providers.native.collector import tune_collector
from tests.support.collector import collector_restored
from tests.support.redis_server import RedisServer

PRODUCT_LOOP = "uvloop"
_FACTORIES: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    PRODUCT_LOOP: uvloop.new_event_loop,
    "asyncio": asyncio.new_event_loop,
}
LOOPS = list(_FACTORIES)


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    marker = item.get_closest_marker("asyncio")
    if marker is not None and "loop_factories" in marker.kwargs:
        return _FACTORIES
    return {PRODUCT_LOOP: _FACTORIES[PRODUCT_LOOP]}


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"), appendfsync="everysec")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session", autouse=True)
def product_gc() -> Iterator[None]:
    with collector_restored():
        tune_collector()
        yield
