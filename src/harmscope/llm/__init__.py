"""Talking to chat LLMs: an OpenAI-compatible client, and a minimal local OpenAI-compatible server around
a small model shipped on PyPI (SmolLM2-135M-Instruct by default). See docs/llm.md.

Nothing heavy is imported here: httpx when a client first sends, torch/transformers when a local model
first loads.
"""

from __future__ import annotations

from harmscope.llm._client import (
    FORMAT_LEVELS,
    ChatClient,
    ChatCompletion,
    ChatOutcome,
    EndpointUnreachableError,
    FormatKind,
    JsonSchema,
    Message,
    ResponseFormat,
    Usage,
)
from harmscope.llm._http import EndpointRejectedError, api_key_from_env, api_root, resolve_base_url
from harmscope.llm._local_model import (
    ContextLengthError,
    Generation,
    GenerationRequest,
    LocalChatModel,
    StreamChunk,
)
from harmscope.llm._local_server import (
    ChatBackend,
    ChatRequest,
    LocalChatServer,
    RequestError,
    parse_chat_request,
    start_local_server,
)

__all__ = [
    "FORMAT_LEVELS", "ChatBackend", "ChatClient", "ChatCompletion", "ChatOutcome", "ChatRequest",
    "ContextLengthError", "EndpointRejectedError", "EndpointUnreachableError", "FormatKind", "Generation",
    "GenerationRequest", "JsonSchema", "LocalChatModel", "LocalChatServer", "Message", "RequestError",
    "ResponseFormat", "StreamChunk", "Usage", "api_key_from_env", "api_root", "parse_chat_request",
    "resolve_base_url", "start_local_server",
]
