"""Whether pushed messages are delivered right: each only to the sessions it was meant
for (isolation tokens) and in the order sent (sequence numbers) — docs/push-checks.md.
Not ``user.check`` (a scenario's own assertion) nor ``checks.rate`` (their threshold)."""
