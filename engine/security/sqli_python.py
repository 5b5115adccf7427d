"""SQL injection in Python: SQL built from a non-constant value that reaches a query API.

Walks each function's statements in source order with `ast`, remembering which local names hold
a string built dynamically (f-string with a field, `+` or `%` with a non-constant operand,
`.format(...)` / `.replace(...)` / `.join(...)` with one). A call to an execute-like API whose
first argument is such a string, or such a name, is reported. Constant SQL, `'...' % ()`,
`'...'.format()`, and parameterised calls (constant SQL plus a separate argument) are clean.
"""

from __future__ import annotations

import ast
import re
from functools import lru_cache

from engine.security.finding import Finding, fingerprint

# Methods whose first argument is SQL text whatever the receiver is called.
_STRONG = frozenset(
    {
        "execute",
        "executemany",
        "executescript",
        "raw",
        "read_sql",
        "read_sql_query",
        "fetch",
        "fetchrow",
        "fetchval",
        "fetchmany",
        "exec_driver_sql",
        "copy_from_query",
        "mogrify",
        "cursor",
        "prepare",
        "execute_sql",
        "raw_sql",
        "runQuery",
        "run_query",
    }
)
# Plain functions / constructors that take SQL text.
_FUNCS = frozenset({"text", "RawSQL", "read_sql", "read_sql_query", "literal_column"})
# Query-builder methods that accept raw SQL fragments: only when the receiver looks like a query
# or a connection, since `filter` and `run` mean many other things.
_BUILDER = frozenset(
    {
        "distinct",
        "having",
        "group_by",
        "order_by",
        "filter",
        "where",
        "extra",
        "run",
        "query",
        "select_from",
        "join",
        "outerjoin",
        "exec",
        "sql",
    }
)
_DB_WORDS = ("query", "conn", "cursor", "cur", "db", "session", "engine", "sql", "pool", "con")
_SQL_WORDS = (
    "select ",
    "insert ",
    "update ",
    "delete ",
    " from ",
    " where ",
    "create ",
    "drop ",
    " into ",
    " values",
    "alter ",
    " join ",
    "order by",
    "group by",
)


def _chain_text(node: ast.AST) -> str:
    """`a.b(c).d` -> 'a.b.d': the names along a receiver chain, lower-cased."""
    parts: list[str] = []
    while True:
        if isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Subscript):
            node = node.value
        elif isinstance(node, ast.Name):
            parts.append(node.id)
            break
        else:
            break
    return ".".join(reversed(parts)).lower()


def _literal_text(node: ast.AST) -> str:
    return " ".join(
        n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ).lower()


