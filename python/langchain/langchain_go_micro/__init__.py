"""go-micro services as LangChain tools: :class:`GoMicroToolkit`."""

from go_micro_toolkit import (
    GoMicroAuthError,
    GoMicroConfig,
    GoMicroConnectionError,
    GoMicroError,
    GoMicroToolError,
    ToolInfo,
)

from .toolkit import GoMicroToolkit

__all__ = [
    "GoMicroAuthError",
    "GoMicroConfig",
    "GoMicroConnectionError",
    "GoMicroError",
    "GoMicroToolError",
    "GoMicroToolkit",
    "ToolInfo",
]
