"""How a toolkit reaches a go-micro MCP gateway."""

from __future__ import annotations

from dataclasses import dataclass

#: Where ``micro mcp serve --address :3000`` listens.
DEFAULT_GATEWAY_URL = "http://localhost:3000"


@dataclass
class GoMicroConfig:
    """A gateway connection: its URL (``micro mcp serve``, ``micro server`` or ``micro run``),
    the token (with or without ``Bearer ``), the timeout per request in seconds, and how often
    and how long apart a refused connection, a 429 or a 503 is retried."""

    gateway_url: str = DEFAULT_GATEWAY_URL
    auth_token: str | None = None
    timeout: float = 30.0
    retry_count: int = 3
    retry_delay: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.gateway_url, str) or not self.gateway_url.startswith(("http://", "https://")):
            raise ValueError(
                f"gateway_url {self.gateway_url!r} is not an http(s) URL; "
                f"give one like {DEFAULT_GATEWAY_URL!r}"
            )
        self.gateway_url = self.gateway_url.rstrip("/")
        if self.timeout <= 0:
            raise ValueError(f"timeout must be positive seconds, not {self.timeout!r}")
        if self.retry_count < 0 or self.retry_delay < 0:
            raise ValueError("retry_count and retry_delay cannot be negative")

    @property
    def authorization(self) -> str | None:
        """The ``Authorization`` header value for the token, or ``None`` without one."""
        token = (self.auth_token or "").strip()
        if token[:7].lower() == "bearer ":
            token = token[7:].strip()
        return f"Bearer {token}" if token else None
