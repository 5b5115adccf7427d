"""The user's keymap: `$XDG_CONFIG_HOME/br-tui/keymap.toml`, binding id -> keys.

Every binding in the app carries an id (`sessions.pause`, `app.workers`, ...; `?` lists them);
Textual's `App.set_keymap` swaps the keys of the ids it is given. The file is the user's, so a
mistake in it must never stop the app: a broken file, an unknown id or a key that now does two
things is a warning on start, and the rest of the file still applies.

    # ~/.config/br-tui/keymap.toml
    "sessions.pause" = "space"            # quoted: the id has a dot
    [workers]                             # or a table per screen
    add = ["plus", "a"]                   # several keys: a list, or "plus,a"
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textual.app import App
from textual.binding import Binding
from textual.screen import Screen

FILE = Path("br-tui") / "keymap.toml"


def keymap_path(env: Mapping[str, str] = os.environ) -> Path:
    """`$XDG_CONFIG_HOME/br-tui/keymap.toml`, `~/.config/...` when XDG_CONFIG_HOME is unset."""
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME") or Path.home()) / ".config")
    return Path(base) / FILE


@dataclass
class Keymap:
    """What the file asked for that can be applied, and what was wrong with the rest."""

    keys: dict[str, str] = field(default_factory=dict)  # id -> "key1,key2" (Textual's form)
    warnings: list[str] = field(default_factory=list)


# -- which bindings exist ----------------------------------------------------------------------


def _bindings(items: Iterable[Any]) -> list[Binding]:
    return list(Binding.make_bindings(b for b in items if isinstance(b, Binding | tuple)))


def scopes(app: type[App[Any]] | App[Any]) -> dict[str, list[Binding]]:
    """The app's bindings and each of its screens' (every br_tui screen class), one per key:
    the places a key can mean something."""
    app_cls = app if isinstance(app, type) else type(app)
    out = {"app": _bindings(app_cls.BINDINGS)}
    for cls in _subclasses(Screen):
        if cls.__module__.startswith("br_tui.") and "BINDINGS" in cls.__dict__:
            out[getattr(cls, "LABEL", "") or cls.__name__] = _bindings(cls.BINDINGS)
    return out


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


# -- reading the file --------------------------------------------------------------------------


def _flatten(table: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from _flatten(value, f"{name}.")
        else:
            yield name, value


def _keys(value: Any) -> str | None:
    """A key string ("space", "ctrl+p", "plus,a") or a list of them, as Textual's "a,b"."""
    parts = value.split(",") if isinstance(value, str) else value
    if not isinstance(parts, list) or not parts:
        return None
    keys = [p.strip() if isinstance(p, str) else "" for p in parts]
    if any(not k or " " in k for k in keys):
        return None
    return ",".join(keys)


def parse(text: str, known: Iterable[str], source: str = "keymap.toml") -> Keymap:
    """The applicable part of a keymap file's text, and a warning for each problem."""
    import tomllib

    out = Keymap()
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        out.warnings.append(f"{source}: {exc}; using the default keys")
        return out
    if set(data) == {"keymap"} and isinstance(data["keymap"], dict):  # a [keymap] table
        data = data["keymap"]
    known = set(known)
    for binding_id, value in _flatten(data):
        if binding_id not in known:
            near = difflib.get_close_matches(binding_id, known, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else " (? lists the ids)"
            out.warnings.append(f"{source}: unknown binding id {binding_id!r}{hint}")
            continue
        keys = _keys(value)
        if keys is None:
            out.warnings.append(
                f'{source}: {binding_id!r}: keys must be a string such as "space" or'
                ' "ctrl+p", or a list of them'
            )
            continue
        out.keys[binding_id] = keys
    out.keys = App._normalize_keymap(out.keys)  # what set_keymap itself does ("?" -> ...)
    return out


# -- what the keys become ----------------------------------------------------------------------


def in_force(binding: Binding, keymap: Mapping[str, str]) -> Binding:
    """The binding with the key the keymap gives it (the same binding when it gives none)."""
    keys = keymap.get(binding.id or "")
    return binding.with_key(keys, key_display=None) if keys else binding


def clashes(keymap: Mapping[str, str], all_scopes: Mapping[str, list[Binding]]) -> list[str]:
    """Keys the keymap made do two things: two bindings of one screen (or of the app) on one
    key, or a screen binding on a key the app uses everywhere (the screen's would win there).
    Overlaps the default keys already had are left alone: only remapped bindings count."""
    out: list[str] = []

    def mapped(bindings: list[Binding]) -> dict[str, list[Binding]]:
        by: dict[str, list[Binding]] = {}
        for b in bindings:
            for key in in_force(b, keymap).key.split(","):
                by.setdefault(key, []).append(b)
        return by

    def moved(b: Binding) -> bool:
        return bool(b.id) and b.id in keymap

    app_keys = mapped(all_scopes.get("app", []))
    for where, bindings in all_scopes.items():
        for key, bs in mapped(bindings).items():
            ids = sorted({b.id or b.action for b in bs})
            if len(ids) > 1 and any(moved(b) for b in bs):
                out.append(f"key {key!r} is bound to {' and '.join(ids)} ({where})")
            if where == "app":
                continue
            for theirs in app_keys.get(key, []):
                if theirs.id in ids:
                    continue
                if any(moved(b) for b in bs) or moved(theirs):
                    out.append(f"key {key!r} of {ids[0]} ({where}) hides {theirs.id} there")
    return out


def load(app: App[Any], path: Path | None = None) -> Keymap:
    """Read the user's keymap for `app` (missing file: nothing to do, no warning)."""
    path = path or keymap_path()
    known = {b.id for bindings in scopes(app).values() for b in bindings if b.id}
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Keymap()
    except (OSError, UnicodeDecodeError) as exc:
        return Keymap(warnings=[f"{path}: {exc}; using the default keys"])
    found = parse(text, known, str(path))
    found.warnings += [f"{path}: {c}" for c in clashes(found.keys, scopes(app))]
    return found


def apply_user_keymap(app: App[Any], path: Path | None = None) -> Keymap:
    """Load the keymap, apply what can be applied, and show each warning as a toast."""
    found = load(app, path)
    if found.keys:
        app.set_keymap(found.keys)
    for warning in found.warnings:
        app.notify(warning, title="keymap", severity="warning", timeout=12)
    return found
