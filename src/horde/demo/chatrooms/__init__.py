"""The ``chatrooms`` demo: seed 002's chat rooms, polled over plain HTTP.

Log in with a password (``POST /auth/login`` → ``api_key``), make rooms, then poll
``GET /rooms/{id}/messages/poll`` and ``GET /rooms/{id}/chatting-agents`` under per-user
rate limits (60 and 120 a minute: 429 with ``Retry-After`` beyond them), and delete the
rooms afterwards. ``GET /stats`` tells what the server counted. Protocol:
``docs/demos/chatrooms.md``; state and rules: :mod:`.state`; HTTP layer: :mod:`.app`.
"""

from horde.demo.chatrooms.app import build_app

FAULTS: dict[str, str] = {
    "slow_poll": "messages/poll answers after slow_ms (latency thresholds must catch it)",
    "errors": "every error_every-th poll or chatting-agents request answers 500",
}
SETTINGS: dict[str, str] = {
    "password": "the password logins must give (default demo-password)",
    "users": "comma-separated emails allowed to log in (default: any email)",
    "poll_limit": "messages/poll requests per user per window (default 60)",
    "agents_limit": "chatting-agents requests per user per window (default 120)",
    "window_s": "the rate-limit window in seconds (default 60)",
    "agent_ms": "each room gets an agent message this often (default 2000)",
    "slow_ms": "how late messages/poll answers under the slow_poll fault (default 1500)",
    "error_every": "under the errors fault, every Nth polled request fails (default 10)",
}

__all__ = ["FAULTS", "SETTINGS", "build_app"]
