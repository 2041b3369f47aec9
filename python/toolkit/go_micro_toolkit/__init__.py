"""What the go-micro LangChain and LlamaIndex toolkits share: :class:`Toolkit` (the catalogue
of tools from a gateway or the engine in-process, with names every model API accepts), the
gateway client, JSON Schema to pydantic models, and the errors."""

from .config import DEFAULT_GATEWAY_URL, GoMicroConfig
from .errors import GoMicroAuthError, GoMicroConnectionError, GoMicroError, GoMicroToolError
from .gateway import Gateway
from .names import is_safe, safe_names
from .schema import model_from_schema
from .toolkit import Source, ToolInfo, Toolkit

__all__ = [
    "DEFAULT_GATEWAY_URL",
    "Gateway",
    "GoMicroAuthError",
    "GoMicroConfig",
    "GoMicroConnectionError",
    "GoMicroError",
    "GoMicroToolError",
    "Source",
    "ToolInfo",
    "Toolkit",
    "is_safe",
    "model_from_schema",
    "safe_names",
]
