"""br:allow-file -- The fast paths give the same answers as the plain ones they replace.

Anchored rule windows vs a whole-text regex, the shared token-run pass, the worker pool vs one
process, the argparse-free command line, the rules cache, and the slotted Finding.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.security import rules as rules_mod
from engine.security.cli import _quick_parse, _scan_parser
from engine.security.config import ScanConfig
from engine.security.finding import Finding
from engine.security.scanner import scan_paths, scan_text

J = "".join
R32 = "Zx8Qm2Lp7Rt4Vw9Kc3Nb6Hy1Jd5Fg0Sa"

TEXTS = [
    J(["db = 'postgres://admin:", R32[:14], "@db.internal:5432/app'\n"]),
    J(["x = 1  # postgres://u:pw@h  http://a/b  ", "redis://:", R32[3:19], "@cache:6379\n"]),
    J(["headers = {'Authorization': 'Bearer ", R32, "'}\n", "token  ", R32[::-1], "\n"]),
    J(["curl -u deploy:", R32[:12], " https://x\n", "wget --http-password=", R32[5:20], "\n"]),
    J(["key = '", "9f3c1ab47e2d8c05b6a1f4e3d7c29b8a", "-us12'\n"]),
    J(["acme_live_", R32, R32[:8], " and acme-", R32[2:30], "-", R32[:7], "\n"]),
    J(["tok = 'wxyz_", "3f2a9c1e-7b4d-4e8a-9c2f-1a2b3c4d5e6f", "'\n"]),
    J(['secret = "', R32, '"\n', 'blob: "', R32[::-1], R32[:20], '"\n']),
    "ordinary text " * 50 + "://" * 30 + "bearer " * 20,
    # anchors packed closer than a window, with real matches among them: each start is tried
    # once, with the first anchor at or after it
    J(["://" * 40, "https://admin:", R32[:14], "@db.example.org/x ", "://u:" * 30, "\n"]),
    J(["-u " * 30, "curl -u deploy:", R32[:12], " https://x ", "-u " * 30, "\n"]),
    J(["-us " * 20, "key 9f3c1ab47e2d8c05b6a1f4e3d7c29b8a-us12 ", "-us" * 20, "\n"]),
    J(["bearer " * 30, "Authorization: Bearer ", R32, " bearer basic token " * 5, "\n"]),
]


def _whole_text(cfg_rules: list[dict[str, object]] | None = None) -> ScanConfig:
    """The shipped rules with anchors and token-run windows removed: whole-text regexes."""
    shipped, _ = rules_mod._shipped()
    plain = []
    for rule in shipped:
        data: dict[str, object] = {
            "id": rule.id,
            "description": rule.description,
            "severity": rule.severity,
            "regex": rule.regex,
            "keywords": list(rule.keywords),
            "validate": rule.validate,
            "min_len": rule.min_len,
        }
        if rule.group is not None:
            data["group"] = rule.group
        plain.append(data)
    return ScanConfig(sqli=False, rules=plain + (cfg_rules or []))


@pytest.mark.parametrize("text", TEXTS)
def test_anchored_and_token_run_rules_match_whole_text_regexes(text: str) -> None:
    fast = scan_text(text, "a.py", ScanConfig(sqli=False))
    slow = scan_text(text, "a.py", _whole_text())
    assert [(f.line, f.column, f.rule_id, f.match) for f in fast] == [
        (f.line, f.column, f.rule_id, f.match) for f in slow
    ]


def test_user_rule_with_anchor_window() -> None:
    rule = {
        "id": "acme-token",
        "description": "ACME",
        "regex": r"\b(acme_[A-Za-z0-9]{32})\b",
        "keywords": ["acme_"],
        "anchor": ["acme_"],
        "window": [0, 48],
    }
    text = J(["a = 'acme_", R32, "'\nb = xacme_", R32, "\n"])
    cfg = ScanConfig(sqli=False, rules=[rule], disable=["prefixed-token", "generic-secret"])
    found = scan_text(text, "a.txt", cfg)
    assert [(f.line, f.rule_id) for f in found if f.rule_id == "acme-token"] == [(1, "acme-token")]
    with pytest.raises(ValueError, match="window"):
        rules_mod.load_rules([{**rule, "window": [0, 0]}])


def test_pool_and_one_process_agree(tmp_path: Path) -> None:
    for i, text in enumerate(TEXTS * 3):
        (tmp_path / f"f{i:02d}.py").write_text(text)
    one = scan_paths([tmp_path], baseline=False, jobs=1)
    two = scan_paths([tmp_path], baseline=False, jobs=2)
    assert one and one == two
    assert scan_paths([tmp_path], baseline=False, jobs=3) == one


def test_pool_rescans_what_a_dead_worker_took(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from engine.security import scanner

    for i, text in enumerate(TEXTS * 3):
        (tmp_path / f"f{i:02d}.py").write_text(text)
    one = scan_paths([tmp_path], baseline=False, jobs=1)
    parent = os.getpid()
    real = scanner._read_scan

    def dying(file, config, display):  # type: ignore[no-untyped-def]
        if os.getpid() != parent:
            os._exit(3)
        return real(file, config, display)

    monkeypatch.setattr(scanner, "_read_scan", dying)
    assert scan_paths([tmp_path], baseline=False, jobs=2) == one


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--staged"],
        ["--format", "sarif", "-o", "out.sarif", "src", "lib"],
        ["--format=json", "--diff", "HEAD~1", "--no-sqli"],
        ["--baseline", "b.json", "--no-baseline", "--update-baseline", "--no-secrets", "."],
    ],
)
def test_quick_parse_agrees_with_argparse(argv: list[str]) -> None:
    quick = _quick_parse(argv)
    assert quick is not None
    assert vars(quick) == vars(_scan_parser().parse_args(argv))


@pytest.mark.parametrize(
    "argv", [["-h"], ["--stag"], ["--format", "xml"], ["--staged", "--diff", "x"], ["--", "a"]]
)
def test_quick_parse_leaves_the_rest_to_argparse(argv: list[str]) -> None:
    assert _quick_parse(argv) is None


def test_rules_cache_is_used_and_survives_corruption(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first = rules_mod._rules_data()
    cache = rules_mod._cache_file()
    assert cache.is_file()
    assert rules_mod._rules_data() == first
    cache.write_bytes(b"\x00garbage")
    assert rules_mod._rules_data() == first  # parsed again, cache rewritten
    assert rules_mod._rules_data() == first


def test_finding_is_an_immutable_value() -> None:
    f = Finding("a.py", 3, 1, "jwt", "secret", "medium", "JWT", "eyJh****abcd", "f00")
    assert pickle.loads(pickle.dumps(f)) == f
    assert hash(f) == hash(f.replace(line=3))
    assert f.replace(line=4).line == 4 and f.line == 3
    assert f.to_dict()["rule_id"] == "jwt"
    with pytest.raises(AttributeError):
        f.line = 9  # type: ignore[misc]


def test_fingerprint_is_sha256_whichever_module_computes_it() -> None:
    import hashlib

    from engine.security import finding

    raw = "ghp_" + R32 + "\udcff"  # a lone surrogate (a non-UTF-8 file read as text) included
    expected = hashlib.sha256(f"gh\0a.py\0{raw}".encode("utf-8", "surrogatepass")).hexdigest()
    assert finding._sha256()(b"abc").hexdigest() == hashlib.sha256(b"abc").hexdigest()
    assert finding.fingerprint("gh", "a.py", raw) == expected[:20]


# -- keyword search and token runs: the fast forms against plain definitions -----------------

_PIECES = ["key", "token", "secret", "passw", "api_key", "ghp_", "-u", "://", "bearer", "é", "İ"]
_TEXT = st.lists(
    st.one_of(st.sampled_from(_PIECES), st.text("aAk9+/-_=.~:é \n", min_size=1, max_size=30)),
    max_size=25,
).map("".join)


def _finders() -> list[tuple[list[str], float]]:
    from engine.security.generic import _keyword_finder
    from engine.security.rules import default_rules

    rs = default_rules()
    rs.active("")
    text_finder, _, run_finder, _ = rs._finder  # type: ignore[misc]
    generic = _keyword_finder(rs.generic_keywords)
    return [
        (text_finder.keywords, 15.0),
        (run_finder.keywords, float("inf")),
        (generic.keywords, float("inf")),
    ]


@settings(max_examples=300, deadline=None)
@given(text=_TEXT)
def test_aho_corasick_and_regex_keyword_passes_agree(text: str) -> None:
    from engine.security import keywords

    low = text.lower()
    for words, frequent in _finders():
        fast = keywords.KeywordFinder(words, frequent)
        assert fast._all is not None  # the dependency is installed: the fast path is what runs
        real, keywords._aho = keywords._aho, None
        try:
            slow = keywords.KeywordFinder(words, frequent)
        finally:
            keywords._aho = real
        assert fast.present(low) == slow.present(low)
        assert fast.spans(low) == slow.spans(low)
        # a lone surrogate (bytes decoded with surrogateescape): no UTF-8 form for the
        # automaton, so the regex passes answer
        odd = low + "\udcff" + low
        assert fast.present(odd) == slow.present(odd)
        assert fast.spans(odd) == slow.spans(odd)
        # and both are what the definition says: every keyword that occurs, found
        assert fast.present(low) == {n for n, w in enumerate(words) if w in low}


_RUN = "[A-Za-z0-9+/]"


def _plain_runs(text: str) -> tuple[list, list, list]:
    """TokenRuns' answers from their definitions, with whole-text regexes."""
    import re

    spans = [
        m.span()
        for m in re.finditer(r"[A-Za-z0-9+/=_\-.~]+", text)
        if re.search(_RUN + "{12}", m.group())
    ]
    digit = [
        (lo, hi)
        for lo, hi in spans
        if any(re.search(r"\d", r) for r in re.findall(_RUN + "{12,}", text[lo:hi]))
    ]
    starts = [
        m.start()
        for m in re.finditer(_RUN + "{24,}", text)
        if text[m.start() - 1 : m.start()] in "_-"
    ]
    starts += [
        m.start()
        for m in re.finditer(
            f"(?={_RUN}{{8}}-{_RUN}{{4}}-{_RUN}{{4}}-{_RUN}{{4}}-{_RUN}{{12}})", text
        )
    ]
    windows = sorted({(lo, hi) for lo, hi in spans for s in starts if lo <= s < hi})
    return spans, digit, windows


