"""SQL injection in JavaScript/TypeScript: template literals and concatenation into query APIs.

No JS parser ships with Python, so this reads the source with a small lexer that knows strings,
template literals and comments. For each call to a query-like method (`.query(`, `.execute(`,
`.raw(`, `$queryRawUnsafe(`, knex `whereRaw(` and friends) it takes the first argument (or the
`sql:` property of an options object) and asks whether it is a string built at run time: an
untagged template literal with `${...}`, a `+` chain with a non-literal operand, `util.format` /
`.concat` with one, or a variable assigned such a value earlier in the file. Placeholders
(`?`, `$1`, `:name`) with separate values and tagged templates (`sql\\`...\\``) are clean.
"""

from __future__ import annotations

import re

from engine.security.finding import Finding, fingerprint

_SINK = re.compile(
    r"(?:\.|\$)(query|execute|raw|queryRawUnsafe|executeRawUnsafe|\$queryRawUnsafe|"
    r"\$executeRawUnsafe|whereRaw|orWhereRaw|havingRaw|orHavingRaw|orderByRaw|groupByRaw|"
    r"joinRaw|fromRaw|selectRaw|unsafe|exec|run|all|get|prepare)\s*\("
)
# Generic names (`run`, `all`, `get`, `exec`, `prepare`) only count when the SQL is visible.
_NEEDS_SQL = frozenset({"run", "all", "get", "exec", "prepare", "unsafe"})
_SQL_WORDS = re.compile(
    r"\b(?:select|insert|update|delete|create|drop|alter|where|from|into|values|join)\b", re.I
)
_DB_RECEIVER = re.compile(
    r"(?i)(?:conn|pool|db|client|knex|sequelize|cursor|prisma|tx|trx|manager|repo|"
    r"datasource|queryrunner|sql|pg|mysql|database)\w*\s*$"
)
_ASSIGN = re.compile(r"(?:\b(?:const|let|var)\s+)?\b([A-Za-z_$][\w$]*)\s*(\+?=)(?![=>])")
_FORMAT_CALL = re.compile(r"^(?:util\.)?format\s*\(|\.concat\s*\(")
_IDENT = re.compile(r"[A-Za-z_$][\w$]*")
_CLOSE = {"(": ")", "[": "]", "{": "}"}


def strip_comments(src: str) -> str:
    """Blank out comments (keeping offsets and newlines) so they can't fake or hide code."""
    out = list(src)
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c in "'\"`":
            i = _skip_string(src, i)
            continue
        if c == "/" and i + 1 < n and src[i + 1] == "/":
            j = src.find("\n", i)
            j = n if j < 0 else j
            out[i:j] = " " * (j - i)
            i = j
            continue
        if c == "/" and i + 1 < n and src[i + 1] == "*":
            j = src.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out[i:j] = [ch if ch == "\n" else " " for ch in src[i:j]]
            i = j
            continue
        i += 1
    return "".join(out)


def _skip_string(src: str, i: int) -> int:
    """Index just past the string or template literal starting at `i`."""
    quote = src[i]
    i += 1
    n = len(src)
    while i < n:
        c = src[i]
        if c == "\\":
            i += 2
            continue
        if c == quote:
            return i + 1
        if quote == "`" and c == "$" and i + 1 < n and src[i + 1] == "{":
            i = _skip_balanced(src, i + 1)
            continue
        if c == "\n" and quote != "`":
            return i
        i += 1
    return n


def _skip_balanced(src: str, i: int) -> int:
    """Index just past the bracket group opening at `i`."""
    stack = [_CLOSE[src[i]]]
    i += 1
    n = len(src)
    while i < n and stack:
        c = src[i]
        if c in "'\"`":
            i = _skip_string(src, i)
            continue
        if c in _CLOSE:
            stack.append(_CLOSE[c])
        elif stack and c == stack[-1]:
            stack.pop()
        i += 1
    return i


def _expression(src: str, i: int, stops: str) -> str:
    """Source of the expression starting at `i`, up to a top-level stop char (or statement end)."""
    start, n = i, len(src)
    while i < n:
        c = src[i]
        if c in "'\"`":
            i = _skip_string(src, i)
            continue
        if c in _CLOSE:
            i = _skip_balanced(src, i)
            continue
        if c in stops or c in ")]}":
            break
        if c == "\n":
            before = src[start:i].rstrip()
            after = src[i:].lstrip()
            if before and before[-1] not in "+,(=?:&|" and not after.startswith(("+", ".", "?")):
                break
        i += 1
    return src[start:i].strip()


def _split_plus(expr: str) -> list[str]:
    """Top-level `+` operands of an expression."""
    parts, depth_start, i, n = [], 0, 0, len(expr)
    while i < n:
        c = expr[i]
        if c in "'\"`":
            i = _skip_string(expr, i)
            continue
        if c in _CLOSE:
            i = _skip_balanced(expr, i)
            continue
        if c == "+" and expr[i + 1 : i + 2] not in ("+", "="):
            parts.append(expr[depth_start:i].strip())
            depth_start = i + 1
        i += 1
    parts.append(expr[depth_start:].strip())
    return [p for p in parts if p]


