"""Which Python calls take SQL text: shared by the pre-pass (`sqli_python`) and the data-flow
walk (`sqli_pyflow`), so the two can never disagree on what a sink is."""

# Methods whose first argument is SQL text whatever the receiver is called.
STRONG = frozenset(
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
FUNCS = frozenset({"text", "RawSQL", "read_sql", "read_sql_query", "literal_column"})
# Query-builder methods that accept raw SQL fragments: only when the receiver looks like a query
# or a connection, since `filter` and `run` mean many other things.
BUILDER = frozenset(
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
DB_WORDS = ("query", "conn", "cursor", "cur", "db", "session", "engine", "sql", "pool", "con")
