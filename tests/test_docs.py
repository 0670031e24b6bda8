"""The documentation site (docs/, mkdocs.yml): it builds with --strict, its reference is made from the package,
and every example on its pages is run here and prints what the page says.

An example is a section of a page (under a `##` heading) with a ```console block: the files shown in the section
(code blocks with title="NAME"; those before the page's first `##` are shared by every section of the page) are
written to an empty folder, logs with mode 0600, then each `$ COMMAND` runs there, and the lines the page shows
after it must appear in that order in what the command printed (`…` stands for any text; a line of `…` alone for
any lines). ```sh blocks are illustrations that need systems this suite does not have, and are not run.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(p for p in DOCS.rglob("*.md") if "_" not in p.relative_to(DOCS).parts[0][:1])
FENCE = re.compile(r"^```([A-Za-z0-9_+-]*)([^\n]*)\n(.*?)^```[ \t]*$", re.M | re.S)
TITLE = re.compile(r'title="([^"]+)"')
SHELL_OK = {"chmod", "sed", "cp", "mv", "gzip", "rm"}  # what an example may run besides auditready and pytest


def hook() -> Any:
    """docs/_hooks/reference.py, the generator the site is built with."""
    spec = importlib.util.spec_from_file_location("auditready_docs_reference", DOCS / "_hooks" / "reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- the build ------------------------------------------------------------------------------------------------
def test_the_site_builds_with_strict(tmp_path: Path) -> None:
    """`mkdocs build --strict`: a broken link, an unknown marker, or a check, setting or key the pages do not
    cover (the hook logs a warning) fails the build."""
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("material") is None:
        if os.environ.get("CI"):
            pytest.fail("mkdocs-material is missing under CI: install the test extra")
        pytest.skip("mkdocs-material is not installed (pip install -e '.[docs]')")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    res = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                         cwd=ROOT, capture_output=True, text=True, timeout=180, env=env)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-5000:]
    checks = (tmp_path / "site" / "reference" / "checks" / "index.html").read_text()
    settings = (tmp_path / "site" / "reference" / "settings" / "index.html").read_text()
    from pytest_auditready.checks import BUILTIN
    from pytest_auditready.config import KEYS

    for c in BUILTIN:
        assert f'id="{c.id}"' in checks, f"the checks page has no section {c.id}"
    for key in KEYS:
        assert f'id="{key}"' in settings, f"the settings page has no row for {key}"


# -- the reference is the package's -----------------------------------------------------------------------------
def test_every_check_has_its_facts_and_a_failing_example() -> None:
    from pytest_auditready import compliance
    from pytest_auditready.checks import BUILTIN

    ref = hook()
    text = (DOCS / "reference" / "checks.md").read_text()
    sections = _sections(text)
    table = ref.checks_table()
    for c in BUILTIN:
        assert f"[`{c.id}`](#{c.id})" in table
        facts = ref.check_facts(c.id)
        assert c.requirement in facts and compliance.severity(c.id) in facts
        for ctl in compliance.controls_for(c.id):
            assert f"| {ctl.framework} | {ctl.requirement} |" in facts, (c.id, ctl)
        assert c.id in sections, f"docs/reference/checks.md has no '## {c.id}' section"
        body = sections[c.id]
        assert f"<!-- auditready:check {c.id} -->" in body
        assert "```console" in body and f"{c.id}" in body.split("```console", 1)[1], \
            f"{c.id}: no failing example (a console block whose output names the check)"


def test_every_setting_is_described_with_the_packages_default_and_values() -> None:
    import dataclasses

    from pytest_auditready.config import KEYS, Settings

    ref = hook()
    meanings = ref.meanings()
    assert set(meanings) == set(KEYS), (
        f"docs/_data/settings.yml: describe {sorted(set(KEYS) - set(meanings))}, "
        f"drop {sorted(set(meanings) - set(KEYS))}")
    table = ref.settings_table()
    for f in dataclasses.fields(Settings):
        row = next(r for r in table.splitlines() if f"`{f.name}`" in r.split("|")[1])
        assert ref.default(f) in row
        try:
            KEYS[f.name](object())
        except ValueError as exc:  # what the usage error says the key takes
            assert ref._cell(str(exc)) in row, f.name
    assert "`--auditready-target`" in table and "`--auditready-fail-on`" in table


def test_controls_commands_and_hooks_come_from_the_package() -> None:
    from pytest_auditready import compliance, hookspecs
    from pytest_auditready.cli import COMMANDS, build_parser

    ref = hook()
    controls = ref.controls()
    for fw, body in compliance.frameworks().items():
        assert f"## {fw}" in controls
        for req in body["requirements"]:
            assert f"| {req} |" in controls
    commands = ref.commands()
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert len(sub.choices) >= len(COMMANDS)
    for name, command in sub.choices.items():
        assert f"## `auditready {name}`" in commands, name
        for action in command._actions:
            for opt in action.option_strings:
                assert opt in commands, (name, opt)
    assert "-q, --quiet" in commands and "-v, --verbose" in commands
    options = ref.pytest_options_table()
    for opt in ("--auditready`", "--auditready-offline", "--auditready-report", "--auditready-config"):
        assert opt in options
    hooks = ref.hooks()
    names = [n for n in vars(hookspecs) if n.startswith("pytest_auditready_")]
    assert names
    for n in names:
        assert f"## `{n}`" in hooks
    assert "*firstresult*" in hooks and "```python" in hooks


def test_the_front_page_shows_the_readmes_two_commands() -> None:
    quick = hook().readme_quickstart()
    readme = (ROOT / "README.md").read_text()
    assert "pip install '.[openbao]' && pytest --auditready" in quick
    assert "pip install -e '.[test]' && pytest -n 2" in quick
    assert readme.index(quick.split("\n\n")[0]) < readme.index("## "), "the README no longer starts with them"
    assert "<!-- auditready:readme-quickstart -->" in (DOCS / "index.md").read_text()


def test_unknown_markers_are_reported(caplog: pytest.LogCaptureFixture) -> None:
    out = hook().render("<!-- auditready:chekcs-table -->\n<!-- auditready:check no_such_check -->", "x.md")
    assert "chekcs-table" in out
    assert any("unknown marker" in r.getMessage() for r in caplog.records)
    assert any("no_such_check" in r.getMessage() for r in caplog.records)


def test_every_toml_example_is_valid_settings() -> None:
    from pytest_auditready.config import load

    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib

    found = 0
    for page in PAGES:
        for lang, attrs, body in FENCE.findall(page.read_text()):
            if lang != "toml" or 'title="mistyped' in attrs:  # an example of the error a typo gets
                continue
            doc = tomllib.loads(body)
            table = doc.get("tool", {}).get("auditready", doc)
            load([(str(page.relative_to(ROOT)), table)])  # an unknown key or a bad value raises
            found += 1
    assert found >= 5


# -- the examples, run -------------------------------------------------------------------------------------------
@dataclass
class Example:
    page: str
    section: str
    files: dict[str, str] = field(default_factory=dict)
    steps: list[tuple[str, list[str]]] = field(default_factory=list)

    @property
    def live(self) -> bool:
        return any(cmd.startswith("pytest --auditready") and "--auditready-target" not in cmd for cmd, _ in self.steps)


def _sections(text: str) -> dict[str, str]:
    """'' (before the first `##`) and each `## heading` (backticks dropped) -> its text."""
    parts = re.split(r"^## (.+)$", text, flags=re.M)
    out = {"": parts[0]}
    for head, body in zip(parts[1::2], parts[2::2]):
        out[head.strip().strip("`")] = body
    return out


def _files(text: str) -> dict[str, str]:
    files = {}
    for _lang, attrs, body in FENCE.findall(text):
        m = TITLE.search(attrs)
        if m:
            files[m.group(1)] = body
    return files


def _steps(text: str) -> list[tuple[str, list[str]]]:
    steps: list[tuple[str, list[str]]] = []
    for lang, _attrs, body in FENCE.findall(text):
        if lang != "console":
            continue
        for line in body.splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], []))
            elif steps:
                steps[-1][1].append(line)
    return steps


def examples() -> list[Any]:
    out = []
    for page in PAGES:
        secs = _sections(page.read_text())
        shared = _files(secs[""])
        for name, body in secs.items():
            steps = _steps(body)
            if not steps:
                continue
            ex = Example(str(page.relative_to(DOCS)), name or "(top)", {**shared, **_files(body)}, steps)
            out.append(pytest.param(ex, id=f"{ex.page}::{ex.section}",
                                    marks=[pytest.mark.vault] if ex.live else []))
    return out


def _pattern(line: str) -> "re.Pattern[str]":
    return re.compile(".*?".join(re.escape(p) for p in line.split("…")) + r"\Z", re.S)


def assert_shows(expected: list[str], actual: str, what: str) -> None:
    """Each expected line (a line of `…` alone skipped) matches a line of ``actual``, in order."""
    lines = actual.splitlines()
    i = 0
    for want in expected:
        if not want.strip() or want.strip() == "…":
            continue
        pat = _pattern(want.rstrip())
        while i < len(lines) and not pat.match(lines[i].rstrip()):
            i += 1
        assert i < len(lines), f"{what}: the page shows\n  {want}\nwhich is not in what it printed:\n{actual[-6000:]}"
        i += 1


def _run_auditready(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    from pytest_auditready.cli import main

    capsys.readouterr()
    try:
        main(argv)
    except SystemExit:  # argparse's --help / usage errors
        pass
    out = capsys.readouterr()
    return out.out + out.err


@pytest.mark.parametrize("ex", examples())
def test_example(ex: Example, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch,
                 capsys: pytest.CaptureFixture[str]) -> None:
    pytester: Optional[pytest.Pytester] = None
    if any(cmd.startswith("pytest ") for cmd, _ in ex.steps):
        pytester = request.getfixturevalue("pytester")
        folder = pytester.path
    else:
        folder = tmp_path
    monkeypatch.chdir(folder)
    monkeypatch.delenv("VAULT_TOKEN", raising=False)
    monkeypatch.delenv("BAO_TOKEN", raising=False)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    for name, body in ex.files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)
        if name.endswith(".log"):
            path.chmod(0o600)
    for cmd, expected in ex.steps:
        argv = shlex.split(cmd)
        if argv[0] == "auditready":
            printed = _run_auditready(argv[1:], capsys)
        elif argv[0] == "pytest":
            assert pytester is not None
            printed = pytester.runpytest(*argv[1:], "-p", "no:cacheprovider").stdout.str()
        else:
            assert argv[0] in SHELL_OK, f"{ex.page}: an example runs {argv[0]!r}, which this test does not run"
            res = subprocess.run(argv, cwd=folder, capture_output=True, text=True, timeout=30)
            assert res.returncode == 0, res.stderr
            printed = res.stdout + res.stderr
        assert_shows(expected, printed, f"{ex.page} ({ex.section}): $ {cmd}")


def test_examples_are_found_on_the_pages_they_belong_to() -> None:
    """The example collector sees what the pages hold: every check's section, and the other pages' examples."""
    from pytest_auditready.checks import BUILTIN

    ids = {p.id for p in examples()}
    for c in BUILTIN:
        assert f"reference/checks.md::{c.id}" in ids
    for expected in ("tamper-evidence.md::Try it", "extending.md::Example: one more action and one more check",
                     "reference/settings.md::A mistyped key", "reference/commands.md::Exit codes"):
        assert expected in ids, sorted(ids)


def test_assert_shows_can_fail() -> None:
    assert_shows(["a …", "…", "c"], "a b\nx\nc\n", "t")
    with pytest.raises(AssertionError):
        assert_shows(["c", "a …"], "a b\nc\n", "t")  # order matters
    with pytest.raises(AssertionError):
        assert_shows(["a"], "a b\n", "t")  # a line matches whole, not as a prefix


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_sh_blocks_are_shell(tmp_path: Path) -> None:
    """The illustrations that are not run are at least valid shell (bash -n)."""
    for page in PAGES:
        for lang, _attrs, body in FENCE.findall(page.read_text()):
            if lang == "sh":
                script = tmp_path / "s.sh"
                script.write_text(body)
                res = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, timeout=30)
                assert res.returncode == 0, f"{page.name}: {res.stderr}\n{body}"