class _Scope:
    """Def-use facts for one function (or the module body): which names hold built strings."""

    def __init__(self) -> None:
        self.dynamic: dict[str, bool] = {}
        self.sql_text: dict[str, str] = {}
        # `where, params = build_where(...)`: names returned beside the parameters they need.
        self.paired: dict[str, set[str]] = {}
        self.deps: dict[str, set[str]] = {}

    def is_static(self, node: ast.AST | None) -> bool:
        """A value fixed at the time of writing: literals and names bound to literals."""
        if node is None:
            return True
        if isinstance(node, ast.Constant):
            return True
        if isinstance(node, ast.JoinedStr):
            return all(
                self.is_static(v.value) for v in node.values if isinstance(v, ast.FormattedValue)
            )
        if isinstance(node, ast.Name):
            return self.dynamic.get(node.id) is False or node.id.isupper()
        if isinstance(node, ast.Attribute):  # Model.FIELDS: a class constant, by convention
            owner = node.value
            return node.attr.isupper() and isinstance(owner, ast.Name) and owner.id[:1].isupper()
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name | ast.Attribute):
            return self.is_static(node.value)  # COLUMNS[key]: a lookup in a constant table
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
            return _stringish(node.left) or _stringish(node.right)  # "?" * n placeholders
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in _SAFE_CALLS
        ):
            return True
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod):
            return self.is_static(node.left) and self.is_static(node.right)
        if isinstance(node, ast.Tuple | ast.List):
            return all(self.is_static(e) for e in node.elts)
        if isinstance(node, ast.Call):
            return self._builder_call(node) is False
        return False

    def _builder_call(self, node: ast.Call) -> bool | None:
        """For `.format/.replace/.join` calls: dynamic? None when it isn't such a call."""
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in ("format", "replace", "join"):
            args = [*node.args, *(k.value for k in node.keywords)]
            receiver_static = isinstance(func.value, ast.Constant) or self.is_static(func.value)
            if func.attr == "join":
                return not all(self.is_static(a) for a in args)
            return not (receiver_static and all(self.is_static(a) for a in args))
        return None

    def is_built(self, node: ast.AST | None) -> bool:
        """True when `node` is a string assembled at run time from a non-constant value."""
        if node is None:
            return False
        if isinstance(node, ast.JoinedStr):
            return any(
                isinstance(v, ast.FormattedValue) and not self.is_static(v.value)
                for v in node.values
            )
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod):
            if isinstance(node.op, ast.Add) and not (
                _stringish(node.left)
                or _stringish(node.right)
                or self.is_built(node.left)
                or self.is_built(node.right)
            ):
                return False
            if isinstance(node.op, ast.Mod) and not (
                _stringish(node.left) or self.is_built(node.left) or self.is_static(node.left)
            ):
                return False
            return not (self.is_static(node.left) and self.is_static(node.right))
        if isinstance(node, ast.Name):
            return self.dynamic.get(node.id, False)
        if isinstance(node, ast.Call):
            return bool(self._builder_call(node))
        return False

    def assign(self, name: str, value: ast.AST) -> None:
        self.dynamic[name] = self.is_built(value) or (
            isinstance(value, ast.Name) and self.dynamic.get(value.id, False)
        )
        if not self.dynamic[name] and not self.is_static(value):
            self.dynamic.pop(name, None)  # unknown provenance: neither built nor constant
        self.sql_text[name] = _literal_text(value)
        self.deps[name] = self.free_names(value)

    def free_names(self, node: ast.AST) -> set[str]:
        """Non-constant names a value is built from, through earlier assignments."""
        if self.is_static(node):
            return set()
        if isinstance(node, ast.Name):
            return set(self.deps.get(node.id, {node.id}))
        out: set[str] = set()
        for child in ast.iter_child_nodes(node):
            out |= self.free_names(child)
        return out

    def augment(self, name: str, value: ast.AST) -> None:
        before = self.dynamic.get(name)
        if before is None and name not in self.sql_text:
            return
        self.dynamic[name] = bool(before) or not self.is_static(value)
        self.sql_text[name] = self.sql_text.get(name, "") + " " + _literal_text(value)


def _stringish(node: ast.AST) -> bool:
    return (isinstance(node, ast.Constant) and isinstance(node.value, str)) or isinstance(
        node, ast.JoinedStr
    )


def _first_sql_arg(call: ast.Call) -> ast.AST | None:
    if call.args:
        return call.args[0]
    for kw in call.keywords:
        if kw.arg in ("sql", "query", "statement", "stmt", "operation"):
            return kw.value
    return None


def _is_sink(call: ast.Call, scope: _Scope, arg: ast.AST) -> bool:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id in _FUNCS
    if not isinstance(func, ast.Attribute):
        return False
    if func.attr in _STRONG:
        # `execute`/`fetch` also run shell commands and URLs: visible non-SQL text says so.
        text = _literal_text(arg) + " ".join(
            scope.sql_text.get(n.id, "") for n in ast.walk(arg) if isinstance(n, ast.Name)
        )
        chain = _chain_text(func.value)
        return (
            not text.strip()
            or any(w in f" {text} " for w in _SQL_WORDS)
            or any(w in chain for w in _DB_WORDS)
        )
    if func.attr in _FUNCS:
        return True
    if func.attr in _BUILDER:
        chain = _chain_text(func.value)
        if any(w in chain for w in _DB_WORDS):
            return True
        text = _literal_text(arg)
        if isinstance(arg, ast.Name):
            text += scope.sql_text.get(arg.id, "")
        return any(w in f" {text} " for w in _SQL_WORDS)
    return False


