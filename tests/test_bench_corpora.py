"""br:allow-file -- The held-out corpora of bench/: definitions stay fixed, extraction is the same.

C's figures in docs/performance.md are only comparable while C's definition does not move, and D
is only an honest estimate while it shares no package with C, the standard library or the dev
venv's halves. The keyword-line extraction and the review files are what every tool is scored on.
"""

from __future__ import annotations

import sys
from pathlib import Path

# appended, not prepended: a bench script must never shadow a package
sys.path.append(str(Path(__file__).resolve().parents[1] / "bench"))
import corpora
import scan_accuracy


def _name(pin: str) -> str:
    return pin.split("==")[0].split("=")[0].lower().replace("_", "-")


def test_corpus_c_definition_is_unchanged() -> None:
    c = corpora.CORPORA["c"]
    assert [_name(w) for w in c.wheels] == [
        "django", "flask", "werkzeug", "sqlalchemy", "tornado", "paramiko", "celery", "kombu",
        "redis", "oauthlib", "authlib", "pyjwt", "google-auth", "docker", "alembic", "gunicorn",
    ]  # fmt: skip
    assert c.doc_debs == ("python3.11-doc", "python-celery-doc")
    assert c.default_dir.name == "corpus-c"
    assert c.review.name == "corpus_c_review.txt"


def test_corpus_d_is_pinned_and_shares_nothing_with_c_or_the_stdlib() -> None:
    c, d = corpora.CORPORA["c"], corpora.CORPORA["d"]
    assert len(d.wheels) == 16 and all("==" in w for w in d.wheels)
    assert len(d.doc_debs) == 2 and all("=" in deb for deb in d.doc_debs)
    names = {_name(w) for w in d.wheels}
    assert not names & {_name(w) for w in c.wheels}
    assert not {n.replace("-", "_") for n in names} & set(sys.stdlib_module_names)
    assert not {_name(deb) for deb in d.doc_debs} & {_name(deb) for deb in c.doc_debs}


def test_keyword_lines_take_literals_only_and_bare_values_outside_python(tmp_path: Path) -> None:
    code = tmp_path / "settings.py"
    code.write_text(
        'password = "hunter2x"\n'  # 1: literal
        "password = read_password()\n"  # 2: a call, not a literal
        "api_key: abc123\n"  # 3: a bare word in Python is a name, not a value
        'headers = {"Authorization": f"Bearer {token}"}\n'  # 4: a header given a literal
        'author = "someone"\n'  # 5: not a credential-like name
    )
    conf = tmp_path / "app.ini"
    conf.write_text("[db]\npassword = s3cr3tvalue\ntoken:\n")
    assert [n for n, _ in corpora.keyword_lines(code)] == [1, 4]
    assert [n for n, _ in corpora.keyword_lines(conf)] == [2]
    binary = tmp_path / "blob.txt"
    binary.write_bytes(b"password = '\xff\xfe'\n")
    assert corpora.keyword_lines(binary) == []


def test_review_files_parse_with_a_reason_per_line_and_no_duplicate() -> None:
    for corpus in corpora.CORPORA.values():
        lines = [
            raw
            for raw in corpus.review.read_text(encoding="utf-8").splitlines()
            if raw.strip() and not raw.startswith("#")
        ]
        found = corpora.reviewed(corpus)
        assert len(found) == len(lines), corpus.name
        assert all(reason for reason in found.values())
    assert corpora.reviewed(corpora.Corpus("zz", (), ())) == {}


def test_a_fetched_cache_is_reused_only_for_the_same_definition(tmp_path: Path) -> None:
    d = corpora.CORPORA["d"]
    (tmp_path / "tree").mkdir()
    (tmp_path / "done").write_text(d.definition())
    assert corpora.fetch(d, tmp_path) == tmp_path / "tree"
    assert d.definition() != corpora.CORPORA["c"].definition()


def test_keyword_tree_maps_every_written_line_back(tmp_path: Path) -> None:
    tree = tmp_path / "corpus"
    (tree / "pkg").mkdir(parents=True)
    (tree / "pkg" / "a.py").write_text('x = 1\ntoken = "abc-def-ghi"\n\nsecret = "s3cr3t!"\n')
    (tree / "pkg" / "b.py").write_text("nothing = 2\n")
    where = scan_accuracy.keyword_tree(tree, tmp_path / "kw")
    assert where == {("pkg/a.py", 1): ("pkg/a.py", 2), ("pkg/a.py", 2): ("pkg/a.py", 4)}
    assert (tmp_path / "kw" / "pkg" / "a.py").read_text().splitlines()[1] == 'secret = "s3cr3t!"'
    assert not (tmp_path / "kw" / "pkg" / "b.py").exists()
