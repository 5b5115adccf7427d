#!/usr/bin/env python3
"""A stand-in for `claude -p PROMPT --model MODEL --output-format json` (Claude Code print mode).

Behaviour comes from the environment, so a test picks it per task:
  FAKE_AGENT_MODE   success (default) | error | malformed | nojson | hang | rate_limit |
                    overloaded | auth | long | long_result (a 200 kB result line)
  FAKE_AGENT_ONLY   apply the failure mode only when --model is this (else succeed)
  FAKE_AGENT_TIMES  fail this many times, then succeed (counted in FAKE_AGENT_STATE, a file)
  FAKE_AGENT_USAGE  JSON of the `usage` object to report on success
  FAKE_AGENT_ERROR_USAGE  JSON of the `usage` a failed run reports (default: zero tokens)
  FAKE_AGENT_COST   total_cost_usd to report (default: computed by the caller's table, 0.0)
  FAKE_AGENT_PROMPTS  a directory: each prompt received is written to <dir>/<$BR_TASK>.txt
It also does small real work when the task's prompt says so (one instruction per line, before
the context br-tui appends after a "---" line), so streams tests and examples edit files offline:
  append LINE to PATH       (or append "LINE" to PATH) adds LINE to PATH under the cwd
  decide: TEXT              appends TEXT to the file named in $BR_DECISIONS
Errors look like Claude Code's: a result object with is_error true and exit status 1.
"""

import json
import os
import re
import sys
import time

_APPEND = re.compile(r'^\s*append\s+(?:"(?P<quoted>[^"]*)"|(?P<raw>.+?))\s+to\s+(?P<path>\S+)\s*$')
_DECIDE = re.compile(r"^\s*decide:\s*(?P<text>.+)$")


def do_work(prompt: str) -> list[str]:
    """Carry out the prompt's `append`/`decide` lines; what was done, one line each."""
    done = []
    own = prompt.split("\n\n---\n", 1)[0]
    root = os.path.realpath(os.getcwd())
    for line in own.splitlines():
        m = _APPEND.match(line)
        if m:
            text = m.group("quoted") if m.group("quoted") is not None else m.group("raw")
            path = os.path.realpath(os.path.join(root, m.group("path")))
            if not path.startswith(root + os.sep):
                raise SystemExit(f"fake agent: {m.group('path')} is outside {root}")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "a") as fh:
                fh.write(text + "\n")
            done.append(f"appended to {m.group('path')}")
            continue
        m = _DECIDE.match(line)
        if m and os.environ.get("BR_DECISIONS"):
            with open(os.environ["BR_DECISIONS"], "a") as fh:
                fh.write(m.group("text") + "\n")
            done.append("recorded a decision")
    return done


def arg(flag: str) -> str | None:
    argv = sys.argv[1:]
    return argv[argv.index(flag) + 1] if flag in argv and argv.index(flag) + 1 < len(argv) else None


def result(text: str, *, is_error: bool, usage: dict, cost: float, model: str) -> dict:
    return {
        "type": "result",
        "subtype": "success",
        "is_error": is_error,
        "duration_ms": 1234,
        "duration_api_ms": 1100,
        "num_turns": 3 if not is_error else 1,
        "result": text,
        "session_id": "00000000-0000-4000-8000-000000000000",
        "total_cost_usd": cost,
        "usage": usage,
        "permission_denials": [],
        "modelUsage": {},
        "model_requested": model,
    }


def main() -> int:
    prompt = arg("-p") or ""
    model = arg("--model") or "unknown"
    mode = os.environ.get("FAKE_AGENT_MODE", "success")
    only = os.environ.get("FAKE_AGENT_ONLY")
    if only and only != model:
        mode = "success"
    times = os.environ.get("FAKE_AGENT_TIMES")
    state = os.environ.get("FAKE_AGENT_STATE")
    if times and state:
        done = 0
        if os.path.exists(state):
            with open(state) as fh:
                done = int(fh.read() or 0)
        with open(state, "w") as fh:
            fh.write(str(done + 1))
        if done >= int(times):
            mode = "success"
    usage = json.loads(os.environ.get("FAKE_AGENT_USAGE") or "{}") or {
        "input_tokens": 1200,
        "cache_creation_input_tokens": 3000,
        "cache_read_input_tokens": 40000,
        "output_tokens": 900,
    }
    cost = float(os.environ.get("FAKE_AGENT_COST", "0"))
    print(f"fake agent: {len(prompt)} chars for {model}", file=sys.stderr, flush=True)
    log_dir = os.environ.get("FAKE_AGENT_PROMPTS")
    if log_dir:
        with open(os.path.join(log_dir, f"{os.environ.get('BR_TASK', 'task')}.txt"), "w") as fh:
            fh.write(prompt)
    if mode == "hang":
        time.sleep(3600)
        return 0
    if mode == "malformed":
        print('{"type": "result", "is_error": false, "result": "trunc', flush=True)
        return 0
    if mode == "nojson":
        print("Done. Edited 2 files.")
        return 0
    errors = {
        "error": "Tool use failed: could not apply the edit",
        "rate_limit": 'API Error: 429 {"type":"error","error":{"type":"rate_limit_error",'
        '"message":"Number of request tokens has exceeded your per-minute rate limit"}} '
        "retry-after: 0.2",
        "overloaded": 'API Error: 529 {"type":"error","error":{"type":"overloaded_error",'
        '"message":"Overloaded"}}',
        "auth": "Invalid API key · Please run /login",
        "long": "Prompt is too long",
    }
    if mode in errors:
        spent = json.loads(os.environ.get("FAKE_AGENT_ERROR_USAGE") or "{}") or {
            "input_tokens": 0,
            "output_tokens": 0,
        }
        print(json.dumps(result(errors[mode], is_error=True, usage=spent, cost=0.0, model=model)))
        return 1
    work = do_work(prompt)
    text = "x" * 200_000 if mode == "long_result" else f"Done: {prompt[:40]}\nEdited 2 files."
    if work:
        text = f"Done: {prompt.splitlines()[0][:60]}\n" + "\n".join(work)
    print(json.dumps(result(text, is_error=False, usage=usage, cost=cost, model=model)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
