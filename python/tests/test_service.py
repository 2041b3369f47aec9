"""Python services called by the Python client in one process, over real loopback sockets,
with an in-process (memory) registry and broker."""

from __future__ import annotations

import asyncio
import enum
import json
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypedDict

import pydantic
import pytest

import go_micro
from conftest import run


@dataclass
class Address:
    city: str


@dataclass
class Person:
    """Who to greet."""

    name: str
    tags: list[str] = field(default_factory=list)
    home: Address | None = None


@dataclass
class Greeting:
    msg: str


class Order(TypedDict):
    item: str
    count: int


class Invoice(pydantic.BaseModel):
    total: float
    items: list[str]


def greeter(registry: go_micro.Registry) -> go_micro.Service:
    svc = go_micro.Service("greeter", registry=registry, broker=go_micro.Broker("memory"))

    @svc.handle("Greeter.Hello")
    def hello(person: Person) -> Greeting:
        """Greets a person by name.

        @example {"name": "Alice"}
        """
        city = f" from {person.home.city}" if person.home else ""
        return Greeting(msg=f"Hello {person.name}{city}")

    @svc.handle("Greeter.Later")
    async def later(person: Person, ctx: go_micro.Context) -> Greeting:
        """Greets after a pause, on the event loop."""
        await asyncio.sleep(0.01)
        return Greeting(msg=f"Later {person.name} ({ctx.metadata.get('X-Caller', '?')})")

    @svc.handle("Greeter.Order")
    def order(req: Order) -> Invoice:
        return Invoice(total=2.5 * req["count"], items=[req["item"]] * req["count"])

    @svc.handle("Greeter.Raw", request_schema={"title": "Query", "type": "object", "properties": {"q": {"type": "string"}}})
    def raw(req: dict) -> dict:
        return {"echo": req}

    @svc.handle("Greeter.Refuse")
    def refuse(req: dict) -> dict:
        raise go_micro.ForbiddenError("members only")

    @svc.handle("Greeter.Crash")
    async def crash(req: dict) -> dict:
        raise ValueError("the handler broke")

    @svc.stream("Greeter.Count")
    def count(person: Person) -> Iterator[Greeting]:
        """Greets once per tag."""
        for tag in person.tags:
            if tag == "boom":
                raise go_micro.ConflictError("boom tag")
            yield Greeting(msg=f"{tag} {person.name}")

    @svc.stream("Greeter.CountLater")
    async def count_later(person: Person) -> AsyncIterator[Greeting]:
        for tag in person.tags:
            await asyncio.sleep(0)
            yield Greeting(msg=f"later {tag} {person.name}")

    @svc.handle("Greeter.Invoice", scopes=["billing"])
    def invoice(req: Invoice) -> Invoice:
        return req

    return svc


@pytest.fixture
def registry() -> go_micro.Registry:
    return go_micro.Registry("memory")


def test_sync_and_async_handlers_answer_the_client(registry: go_micro.Registry) -> None:
    async def scenario() -> None:
        svc = greeter(registry)
        await svc.start()
        try:
            client = go_micro.Client(registry=registry)
            hello = await client.acall("greeter", "Greeter.Hello", {"name": "Alice", "home": {"city": "Rome"}})
            assert hello == {"msg": "Hello Alice from Rome"}
            later = await client.acall(
                "greeter", "Greeter.Later", Person(name="Bob"), metadata={"X-Caller": "tests"}
            )
            assert later == {"msg": "Later Bob (tests)"}
            invoice = await client.acall("greeter", "Greeter.Order", {"item": "tea", "count": 2})
            assert invoice == {"total": 5.0, "items": ["tea", "tea"]}
            many = await asyncio.gather(
                *(client.acall("greeter", "Greeter.Later", {"name": str(i)}) for i in range(50))
            )
            assert [m["msg"].split()[1] for m in many] == [str(i) for i in range(50)]
        finally:
            await svc.stop()

    run(scenario())


