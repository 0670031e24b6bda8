"""MkDocs hook: the reference tables are made from the package's own data at build time, so they cannot drift.

A page holds markers, each replaced when the site is built:

- ``<!-- auditready:readme-quickstart -->``: the README's two commands, as the README says them.
- ``<!-- auditready:checks-table -->`` and ``<!-- auditready:check ID -->``: from ``checks.BUILTIN`` and the
  compliance data (``compliance/mappings.json``, ``compliance/severities.json``).
- ``<!-- auditready:settings-table -->``: from ``config.KEYS`` and ``config.Settings`` (defaults, and the allowed
  values as the usage error states them) with the meaning of each key from ``docs/_data/settings.yml``.
- ``<!-- auditready:controls -->``: the framework mappings.
- ``<!-- auditready:pytest-options -->`` and ``<!-- auditready:commands -->``: pytest's options and each
  ``auditready`` subcommand's help, from the parsers themselves.
- ``<!-- auditready:hooks -->``: the hookspecs with their docstrings and examples.
- ``<!-- auditready:include FILE -->``: a file of the repository (the changelog).

Anything the package has and the pages do not (a check without its section, a key without a meaning) is logged
as a warning, which ``mkdocs build --strict`` makes an error. tests/test_docs.py imports this module too.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import logging
import os
import re
import textwrap
from pathlib import Path
from typing import Any, Callable, Optional

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
MARKER = re.compile(r"<!-- auditready:([a-z-]+)(?: ([^ ]+))? -->")
log = logging.getLogger("mkdocs.hooks.auditready")


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _code(text: str) -> str:
    return f"`{text}`" if text not in ("", None) else ""


# -- checks and controls -------------------------------------------------------------------------------------
def checks() -> list[Any]:
    from pytest_auditready.checks import BUILTIN

    return list(BUILTIN)


def _runs(check: Any) -> str:
    return "live" if check.live_only else "live and offline"


def checks_table() -> str:
    from pytest_auditready import compliance

    rows = ["| check | what must hold | severity | runs | controls |", "|---|---|---|---|---|"]
    for c in checks():
        rows.append(f"| [`{c.id}`](#{c.id}) | {_cell(c.requirement)} | {compliance.severity(c.id)} | {_runs(c)} | "
                    f"{_cell(compliance.summary(c.id))} |")
    return "\n".join(rows)


def check_facts(check_id: str) -> str:
    from pytest_auditready import compliance

    found = {c.id: c for c in checks()}.get(check_id)
    if found is None:
        log.warning("docs name the check %r, which the package does not have", check_id)
        return ""
    lines = [f"**{found.title}.** What must hold: {found.requirement}.", "",
             f"Severity **{compliance.severity(check_id)}**; runs {_runs(found)}"
             f"{' (a vault and its scenario are needed)' if found.live_only else ''}.", "",
             "| framework | requirement | title |", "|---|---|---|"]
    for ctl in compliance.controls_for(check_id):
        lines.append(f"| {ctl.framework} | {ctl.requirement} | {_cell(ctl.title)} |")
    return "\n".join(lines)


def _control_check(spec: dict[str, Any], c: str) -> str:
    """A check of a control's row: its link, and what the mapping says limits it there."""
    scoped = spec.get("evidenced_by") or {}
    cut = spec.get("not_evidenced_on") or {}
    partly = spec.get("partly") or {}
    out = f"[`{c}`](checks.md#{c})"
    if c in scoped:
        out += f" (only through {_cell(scoped[c]['what'])}: {', '.join(scoped[c]['actions'])})"
    if c in cut:
        out += f" (not evidenced {' or '.join(cut[c]['targets'])}: {_cell(cut[c]['why'])})"
    if c in partly:
        out += f" (partly evidenced: {_cell(partly[c])})"
    return out


def controls() -> str:
    from pytest_auditready import compliance

    out = []
    for name, body in compliance.frameworks().items():
        out += [f"## {name}", "", f"Edition: {body.get('edition', '')}.", "",
                "| requirement | title | checks |", "|---|---|---|"]
        for req, spec in body["requirements"].items():
            links = ", ".join(_control_check(spec, c) for c in spec["checks"])
            out.append(f"| {req} | {_cell(spec['title'])} | {links} |")
        out.append("")
    return "\n".join(out)


# -- settings ------------------------------------------------------------------------------------------------
def meanings() -> dict[str, str]:
    import yaml  # type: ignore[import-untyped,unused-ignore]  # a dependency of mkdocs

    data = yaml.safe_load((DOCS / "_data" / "settings.yml").read_text(encoding="utf-8")) or {}
    return {str(k): str(v) for k, v in data.items()}


def allowed(key: str) -> str:
    """What the key takes, in the words of the usage error a bad value gets."""
    from pytest_auditready.config import KEYS

    try:
        KEYS[key](object())
    except ValueError as exc:
        return str(exc)
    except Exception:
        return ""
    return ""


def default(field: Any) -> str:
    if field.default is not dataclasses.MISSING:
        value = field.default
    elif field.default_factory is not dataclasses.MISSING:
        value = field.default_factory()
    else:
        return ""
    if value is None or value == () or value == "":
        return "none" if value is None or value == () else '`""`'
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, tuple):
        return "`[" + ", ".join(f'"{v}"' if isinstance(v, str) else str(v) for v in value) + "]`"
    if isinstance(value, str):
        return f'`"{value}"`'
    return f"`{value}`"


