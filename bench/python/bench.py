"""Measures the Python binding against Rust across processes, on one machine, in one run
(inside the network namespace run.sh makes; python/benches/handler.rs, which run.sh runs
first, compares a Python handler with a Rust one inside one process):

1. handler overhead: the Rust load client (bench/rpc/load) calling Helloworld.Call served by
   the Rust helloworld, by a sync Python handler and by an async Python handler; one caller
   (latency: the difference of the p50s is what the Python handler adds per call) and 64
   callers (throughput);
2. Python client throughput: go_micro.Client calling the Rust helloworld sequentially, from 8
   threads, and with asyncio (64 calls in flight), against the Rust client doing the same.

Prints a Markdown table per part."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import go_micro

HERE = Path(__file__).parent
TARGET = Path(os.environ["CARGO_TARGET_DIR"]) / "release"
SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))


def wait_registered(name: str) -> None:
    registry = go_micro.Registry()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if any(s["nodes"] for s in registry.get_service(name)):
                return
        except go_micro.NotFoundError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{name} did not register")


def rust_load(service: str, callers: int) -> dict[str, float]:
    out = subprocess.run(
        [str(TARGET / "rpc-load"), "--service", service, "-c", str(callers), "-d", str(SECONDS)],
        capture_output=True, text=True, check=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def python_sequential(client: go_micro.Client) -> float:
    calls, until = 0, time.monotonic() + SECONDS
    while time.monotonic() < until:
        client.call("helloworld", "Helloworld.Call", {"name": "Alice"})
        calls += 1
    return calls / SECONDS


def python_threads(client: go_micro.Client, threads: int) -> float:
    counts = [0] * threads
    until = time.monotonic() + SECONDS

    def caller(i: int) -> None:
        while time.monotonic() < until:
            client.call("helloworld", "Helloworld.Call", {"name": "Alice"})
            counts[i] += 1

    workers = [threading.Thread(target=caller, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(counts) / SECONDS


def python_asyncio(client: go_micro.Client, in_flight: int) -> float:
    async def run() -> int:
        until = time.monotonic() + SECONDS
        calls = 0

        async def caller() -> None:
            nonlocal calls
            while time.monotonic() < until:
                await client.acall("helloworld", "Helloworld.Call", {"name": "Alice"})
                calls += 1

        await asyncio.gather(*(caller() for _ in range(in_flight)))
        return calls

    return asyncio.run(run()) / SECONDS


def main() -> None:
    children = [
        subprocess.Popen([str(TARGET / "helloworld")], stderr=subprocess.DEVNULL),
        subprocess.Popen([sys.executable, str(HERE / "service.py")], stderr=subprocess.DEVNULL),
        subprocess.Popen([sys.executable, str(HERE / "service.py"), "--async"], stderr=subprocess.DEVNULL),
    ]
    try:
        for name in ("helloworld", "pyhello", "pyhello-async"):
            wait_registered(name)
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(
            f"{SECONDS:g} s per run, {os.cpu_count()} CPUs (load average {load} at the start), "
            f"Python {sys.version.split()[0]}, release builds\n"
        )
        print("| handler (called by the Rust client) | 1 caller: p50 µs | 1 caller: calls/s | 64 callers: calls/s | 64 callers: p99 µs |")
        print("|---|---|---|---|---|")
        for label, service in (
            ("Rust (examples/helloworld)", "helloworld"),
            ("Python, sync handler", "pyhello"),
            ("Python, async handler", "pyhello-async"),
        ):
            one, many = rust_load(service, 1), rust_load(service, 64)
            print(f"| {label} | {one['p50_us']:.0f} | {one['rps']:.0f} | {many['rps']:.0f} | {many['p99_us']:.0f} |")
        client = go_micro.Client()
        client.call("helloworld", "Helloworld.Call", {"name": "warm"})
        print("\n| client calling the Rust helloworld | calls/s |")
        print("|---|---|")
        print(f"| Python, sequential `call` | {python_sequential(client):.0f} |")
        print(f"| Python, `call` from 8 threads | {python_threads(client, 8):.0f} |")
        print(f"| Python, `acall` with 64 in flight | {python_asyncio(client, 64):.0f} |")
        print(f"| Rust client (bench/rpc/load), 1 caller | {rust_load('helloworld', 1)['rps']:.0f} |")
        print(f"| Rust client (bench/rpc/load), 64 callers | {rust_load('helloworld', 64)['rps']:.0f} |")
    finally:
        for child in children:
            child.terminate()
            child.wait(10)


if __name__ == "__main__":
    main()