def test_blocking_calls_from_another_thread_while_the_loop_serves(registry: go_micro.Registry) -> None:
    async def scenario() -> list[object]:
        svc = greeter(registry)
        await svc.start()
        results: list[object] = []

        def call() -> None:
            client = go_micro.Client(registry=registry)
            results.append(client.call("greeter", "Greeter.Hello", {"name": "Thread"}))
            results.append(client.call("greeter", "Greeter.Later", {"name": "Thread"}))

        thread = threading.Thread(target=call)
        thread.start()
        while thread.is_alive():
            await asyncio.sleep(0.01)
        await svc.stop()
        return results

    assert run(scenario()) == [{"msg": "Hello Thread"}, {"msg": "Later Thread (?)"}]


def test_stream_handlers_sync_and_async_yield_to_the_caller(registry: go_micro.Registry) -> None:
    async def scenario() -> tuple[list[str], list[str], list[str]]:
        svc = greeter(registry)
        await svc.start()
        client = go_micro.Client(registry=registry)
        try:
            stream = await client.astream("greeter", "Greeter.Count", {"name": "Ann", "tags": ["a", "b", "c"]})
            sync_replies = [reply["msg"] async for reply in stream]
            stream = await client.astream("greeter", "Greeter.CountLater", {"name": "Ann", "tags": ["x", "y"]})
            async_replies = [reply["msg"] async for reply in stream]
            stream = await client.astream("greeter", "Greeter.Count", {"name": "Ann", "tags": ["a", "boom"]})
            before_error: list[str] = []
            with pytest.raises(go_micro.ConflictError, match="boom tag"):
                async for reply in stream:
                    before_error.append(reply["msg"])
            return sync_replies, async_replies, before_error
        finally:
            await svc.stop()

    sync_replies, async_replies, before_error = run(scenario())
    assert sync_replies == ["a Ann", "b Ann", "c Ann"]
    assert async_replies == ["later x Ann", "later y Ann"]
    assert before_error == ["a Ann"]


def test_registry_registers_and_deregisters_a_service_running_elsewhere(registry: go_micro.Registry) -> None:
    async def scenario() -> None:
        svc = greeter(registry)
        await svc.start()
        try:
            [record] = registry.get_service("greeter")
            elsewhere = {
                "name": "greeter-elsewhere",
                "version": "2.0.0",
                "metadata": {"site": "b"},
                "endpoints": [],
                "nodes": [{"id": "elsewhere-1", "address": record["nodes"][0]["address"], "metadata": {}}],
            }
            registry.register(elsewhere, ttl=60)
            [found] = registry.get_service("greeter-elsewhere")
            assert (found["version"], found["metadata"], found["nodes"][0]["id"]) == ("2.0.0", {"site": "b"}, "elsewhere-1")
            assert {"greeter", "greeter-elsewhere"} <= {s["name"] for s in registry.list_services()}
            client = go_micro.Client(registry=registry)
            hello = await client.acall("greeter-elsewhere", "Greeter.Hello", {"name": "Eve"})
            assert hello == {"msg": "Hello Eve"}
            registry.deregister(elsewhere)
            with pytest.raises(go_micro.NotFoundError):
                registry.get_service("greeter-elsewhere")
            with pytest.raises(go_micro.BadRequestError, match="service must be a dict"):
                registry.register({"name": 5})
            with pytest.raises(go_micro.BadRequestError, match="ttl must be a non-negative"):
                registry.register(elsewhere, ttl=-1)
        finally:
            await svc.stop()

    run(scenario())


def test_docs_and_schemas_are_published(registry: go_micro.Registry) -> None:
    svc = greeter(registry)

    async def published() -> dict[str, dict[str, object]]:
        await svc.start()
        try:
            [record] = registry.get_service("greeter")
            return {e["name"]: e for e in record["endpoints"]}
        finally:
            await svc.stop()

    endpoints = run(published())
    hello = endpoints["Greeter.Hello"]
    assert hello["metadata"]["description"] == "Greets a person by name."
    assert json.loads(hello["metadata"]["example"]) == {"name": "Alice"}
    assert hello["request"]["type"] == "Person"
    fields = {v["name"]: v["type"] for v in hello["request"]["values"]}
    assert fields == {"name": "string", "tags": "[]string", "home": "Address"}
    request_schema = json.loads(hello["metadata"]["request_schema"])
    assert request_schema["required"] == ["name"]
    assert hello["response"]["type"] == "Greeting"
    order = endpoints["Greeter.Order"]
    assert order["request"]["type"] == "Order"
    assert {v["name"] for v in order["request"]["values"]} == {"item", "count"}
    assert order["response"]["type"] == "Invoice"
    assert {v["name"]: v["type"] for v in order["response"]["values"]} == {"total": "float64", "items": "[]string"}
    assert endpoints["Greeter.Raw"]["request"]["type"] == "Query"
    assert endpoints["Greeter.Invoice"]["metadata"]["scopes"] == "billing"
    assert endpoints["Greeter.Later"]["metadata"]["description"] == "Greets after a pause, on the event loop."
    count = endpoints["Greeter.Count"]
    assert count["metadata"]["stream"] == "true" and count["metadata"]["description"] == "Greets once per tag."
    assert (count["request"]["type"], count["response"]["type"]) == ("Person", "Greeting")


