"""Shared fixtures: an asyncio runner, the binaries the cross-process tests drive, and child
processes that are always stopped."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures"
REPO = HERE.parent.parent


def run(coro: Any) -> Any:
    """Runs a coroutine on a fresh loop (tests stay plain functions)."""
    return asyncio.run(coro)


def binary(name: str) -> str:
    """A Rust binary the cross-process tests need: from ``$CARGO_TARGET_DIR/debug``; missing
    is a failure when ``MICRO_PY_INTEROP_REQUIRED`` is set (``make python-test``), else a skip."""
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    path = target / "debug" / name
    if path.exists():
        return str(path)
    found = shutil.which(name) if name == "micro" else None
    if found:
        return found
    message = f"{path} is missing; build it with `cargo build -p {name}`"
    if os.environ.get("MICRO_PY_INTEROP_REQUIRED"):
        pytest.fail(message)
    pytest.skip(message)


def in_netns() -> bool:
    """Whether the tests run in the network namespace python/test.sh makes (mDNS stays in it)."""
    return os.environ.get("MICRO_PY_NETNS") == "1"


needs_netns = pytest.mark.skipif(
    not in_netns(),
    reason="cross-process tests use mDNS; run them through python/test.sh, which makes a network namespace",
)


class Processes:
    """Starts child processes and stops every one of them at the end of the test."""

    def __init__(self) -> None:
        self.children: list[subprocess.Popen[str]] = []

    def start(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        child = subprocess.Popen(
            list(args),
            env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.children.append(child)
        return child

    def python(self, script: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        return self.start(sys.executable, str(script), *args, env=env)

    def stop(self) -> None:
        for child in self.children:
            if child.poll() is None:
                child.terminate()
                try:
                    child.wait(10)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()


@pytest.fixture
def processes() -> Iterator[Processes]:
    started = Processes()
    yield started
    started.stop()


def eventually(check: Callable[[], Any], what: str, seconds: float = 20.0) -> Any:
    """Retries ``check`` until it returns a truthy value without raising; fails naming
    ``what`` with the last error once ``seconds`` have passed."""
    last: BaseException | None = None
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except Exception as err:  # noqa: BLE001 - retried, then reported
            last = err
        time.sleep(0.1)
    pytest.fail(f"{what} did not happen within {seconds} s; last error: {last!r}")


@pytest.fixture(scope="session")
def server() -> Iterator[Callable[[str], str]]:
    """Starts a test server (``mysql``, ``postgres``, ``redis``, ...) with scripts/servers.sh and
    gives its URL. The servers are this session's own, with their data in a directory of their
    own (inside python/test.sh's network namespace the host's are out of reach; PostgreSQL, run
    as the postgres user, must reach it, so not under pytest's private temporary directory), and
    are stopped when the session ends."""
    script = str(REPO / "scripts" / "servers.sh")
    env = {**os.environ, "MICRO_SERVERS_DIR": tempfile.mkdtemp(prefix="libmicro-servers-py-")}

    def url(name: str) -> str:
        subprocess.run([script, "start", name], check=True, env=env)
        found = subprocess.run([script, "url", name], check=True, env=env, capture_output=True, text=True)
        return found.stdout.strip()

    yield url
    subprocess.run([script, "stop"], check=False, env=env)
