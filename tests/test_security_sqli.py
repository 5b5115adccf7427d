"""SQL injection: built strings reaching query APIs are flagged; parameterised ones are not."""

from __future__ import annotations

import ast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.security.sqli_js import scan_js
from engine.security.sqli_python import scan_python

PY_BAD = [
    'def f(c, x):\n    c.execute(f"SELECT * FROM t WHERE id = {x}")',
    'def f(c, x):\n    c.execute("SELECT * FROM t WHERE id = %s" % x)',
    'def f(c, x):\n    q = "SELECT * FROM t WHERE id = " + x\n    c.execute(q)',
    'def f(c, x):\n    q = "SELECT * FROM t WHERE id = {}".format(x)\n    c.fetch(q)',
    'def f(x):\n    return Person.objects.raw("SELECT * FROM p WHERE n = %s" % x)',
    'def f(s, x):\n    return s.execute(text("SELECT * FROM t WHERE n = " + x))',
    'def f(c, x):\n    q = "SELECT 1"\n    q += x\n    c.execute(q)',
]
PY_OK = [
    'def f(c, x):\n    c.execute("SELECT * FROM t WHERE id = %s", (x,))',
    'def f(c):\n    c.execute("SELECT * FROM t WHERE id = " + "3")',
    'def f(c):\n    c.execute("SELECT * FROM t".format())',
    'def f(c, ids):\n    c.execute(f"DELETE FROM t WHERE id IN ({",".join("?" * len(ids))})", ids)',
    'def f(c):\n    for t in ("a", "b"):\n        c.execute(f"DELETE FROM {t}")',
    'def f(x):\n    print(f"SELECT * FROM t WHERE id = {x}")',
    "def f(x):\n    return Person.objects.filter(name=x)",
    'def f(db, a):\n    where, params = build(a)\n    db.query(f"SELECT * FROM t {where}", params)',
    'def f(shell, x):\n    shell.execute(f"echo {x}")',
]
JS_BAD = [
    "async function f(c, x) { await c.query(`SELECT * FROM t WHERE id = ${x}`); }",
    "async function f(c, x) { await c.query('SELECT * FROM t WHERE id = ' + x); }",
    "var s = 'SELECT * FROM t WHERE id = ' + x;\nconn.execute(s);",
    "await knex.raw(`SELECT * FROM t WHERE id = ${req.query.id}`);",
    "conn.query({sql: 'SELECT * FROM ' + table, rowsAsArray: true});",
    "await prisma.$queryRawUnsafe(`SELECT * FROM t WHERE id = ${id}`);",
]
JS_OK = [
    "await c.query('SELECT * FROM t WHERE id = $1', [x]);",
    "const q = 'SELECT * FROM t ' + 'WHERE id = ?';\nawait c.query(q, [x]);",
    "console.log(`SELECT * FROM t WHERE id = ${x}`);",
    "await prisma.$queryRaw`SELECT * FROM t WHERE id = ${id}`;",
    "await db.query(sql`SELECT * FROM t WHERE id = ${id}`);",
    "// c.query(`SELECT ${x}`)\nconst y = 1;",
]


@pytest.mark.parametrize("src", PY_BAD)
def test_python_flags(src: str) -> None:
    assert scan_python(src, "a.py"), src


@pytest.mark.parametrize("src", PY_OK)
def test_python_clean(src: str) -> None:
    assert scan_python(src, "a.py") == [], src


@pytest.mark.parametrize("src", JS_BAD)
def test_js_flags(src: str) -> None:
    assert scan_js(src, "a.ts"), src


@pytest.mark.parametrize("src", JS_OK)
def test_js_clean(src: str) -> None:
    assert scan_js(src, "a.js") == [], src


def test_unparsable_python_is_not_a_crash() -> None:
    assert scan_python("def (:\n", "a.py") == []


def test_module_level_sink_parses_module_code_only() -> None:
    from engine.security.sqli_python import _module_code

    src = (
        "import db\n"
        "@deco\n"
        "def helper(x):\n"
        "    return x\n"
        "\n"
        'q = f"SELECT * FROM t WHERE id = {uid}"\n'
        "class Other:\n"
        "    name = 1\n"
        "db.execute(q)\n"
    )
    code = _module_code(src)
    assert "helper" not in code and "Other" not in code
    assert code.count("\n") == src.count("\n")
    assert [f.line for f in scan_python(src, "m.py")] == [9]


def test_multiline_decorator_is_blanked_with_its_block() -> None:
    from engine.security.sqli_python import _module_code

    src = (
        "import db\n"
        "@register(\n"
        "    str,\n"
        ")\n"
        "def helper(x):\n"
        "    return x\n"
        'q = f"SELECT * FROM t WHERE id = {uid}"\n'
        "db.execute(q)\n"
    )
    code = _module_code(src)
    assert "register" not in code and "helper" not in code
    ast.parse(code)  # no dangling decorator: the module code parses on its own
    assert [f.line for f in scan_python(src, "m.py")] == [8]


def _method_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    import engine.security.sqli_python as sp

    parsed: list[str] = []
    real = sp._scan_tree

    def spy(source: str, *args: object) -> bool:
        parsed.append(source)
        return real(source, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(sp, "_scan_tree", spy)
    return parsed


_CLASS = (
    "class Repo:\n"
    '    """Rows."""\n'
    "    def unrelated(self):\n"
    "        return 1\n"
    "\n"
    "    def find(self, name):\n"
    "        sql = f\"SELECT * FROM t WHERE name = '{name}'\"\n"
    "        def inner(v):\n"
    '            return self.cur.execute(f"DELETE FROM t WHERE v = {v}")\n'
    "        return self.cur.execute(sql)\n"
    "\n"
    "    def later(self):\n"
    "        return 2\n"
)


def test_a_sink_in_a_method_parses_that_method_only(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed = _method_parses(monkeypatch)
    found = scan_python("import x\n\n" + _CLASS, "a.py")
    # both sinks found once (the nested function's too), at their lines in the file
    assert sorted(f.line for f in found) == [11, 12]
    assert len(parsed) == 1 and "def find" in parsed[0]
    assert "unrelated" not in parsed[0] and "later" not in parsed[0]


def test_a_method_that_does_not_parse_alone_falls_back_to_its_class(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parsed = _method_parses(monkeypatch)
    src = (
        "class Repo:\n"
        "    def find(self, name):\n"
        '        self.cur.execute(f"SELECT * FROM t WHERE name = {name}")\n'
        '        doc = """\n'
        "back at the margin, inside the string: the method's indentation seems to end here\n"
        '"""\n'
        "        return doc\n"
    )
    assert [f.line for f in scan_python(src, "a.py")] == [3]
    assert parsed[0].startswith("if 1:\n    def find")  # cut short: does not parse
    assert parsed[-1].startswith("class Repo")  # so the class is parsed whole


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.sampled_from(["select", "ſelect", "update", "delete", "inſert", "from", "where", "set"])
        | st.text(" \nxé_(", max_size=4),
        max_size=12,
    ).map("".join)
)
def test_sql_statement_test_agrees_with_the_regex(window: str) -> None:
    from engine.security import sqli_python as sp

    plain = any(v in window for v in sp._SQL_VERBS) and sp._SQL_VERBS_RX.search(window) is not None
    assert sp._has_sql_statement(window) == plain
