"""SQL injection in Python: SQL built from a non-constant value that reaches a query API.

Walks each function's statements in source order with `ast`, remembering which local names hold
a string built dynamically (f-string with a field, `+` or `%` with a non-constant operand,
`.format(...)` / `.replace(...)` / `.join(...)` with one). A call to an execute-like API whose
first argument is such a string, or such a name, is reported. Constant SQL, `'...' % ()`,
`'...'.format()`, and parameterised calls (constant SQL plus a separate argument) are clean.

This module is the cheap half: a text pre-pass finds the calls to a sink name whose argument may
be built, and only the functions holding one are parsed and walked (`sqli_pyflow`, with `ast`).
"""

from __future__ import annotations

import re
from functools import lru_cache

from engine.security.finding import Finding
from engine.security.sqli_sinks import BUILDER as _BUILDER
from engine.security.sqli_sinks import DB_WORDS as _DB_WORDS
from engine.security.sqli_sinks import FUNCS as _FUNCS
from engine.security.sqli_sinks import STRONG as _STRONG


# Cheap pre-pass: a file is only parsed around calls to a sink name (`.execute(`, `text(`, ...)
# whose first argument is not plainly constant. The lookbehinds hang off one literal `(`, so the
# regex engine skips between parentheses at C speed; `ast.parse` is by far the costliest step.
def _sink_call_rx() -> re.Pattern[str]:
    names = sorted(_STRONG | _FUNCS | _BUILDER)
    by_len: dict[int, list[str]] = {}
    for name in names:
        by_len.setdefault(len(name), []).append(re.escape(name))
    # one fixed-width lookbehind per name length, behind a guard on the name's last letter
    last = "".join(sorted({n[-1] for n in names}))
    behind = "|".join(f"(?<=[^\\w](?:{'|'.join(group)})\\()" for _, group in sorted(by_len.items()))
    return re.compile(f"\\((?<=[{re.escape(last)}]\\()(?:{behind})")


_SINK_CALL = _sink_call_rx()
_STATIC_ARG = re.compile(r"""\s*(?:\)|[rRbBuU]{0,2}(?:"[^"\\\n{]*"|'[^'\\\n{]*')\s*[,)])""")
_NAME_ARG = re.compile(r"\s*([A-Za-z_]\w*)\s*[,)]")
_TOP_LEVEL = re.compile(r"\n(?=[^\s#)\]}])")
_DEF_STARTS = ("\ndef ", "\nasync def ", "\nclass ")
_DEF_LINE = re.compile(r"^(?:def |async def |class )", re.M)
_RECEIVER = re.compile(r"[\w.]+(?:\([^()\n]*\)[\w.]*)*\.\s*\w+\s*$")
_BUILDER_ONLY = _BUILDER - _STRONG - _FUNCS
# The name called at the end of a line's text before `(`: after `def ` (group 1), after a `.`
# (group 2: an attribute), or bare.
_CALLEE = re.compile(r"(\bdef\s+)?(\.\s*)?(\w+)$")
# A builder call on a receiver that doesn't look like a DB only matters with SQL text near it.
_SQL_VERBS = ("select", "insert", "update", "delete")
_SQL_VERBS_RX = re.compile(
    r"(?i:select|insert|update|delete)\s[^\n]{0,80}?(?i:from|into|set|where)\b"
)


_SQL_TAIL = re.compile(r"\s[^\n]{0,80}?(?:from|into|set|where)\b")


def _has_sql_statement(window: str) -> bool:
    """`_SQL_VERBS_RX.search(window)` for a lower-cased window: in ASCII text, each verb's
    occurrences found with `str.find` and the rest matched there (a case-insensitive search
    tries every character, ~80 us on a 3 KB window); other text keeps the regex, whose
    case-insensitive matching also folds letters like U+017F (long s) to `s`."""
    if not window.isascii():
        return any(v in window for v in _SQL_VERBS) and _SQL_VERBS_RX.search(window) is not None
    for verb in _SQL_VERBS:
        at = window.find(verb)
        while at >= 0:
            if _SQL_TAIL.match(window, at + len(verb)):
                return True
            at = window.find(verb, at + 1)
    return False


@lru_cache(maxsize=512)
def _assign_rx(name: str) -> re.Pattern[str]:
    return re.compile(rf"{re.escape(name)}\s*(?::[^=\n]*)?\+?=(?!=)")


