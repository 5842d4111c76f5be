"""horde capacity: find the highest load a target holds, step by step (search.py), and
show and write what each step found (output.py)."""
