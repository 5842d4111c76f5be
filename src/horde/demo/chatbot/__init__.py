"""The ``chatbot`` demo: seed 003's chatbot, set up over HTTP, answering over WebSocket;
and an OpenAI-compatible ``POST /v1/chat/completions`` streaming Server-Sent Events, with
429s by rule (:mod:`.llm`).

A token (``POST /api/auth/token``), a chat session (``POST /api/chat/sessions``), then
questions on ``/ws`` answered in streamed chunks that end with ``"complete_response":
true``. Exactly ``capacity`` answers stream at once (:mod:`.gate`); overload gives 503 on
session setup, 502 and slow handshakes on the WebSocket, and 504 for a queue wait past
``queue_timeout_ms``. Protocol: ``docs/demos/chatbot.md``; messages: :mod:`.protocol`.
"""

from horde.demo.chatbot.app import build_app
from horde.demo.chatbot.llm import LLM_SETTINGS

FAULTS: dict[str, str] = {
    "stall": "every stall_every-th answer stops mid-stream for stall_ms before going on",
}
SETTINGS: dict[str, str] = {
    "capacity": "answers streamed at once; the rest queue (default 10)",
    "queue_max": "answers allowed to wait; beyond it 503/502 (default 100)",
    "queue_timeout_ms": "an answer waiting longer than this gets a 504 error (default 10000)",
    "chunks": "chunks per answer (default 5)",
    "chunk_ms": "time to produce each chunk (default 100)",
    "handshake_ms": "opening handshake delay while every slot is busy (default 1000)",
    "stall_ms": "how long a stalled answer stops (default 5000)",
    "stall_every": "under the stall fault, every Nth answer stalls (default 5)",
    **LLM_SETTINGS,
}

__all__ = ["FAULTS", "SETTINGS", "build_app"]