def test_errors_keep_their_codes(registry: go_micro.Registry) -> None:
    async def scenario() -> None:
        svc = greeter(registry)
        await svc.start()
        client = go_micro.Client(registry=registry)
        try:
            with pytest.raises(go_micro.ForbiddenError) as refused:
                await client.acall("greeter", "Greeter.Refuse", {})
            assert (refused.value.code, refused.value.id, refused.value.detail) == (403, "greeter", "members only")
            with pytest.raises(go_micro.InternalServerError) as crashed:
                await client.acall("greeter", "Greeter.Crash", {})
            assert "ValueError: the handler broke" in crashed.value.detail
            with pytest.raises(go_micro.BadRequestError) as bad:
                await client.acall("greeter", "Greeter.Hello", {"nom": "Alice"})
            assert "Person" in bad.value.detail
            with pytest.raises(go_micro.BadRequestError):
                await client.acall("greeter", "Greeter.Hello", "not json")
            with pytest.raises(go_micro.NotFoundError):
                await client.acall("nobody", "Nobody.Home", {}, timeout=2)
            with pytest.raises(go_micro.MicroError) as unknown:
                await client.acall("greeter", "Greeter.Nothing", {})
            assert unknown.value.code in (404, 500) and "Greeter.Nothing" in unknown.value.detail
        finally:
            await svc.stop()

    run(scenario())


def test_errors_from_parts_take_the_class_the_engine_gives_their_code() -> None:
    for code, cls in [
        (404, go_micro.NotFoundError),
        (413, go_micro.BadRequestError),
        (504, go_micro.UnavailableError),
        (507, go_micro.InternalServerError),
    ]:
        error = go_micro.errors.from_parts("svc", code, "why", "Custom")
        assert type(error) is cls, (code, type(error))
        assert (error.id, error.code, error.detail, error.status) == ("svc", code, "why", "Custom")


def test_bad_declarations_fail_clearly(registry: go_micro.Registry) -> None:
    svc = go_micro.Service("broken", registry=registry)

    def no_json() -> None:
        """Does nothing.

        @example {name: Alice}
        """

    with pytest.raises(ValueError, match="@example of .*no_json.* is not JSON"):
        svc.handle("Broken.NoJson")(no_json)
    with pytest.raises(go_micro.BadRequestError, match="must describe an object"):
        svc.handle("Broken.Schema", request_schema={"type": "string"})(lambda req: req)
    with pytest.raises(go_micro.BadRequestError, match="registry"):
        go_micro.Registry("zookeeper")
    with pytest.raises(go_micro.BadRequestError, match="timeout"):
        go_micro.Client(registry=registry).call("x", "X.Y", {}, timeout=-1)
    with pytest.raises(go_micro.BadRequestError, match="dict is not JSON-encodable"):
        go_micro.Client(registry=registry).call("x", "X.Y", {"when": object()})
    with pytest.raises(TypeError, match="takes .request. or .request, context."):
        svc.handle("Broken.TooMany")(lambda a, b, c: None)

    async def not_blocking(req: dict) -> dict:
        return req

    with pytest.raises(TypeError, match="blocking=True is for sync handlers"):
        svc.handle("Broken.Blocking", blocking=True)(not_blocking)


