"""go-micro services as LlamaIndex tools: :class:`GoMicroToolkit`."""

from go_micro_toolkit import (
    GoMicroAuthError,
    GoMicroConfig,
    GoMicroConnectionError,
    GoMicroError,
    GoMicroToolError,
    ToolInfo,
)

from .toolkit import GoMicroToolkit, GoMicroToolMetadata

__all__ = [
    "GoMicroAuthError",
    "GoMicroConfig",
    "GoMicroConnectionError",
    "GoMicroError",
    "GoMicroToolError",
    "GoMicroToolMetadata",
    "GoMicroToolkit",
    "ToolInfo",
]
