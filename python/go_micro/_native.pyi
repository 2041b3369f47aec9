# Type stubs of the extension module go_micro._native (python/src); `make python-test` checks
# them against the built module with mypy's stubtest.
from collections.abc import Callable
from typing import Any, final

from typing_extensions import TypeAlias

from .errors import MicroError

__all__ = [
    "Registry",
    "Store",
    "Record",
    "Broker",
    "Subscription",
    "Client",
    "Stream",
    "Service",
    "Running",
    "Reply",
    "Emit",
    "Gateway",
    "Server",
    "Tools",
    "Model",
    "Agent",
    "Events",
    "serve_mcp",
    "shutdown",
    "parse",
    "encode",
    "error_from_parts",
    "__version__",
]
__version__: str

_Done: TypeAlias = Callable[[Any, BaseException | None], None]

@final
class Registry:
    def __new__(cls, name: str | None = None, address: str | None = None) -> Registry: ...
    @property
    def name(self) -> str: ...
    def list_services(self) -> list[dict[str, Any]]: ...
    def get_service(self, name: str) -> list[dict[str, Any]]: ...
    def register(self, service: dict[str, Any], *, ttl: float | None = None) -> None: ...
    def deregister(self, service: dict[str, Any]) -> None: ...

@final
class Record:
    @property
    def key(self) -> str: ...
    @property
    def value(self) -> bytes: ...
    @property
    def expiry(self) -> float | None: ...

@final
class Store:
    def __new__(
        cls,
        name: str | None = None,
        address: str | None = None,
        database: str | None = None,
        table: str | None = None,
    ) -> Store: ...
    def read(
        self,
        key: str,
        *,
        prefix: bool = False,
        suffix: bool = False,
        limit: int = 0,
        offset: int = 0,
        database: str | None = None,
        table: str | None = None,
    ) -> list[Record]: ...
    def write(
        self,
        key: str,
        value: bytes | str,
        *,
        ttl: float | None = None,
        database: str | None = None,
        table: str | None = None,
    ) -> None: ...
    def delete(self, key: str, *, database: str | None = None, table: str | None = None) -> None: ...
    def list(
        self,
        *,
        prefix: str = ...,
        suffix: str = ...,
        limit: int = 0,
        offset: int = 0,
        database: str | None = None,
        table: str | None = None,
    ) -> list[str]: ...

@final
class Subscription:
    def unsubscribe(self) -> None: ...

@final
class Broker:
    def __new__(
        cls, name: str | None = None, registry: Registry | None = None, address: str | None = None
    ) -> Broker: ...
    @property
    def name(self) -> str: ...
    def publish(self, topic: str, body: bytes | str, header: dict[str, str] | None = None) -> None: ...
    def subscribe(
        self,
        topic: str,
        handler: Callable[[str, bytes, dict[str, str]], object],
        queue: str | None = None,
    ) -> Subscription: ...

@final
class Stream:
    def send(self, body: bytes | str, *, done: _Done | None = None) -> None: ...
    def recv(self, *, done: _Done | None = None) -> bytes | None: ...
    def close(self, *, done: _Done | None = None) -> None: ...

@final
class Client:
    def __new__(cls, registry: Registry | None = None, broker: Broker | None = None) -> Client: ...
    def call(
        self,
        service: str,
        endpoint: str,
        body: bytes | str,
        *,
        timeout: float | None = None,
        metadata: dict[str, str] | None = None,
        retries: int | None = None,
        address: list[str] | None = None,
        content_type: str | None = None,
        done: _Done | None = None,
    ) -> bytes: ...
    def stream(
        self,
        service: str,
        endpoint: str,
        *,
        timeout: float | None = None,
        metadata: dict[str, str] | None = None,
        content_type: str | None = None,
        done: _Done | None = None,
    ) -> Stream: ...
    def publish(
        self,
        topic: str,
        body: bytes | str,
        *,
        metadata: dict[str, str] | None = None,
        content_type: str | None = None,
        done: _Done | None = None,
    ) -> None: ...