def _maybe_built(text: str, after: int, assigned: dict[str, bool] | None = None) -> bool:
    """Could the call's first argument be a built string? False only when it plainly isn't."""
    if _STATIC_ARG.match(text, after, after + 400):
        return False
    name = _NAME_ARG.match(text, after, after + 200)
    if name:
        ident = name.group(1)
        if ident.isupper() or ident in ("None", "True", "False"):
            return False
        if assigned is not None and ident in assigned:
            return assigned[ident]
        found = False
        for m in _assign_rx(ident).finditer(text):  # assigned somewhere: may be built
            if m.start() == 0 or not (text[m.start() - 1].isalnum() or text[m.start() - 1] in "_."):
                found = True
                break
        if assigned is not None:
            assigned[ident] = found
        return found
    return True


def _block_of(text: str, at: int) -> tuple[int, int] | None:
    """The top-level def/class holding offset `at`, or None when `at` is module-level code."""
    start = max(text.rfind(d, 0, at) for d in _DEF_STARTS) + 1
    if start == 0 and not text.startswith(tuple(d[1:] for d in _DEF_STARTS)):
        return None
    line_end = text.find("\n", start)  # the block runs from its def line to the next top level
    start = _decorated_from(text, start)
    end_m = _TOP_LEVEL.search(text, line_end) if line_end >= 0 else None
    end = end_m.start() + 1 if end_m else len(text)
    return (start, end) if at < end else None


def _decorated_from(text: str, start: int) -> int:
    """Where the decorators above the def line at `start` begin (they belong to its block),
    a decorator's arguments running over several lines included (`@register(\n  ...\n)`):
    lines going up, the topmost `@` line reached through `@` and continuation lines only."""
    top = start
    at = start
    while at > 0:
        prev = text.rfind("\n", 0, at - 1) + 1
        first = text[prev : prev + 1]
        if first == "@":
            top = prev
        elif first not in (" ", "\t", ")", "]", "}"):
            break
        at = prev
    return top


def _candidate_blocks(
    text: str, blocks_only: bool = False, calls: dict[int, list[int]] | None = None
) -> list[tuple[int, int]] | None:
    """Spans worth parsing ([] = nothing to do, None = a module-level call: parse the module
    code, `_module_code`); `blocks_only`: the def/class blocks even when there is such a call.
    `calls` receives, per block start, the offsets of the candidate calls in it."""
    blocks: dict[int, int] = {}
    module_level = False
    assigned: dict[str, bool] = {}
    for m in _SINK_CALL.finditer(text):
        at = m.start()
        line_start = text.rfind("\n", 0, at) + 1
        callee = text[line_start:at]
        called = _CALLEE.search(callee[-200:])
        if called is None or called.group(1) is not None:
            continue  # `def text(...)`: a definition, not a call
        if (
            called.group(2) is None
            and called.group(3) not in _FUNCS
            and callee[: len(callee) - len(called.group())].strip()
        ):
            continue  # a bare name is a sink only if it is one of _FUNCS (`text(`, `RawSQL(`)
        if called.group(3) in _BUILDER_ONLY:
            # builder methods are sinks only on a DB-looking receiver or with SQL in sight
            receiver = _RECEIVER.search(callee)
            chain = receiver.group().lower() if receiver else ""
            if not any(w in chain for w in _DB_WORDS):
                scope_start = max(text.rfind("def ", max(0, at - 3000), at), at - 3000, 0)
                window = text[scope_start : at + 500].lower()
                if not _has_sql_statement(window):
                    continue
        if not _maybe_built(text, at + 1, assigned):
            continue
        block = _block_of(text, at)
        if block is None:
            module_level = True
            continue
        blocks.setdefault(block[0], block[1])
        if calls is not None:
            calls.setdefault(block[0], []).append(at)
    if module_level and not blocks_only:
        return None
    return sorted(blocks.items())


