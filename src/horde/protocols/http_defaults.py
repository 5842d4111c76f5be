"""What every request of one HTTP client carries unless it says otherwise: default
headers and the ``auth=`` shorthand.

:class:`DefaultHeaders` is the mutable mapping behind ``user.http.headers``
(``user.http.headers.update({"Authorization": "Bearer x"})``, as Locust's
``client.headers``). It keeps the names as given (sent that way), looks them up without
regard to case, refuses CR/LF injection when a header is set — not at the request that
would have carried it — and caches the formatted header block, so a request without
headers of its own still costs one string append.
"""

from __future__ import annotations

import base64
from collections.abc import Container, Iterator, Mapping, MutableMapping

from horde.errors import UsageError
from horde.protocols.http import format_headers

__all__ = ["Auth", "DefaultHeaders", "authorization"]

Auth = tuple[str, str] | str  # (user, password) for Basic, a token for Bearer


def authorization(auth: Auth) -> str:
    """The ``Authorization`` value for ``auth``: a ``(user, password)`` tuple is Basic, a
    string is a Bearer token. Anything else is the scenario's mistake (a UsageError)."""
    if isinstance(auth, str):
        return f"Bearer {auth}"
    if isinstance(auth, tuple) and len(auth) == 2 and all(isinstance(p, str) for p in auth):
        pair = f"{auth[0]}:{auth[1]}".encode()
        return f"Basic {base64.b64encode(pair).decode('ascii')}"
    raise UsageError(f"auth= takes (user, password) or a bearer token string, not {auth!r}")


class DefaultHeaders(MutableMapping[str, str]):
    """A client's default request headers: case-insensitive, names kept as given.

    A request's own ``headers=`` override these field by field; the rest are sent as
    they are. Changing them affects the client's next request (a request already
    written is not changed). ``version`` counts the changes, so a client can keep request
    bytes made with them until it moves.
    """

    __slots__ = ("_block", "_fields", "version")

    def __init__(self, items: Mapping[str, str] | None = None) -> None:
        self._fields: dict[str, tuple[str, str]] = {}  # lower-case name -> (name, value)
        self._block: str | None = None
        self.version = 0
        if items:
            self.update(items)

    def __getitem__(self, name: str) -> str:
        return self._fields[name.lower()][1]

    def __setitem__(self, name: str, value: str) -> None:
        value = str(value)
        format_headers({name: value})  # refuses CR/LF now, where the scenario set it
        self._fields[name.lower()] = (name, value)
        self._block = None
        self.version += 1

    def __delitem__(self, name: str) -> None:
        del self._fields[name.lower()]
        self._block = None
        self.version += 1

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._fields

    def __iter__(self) -> Iterator[str]:
        return iter([name for name, _ in self._fields.values()])

    def __len__(self) -> int:
        return len(self._fields)

    def __repr__(self) -> str:
        return f"DefaultHeaders({dict(self._fields.values())!r})"

    def block(self) -> str:
        """Every header as ``Name: value\\r\\n`` lines (formatted once per change)."""
        block = self._block
        if block is None:
            block = self._block = "".join(f"{n}: {v}\r\n" for n, v in self._fields.values())
        return block

    def block_without(self, given: Container[str]) -> str:
        """The lines of the headers whose lower-case name is not in ``given``."""
        return "".join(f"{n}: {v}\r\n" for key, (n, v) in self._fields.items()
                       if key not in given)