def test_blocking_handlers_leave_the_engine_free(registry: go_micro.Registry) -> None:
    """More sleeping ``blocking=True`` handlers than engine workers, and a quick call still
    answers at once."""
    svc = go_micro.Service("sleepy", registry=registry)

    @svc.handle("Sleepy.Sleep", blocking=True)
    def sleep(req: dict) -> dict:
        time.sleep(1.5)
        return {}

    @svc.handle("Sleepy.Quick")
    def quick(req: dict) -> dict:
        return {"quick": True}

    async def scenario() -> float:
        await svc.start()
        client = go_micro.Client(registry=registry)
        try:
            sleepers = [asyncio.ensure_future(client.acall("sleepy", "Sleepy.Sleep", {})) for _ in range(2 * (os.cpu_count() or 1) + 2)]
            await asyncio.sleep(0.3)
            started = time.monotonic()
            assert await client.acall("sleepy", "Sleepy.Quick", {}) == {"quick": True}
            took = time.monotonic() - started
            await asyncio.gather(*sleepers)
            return took
        finally:
            await svc.stop()

    assert run(scenario()) < 0.5


def test_handlers_calling_the_engine_do_not_hold_it_up(registry: go_micro.Registry) -> None:
    """Sync handlers (not blocking=True) that make blocking go_micro calls, more at once than
    there are engine workers: each call steps aside from its worker, so all complete."""
    svc = go_micro.Service("relay", registry=registry)
    client = go_micro.Client(registry=registry)

    @svc.handle("Relay.Hop")
    def hop(req: dict) -> dict:
        if req.get("left", 0) == 0:
            return {"done": True}
        return client.call("relay", "Relay.Hop", {"left": req["left"] - 1})  # type: ignore[no-any-return]

    async def scenario() -> list[object]:
        await svc.start()
        try:
            calls = (client.acall("relay", "Relay.Hop", {"left": 2}) for _ in range(4 * (os.cpu_count() or 1)))
            return await asyncio.wait_for(asyncio.gather(*calls), 20)
        finally:
            await svc.stop()

    assert all(reply == {"done": True} for reply in run(scenario()))


@dataclass
class Parcel:
    kind: Shade
    sizes: set[int]
    raw: bytes
    note: str = "é ✓"


class Shade(enum.Enum):
    DARK = "dark"


def test_json_in_and_out_as_the_json_module_reads_it() -> None:
    from go_micro._schema import encode, parse

    values: list[object] = [
        {"b": 1, "a": [1.5, 1e-7, 1e300, -0.0, 2**70, -(2**63), True, None, "x\"\n\u2603"]},
        {1: "int key", True: "bool key", None: "null key", 2.5: "float key"},
        [(), (1, "two")],
        {"nested": {"deep": [[{"k": []}]]}},
    ]
    for value in values:
        text = encode(value)
        assert parse(text) == json.loads(json.dumps(value)), text
    assert list(parse(b'{"z": 1, "a": 2, "m": 3}')) == ["z", "a", "m"]
    assert parse(b"") is None
    assert encode(None) == b"{}" and encode(b"[1]") == b"[1]" and encode('"s"') == b'"s"'
    parcel = parse(encode(Parcel(kind=Shade.DARK, sizes={3}, raw=b"\x00\xff")))
    assert parcel == {"kind": "dark", "sizes": [3], "raw": "AP8=", "note": "é ✓"}
    with pytest.raises(ValueError):
        parse(b'{"a": 1} trailing')
    with pytest.raises(TypeError, match="dict is not JSON-encodable"):
        encode({"x": float("nan")})
    cycle: list[object] = []
    cycle.append(cycle)
    with pytest.raises(TypeError, match="list is not JSON-encodable"):
        encode(cycle)


def test_pub_sub_reaches_sync_and_async_subscribers(registry: go_micro.Registry) -> None:
    broker = go_micro.Broker("memory")

    async def scenario() -> list[object]:
        svc = go_micro.Service("listener", registry=registry, broker=broker)
        got: list[object] = []
        arrived = asyncio.Event()

        @svc.subscribe("orders")
        def on_order(message: go_micro.Message) -> None:
            got.append(("sync", message.topic, message.payload))

        @svc.subscribe("orders")
        async def on_order_async(message: go_micro.Message) -> None:
            got.append(("async", message.payload, message.header.get("X-Shop")))
            arrived.set()

        await svc.start()
        try:
            client = go_micro.Client(registry=registry, broker=broker)
            await client.apublish("orders", {"id": 7}, metadata={"X-Shop": "north"})
            await asyncio.wait_for(arrived.wait(), 10)
        finally:
            await svc.stop()
        return got

    got = run(scenario())
    assert ("sync", "orders", {"id": 7}) in got
    assert ("async", {"id": 7}, "north") in got