@settings(max_examples=300, deadline=None)
@given(
    text=st.lists(
        st.one_of(
            st.text("aZ9+/", min_size=8, max_size=30),
            st.sampled_from(["-", "_", "=", ".", "~", " ", "é", "\n", "0123-4567-89ab-cdef"]),
        ),
        max_size=20,
    ).map("".join)
)
def test_token_runs_match_their_definition(text: str) -> None:
    from engine.security.generic import TokenRuns

    runs = TokenRuns(text)
    spans, digit, windows = _plain_runs(text)
    assert runs.spans() == spans
    assert list(runs.digit_runs()) == digit
    assert runs.token_windows() == windows


def test_a_directory_outside_any_repository_is_walked_without_asking_git(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess

    from engine.security import sources

    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "a.py").write_text(TEXTS[7])
    repo = tmp_path / "repo"
    (repo / "sub").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    assert sources._outside_any_repo(tmp_path / "plain") == (
        sources.repo_root(tmp_path / "plain", quick=False) is None
    )
    assert not sources._outside_any_repo(repo / "sub")  # git is asked: it knows best
    monkeypatch.setenv("GIT_DIR", str(repo / ".git"))
    assert not sources._outside_any_repo(tmp_path / "plain")
    monkeypatch.delenv("GIT_DIR")
    if sources._outside_any_repo(tmp_path / "plain"):  # (a checkout above tmp would be asked)

        def no_git(*args: object, **kwargs: object) -> object:
            raise AssertionError("git started for a directory outside any repository")

        monkeypatch.setattr(sources, "_git", no_git)
        assert [p.name for p in sources.iter_files([tmp_path / "plain"])] == ["a.py"]
        assert scan_paths([tmp_path / "plain"], baseline=False)


def test_redact_and_scan_take_text_with_a_lone_surrogate() -> None:
    from engine.security import redact

    secret = "AbC9xYz8QwErTy7UiOp6Lk5J"
    line = f'api_key = "{secret}" \udcff'
    assert secret not in redact(line)
    assert [f.rule_id for f in scan_text(line + "\n", "a.txt")] == ["generic-secret"]