def pytest_options() -> list[dict[str, Any]]:
    """The plugin's pytest options, as pytest_addoption declares them."""
    from pytest_auditready import plugin

    found: list[dict[str, Any]] = []

    class Group:
        def addoption(self, *names: str, **attrs: Any) -> None:
            found.append({"names": names, **attrs})

    class Parser:
        def getgroup(self, *_: Any, **__: Any) -> Group:
            return Group()

        def addini(self, *_: Any, **__: Any) -> None:
            pass

        def addoption(self, *names: str, **attrs: Any) -> None:
            found.append({"names": names, **attrs})

    plugin.pytest_addoption(Parser(), None)  # type: ignore[arg-type]  # no plugin manager: nothing to unmark
    return found


def settings_table() -> str:
    from pytest_auditready import plugin
    from pytest_auditready.config import KEYS, Settings

    text = meanings()
    option_of = {}
    for opt in pytest_options():
        key = getattr(plugin, "CLI_KEYS", {}).get(opt.get("dest"))
        if key:
            option_of[key] = opt["names"][0]
    for key in sorted(set(text) - set(KEYS)):
        log.warning("docs/_data/settings.yml describes %r, which is not a key of [tool.auditready]", key)
    rows = ["| key | pytest option | default | takes | meaning |", "|---|---|---|---|---|"]
    for f in dataclasses.fields(Settings):
        if f.name not in KEYS:
            continue
        if f.name not in text:
            log.warning("the setting %r has no meaning in docs/_data/settings.yml", f.name)
        rows.append(f"| <a id=\"{f.name}\"></a>`{f.name}` | {_code(option_of.get(f.name, ''))} | {default(f)} | "
                    f"{_cell(allowed(f.name))} | {_cell(text.get(f.name, ''))} |")
    return "\n".join(rows)


# -- commands ------------------------------------------------------------------------------------------------
def pytest_options_table() -> str:
    rows = ["| option | takes | meaning |", "|---|---|---|"]
    for opt in pytest_options():
        metavar = opt.get("metavar") or ""
        rows.append(f"| `{' / '.join(opt['names'])}` | {_code(metavar)} | {_cell(opt.get('help', ''))} |")
    return "\n".join(rows)


def commands() -> str:
    from pytest_auditready.cli import build_parser

    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "110"  # argparse wraps help at the terminal's width: the same on every machine
    try:
        parser = build_parser()
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        out = ["## `auditready`", "", "```text", parser.format_help().rstrip(), "```", ""]
        for name, command in sub.choices.items():
            out += [f"## `auditready {name}`", "", "```text", command.format_help().rstrip(), "```", ""]
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old
    return "\n".join(out)


# -- hooks ---------------------------------------------------------------------------------------------------
def _docstring(doc: str) -> str:
    """A hookspec docstring with its reStructuredText ``Example::`` block as a fenced Python block."""
    doc = inspect.cleandoc(doc)
    head, sep, example = doc.partition("Example::")
    out = head.strip()
    if sep:
        out += "\n\nExample:\n\n```python\n" + textwrap.dedent(example.strip("\n")).rstrip() + "\n```"
    return out


def hookspecs() -> list[tuple[str, str, bool, str]]:
    from pytest_auditready import hookspecs as specs

    out = []
    for name, fn in inspect.getmembers(specs, inspect.isfunction):
        if not name.startswith("pytest_auditready_"):
            continue
        marks = getattr(fn, "pytest_spec", {}) or {}
        sig = str(inspect.signature(fn)).replace("'", "").replace('"', "")
        out.append((name, sig, bool(marks.get("firstresult")), _docstring(fn.__doc__ or "")))
    order = {n: i for i, n in enumerate(vars(specs))}
    return sorted(out, key=lambda h: order.get(h[0], 0))


def hooks() -> str:
    out = []
    for name, sig, first, doc in hookspecs():
        out += [f"## `{name}`", "", "```python", f"def {name}{sig}", "```", ""]
        if first:
            out += ["*firstresult*: the first implementation that returns something other than `None` wins.", ""]
        out += [doc, ""]
    return "\n".join(out)


# -- README and files ----------------------------------------------------------------------------------------
def readme_quickstart() -> str:
    """The README's first two shell blocks (the two commands), verbatim."""
    blocks = re.findall(r"```sh\n.*?```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)
    if len(blocks) < 2:
        log.warning("README.md no longer starts with its two commands")
    return "\n\n".join(blocks[:2])


def include(path: Optional[str]) -> str:
    target = (ROOT / (path or "")).resolve()
    if not path or ROOT not in target.parents or not target.is_file():
        log.warning("cannot include %r", path)
        return ""
    text = target.read_text(encoding="utf-8")
    return re.sub(r"^# .*\n", "", text, count=1)  # the page has its own title


RENDER: dict[str, Callable[[Optional[str]], str]] = {
    "readme-quickstart": lambda _: readme_quickstart(),
    "checks-table": lambda _: checks_table(),
    "check": lambda arg: check_facts(arg or ""),
    "controls": lambda _: controls(),
    "settings-table": lambda _: settings_table(),
    "pytest-options": lambda _: pytest_options_table(),
    "commands": lambda _: commands(),
    "hooks": lambda _: hooks(),
    "include": include,
}


def render(markdown: str, page_name: str = "") -> str:
    """``markdown`` with every marker replaced (what the site shows)."""

    def one(m: "re.Match[str]") -> str:
        fn = RENDER.get(m.group(1))
        if fn is None:
            log.warning("%s: unknown marker %r", page_name, m.group(0))
            return m.group(0)
        return fn(m.group(2))

    return MARKER.sub(one, markdown)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    src = page.file.src_uri
    if src == "reference/checks.md":
        documented = set(re.findall(r"<!-- auditready:check ([a-z_]+) -->", markdown))
        for c in checks():
            if c.id not in documented:
                log.warning("reference/checks.md has no section for the check %r", c.id)
    return render(markdown, src)
