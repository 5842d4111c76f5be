"""How virtual users coordinate with each other: roles and rosters, groups with barriers,
run-wide events, broadcasts and the per-run hub they hang on (docs/groups.md). Workers
coordinating with each other are ``horde.cluster``'s."""
