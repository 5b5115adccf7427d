"""Scan settings from the project's config file, so a team tunes the scanner in one place.

Read from `[scan]` in `br-tui.toml` at the repository root, else from `[scan]` in
`.buildrunner/config.toml`. Everything is optional; docs/security.md lists the keys.
"""

from __future__ import annotations

from pathlib import Path

from engine.config import ProjectConfigError, project_table

DEFAULT_BASELINE = ".br-tui-baseline.json"


class ConfigError(ValueError):
    """The config file exists but can't be read or holds a value of the wrong type."""


class ScanConfig:
    """Everything a scan needs to know besides what to scan.

    A plain class, not a dataclass: importing `dataclasses` costs a git hook several ms."""

    __slots__ = (
        "_ruleset",
        "baseline",
        "disable",
        "exclude",
        "generic_keywords",
        "max_file_size",
        "root",
        "rules",
        "secrets",
        "sqli",
    )

    def __init__(
        self,
        root: Path | None = None,
        exclude: list[str] | None = None,
        disable: list[str] | None = None,
        rules: list[dict[str, object]] | None = None,
        generic_keywords: list[str] | None = None,
        max_file_size: int = 2_000_000,
        baseline: str = DEFAULT_BASELINE,
        secrets: bool = True,
        sqli: bool = True,
    ) -> None:
        self.root = Path.cwd() if root is None else root
        self.exclude = [] if exclude is None else exclude
        self.disable = [] if disable is None else disable
        self.rules = [] if rules is None else rules
        self.generic_keywords = generic_keywords
        self.max_file_size = max_file_size
        self.baseline = baseline
        self.secrets = secrets
        self.sqli = sqli
        self._ruleset = None

    def __repr__(self) -> str:
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__slots__[1:])
        return f"ScanConfig({inner})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ScanConfig):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in self.__slots__[1:])

    def ruleset(self):  # -> RuleSet, imported lazily to keep `import engine.security` cheap
        """The rules in force, built once per config (the settings are read when first asked)."""
        from engine.security.rules import default_rules, load_rules

        key = (self.rules, self.disable, self.generic_keywords)
        if self._ruleset is not None and self._ruleset[0] == key:
            return self._ruleset[1]
        if not (self.rules or self.disable or self.generic_keywords):
            built = default_rules()
        else:
            built = load_rules(self.rules, self.disable, self.generic_keywords)
        self._ruleset = (
            (
                list(self.rules),
                list(self.disable),
                self.generic_keywords and list(self.generic_keywords),
            ),
            built,
        )
        return built


def _expect(table: dict[str, object], key: str, kind: type, default: object) -> object:
    value = table.get(key, default)
    if not isinstance(value, kind):
        raise ConfigError(f"[scan] {key} must be {kind.__name__}")
    return value


def load_config(root: Path | str | None = None) -> ScanConfig:
    """The `[scan]` table of the first config file found under `root` (default: cwd)."""
    base = Path(root) if root else Path.cwd()
    try:
        table: dict[str, object] = project_table("scan", base)
    except ProjectConfigError as exc:
        raise ConfigError(str(exc)) from None
    return ScanConfig(
        root=base,
        exclude=list(_expect(table, "exclude", list, [])),  # type: ignore[call-overload]
        disable=list(_expect(table, "disable", list, [])),  # type: ignore[call-overload]
        rules=list(_expect(table, "rules", list, [])),  # type: ignore[call-overload]
        generic_keywords=table.get("generic_keywords"),  # type: ignore[arg-type]
        max_file_size=int(_expect(table, "max_file_size", int, 2_000_000)),  # type: ignore[call-overload]
        baseline=str(_expect(table, "baseline", str, DEFAULT_BASELINE)),
        secrets=bool(_expect(table, "secrets", bool, True)),
        sqli=bool(_expect(table, "sqli", bool, True)),
    )
