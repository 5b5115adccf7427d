"""The data-flow half of the Python SQL-injection analysis: one function's statements in order.

`sqli_python` decides which functions are worth parsing and loads this module (and `ast`, ~2 ms
of a git hook) only when there is one. A call to an execute-like API whose first argument is a
string built at run time (or a name holding one) is reported.
"""

from __future__ import annotations

import ast

from engine.security.finding import Finding, fingerprint
from engine.security.sqli_sinks import BUILDER as _BUILDER
from engine.security.sqli_sinks import DB_WORDS as _DB_WORDS
from engine.security.sqli_sinks import FUNCS as _FUNCS
from engine.security.sqli_sinks import STRONG as _STRONG

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


def scan_tree(source: str, path: str, findings: list[Finding], seen: set[int]) -> bool:
    """Findings of `source` (a module, or a block that parses alone) into `findings`;
    False when it does not parse."""
    try:
        tree = ast.parse(source, filename=path)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    try:
        _scan_scope(tree.body, path, findings, seen)
    except RecursionError:
        pass
    return True
