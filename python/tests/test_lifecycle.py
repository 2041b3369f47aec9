"""The engine across fork() and interpreter exit."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import go_micro
from conftest import FIXTURES, run


def test_a_forked_child_gets_a_fresh_engine_and_a_clear_error_for_inherited_objects() -> None:
    registry = go_micro.Registry("memory")
    client = go_micro.Client(registry=registry)
    with pytest.raises(go_micro.NotFoundError):
        client.call("nobody", "Nobody.Home", {}, timeout=1)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report through the pipe, never return into pytest
        status = 1
        try:
            os.close(read)
            report = []
            try:
                client.call("nobody", "Nobody.Home", {}, timeout=1)
                report.append("inherited client worked")
            except go_micro.MicroError as err:
                report.append("fork" if "fork()" in err.detail else f"other: {err!r}")

            async def serve_in_child() -> object:
                mine = go_micro.Registry("memory")
                svc = go_micro.Service("child", registry=mine)
                svc.handle("Child.Pid")(lambda req: {"pid": os.getpid()})
                await svc.start()
                try:
                    return await go_micro.Client(registry=mine).acall("child", "Child.Pid", {})
                finally:
                    await svc.stop()

            answer = run(serve_in_child())
            report.append("served" if answer == {"pid": os.getpid()} else f"wrong: {answer}")
            os.write(write, ",".join(report).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write)
    with os.fdopen(read) as pipe:
        report = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert report == "fork,served"
    with pytest.raises(go_micro.NotFoundError):
        client.call("nobody", "Nobody.Home", {}, timeout=1)


def test_exit_with_a_running_service_and_a_call_in_flight_is_clean() -> None:
    done = subprocess.run(
        [sys.executable, str(FIXTURES / "exits.py")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "leaving" in done.stdout
    assert "panicked" not in done.stderr and "PanicException" not in done.stderr, done.stderr
    # The call left in flight ends with the clear error, not a hang or a crash.
    assert "runtime shut down before this call finished" in done.stderr, done.stderr


def test_calls_after_shutdown_fail_clearly() -> None:
    script = (
        "import go_micro, go_micro._native as n\n"
        "n.shutdown()\n"
        "try:\n"
        "    go_micro.Client(registry=go_micro.Registry('memory'))\n"
        "except go_micro.MicroError as e:\n"
        "    print(e.detail)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "shut down" in done.stdout
