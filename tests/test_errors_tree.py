"""One error tree: every exception a user can meet is defined in horde/errors.py, named
``...Error``, drawn in its docstring; the names before that still work, with a warning."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import warnings

import pytest

import horde
from horde import errors

# Exceptions that never reach a user, with why.
INTERNAL = {
    "horde.capacity.search.StopSearch": "control flow: ends the search loop, caught there",
    "horde.demo.chatbot.gate.GateFullError": "the chatbot demo server's own, mapped to 429",
    "horde.demo.chatbot.gate.GateTimeoutError": "the chatbot demo server's own, mapped to 504",
    "horde.protocols.websocket_frames.FrameError":
        "a server's frame the client refused: a CLOSE with its code, then a ProtocolError",
    "horde.protocols.websocket_upgrade.UpgradeError":
        "a bad reply to the upgrade, raised as a ProtocolError (detail handshake)",
}


def defined_exceptions() -> dict[str, type[BaseException]]:
    """Every exception class defined in a horde module, by its qualified name."""
    found = {}
    for info in pkgutil.walk_packages(horde.__path__, "horde."):
        if info.name.startswith("horde.examples") or info.name == "horde.__main__":
            continue  # scenarios, not horde; the command itself
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if (inspect.isclass(value) and issubclass(value, BaseException)
                    and value.__module__ == info.name):
                found[f"{info.name}.{name}"] = value
    return found


def test_every_exception_a_user_can_meet_lives_in_errors_py():
    outside = {name for name in defined_exceptions()
               if not name.startswith("horde.errors.")} - set(INTERNAL)
    assert outside == set()


def test_every_error_ends_in_error_and_is_drawn_in_the_tree():
    tree = errors.__doc__ or ""
    for name, value in vars(errors).items():
        if inspect.isclass(value) and issubclass(value, BaseException) \
                and value.__module__ == "horde.errors":
            assert name.endswith("Error"), name
            assert re.search(rf"(── |^    ){name}\b", tree, re.MULTILINE), name


def test_every_error_is_public():
    public = {name for name, value in vars(errors).items()
              if inspect.isclass(value) and issubclass(value, BaseException)
              and value.__module__ == "horde.errors"}
    assert public <= set(horde.__all__)


@pytest.mark.parametrize(("old", "new"), [
    ("ClosedByPeer", "PeerClosedError"),
    ("OperationTimeout", "OperationTimeoutError"),
    ("CheckFailed", "CheckFailedError"),
    ("GroupBroken", "GroupBrokenError"),
    ("FeederExhausted", "FeederExhaustedError"),
    ("constant", "fixed"),
])
def test_an_old_name_still_works_and_says_its_new_one(old, new):
    with pytest.warns(DeprecationWarning, match=f"{old} is now {new}"):
        assert getattr(horde, old) is getattr(horde, new)


def test_old_names_from_horde_errors_too():
    with pytest.warns(DeprecationWarning, match="ConnectionRefusedError_ is now TargetRefusedError"):
        from horde.errors import ConnectionRefusedError_  # noqa: F401
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(AttributeError):
            horde.errors.NoSuchError  # noqa: B018