def _is_literal(operand: str) -> bool:
    if len(operand) >= 2 and operand[0] in "'\"" and _skip_string(operand, 0) == len(operand):
        return True
    if operand.startswith("`") and _skip_string(operand, 0) == len(operand):
        return "${" not in operand
    return bool(re.fullmatch(r"-?\d+(?:\.\d+)?", operand))


class _File:
    """One source file: comment-free text and its assignments, for def-use lookups."""

    def __init__(self, text: str) -> None:
        self.src = strip_comments(text)
        self.assignments: dict[str, list[tuple[int, str, str]]] = {}
        for m in _ASSIGN.finditer(self.src):
            expr = _expression(self.src, m.end(), ";,")
            self.assignments.setdefault(m.group(1), []).append((m.start(), m.group(2), expr))

    def value_of(self, name: str, before: int) -> list[tuple[str, str]]:
        """The assignments to `name` that reach offset `before`: the last `=` and later `+=`."""
        chain: list[tuple[str, str]] = []
        for pos, op, expr in self.assignments.get(name, []):
            if pos >= before:
                break
            if op == "=":
                chain = [(op, expr)]
            else:
                chain.append((op, expr))
        return chain

    def is_static(self, operand: str, at: int, depth: int) -> bool:
        if _is_literal(operand):
            return True
        if _IDENT.fullmatch(operand) and depth < 4:
            chain = self.value_of(operand, at)
            return bool(chain) and all(self.is_static_expr(e, at, depth + 1) for _, e in chain)
        return False

    def is_static_expr(self, expr: str, at: int, depth: int) -> bool:
        return all(self.is_static(p, at, depth) for p in _split_plus(expr))

    def is_built(self, expr: str, at: int, depth: int = 0) -> bool:
        """A string assembled at run time from a non-constant value."""
        expr = expr.strip()
        if not expr or depth > 4:
            return False
        if expr.startswith("{"):
            m = re.search(r"(?:^|[{,\s])[\"']?sql[\"']?\s*:", expr)
            if not m:
                return False
            return self.is_built(_expression(expr, m.end(), ",}"), at, depth + 1)
        parts = _split_plus(expr)
        if len(parts) > 1:
            stringy = any(p[:1] in "'\"`" for p in parts) or any(
                self.is_built(p, at, depth + 1) for p in parts if _IDENT.fullmatch(p)
            )
            return stringy and not all(self.is_static(p, at, depth) for p in parts)
        only = parts[0] if parts else ""
        if only.startswith("`"):
            return "${" in only
        if _FORMAT_CALL.search(only):
            args = only[only.index("(") + 1 : -1]
            return not all(self.is_static(a.strip(), at, depth) for a in args.split(",") if a)
        if _IDENT.fullmatch(only):
            chain = self.value_of(only, at)
            return any(
                self.is_built(e, at, depth + 1)
                or (op == "+=" and not self.is_static_expr(e, at, depth + 1))
                for op, e in chain
            )
        return False

    def has_text(self, expr: str, at: int) -> bool:
        """Whether any string literal is visible in the expression or its assignments."""
        text = expr
        for name in _IDENT.findall(expr)[:5]:
            text += " ".join(e for _, e in self.value_of(name, at))
        return re.search(r"[\"'`][^\"'`]*[A-Za-z]{2}", text) is not None

    def sql_visible(self, expr: str, at: int) -> bool:
        text = expr
        for name in _IDENT.findall(expr)[:5]:
            text += " ".join(e for _, e in self.value_of(name, at))
        return _SQL_WORDS.search(text) is not None


def scan_js(text: str, path: str) -> list[Finding]:
    """SQL-injection findings in one JavaScript/TypeScript source."""
    file = _File(text)
    src = file.src
    findings: list[Finding] = []
    seen: set[int] = set()
    for m in _SINK.finditer(src):
        name = m.group(1).lstrip("$")
        arg = _expression(src, m.end(), ",")
        if not arg or not file.is_built(arg, m.start()):
            continue
        visible = file.sql_visible(arg, m.start())
        if name in _NEEDS_SQL and not visible:
            continue
        if (
            not visible
            and file.has_text(arg, m.start())
            and not _DB_RECEIVER.search(src[max(0, m.start() - 40) : m.start()])
        ):
            continue  # a visible non-SQL string (a shell command, a URL) into `.execute(`
        line = src.count("\n", 0, m.start()) + 1
        if line in seen:
            continue
        seen.add(line)
        column = m.start() - (src.rfind("\n", 0, m.start()) + 1) + 1
        findings.append(
            Finding(
                path=path,
                line=line,
                column=column,
                rule_id="js-sqli",
                kind="sqli",
                severity="high",
                message=f"SQL built from a non-constant value reaches {name}(); "
                "use placeholders or a tagged template",
                match=f"{name}(...)",
                fingerprint=fingerprint("js-sqli", path, arg[:200]),
            )
        )
    return findings
