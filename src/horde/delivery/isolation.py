"""Isolation: no session may ever see data that belongs to another session.

A scenario marks tokens as its own (``user.isolation.own(token)``: a session id, a private
room name, a per-user secret it put in its messages) and passes what it receives to
``user.isolation.inspect(payload)``. Any registered token that belongs to a different
user is an isolation failure: counted as error ``isolation_failure`` and kept as an
example (who saw whose token, and the text around it).

How tokens are found — measured with 5,000 registered 16-hex tokens and a 1.3 KB JSON
payload: one regex alternation of every token scans in 6.4 ms and compiles in 105 ms; a
trie-shaped regex scans in 39 µs but compiles in 206 ms, and it must be rebuilt each time
a user joins; splitting the payload into *words* (runs of ``[A-Za-z0-9_-]``) and looking
each one up in a dict takes 17 µs, costs nothing when tokens change and does not grow with
their number. So a token must itself be such a word (at least 4 characters), and it is
found only as a whole word: "user-3" is not found inside "user-30" (a substring match
would cry wolf there), and a token glued to other word characters is not found at all.
UUIDs, hex and base64url ids all qualify.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from horde.errors import ScenarioError
from horde.metrics import names

if TYPE_CHECKING:
    from horde.metrics.recorder import Recorder

WORD = re.compile(r"[A-Za-z0-9_\-]{4,}")
EXAMPLES = 5
EXCERPT = 60  # characters either side of the token


@dataclass(slots=True)
class _Counts:
    inspected: int = 0
    failures: int = 0
    examples: list[dict[str, str]] = field(default_factory=list)


class IsolationTracker:
    """Which user owns which token, and every payload inspected for foreign ones."""

    def __init__(self, recorder: Recorder, *, examples: int = EXAMPLES) -> None:
        self.recorder = recorder
        self._owner: dict[str, str] = {}  # token → user name
        self._tokens: dict[str, list[str]] = {}  # user name → its tokens (for forget)
        self._counts = _Counts()
        self._max_examples = examples
        self._views: dict[str, UserIsolation] = {}

    def view(self, user_name: str) -> UserIsolation:
        """The handle ``user.isolation`` returns: this tracker, bound to one user."""
        found = self._views.get(user_name)
        if found is None:
            found = self._views[user_name] = UserIsolation(self, user_name)
        return found

    def own(self, user_name: str, token: str) -> None:
        """``token`` belongs to ``user_name``; seen by anyone else it is a failure."""
        if not isinstance(token, str) or not WORD.fullmatch(token):
            raise ScenarioError(
                f"isolation token {token!r} must be a word of 4+ characters from "
                "[A-Za-z0-9_-] (e.g. a uuid or hex id)"
            )
        owner = self._owner.get(token)
        if owner is not None and owner != user_name:
            raise ScenarioError(
                f"isolation token {token!r} is already owned by {owner}, not {user_name}"
            )
        if owner is None:
            self._owner[token] = user_name
            self._tokens.setdefault(user_name, []).append(token)

    def inspect(self, user_name: str, payload: Any) -> int:
        """Scan what ``user_name`` received; returns how many foreign tokens it held.
        ``payload``: text, bytes (UTF-8), or anything JSON-able (serialized once)."""
        text = _text(payload)
        self._counts.inspected += 1
        owner_of = self._owner
        found = 0
        seen: set[str] = set()
        for match in WORD.finditer(text):
            token = match.group()
            owner = owner_of.get(token)
            if owner is None or owner == user_name or token in seen:
                continue
            seen.add(token)
            found += 1
            self._fail(user_name, owner, token, _excerpt(text, match.start(), match.end()))
        return found

    def forget(self, user_name: str) -> None:
        """A user stopped: its tokens are released, so memory stays bounded in long
        open-model runs (a departed user's token seen later is no longer caught)."""
        self._views.pop(user_name, None)
        for token in self._tokens.pop(user_name, ()):
            self._owner.pop(token, None)

    def snapshot(self) -> dict[str, Any]:
        """results.json ``isolation``."""
        c = self._counts
        return {
            "tokens": len(self._owner),
            "inspected": c.inspected,
            "failures": c.failures,
            "examples": list(c.examples),
        }

    def _fail(self, seen_by: str, owner: str, token: str, excerpt: str) -> None:
        c = self._counts
        c.failures += 1
        self.recorder.error(
            names.ISOLATION_FAILURE, None, f"{seen_by} saw {owner}'s token {token}: {excerpt}"
        )
        if len(c.examples) < self._max_examples:
            c.examples.append(
                {"seen_by": seen_by, "owner": owner, "token": token, "excerpt": excerpt}
            )


class UserIsolation:
    """``user.isolation``: checks that no session sees another's data (docs/push-checks.md).

    Each user owns the tokens of its session (:meth:`own`), then inspects what it
    receives (:meth:`inspect`); a token another user owns is an ``isolation_failure``
    with an example::

        user.isolation.own(task_id)
        user.isolation.inspect(await ws.receive())
    """

    __slots__ = ("_tracker", "user_name")

    def __init__(self, tracker: IsolationTracker, user_name: str) -> None:
        self._tracker = tracker
        self.user_name = user_name

    def own(self, token: str) -> None:
        """``token`` belongs to this user (session); nobody else may ever see it."""
        self._tracker.own(self.user_name, token)

    def inspect(self, payload: Any) -> int:
        """Check what this user received for other users' tokens; returns how many."""
        return self._tracker.inspect(self.user_name, payload)


def _text(payload: Any) -> str:
    if isinstance(payload, str):
        return payload
    if isinstance(payload, bytes | bytearray | memoryview):
        return bytes(payload).decode("utf-8", "replace")
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str)


def _excerpt(text: str, start: int, end: int) -> str:
    low, high = max(0, start - EXCERPT), min(len(text), end + EXCERPT)
    return ("…" if low else "") + text[low:high] + ("…" if high < len(text) else "")
