"""The project's config file: `br-tui.toml` at the root, else `.buildrunner/config.toml`.

Each part of the engine owns one table in it (`[scan]`, `[telemetry]`, ...) and validates it
itself; this module only finds the file and reads one table, so every part looks in the same
places. A git hook pays for the TOML parser only when a config file exists.
"""

from __future__ import annotations

from pathlib import Path

TYPE_CHECKING = False  # not `from typing import ...` at run time: a git hook reads this module
if TYPE_CHECKING:
    from typing import Any

CONFIG_FILES = ("br-tui.toml", ".buildrunner/config.toml")


class ProjectConfigError(ValueError):
    """The config file can't be read or isn't valid TOML; the message names the file."""


def project_table(section: str, root: str | Path | None = None) -> dict[str, Any]:
    """The `[section]` table of the first config file under `root` (default: cwd), or {}."""
    base = Path(root) if root else Path.cwd()
    for name in CONFIG_FILES:
        path = base / name
        if path.is_file():
            import tomllib

            try:
                with path.open("rb") as fh:
                    table = tomllib.load(fh).get(section, {})
            except (OSError, tomllib.TOMLDecodeError) as exc:
                raise ProjectConfigError(f"{path}: {exc}") from None
            if not isinstance(table, dict):
                raise ProjectConfigError(f"{path}: [{section}] must be a table")
            return table
    return {}
