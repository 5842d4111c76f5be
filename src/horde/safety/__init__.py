"""Safety by default: which hosts a run may reach, and how its TLS is verified
(docs/safety.md)."""
