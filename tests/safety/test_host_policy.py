"""The host policy as a table: which (host, resolved address) pairs each rule set refuses,
and how bad rules are reported. Pure: no sockets."""

import pytest

from horde.errors import ConfigError
from horde.safety.hosts import HostPolicy, check_addresses, parse_rules, use_policy

DENY_PRIVATE = HostPolicy.parse(deny=["10.0.0.0/8,172.16.0.0/12", "*.internal", "fd00::/8"])
ALLOW_LAB = HostPolicy.parse(allow=["127.0.0.0/8,::1", "*.lab.example"])


@pytest.mark.parametrize(
    ("policy", "host", "ip", "refused"),
    [
        (HostPolicy(), "10.1.2.3", None, None),
        (HostPolicy(), "anything.internal", "10.0.0.1", None),
        (DENY_PRIVATE, "10.1.2.3", None, "10.1.2.3 is denied by --deny-hosts 10.0.0.0/8"),
        (DENY_PRIVATE, "172.20.0.1", None, "172.20.0.1 is denied by --deny-hosts 172.16.0.0/12"),
        (DENY_PRIVATE, "172.32.0.1", None, None),
        (DENY_PRIVATE, "api.example.com", "10.9.9.9", "api.example.com (10.9.9.9) is denied by --deny-hosts 10.0.0.0/8"),
        (DENY_PRIVATE, "api.example.com", "::ffff:10.0.0.1", "api.example.com (::ffff:10.0.0.1) is denied by --deny-hosts 10.0.0.0/8"),
        (DENY_PRIVATE, "api.example.com", "93.184.216.34", None),
        (DENY_PRIVATE, "api.example.com", None, None),  # not resolved: name rules only
        (DENY_PRIVATE, "DB.Internal.", None, "db.internal is denied by --deny-hosts *.internal"),
        (DENY_PRIVATE, "internal", None, None),  # *.internal needs a dot before it
        (DENY_PRIVATE, "[fd00::1]", None, "fd00::1 is denied by --deny-hosts fd00::/8"),
        (DENY_PRIVATE, "fe80::1%eth0", None, None),
        (ALLOW_LAB, "127.0.0.1", None, None),
        (ALLOW_LAB, "::1", None, None),
        (ALLOW_LAB, "localhost", "127.0.0.1", None),
        (ALLOW_LAB, "localhost", None, None),  # undecided until resolved
        (ALLOW_LAB, "web.lab.example", "8.8.8.8", None),  # the name is allowed
        (ALLOW_LAB, "example.com", "93.184.216.34", "example.com (93.184.216.34) is not in --allow-hosts *.lab.example,127.0.0.0/8,::1/128"),
        (ALLOW_LAB, "10.0.0.1", None, "10.0.0.1 is not in --allow-hosts *.lab.example,127.0.0.0/8,::1/128"),
        (HostPolicy.parse(allow=["*.lab.example"]), "example.com", None, "example.com is not in --allow-hosts *.lab.example"),
        (HostPolicy.parse(allow=["127.0.0.0/8"], deny=["127.0.0.2"]), "127.0.0.2", None, "127.0.0.2 is denied by --deny-hosts 127.0.0.2/32"),
        (HostPolicy.parse(allow=["*"], deny=["evil.*"]), "evil.com", None, "evil.com is denied by --deny-hosts evil.*"),
    ],
)
def test_check(policy: HostPolicy, host: str, ip: str | None, refused: str | None) -> None:
    assert policy.check(host, ip) == refused


@pytest.mark.parametrize(
    "rule", ["10.0.0.0/33", "exa mple.com", "http://example.com", "10.0.0.0/8/8", "a/b", "é.com"]
)
def test_bad_rules_name_the_flag_and_the_rule(rule: str) -> None:
    with pytest.raises(ConfigError, match=rf"--deny-hosts: bad rule {rule!r}"):
        HostPolicy.parse(deny=[rule])


def test_rules_are_comma_lists_and_repeatable() -> None:
    assert parse_rules(["10.0.0.0/8, *.internal", "", "::1"], "--deny-hosts") == (
        "10.0.0.0/8", "*.internal", "::1",
    )
    assert parse_rules("a.example,b.example", "--allow-hosts") == ("a.example", "b.example")
    assert HostPolicy().open and not DENY_PRIVATE.open
    assert not HostPolicy.parse(deny=["*.internal"]).needs_address and DENY_PRIVATE.needs_address


def test_any_denied_address_refuses_the_name() -> None:
    """A name that resolves to a public and a private address is refused (rebinding)."""
    from horde.errors import BlockedHostError

    with use_policy(DENY_PRIVATE):
        check_addresses("mixed.example", [(2, "93.184.216.34")])
        with pytest.raises(BlockedHostError) as info:
            check_addresses("mixed.example", [(2, "93.184.216.34"), (2, "10.0.0.5")])
    assert info.value.category == "blocked_host" and info.value.detail == "mixed.example"
    assert "mixed.example (10.0.0.5) is denied" in str(info.value)
    check_addresses("10.0.0.5", [(2, "10.0.0.5")])  # no policy outside the context
