#!/usr/bin/env python3
"""STAND-IN AGENT for the Gyre quickstart. Not an AI.

It behaves the way a coding agent bound to the `maker` role does: it reads
the prompt on stdin, edits files in the current directory (the run's git
worktree), and prints a JSON report with its spend on stdout, like
`claude -p --output-format json`. To keep the demo deterministic it fixes
one known bug per call, so the first iteration still fails and the second
passes. Bind a real agent instead in gyre.toml, e.g.

    [agents.maker]
    run = ["claude", "-p", "--output-format", "json", "--permission-mode", "acceptEdits"]
    spend = "/total_cost_usd"
"""
import json
import pathlib
import sys

prompt = sys.stdin.read()
source = pathlib.Path("src/lib.rs")
text = source.read_text()

FIXES = [
    ("a - b", "a + b", "add() subtracted instead of adding"),
    ("n % 2 == 1", "n % 2 == 0", "is_even() tested for odd numbers"),
]
done = "nothing left to fix"
for wrong, right, what in FIXES:
    if wrong in text:
        source.write_text(text.replace(wrong, right, 1))
        done = f"fixed: {what}"
        break

saw_failures = "failed" in prompt
print(json.dumps({
    "type": "result",
    "result": done,
    "read_previous_failures": saw_failures,
    "total_cost_usd": 0.04,
}))