def write_read_list_delete(store: go_micro.Store) -> None:
    """Records written as bytes and str read back as bytes, by prefix and in key order."""
    store.write("user/1", b"alice")
    store.write("user/2", "bob")
    assert [r.value for r in store.read("user/", prefix=True)] == [b"alice", b"bob"]
    assert store.list(prefix="user/") == ["user/1", "user/2"]
    store.delete("user/1")
    with pytest.raises(go_micro.NotFoundError):
        store.read("user/1")


def test_store_and_broker_objects(tmp_path: object) -> None:
    store = go_micro.Store("memory")
    write_read_list_delete(store)
    with pytest.raises(go_micro.BadRequestError, match="bytes or str"):
        store.write("user/3", 42)  # type: ignore[arg-type]

    publish_subscribe(go_micro.Broker("memory"))


def publish_subscribe(broker: go_micro.Broker) -> None:
    """A message published reaches the subscriber with its topic, body and header (to which a
    broker may add its own, as RabbitMQ's adds Micro-Topic)."""
    got: list[tuple[str, bytes, dict[str, str]]] = []
    done = threading.Event()

    def handler(topic: str, body: bytes, header: dict[str, str]) -> None:
        got.append((topic, body, header))
        done.set()

    topic = f"news-{os.getpid()}"
    subscription = broker.subscribe(topic, handler)
    broker.publish(topic, b"hello", {"k": "v"})
    assert done.wait(10)
    subscription.unsubscribe()
    [(got_topic, body, header)] = got
    assert (got_topic, body, header["k"]) == (topic, b"hello", "v")


@pytest.mark.parametrize("name", ["mysql", "postgres", "redis", "nats"])
def test_stores_on_servers(name: str, server: Callable[[str], str]) -> None:
    write_read_list_delete(go_micro.Store(name, address=server(name), database=f"py_{os.getpid()}"))
    # Nothing listens on port 1: the store says it cannot reach the server, as a 503.
    down = go_micro.Store(name, address=f"{name}://127.0.0.1:1/0")
    with pytest.raises(go_micro.UnavailableError, match="store unavailable"):
        down.read("k")


@pytest.mark.parametrize("options", ["", "?jetstream=true"])
def test_nats_broker_core_and_jetstream(options: str, server: Callable[[str], str]) -> None:
    publish_subscribe(go_micro.Broker("nats", address=server("nats") + options))


def test_a_service_on_the_nats_registry_is_found_and_called(server: Callable[[str], str]) -> None:
    registry = go_micro.Registry("nats", address=server("nats"))
    assert registry.name == "nats"

    async def scenario() -> None:
        svc = greeter(registry)
        await svc.start()
        try:
            client = go_micro.Client(registry=registry)
            assert await client.acall("greeter", "Greeter.Hello", {"name": "Nat"}) == {"msg": "Hello Nat"}
        finally:
            await svc.stop()

    run(scenario())
    with pytest.raises(go_micro.UnavailableError, match="registry unavailable"):
        go_micro.Registry("nats", address="nats://127.0.0.1:1").get_service("greeter")


def test_broker_on_rabbitmq(server: Callable[[str], str]) -> None:
    broker = go_micro.Broker("rabbitmq", address=server("rabbitmq"))
    assert broker.name == "rabbitmq"
    publish_subscribe(broker)
    # Nothing listens on port 1: the broker says it cannot reach the server, as a 503, and
    # never prints the password.
    down = go_micro.Broker("rabbitmq", address="amqp://app:s3cret@127.0.0.1:1/shop")
    with pytest.raises(go_micro.UnavailableError, match="broker unavailable") as raised:
        down.publish("news", b"lost")
    assert "s3cret" not in str(raised.value)


