"""Leftover temporary files of local writes: a dead writer's or a very old one go; a live writer's stay."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from gateway.storage.local import LocalStorage


async def test_sweep_removes_dead_and_ancient_partials_only(tmp_path: Path) -> None:
    host = socket.gethostname().replace(".", "_")
    finished = subprocess.Popen([sys.executable, "-c", "pass"])  # noqa: ASYNC220 - a pid that is surely gone
    finished.wait()
    files = tmp_path / "files"
    files.mkdir()
    mine = files / f".file-a.{host}-{os.getpid()}.0a.part"
    gone = files / f".file-b.{host}-{finished.pid}.0b.part"
    elsewhere = files / ".file-c.otherhost-1.0c.part"
    ancient = files / ".file-d.otherhost-1.0d.part"
    kept = files / "file-e"
    for path in (mine, gone, elsewhere, ancient, kept):
        path.write_bytes(b"x")
    old = time.time() - 7 * 3600
    os.utime(ancient, (old, old))
    removed = await LocalStorage(tmp_path).sweep_partials()
    assert removed == 2
    assert sorted(p.name for p in files.iterdir()) == sorted([mine.name, elsewhere.name, kept.name])
