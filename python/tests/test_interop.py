"""Across processes and languages, found through mDNS inside the network namespace that
python/test.sh makes: a Python service called by the `micro` CLI and the Rust load client,
the Python client calling the Rust helloworld (unary and stream), errors with their codes both
ways, and pub/sub through the HTTP broker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import go_micro
from conftest import FIXTURES, Processes, binary, eventually, needs_netns, run

pytestmark = needs_netns


def registered(name: str) -> bool:
    try:
        services = go_micro.Registry().get_service(name)
    except go_micro.NotFoundError:
        return False
    return any(service["nodes"] for service in services)


@pytest.fixture
def greeter(processes: Processes, tmp_path: Path) -> Path:
    inbox = tmp_path / "inbox.jsonl"
    inbox.touch()
    processes.python(FIXTURES / "greeter.py", env={"GREETER_INBOX": str(inbox)})
    eventually(lambda: registered("pygreeter"), "pygreeter registering")
    return inbox


@pytest.fixture
def helloworld(processes: Processes) -> None:
    processes.start(binary("helloworld"))
    eventually(lambda: registered("helloworld"), "helloworld registering")


def micro(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([binary("micro"), *args], capture_output=True, text=True, timeout=60)


def test_the_micro_cli_calls_a_python_service(greeter: Path) -> None:
    called = micro("call", "pygreeter", "Helloworld.Call", '{"name":"Alice"}')
    assert called.returncode == 0, called.stderr
    assert json.loads(called.stdout) == {"msg": "Hello Alice"}
    later = micro("call", "pygreeter", "Helloworld.Later", '{"name":"Bob"}')
    assert json.loads(later.stdout) == {"msg": "Later Bob"}
    client = go_micro.Client()
    with client.stream("pygreeter", "Helloworld.Stream", {"name": "Py", "count": 2}) as stream:
        assert [m["msg"] for m in stream] == ["Hello Py 1", "Hello Py 2"]
    described = micro("describe", "pygreeter")
    assert "Greets a person by name" in described.stdout


def test_python_errors_reach_the_cli_with_their_codes(greeter: Path) -> None:
    for code in (403, 404, 409):
        failed = micro("call", "pygreeter", "Helloworld.Fail", json.dumps({"code": code}))
        assert failed.returncode == 1
        error = json.loads(failed.stderr.strip().splitlines()[-1])
        assert (error["code"], error["id"], error["detail"]) == (code, "pygreeter", "refused by pygreeter")


def test_the_rust_client_calls_a_python_service(greeter: Path) -> None:
    load = subprocess.run(
        [binary("rpc-load"), "--service", "pygreeter", "-c", "4", "-d", "1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert load.returncode == 0, load.stderr
    result = json.loads(load.stdout.strip().splitlines()[-1])
    assert result["requests"] > 0 and result["errors"] == 0, result


def test_the_python_client_calls_the_rust_helloworld(helloworld: None) -> None:
    client = go_micro.Client()
    assert client.call("helloworld", "Helloworld.Call", {"name": "Py"}) == {"msg": "Hello Py"}
    with client.stream("helloworld", "Helloworld.Stream", {"name": "Py", "count": 3}) as stream:
        assert [m["msg"] for m in stream] == ["Hello Py 1", "Hello Py 2", "Hello Py 3"]

    async def async_side() -> tuple[object, list[str]]:
        answer = await client.acall("helloworld", "Helloworld.Call", {"name": "Async"})
        stream = await client.astream("helloworld", "Helloworld.Stream", {"name": "Async", "count": 2})
        return answer, [m["msg"] async for m in stream]

    assert run(async_side()) == ({"msg": "Hello Async"}, ["Hello Async 1", "Hello Async 2"])


def test_rust_errors_reach_the_python_client_with_their_codes(helloworld: None) -> None:
    client = go_micro.Client()
    with pytest.raises(go_micro.BadRequestError) as bad:
        client.call("helloworld", "Helloworld.Call", {"name": 5})
    assert bad.value.code == 400 and bad.value.detail
    with pytest.raises(go_micro.MicroError) as unknown:
        client.call("helloworld", "Helloworld.Nothing", {})
    assert unknown.value.code in (400, 404, 500) and "Helloworld.Nothing" in unknown.value.detail
    with pytest.raises(go_micro.NotFoundError):
        client.call("not-running", "Nothing.Here", {}, timeout=2)


def test_messages_published_from_python_reach_a_python_subscriber_in_another_process(greeter: Path) -> None:
    client = go_micro.Client()
    client.publish("pygreeter.events", {"order": 1})

    async def publish_async() -> None:
        await client.apublish("pygreeter.events", {"order": 2})

    run(publish_async())
    lines = eventually(
        lambda: len(greeter.read_text().splitlines()) >= 2 and greeter.read_text().splitlines(),
        "two messages arriving",
    )
    assert sorted(json.loads(line)["order"] for line in lines) == [1, 2]


def test_run_stops_cleanly_on_sigterm_and_deregisters(processes: Processes, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox.jsonl"
    child = processes.python(FIXTURES / "greeter.py", env={"GREETER_INBOX": str(inbox)})
    eventually(lambda: registered("pygreeter"), "pygreeter registering")
    child.terminate()
    output, _ = child.communicate(timeout=30)
    assert child.returncode == 0, output
    assert "pygreeter stopped" in output
    eventually(lambda: not registered("pygreeter"), "pygreeter leaving the registry")




def test_the_python_examples_run_against_each_other(processes: Processes) -> None:
    examples = FIXTURES.parent.parent.parent / "examples" / "python"
    service = processes.python(examples / "service.py")
    eventually(lambda: registered("helloworld"), "the example service registering")
    client = subprocess.run(
        [sys.executable, str(examples / "client.py")], capture_output=True, text=True, timeout=60
    )
    assert client.returncode == 0, client.stderr
    assert "{'msg': 'Hello Alice'}" in client.stdout
    assert "as expected, " in client.stdout and "Helloworld.Missing" in client.stdout
    assert "{'msg': 'Hello caller 2'}" in client.stdout
    assert "{'msg': 'Hello Bob 3'}" in client.stdout
    service.terminate()
    output, _ = service.communicate(timeout=30)
    assert "greeting on greetings: {'from': 'client.py'}" in output


def go_tool(name: str) -> str:
    """A go-micro v5.30.0 program from tests/interop/bin (`make go-tools`)."""
    path = FIXTURES.parent.parent.parent / "tests" / "interop" / "bin" / name
    if path.exists():
        return str(path)
    message = f"{path} is missing; build it with `make go-tools`"
    if os.environ.get("MICRO_PY_INTEROP_REQUIRED"):
        pytest.fail(message)
    pytest.skip(message)


def test_go_micros_client_calls_a_python_service(greeter: Path) -> None:
    called = subprocess.run(
        [go_tool("client"), "call", "pygreeter", "Helloworld.Call", '{"name":"Go"}'],
        capture_output=True, text=True, timeout=60,
    )
    assert called.returncode == 0, called.stderr
    assert json.loads(called.stdout) == {"msg": "Hello Go"}
    failed = subprocess.run(
        [go_tool("client"), "call", "pygreeter", "Helloworld.Fail", '{"code":404}'],
        capture_output=True, text=True, timeout=60,
    )
    assert failed.returncode == 2, failed.stderr
    error = json.loads(failed.stderr.strip().splitlines()[-1])
    assert (error["code"], error["id"]) == (404, "pygreeter")
    streamed = subprocess.run(
        [go_tool("client"), "stream", "pygreeter", "Helloworld.Stream", '{"name":"Go","count":3}'],
        capture_output=True, text=True, timeout=60,
    )
    assert streamed.returncode == 0, streamed.stderr
    replies = [json.loads(line)["msg"] for line in streamed.stdout.splitlines()]
    assert replies == ["Hello Go 1", "Hello Go 2", "Hello Go 3"]


def test_the_python_client_calls_go_micros_helloworld(processes: Processes) -> None:
    processes.start(go_tool("helloworld"), "-name", "gohello")
    eventually(lambda: registered("gohello"), "go-micro's helloworld registering")
    client = go_micro.Client()
    assert client.call("gohello", "Helloworld.Call", {"name": "Py"}) == {"msg": "Hello Py"}
    with pytest.raises(go_micro.BadRequestError) as bad:
        client.call("gohello", "Helloworld.Fail", {"name": "Py"})
    assert (bad.value.id, bad.value.detail) == ("gohello", "bad Py")
