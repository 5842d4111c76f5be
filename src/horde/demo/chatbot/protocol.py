"""The chatbot demo's messages and session bookkeeping, without I/O (seed 003).

Setup is two HTTP calls: a token, then a chat session that names the WebSocket to open.
Over the WebSocket the client sends questions; each answer streams back as ``chunks``
messages, the last one flagged ``"complete_response": true``. Errors end an answer the
same way, so a client waiting for the flag never hangs.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

COURSES = ("MED1060", "BUMA1000")


@dataclass(frozen=True, slots=True)
class ChatSession:
    session_id: str
    connection_id: str
    user_id: str
    course: str

    def as_json(self) -> dict[str, str]:
        return {
            "session_id": self.session_id,
            "connection_id": self.connection_id,
            "course": self.course,
            "ws_url": f"/ws?session_id={self.session_id}&connection_id={self.connection_id}",
        }


class Sessions:
    """Tokens (``POST /api/auth/token``) and chat sessions made with them."""

    def __init__(self) -> None:
        self.tokens: dict[str, str] = {}  # token → user id
        self.sessions: dict[str, ChatSession] = {}

    def issue_token(self, user_id: str) -> str:
        token = secrets.token_urlsafe(24)
        self.tokens[token] = user_id
        return token

    def user_of(self, authorization: str) -> str | None:
        """The user a ``Bearer`` header stands for, or None."""
        scheme, _, token = authorization.partition(" ")
        return self.tokens.get(token) if scheme.lower() == "bearer" else None

    def open(self, user_id: str, course: str) -> ChatSession:
        session = ChatSession(
            f"s-{secrets.token_hex(8)}", f"c-{secrets.token_hex(8)}", user_id, course
        )
        self.sessions[session.session_id] = session
        return session

    def find(self, session_id: str, connection_id: str) -> ChatSession | None:
        session = self.sessions.get(session_id)
        return session if session and session.connection_id == connection_id else None


@dataclass(frozen=True, slots=True)
class Question:
    message_id: str
    question: str
    course: str


def parse_question(text: str, fallback_id: str) -> Question:
    """``{"action": "sendMessage", "question": ..., "message_id"?, "course"?}``.

    Raises ValueError with the reason when the message is not a question.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise ValueError("not JSON") from None
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    if data.get("action", "sendMessage") != "sendMessage":
        raise ValueError(f"unknown action {data.get('action')!r}")
    question = data.get("question")
    if not isinstance(question, str) or not question:
        raise ValueError("'question' must be a non-empty string")
    message_id = str(data.get("message_id") or fallback_id)
    return Question(message_id, question, str(data.get("course") or ""))


def answer_chunks(question: Question, chunks: int) -> list[str]:
    """The answer's text in ``chunks`` pieces; it quotes the question so replies can be
    matched to what was asked."""
    head = f"Answer to {question.question[:60]!r}"
    return [head if i == 0 else f" part {i + 1} of {chunks}." for i in range(chunks)]


def chunk_message(
    session_id: str, message_id: str, index: int, text: str, last: bool
) -> dict[str, Any]:
    return {
        "type": "chunk",
        "session_id": session_id,
        "message_id": message_id,
        "chunk_index": index,
        "content": text,
        "complete_response": last,
    }


ERRORS = {
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    400: "Bad Request",
}


def error_message(
    session_id: str, message_id: str | None, status: int, detail: str
) -> dict[str, Any]:
    return {
        "type": "error",
        "session_id": session_id,
        "message_id": message_id,
        "status": status,
        "error": ERRORS.get(status, "Error"),
        "detail": detail,
        "complete_response": True,
    }
