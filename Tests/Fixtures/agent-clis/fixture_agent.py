#!/usr/bin/env python3
"""A stand-in for an agent CLI in headless mode, for Orchion's tests (no model is called).

Each fixture executable (claude, codex, gemini, ...) runs this with its own name. It checks
that it was started with the CLI's documented headless flags, then replays a recorded
transcript from transcripts/ in the CLI's real output format, a line at a time with small
delays, and exits as the real CLI would.

The prompt steers it:
  FAIL             replay the failure transcript and exit 1
  PRINT-KEY        print the CLI's API key (from its environment) in an event, as a raw
                   stdout line and on stderr: it must be redacted before leaving the node
  WAIT:<path>      after the first events, wait until <path> exists
FIXTURE_RECORD=<file> in the environment appends this run's argv to <file> as a JSON line.
"""
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
KEYS = {"claude": "ANTHROPIC_API_KEY", "codex": "CODEX_API_KEY", "gemini": "GEMINI_API_KEY",
        "cursor-agent": "CURSOR_API_KEY"}


def fail(message, code=2):
    print(f"{cli}: {message}", file=sys.stderr)
    sys.exit(code)


def option(args, name):
    """The value after `name` in args, or None."""
    if name in args:
        index = args.index(name)
        if index + 1 < len(args):
            return args[index + 1]
    return None


cli, args = sys.argv[1], sys.argv[2:]
if os.environ.get("FIXTURE_RECORD"):
    with open(os.environ["FIXTURE_RECORD"], "a") as record:
        record.write(json.dumps({"cli": cli, "argv": args, "task": os.environ.get("ORCHION_TASK_ID", ""),
                                 "node": os.environ.get("ORCHION_NODE_ID", "")}) + "\n")

resume = None
if cli == "claude":
    if "-p" not in args:
        fail("headless runs need -p")
    if option(args, "--output-format") != "stream-json" or "--verbose" not in args:
        fail("Error: When using --print, --output-format=stream-json requires --verbose", 1)
    if "--" not in args:
        fail("no prompt")
    prompt = args[args.index("--") + 1]
    resume = option(args, "--resume")
elif cli == "codex":
    if args[:2] != ["exec", "--json"]:
        fail("headless runs are `codex exec --json`")
    if "--" not in args:
        fail("no prompt")
    prompt = args[args.index("--") + 1]
    if "resume" in args:
        resume = option(args, "resume")
elif cli == "gemini":
    if option(args, "--output-format") != "stream-json":
        fail("expected --output-format stream-json")
    prompts = [a for a in args if a.startswith("--prompt=")]
    if not prompts:
        fail("no --prompt=")
    prompt = prompts[0][len("--prompt="):]
    resume = option(args, "--resume")
else:
    fail("this fixture replays claude, codex and gemini")

session = resume or ("sess-" + os.environ.get("ORCHION_TASK_ID", "none"))
name = "claude-failure" if "FAIL" in prompt and cli == "claude" else f"{cli}-success"
with open(os.path.join(HERE, "transcripts", name + ".jsonl")) as transcript:
    lines = [line.rstrip("\n").replace("{{SESSION}}", session) for line in transcript]

gate = None
for word in prompt.split():
    if word.startswith("WAIT:"):
        gate = word[len("WAIT:"):]

for number, line in enumerate(lines):
    print(line, flush=True)
    time.sleep(0.02)
    if number == 1 and resume and cli == "claude":
        print(json.dumps({"type": "assistant", "session_id": session, "message": {
            "role": "assistant", "content": [{"type": "text", "text": f"resumed session {resume}"}]}}),
            flush=True)
    if number == 1 and "PRINT-KEY" in prompt:
        key = os.environ.get(KEYS[cli], "")
        print(json.dumps({"type": "assistant", "session_id": session, "message": {
            "role": "assistant", "content": [{"type": "text", "text": f"the key is {key}"}]}}), flush=True)
        print(f"debug: using key {key}", flush=True)
        print(f"auth with {key}", file=sys.stderr, flush=True)
    if number == 1 and gate:
        deadline = time.time() + 120
        while not os.path.exists(gate) and time.time() < deadline:
            time.sleep(0.05)

sys.exit(1 if name.endswith("failure") else 0)