def test_gateway_and_mcp_serve_python_endpoints(registry: go_micro.Registry) -> None:
    import urllib.request

    async def scenario() -> tuple[object, object]:
        svc = greeter(registry)
        await svc.start()
        gateway = await go_micro.Gateway(registry=registry, store=go_micro.Store("memory")).astart("127.0.0.1:0")
        mcp = go_micro.serve_mcp("127.0.0.1:0", registry=registry, store=go_micro.Store("memory"))
        assert mcp is not None
        try:

            def post(url: str, body: object) -> object:
                request = urllib.request.Request(
                    url, json.dumps(body).encode(), {"Content-Type": "application/json"}
                )
                with urllib.request.urlopen(request, timeout=10) as response:
                    return json.loads(response.read())

            api = await asyncio.to_thread(
                post, f"http://{gateway.address}/api/greeter/Greeter.Hello", {"name": "Web"}
            )
            with urllib.request.urlopen(f"http://{mcp.address}/mcp/tools", timeout=10) as response:
                tools = json.loads(response.read())
        finally:
            await gateway.astop()
            await mcp.astop()
            await svc.stop()
        return api, tools

    api, tools = run(scenario())
    assert api == {"msg": "Hello Web"}
    described = {t["name"]: t.get("description", "") for t in tools["tools"]}  # type: ignore[index]
    assert any("Greets a person by name" in d for d in described.values()), described


def test_tools_list_and_call_in_process_as_the_mcp_server_does(registry: go_micro.Registry) -> None:
    import urllib.request

    store = go_micro.Store("memory")

    async def scenario() -> dict[str, Any]:
        svc = greeter(registry)

        @svc.handle("Greeter.Named", metadata={"mcp_name": "greet_by_name"})
        def named(person: Person) -> Greeting:
            """Greets, under a tool name of its own."""
            return Greeting(msg=f"Named {person.name}")

        await svc.start()
        mcp = go_micro.serve_mcp("127.0.0.1:0", registry=registry, store=store)
        assert mcp is not None
        tools = go_micro.Tools(registry=registry, store=store)
        try:
            with urllib.request.urlopen(f"http://{mcp.address}/mcp/tools", timeout=10) as response:
                served = json.loads(response.read())["tools"]
            return {
                "served": served,
                "listed": tools.list(),
                "alisted": await tools.alist(),
                "hello": tools.call("greeter.Greeter.Hello", {"name": "Tool"}),
                "named": await tools.acall("greet_by_name", '{"name": "Own"}'),
                "registry": tools.call("micro_registry_list"),
                "refused": await _raised(tools.acall("greeter.Greeter.Refuse", {})),
                "unknown": await _raised(tools.acall("greeter.Greeter.Nope", {})),
                "not_object": await _raised(tools.acall("greeter.Greeter.Hello", [1])),
                "timed_out": await _raised(
                    go_micro.Tools(registry=registry, timeout=0.001).acall("greeter.Greeter.Later", {"name": "Slow"})
                ),
            }
        finally:
            await mcp.astop()
            await svc.stop()

    got = run(scenario())
    # One catalogue: in-process listing and the MCP server's agree, tool for tool.
    assert got["listed"] == got["served"] == got["alisted"]
    names = [t["name"] for t in got["listed"]]
    assert "greet_by_name" in names and "greeter.Greeter.Named" not in names
    assert "greeter.Greeter.Count" not in names  # streams are not tools
    framework = [n for n in names if n.startswith("micro_")]
    assert len(framework) == 6 and names[-6:] == framework  # the framework tools come last
    hello = next(t for t in got["listed"] if t["name"] == "greeter.Greeter.Hello")
    assert "Greets a person by name" in hello["description"]
    assert hello["inputSchema"]["type"] == "object" and "name" in hello["inputSchema"]["properties"]
    assert hello["example"] == {"name": "Alice"}
    assert got["hello"] == {"msg": "Hello Tool"}
    assert got["named"] == {"msg": "Named Own"}
    assert "greeter" in json.dumps(got["registry"])
    refused, unknown, not_object = got["refused"], got["unknown"], got["not_object"]
    assert isinstance(refused, go_micro.ForbiddenError) and refused.detail == "members only"
    assert isinstance(unknown, go_micro.NotFoundError) and "unknown tool" in unknown.detail
    assert isinstance(not_object, go_micro.BadRequestError), not_object
    assert isinstance(got["timed_out"], go_micro.TimeoutError), got["timed_out"]


async def _raised(call: Any) -> BaseException:
    """The exception awaiting ``call`` raises (failing the test if it raises none)."""
    try:
        await call
    except Exception as e:  # noqa: BLE001 - the test inspects whatever it is
        return e
    raise AssertionError("the call succeeded; an error was expected")