# Calls whose result can't carry SQL syntax (numbers, lengths).
_SAFE_CALLS = frozenset({"int", "float", "len", "bool", "round", "abs", "min", "max"})
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def _scope_nodes(body: list[ast.stmt]) -> list[ast.AST]:
    """Every node of a scope without descending into nested functions or classes."""
    out: list[ast.AST] = []
    stack: list[ast.AST] = list(reversed(body))
    while stack:
        node = stack.pop()
        out.append(node)
        if isinstance(node, _SCOPES):
            continue
        stack.extend(reversed(list(ast.iter_child_nodes(node))))
    return out


def _scan_scope(body: list[ast.stmt], path: str, findings: list[Finding], seen: set[int]) -> None:
    scope = _Scope()
    events: list[tuple[int, int, int, ast.AST]] = []
    for node in _scope_nodes(body):
        if isinstance(node, ast.Call):
            events.append((node.lineno, node.col_offset, 0, node))
        elif isinstance(node, ast.For | ast.AsyncFor):
            events.append((node.lineno, node.col_offset, 1, node))
        elif isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            events.append((node.end_lineno or node.lineno, node.end_col_offset or 0, 1, node))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            _scan_scope(node.body, path, findings, seen)
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    for _, _, kind, node in events:
        if kind == 1:
            _apply_assignment(scope, node)
            continue
        assert isinstance(node, ast.Call)
        arg = _first_sql_arg(node)
        if arg is None or node.lineno in seen:
            continue
        if isinstance(arg, ast.Dict):  # mysql-style {sql: ..., values: ...}
            arg = next(
                (
                    v
                    for k, v in zip(arg.keys, arg.values, strict=False)
                    if isinstance(k, ast.Constant) and k.value == "sql"
                ),
                arg,
            )
        if (
            scope.is_built(arg)
            and _is_sink(node, scope, arg)
            and not _paired_clause(scope, node, arg)
        ):
            seen.add(node.lineno)
            name = (
                node.func.attr
                if isinstance(node.func, ast.Attribute)
                else getattr(node.func, "id", "call")
            )
            findings.append(
                Finding(
                    path=path,
                    line=node.lineno,
                    column=node.col_offset + 1,
                    rule_id="python-sqli",
                    kind="sqli",
                    severity="high",
                    message=f"SQL built from a non-constant value reaches {name}(); "
                    "pass values as query parameters",
                    match=f"{name}(...)",
                    fingerprint=fingerprint("python-sqli", path, ast.unparse(arg)[:200]),
                )
            )


def _paired_clause(scope: _Scope, call: ast.Call, arg: ast.AST) -> bool:
    """`db.query(f"... {where}", params)` where `where, params = helper(...)`: the helper built
    a placeholder clause and handed back its values, the parameterised idiom in two steps."""
    params = call.args[1] if len(call.args) > 1 else None
    if not isinstance(params, ast.Name):
        return False
    names = scope.free_names(arg)
    return bool(names) and all(params.id in scope.paired.get(n, ()) for n in names)


def _apply_assignment(scope: _Scope, node: ast.AST) -> None:
    if isinstance(node, ast.For | ast.AsyncFor):
        # `for table in ("a", "b")`: the loop variable is as constant as the literal it walks.
        if isinstance(node.target, ast.Name):
            if isinstance(node.iter, ast.Tuple | ast.List | ast.Set) and scope.is_static(node.iter):
                scope.dynamic[node.target.id] = False
            else:
                scope.dynamic.pop(node.target.id, None)
    elif isinstance(node, ast.Assign):
        for target in node.targets:
            if isinstance(target, ast.Name):
                scope.assign(target.id, node.value)
                scope.paired.pop(target.id, None)
            elif isinstance(target, ast.Tuple) and isinstance(node.value, ast.Call):
                names = {e.id for e in target.elts if isinstance(e, ast.Name)}
                for name in names:
                    scope.dynamic.pop(name, None)
                    scope.paired[name] = names - {name}
    elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
        scope.assign(node.target.id, node.value)
    elif (
        isinstance(node, ast.AugAssign)
        and isinstance(node.target, ast.Name)
        and isinstance(node.op, ast.Add)
    ):
        scope.augment(node.target.id, node.value)


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
                if not any(v in window for v in _SQL_VERBS) or not _SQL_VERBS_RX.search(window):
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
    try:
        tree = ast.parse(source, filename=path)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    try:
        _scan_scope(tree.body, path, findings, seen)
    except RecursionError:
        pass
    return True


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
