"""A pytest plugin for the toolkits' tests: the real ``micro`` gateway and the helloworld
service as child processes, finding each other over mDNS. Multicast must stay off real
interfaces, so the tests refuse to run outside a network namespace of their own (run them
with ``scripts/toolkit.sh`` or ``make toolkit-test``). Enable with
``pytest_plugins = ["go_micro_toolkit.testing"]``.

``MICRO_BIN`` and ``HELLOWORLD_BIN`` name the binaries; by default they are looked up in
``$CARGO_TARGET_DIR/debug``.
"""

from __future__ import annotations

import asyncio
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

HELLO = "helloworld.Helloworld.Call"
_WAIT = 30.0


@dataclass
class Served:
    """A running ``micro`` child: its base URL and process."""

    url: str
    process: subprocess.Popen
    output: queue.Queue


def binary(variable: str, name: str) -> str:
    """The path of a binary the tests run, or a failure saying how to build it."""
    path = os.environ.get(variable)
    if not path:
        target = os.environ.get("CARGO_TARGET_DIR", str(Path(__file__).resolve().parents[3] / "target"))
        path = os.path.join(target, "debug", name)
    if not os.access(path, os.X_OK):
        pytest.fail(
            f"{path} is missing: build it with `cargo build -p micro-cli -p helloworld` or set {variable}"
        )
    return path


def in_own_netns() -> bool:
    """True when loopback is the only network interface, as in ``unshare -n``."""
    return [name for _, name in socket.if_nameindex()] == ["lo"]


def _environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MICRO_") or k in ("MICRO_BIN",)}
    env.update(HOME=str(home), MICRO_REGISTRY="mdns", MICRO_BROKER_ADDRESS="127.0.0.1:0")
    return env


def start(args: list[str], home: Path, label: str | None) -> Served:
    """Starts ``args`` with HOME ``home`` (made if missing); with ``label``, waits for the
    line ``<label> http://...`` and keeps its URL."""
    home.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        args, env=_environment(home), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: queue.Queue = queue.Queue()

    def pump() -> None:
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    if label is None:
        return Served("", process, lines)
    seen = []
    deadline = time.monotonic() + _WAIT
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=deadline - time.monotonic())
        except queue.Empty:
            break
        if line is None:
            break
        seen.append(line)
        words = line.split()
        if words[:1] == [label] and len(words) > 1 and words[1].startswith("http://"):
            url = "http://" + words[1][len("http://") :].split("/")[0]
            return Served(url, process, lines)
    stop(process)
    pytest.fail(f"{args} never printed its {label} address; it printed:\n{''.join(seen)}")