@final
class Running:
    @property
    def address(self) -> str: ...
    def stop(self, *, grace: float | None = None, done: _Done | None = None) -> None: ...

@final
class Reply:
    def __call__(self, response: Any, exception: BaseException | None = None) -> None: ...

@final
class Emit:
    def send(self, body: bytes) -> None: ...
    def end(self, exception: BaseException | None = None) -> None: ...

@final
class Service:
    def __new__(
        cls,
        name: str,
        *,
        version: str | None = None,
        address: str | None = None,
        registry: Registry | None = None,
        broker: Broker | None = None,
        store: Store | None = None,
        metadata: dict[str, str] | None = None,
    ) -> Service: ...
    @property
    def name(self) -> str: ...
    def handle(
        self,
        endpoint: str,
        invoke: Callable[..., Any],
        *,
        is_async: bool = False,
        blocking: bool = False,
        context: bool = False,
    ) -> None: ...
    def stream(
        self, endpoint: str, invoke: Callable[[Any, dict[str, str], Emit], object]
    ) -> None: ...
    def describe(self, endpoint: str, description: str, example: str) -> None: ...
    def schemas(
        self,
        endpoint: str,
        request: tuple[str, str] | None = None,
        response: tuple[str, str] | None = None,
    ) -> None: ...
    def endpoint_metadata(self, endpoint: str, key: str, value: str) -> None: ...
    def subscribe(
        self,
        topic: str,
        invoke: Callable[[str, bytes, dict[str, str]], object],
        queue: str | None = None,
    ) -> None: ...
    def start(self, *, done: _Done | None = None) -> Running: ...

@final
class Server:
    @property
    def address(self) -> str: ...
    def stop(self, *, done: _Done | None = None) -> None: ...

@final
class Gateway:
    def __new__(
        cls,
        *,
        registry: Registry | None = None,
        store: Store | None = None,
        broker: Broker | None = None,
        mcp: bool = True,
        max_body_size: int | None = None,
    ) -> Gateway: ...
    def start(self, address: str = ..., *, done: _Done | None = None) -> Server: ...

@final
class Tools:
    def __new__(
        cls,
        *,
        registry: Registry | None = None,
        store: Store | None = None,
        broker: Broker | None = None,
        timeout: float | None = None,
    ) -> Tools: ...
    def list(self, *, done: _Done | None = None) -> list[dict[str, Any]]: ...
    def call(self, name: str, arguments: Any = None, *, done: _Done | None = None) -> Any: ...

@final
class Model:
    def __new__(
        cls,
        provider: str | None = None,
        model: str | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
    ) -> Model: ...
    @property
    def provider(self) -> str: ...
    @property
    def name(self) -> str: ...
    def generate(self, request: dict[str, Any], *, done: _Done | None = None) -> dict[str, Any]: ...
    def stream(self, request: dict[str, Any]) -> Events: ...

_Invoke: TypeAlias = Callable[[Any, Reply], None]

@final
class Agent:
    def __new__(
        cls,
        model: Model,
        *,
        specs: list[Any] | None = None,
        tools: Tools | None = None,
        max_steps: int | None = None,
    ) -> Agent: ...
    def generate(
        self, request: dict[str, Any], invoke: _Invoke | None = None, *, done: _Done | None = None
    ) -> dict[str, Any]: ...
    def stream(self, request: dict[str, Any], invoke: _Invoke | None = None) -> Events: ...

@final
class Events:
    def recv(self, *, done: _Done | None = None) -> dict[str, Any] | None: ...

def serve_mcp(
    address: str | None = None,
    *,
    registry: Registry | None = None,
    store: Store | None = None,
    broker: Broker | None = None,
    done: _Done | None = None,
) -> Server | None: ...
def shutdown() -> None: ...
def parse(body: bytes) -> Any: ...
def error_from_parts(id: str, code: int, detail: str, status: str = "") -> MicroError: ...
def encode(value: Any) -> bytes: ...
