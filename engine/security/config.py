"""Scan settings from the project's config file, so a team tunes the scanner in one place.

Read from `[scan]` in `br-tui.toml` at the repository root, else from `[scan]` in
`.buildrunner/config.toml`. Everything is optional; docs/security.md lists the keys.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

CONFIG_FILES = ("br-tui.toml", ".buildrunner/config.toml")
DEFAULT_BASELINE = ".br-tui-baseline.json"


class ConfigError(ValueError):
    """The config file exists but can't be read or holds a value of the wrong type."""


@dataclass(slots=True)
class ScanConfig:
    """Everything a scan needs to know besides what to scan."""

    root: Path = field(default_factory=Path.cwd)
    exclude: list[str] = field(default_factory=list)
    disable: list[str] = field(default_factory=list)
    rules: list[dict[str, object]] = field(default_factory=list)
    generic_keywords: list[str] | None = None
    max_file_size: int = 2_000_000
    baseline: str = DEFAULT_BASELINE
    secrets: bool = True
    sqli: bool = True

    def ruleset(self):  # -> RuleSet, imported lazily to keep `import engine.security` cheap
        from engine.security.rules import default_rules, load_rules

        if not (self.rules or self.disable or self.generic_keywords):
            return default_rules()
        return load_rules(self.rules, self.disable, self.generic_keywords)


def _expect(table: dict[str, object], key: str, kind: type, default: object) -> object:
    value = table.get(key, default)
    if not isinstance(value, kind):
        raise ConfigError(f"[scan] {key} must be {kind.__name__}")
    return value


def load_config(root: Path | str | None = None) -> ScanConfig:
    """The `[scan]` table of the first config file found under `root` (default: cwd)."""
    base = Path(root) if root else Path.cwd()
    table: dict[str, object] = {}
    for name in CONFIG_FILES:
        candidate = base / name
        if candidate.is_file():
            try:
                with candidate.open("rb") as fh:
                    table = tomllib.load(fh).get("scan", {})
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise ConfigError(f"{candidate}: {exc}") from exc
            break
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