def stop(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL if it lingers."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for_tool(url: str, token: str | None = None, tool: str = HELLO) -> None:
    """Polls ``GET /mcp/tools`` until ``tool`` is listed (mDNS answers take a moment)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    deadline = time.monotonic() + _WAIT
    last = ""
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"{url}/mcp/tools", headers=headers, timeout=5)
            last = response.text
            if any(t.get("name") == tool for t in response.json().get("tools", [])):
                return
        except (httpx.HTTPError, ValueError) as e:
            last = repr(e)
        time.sleep(0.2)
    pytest.fail(f"{tool} never showed up at {url}/mcp/tools: {last}")


@pytest.fixture(scope="session")
def home(tmp_path_factory) -> Path:
    """Where each child gets a HOME of its own (its store and auth keys)."""
    if not in_own_netns():
        pytest.fail(
            "these tests multicast (mDNS): run them in a network namespace of their own, "
            "with scripts/toolkit.sh or make toolkit-test"
        )
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="session")
def helloworld(home) -> Iterator[Served]:
    """examples/helloworld, registered over mDNS."""
    served = start([binary("HELLOWORLD_BIN", "helloworld")], home / "helloworld", None)
    yield served
    stop(served.process)


@pytest.fixture(scope="session")
def gateway(home, helloworld) -> Iterator[str]:
    """``micro mcp serve --address``, auth off, once it lists helloworld: its URL."""
    served = start(
        [binary("MICRO_BIN", "micro"), "mcp", "serve", "--address", "127.0.0.1:0"], home / "gateway", "MCP"
    )
    wait_for_tool(served.url)
    yield served.url
    stop(served.process)


@pytest.fixture(scope="session")
def rate_limited_gateway(home, helloworld) -> Iterator[str]:
    """``micro mcp serve`` allowing one call per 5 s per tool and account, no burst above it
    (slow enough that a loaded machine cannot refill it between two calls of a test)."""
    args = ["mcp", "serve", "--address", "127.0.0.1:0", "--rate-limit", "0.2", "--rate-burst", "1"]
    served = start([binary("MICRO_BIN", "micro"), *args], home / "limited", "MCP")
    wait_for_tool(served.url)
    yield served.url
    stop(served.process)


class Server:
    """``micro server`` with auth on: log in, make accounts, scope endpoints."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.admin = self.login("admin", "micro")

    def login(self, account: str, password: str) -> str:
        """A token for ``account``."""
        response = httpx.post(f"{self.url}/auth/login", json={"id": account, "password": password})
        assert response.status_code == 200, response.text
        return response.json()["token"]

    def form(self, path: str, **fields: str) -> None:
        """Posts an admin form, as the dashboard would (CSRF cookie and field)."""
        response = httpx.post(
            f"{self.url}{path}",
            data={**fields, "csrf": "toolkit-tests"},
            headers={"Authorization": f"Bearer {self.admin}", "Cookie": "micro_csrf=toolkit-tests"},
        )
        assert response.status_code in (200, 303), f"{path}: {response.status_code} {response.text}"

    def user(self, account: str, password: str, scopes: str) -> str:
        """Creates a user holding ``scopes`` (comma-separated) and returns its token."""
        self.form("/auth/users", id=account, password=password, kind="user", scopes=scopes)
        return self.login(account, password)


@pytest.fixture(scope="session")
def server(home, helloworld) -> Iterator[Server]:
    """``micro server`` (auth on, MCP at /mcp) once it lists helloworld to the admin."""
    served = start(
        [binary("MICRO_BIN", "micro"), "server", "--address", "127.0.0.1:0"], home / "server", "Dashboard"
    )
    server = Server(served.url)
    wait_for_tool(served.url, server.admin)
    yield server
    stop(served.process)


def run_example(name: str, gateway: str) -> str:
    """Runs ``examples/python/<name>`` against ``gateway`` with this Python and no real model,
    asserts it succeeded and returns what it printed."""
    example = Path(__file__).resolve().parents[3] / "examples" / "python" / name
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "MICRO_TOKEN")}
    done = subprocess.run(
        [sys.executable, str(example), "Say hello"],
        env={**env, "GATEWAY_URL": gateway},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"{name} failed:\n{done.stdout}{done.stderr}"
    return done.stdout


#: The in-process shop service's order endpoint: a nested request, documented.
ORDER = "shop.Orders.Create"
#: Its endpoint that always fails with a 409.
REFUSE = "shop.Orders.Refuse"


@dataclass
class Address:
    """Where to ship."""

    city: str
    lines: list[str]


@dataclass
class OrderRequest:
    """An order: items and where they go."""

    items: list[str]
    address: Address
    rush: bool = False


def go_micro_or_skip():
    """The go_micro module; without it the in-process tests skip, or fail when
    ``MICRO_TOOLKIT_LOCAL_REQUIRED=1`` (as ``scripts/toolkit.sh`` sets it)."""
    if os.environ.get("MICRO_TOOLKIT_LOCAL_REQUIRED") == "1":
        import go_micro

        return go_micro
    return pytest.importorskip("go_micro", reason="the go-micro package is not installed")


@pytest.fixture(scope="session")
def memory_registry() -> Iterator[object]:
    """A memory registry with the shop service (written in Python with go_micro) in it,
    served in this process."""
    go_micro = go_micro_or_skip()
    registry = go_micro.Registry("memory")
    shop = go_micro.Service(
        "shop", registry=registry, broker=go_micro.Broker("memory"), address="127.0.0.1:0"
    )

    @shop.handle("Orders.Create")
    def create(order: OrderRequest) -> dict:
        """Places an order and says where it ships.

        @example {"items": ["tea"], "address": {"city": "Oslo", "lines": ["Storgata 1"]}}
        """
        return {"count": len(order.items), "city": order.address.city, "rush": order.rush}

    @shop.handle("Orders.Refuse")
    def refuse(order: dict) -> dict:
        """Refuses every order."""
        raise go_micro.ConflictError("the shop is closed")

    @shop.handle("Orders.Status", metadata={"mcp_name": "order_status"})
    def status(query: dict) -> dict:
        """Says how orders are doing, as the tool the endpoint names itself."""
        return {"status": "shipped"}

    asyncio.run(shop.start())
    yield registry
    shop.stop_now()