def _module_code(text: str) -> str:
    """`text` with every top-level def/class block that holds no candidate sink call blanked
    (its lines kept as empty lines, so line numbers hold): what a module-level sink needs parsed.
    Those blocks are separate scopes: they can't feed a module-level call's argument."""
    keep = {start for start, _ in _candidate_blocks(text, blocks_only=True) or ()}
    parts: list[str] = []
    done = 0
    for m in _DEF_LINE.finditer(text):
        if m.start() < done:
            continue
        block = _block_of(text, m.end())
        if block is None:
            continue
        start, end = block
        if start in keep or start < done:
            continue
        parts.append(text[done:start])
        parts.append("\n" * text.count("\n", start, end))
        done = end
    parts.append(text[done:])
    return "".join(parts)


# A def at any depth, and (per indentation width) the next line that ends its block: one
# indented no deeper that is not blank, a comment or a closing bracket.
_ANY_DEF = re.compile(r"^([ \t]*)(?:async[ \t]+)?def[ \t]", re.M)


@lru_cache(maxsize=64)
def _dedent_rx(width: int) -> re.Pattern[str]:
    return re.compile(rf"\n(?=[ \t]{{0,{width}}}[^\s#)\]}}])")


def _innermost_def(text: str, lo: int, hi: int, at: int) -> tuple[int, int] | None:
    """The nested (indented) def inside the top-level block [lo, hi) that most closely holds
    offset `at`, as (start of its def line, end of its block); None when the call sits in the
    top-level def itself or in a class body. A call's analysis reads only its own function's
    statements (nested functions and classes are scopes of their own), so parsing that
    function alone finds what parsing the whole class would, at a fraction of the cost. Where
    the indentation misleads (a string or bracket running back to the margin), the cut block
    fails to parse and the caller falls back to the top-level block."""
    best: tuple[int, int] | None = None
    for m in _ANY_DEF.finditer(text, lo, at):
        width = len(m.group(1))
        if width == 0:
            continue
        line_end = text.find("\n", m.end(), hi)
        end_m = _dedent_rx(width).search(text, line_end, hi) if line_end >= 0 else None
        end = end_m.start() + 1 if end_m else hi
        if end > at:
            best = (m.start(), end)
    return best


def _functions_to_parse(
    text: str, lo: int, hi: int, calls: list[int]
) -> list[tuple[int, int]] | None:
    """The innermost functions holding the candidate calls of the top-level block [lo, hi),
    outer ones before the functions nested in them dropped (parsing the outer one covers them);
    None when a call sits in the block's own code (parse the whole block)."""
    inner: set[tuple[int, int]] = set()
    for at in calls:
        found = _innermost_def(text, lo, hi, at)
        if found is None:
            return None
        inner.add(found)
    out: list[tuple[int, int]] = []
    for start, end in sorted(inner, key=lambda se: (se[0], -se[1])):
        if not out or start >= out[-1][1]:
            out.append((start, end))
    return out


def _scan_functions(text: str, path: str, spans: list[tuple[int, int]]) -> list[Finding] | None:
    """Findings in indented functions parsed one by one (`if 1:` above each makes it a valid
    module); None when one doesn't parse alone."""
    findings: list[Finding] = []
    for start, end in spans:
        part: list[Finding] = []
        if not _scan_tree("if 1:\n" + text[start:end], path, part, set()):
            return None
        offset = text.count("\n", 0, start) - 1
        findings += [f.replace(line=f.line + offset) for f in part]
    return findings


def _scan_tree(source: str, path: str, findings: list[Finding], seen: set[int]) -> bool:
    from engine.security.sqli_pyflow import scan_tree  # `ast` only when something is parsed

    return scan_tree(source, path, findings, seen)


def scan_python(text: str, path: str) -> list[Finding]:
    """SQL-injection findings in one Python source; unparsable files yield nothing."""
    calls: dict[int, list[int]] = {}
    blocks = _candidate_blocks(text, calls=calls)
    findings: list[Finding] = []
    if blocks is None:
        if not _scan_tree(_module_code(text), path, findings, set()):
            findings = []
            _scan_tree(text, path, findings, set())
        return findings
    for start, end in blocks:
        spans = _functions_to_parse(text, start, end, calls.get(start, []))
        found = _scan_functions(text, path, spans) if spans else None
        if found is not None:
            findings += found
            continue
        part: list[Finding] = []
        if not _scan_tree(text[start:end], path, part, set()):
            findings = []  # a block that doesn't parse alone: fall back to the whole file
            _scan_tree(text, path, findings, set())
            return findings
        offset = text.count("\n", 0, start)
        findings += [f.replace(line=f.line + offset) for f in part]
    return findings
