"""`app_factory()` for ASGI servers started by import path (benchmarks compare servers with it).

Reads the config named by BATCHGATE_CONFIG and logs at warning level; no worker runs in it.
"""

from __future__ import annotations

from litestar import Litestar

from gateway.config.settings import load_settings
from gateway.http.app import create_app
from gateway.ops.logs import configure_logging


def app_factory() -> Litestar:
    configure_logging("warning", json=True)
    return create_app(load_settings())
