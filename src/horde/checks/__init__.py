"""Correctness checks on what users receive: isolation between sessions, ordering."""
