"""Red team rt80: a busy production OpenBao (every engine, an upgrade from 2.6.1 to 2.7.2 mid-log), F1 to F3.

- F1: one secret under two keys of one entry (one credential in two audited headers; one value in two tuned keys)
  was named under the first key only: following the finding left the other key in clear. Each key that holds it is
  named now, in the one finding of that value, whether the value is found by its shape, as a secret's data, or as a
  known value.
- F2: `bao kv get -mount=secret app/db` refused at its mount lookup asks ``sys/internal/ui/mounts/secret`` (the
  mount, not the path): `auditready access` counted it for no pattern. It is a denied ``mount lookup`` that named no
  secret for a pattern under that mount, under the identity another entry names for its token digest.
- F3: where the vault's own version changes between two entries (a restart), the completeness pass names the line:
  the gap a restart leaves would hide a run of whole pairs dropped there too.

``fixtures/openbao/rt80`` holds the red team's real recordings (see its README.md); the rest is recorded here from a
real OpenBao dev server driven over its API and by its own `bao` command line.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional

import pytest
import requests

from pytest_auditready.checks import BUILTIN
from pytest_auditready.checks.base import PASSED, CheckContext
from pytest_auditready.checks.completeness import PAIRS_ONLY, Pairs
from pytest_auditready.config import Settings
from pytest_auditready.engine.files import offline_checks, verify_file
from pytest_auditready.vault.embedded import EmbeddedServer
from tests._native_runs import completed
from tests.conftest import assert_no_secret, remember_secret
from tests.test_access_kv_commands import kv as _kv

ROOT = Path(__file__).resolve().parents[1]
RT80 = ROOT / "fixtures" / "openbao" / "rt80"
CHECKS = {c.id: c for c in offline_checks(BUILTIN)}
# the credential the red team's live run sent in both audited headers (fixtures/openbao/rt80/README.md)
HEADER_VALUE = json.loads((RT80 / "samevalue_two_headers.log").read_text().splitlines()[0])["request"]["headers"][
    "authorization"][0]


def _verify(path: Path, check: str = "no_secret_leak", secrets: Mapping[str, str] = {}) -> Any:
    (out,) = verify_file(str(path), Settings(require_tamper_evidence=False, retention_days=0), [CHECKS[check]],
                         secrets).outcomes
    return out


def _copy(src: Path, folder: Path, lines: Optional[list[str]] = None) -> Path:
    """``src`` (or ``lines``) as a log of mode 0600 in ``folder``."""
    path = folder / src.name
    path.write_text("".join(ln + "\n" for ln in lines) if lines is not None else src.read_text())
    path.chmod(0o600)
    return path


# -- F1: one secret under two keys of one entry ------------------------------------------------------------------


def test_one_credential_in_two_audited_headers_names_both_headers(tmp_path: Path) -> None:
    """The red team's recording: Authorization and X-Api-Key audited with hmac=false, one credential in both. One
    finding (one value: one rotation) at line 1, naming both headers (each is set to hmac=true on its own), with
    line 2 (the response entry) among its lines; the value itself nowhere."""
    remember_secret(HEADER_VALUE)
    found = _verify(_copy(RT80 / "samevalue_two_headers.log", tmp_path)).findings
    assert len(found) == 1, [f.message for f in found]
    (f,) = found
    assert f.where.endswith(":1") and f.also_on == (2,), (f.where, f.also_on)
    assert "under key 'authorization'" in f.message and "also under key 'x-api-key'" in f.message, f.message
    assert "request-headers/<name> with hmac=true" in f.fix
    assert_no_secret(f.message + f.fix)


def test_a_known_value_in_two_headers_names_both_headers(tmp_path: Path) -> None:
    """The same entries with the credential known (--canaries, or the live run's header canary): the known value's
    finding names both headers too."""
    remember_secret(HEADER_VALUE)
    found = _verify(_copy(RT80 / "samevalue_two_headers.log", tmp_path),
                    secrets={"canary:header": HEADER_VALUE}).findings
    known = [f for f in found if f.message.startswith("<canary:header>")]
    assert len(known) == 1, [f.message for f in found]
    assert "under key 'authorization'" in known[0].message and "'x-api-key'" in known[0].message, known[0].message
    assert known[0].also_on == (2,)
    assert_no_secret(" ".join(f.message for f in found))


def _api(s: EmbeddedServer, method: str, path: str, body: Any = None, headers: Mapping[str, str] = {}) -> Any:
    r = requests.request(method, f"{s.url}/v1/{path}", json=body, timeout=10,
                         headers={"X-Vault-Token": s.root_token, **headers})
    assert r.status_code < 300, (path, r.status_code, r.text)
    return r.json() if r.content else {}


# values no detector names by shape (found as a KV secret's data) and one of a token's own format
_PLAIN = "Winter-2024-rt80"
_SHAPED = "ghp_" + "rT80kq7VbX2mN9pL4sW6yZ1cD3fH5jK8aB0e"


@pytest.fixture(scope="module")
def tuned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """A real OpenBao's log of the same traffic twice: with the headers audited HMAC'd and the KV version 1 mount
    untuned (``good``), then with both headers audited in clear and the mount's request and response keys tuned to
    log both copies of each value in clear (``bad``)."""
    folder = tmp_path_factory.mktemp("rt80-tuned")
    with EmbeddedServer() as s:
        remember_secret(s.root_token)
        for v in (_PLAIN, _SHAPED, HEADER_VALUE):
            remember_secret(v)
        _api(s, "POST", "sys/mounts/kv1", {"type": "kv", "options": {"version": "1"}})

        def traffic() -> None:
            _api(s, "GET", "sys/mounts", headers={"Authorization": HEADER_VALUE, "X-Api-Key": HEADER_VALUE})
            _api(s, "POST", "kv1/app", {"pin": _PLAIN, "door_code": _PLAIN, "api_token": _SHAPED,
                                        "deploy_token": _SHAPED})
            _api(s, "GET", "kv1/app")

        for name in ("Authorization", "X-Api-Key"):
            _api(s, "POST", f"sys/config/auditing/request-headers/{name}", {"hmac": True})
        traffic()
        s.settle()
        cut = len(s.log_path.read_text().splitlines())
        for name in ("Authorization", "X-Api-Key"):
            _api(s, "POST", f"sys/config/auditing/request-headers/{name}", {"hmac": False})
        keys = ["pin", "door_code", "api_token", "deploy_token"]
        _api(s, "POST", "sys/mounts/kv1/tune", {"audit_non_hmac_request_keys": keys,
                                               "audit_non_hmac_response_keys": keys})
        traffic()
        s.settle()
        lines = s.log_path.read_text().splitlines()
    yield _copy(Path("good.log"), folder, lines[:cut]), _copy(Path("bad.log"), folder, lines[cut:])


def _entry_lines(path: Path, wanted: str) -> list[int]:
    return [n for n, ln in enumerate(path.read_text().splitlines(), 1) if json.loads(ln)["request"]["path"] == wanted]


@pytest.mark.vault
def test_every_key_that_holds_a_value_in_clear_is_named(tuned: tuple[Path, Path]) -> None:
    """Tuned wrong: one finding a value, each naming every key that holds it (the two headers; the two keys of the
    secret's data written and read, found as its data and by a token's own format alike), at its first line with
    the others. Tuned right (headers HMAC'd, no key in clear): nothing."""
    good, bad = tuned
    assert _verify(good).findings == ()
    found = _verify(bad).findings
    assert len(found) == 3, [f.message for f in found]
    by_kind = {next(k for k in ("request header", "Vault Secret Data", "GitHub Token") if k in f.message): f
               for f in found}
    headers, plain, shaped = (by_kind[k] for k in ("request header", "Vault Secret Data", "GitHub Token"))
    assert "under key 'authorization'" in headers.message and "also under key 'x-api-key'" in headers.message
    # (named by where it is: a mount's request and response keys are tuned apart)
    for key in ("pin", "door_code"):
        for where in ("request.data", "response.data"):
            assert f"'{key}' in {where}" in plain.message or f"'{key}' of the secret's data in {where}" in \
                plain.message, (key, where, plain.message)
    assert "'api_token'" in shaped.message and "'deploy_token'" in shaped.message, shaped.message
    mounts = _entry_lines(bad, "sys/mounts")[0]
    write, read = _entry_lines(bad, "kv1/app")[:2], _entry_lines(bad, "kv1/app")[2:]
    assert headers.where.endswith(f":{mounts}") and headers.also_on == (mounts + 1,)
    for f in (plain, shaped):  # the write's two entries, the read's response (its request holds no data)
        assert f.where.endswith(f":{write[0]}") and f.also_on == (write[1], read[1]), (f.where, f.also_on)
    assert_no_secret(" ".join(f.message + f.fix for f in found))


# -- F2: a `kv` command given -mount, refused at its mount lookup ------------------------------------------------


def _access(*args: str) -> subprocess.CompletedProcess[str]:
    return completed(["access", *args])  # a fork of the verify server (tests/_native_runs.py)


def _ask(pattern: str, log: Path, rc: int = 0) -> dict[str, Any]:
    """The answer; ``rc`` 1 for a pattern on a mount no path of the log names (``pattern_unseen``)."""
    proc = _access(pattern, str(log), "--json", "-")
    assert proc.returncode == rc, proc.stderr
    doc: dict[str, Any] = json.loads(proc.stdout)
    return doc


def _ops(doc: dict[str, Any]) -> dict[tuple[str, str], tuple[int, int]]:
    return {(i["display_name"], op): (c["requests"], c["denied"])
            for i in doc["identities"] for op, c in i["operations"].items()}


_UNDER_SECRET = "a secret under secret/"


def test_a_spent_token_refused_at_the_lookup_of_its_mount_counts_under_its_name() -> None:
    """The red team's recording: a token of two uses (`bao token create -use-limit=2`) reads secret/app/db twice
    with `bao kv get -mount=secret` (a lookup of the mount, then the read: root created it, then a fresh one) and a
    third time, refused at ``sys/internal/ui/mounts/secret`` for its spent token (no display name in the entry).
    For a pattern under that mount, that refusal is the token's denied ``mount lookup`` that named no secret; for
    a pattern under another mount it is nothing."""
    log = RT80 / "spent_token.log"
    for pattern in ("secret/data/app/db", "secret/*", "secret/data/+/db"):
        doc = _ask(pattern, log)
        assert _ops(doc) == {("token", "read"): (2, 0), ("token", "mount lookup"): (1, 1)}, (pattern, _ops(doc))
        (token,) = doc["identities"]
        assert token["scopes"] and all(k.startswith(_UNDER_SECRET) for k in token["scopes"]), token["scopes"]
        assert (doc["requests"], doc["denied"], doc["unnamed"]) == (3, 1, 1)
    assert _ask("kv1/*", log, rc=1)["identities"] == []  # (a mount no path names: said, rt94 F6)
    table = _access("secret/data/app/db", str(log)).stdout
    assert "token tried to see a secret under secret/" in table and "(1 request, refused)" in table, table


def test_the_lookup_alone_is_a_denied_attempt_by_no_name() -> None:
    """The two entries alone (no other entry names the token): one denied attempt by no identity, not "0 requests
    by 0 identities"."""
    doc = _ask("secret/data/app/db", RT80 / "mount_only_lookup.log")
    assert _ops(doc) == {("", "mount lookup"): (1, 1)} and (doc["requests"], doc["denied"]) == (1, 1), _ops(doc)


@pytest.fixture(scope="module")
def mount_flag_log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A real OpenBao's log of `bao kv get -mount=secret app/db` by alice (allowed), by mallory (no policy on it:
    refused at the lookup of the mount) and by a token of two uses, the third time (refused for its token)."""
    with EmbeddedServer() as s:
        root = remember_secret(s.root_token)
        _api(s, "PUT", "sys/policies/acl/app-read", {"policy": 'path "secret/data/app/*" { capabilities = ["read"] }'})

        def token(name: str, policies: list[str], uses: int = 0) -> str:
            got = _api(s, "POST", "auth/token/create", {"policies": policies, "display_name": name, "num_uses": uses})
            return remember_secret(str(got["auth"]["client_token"]))

        value = remember_secret("rt80-" + "v" * 24)
        assert _kv(s, root, "put", "-mount=secret", "app/db", f"k={value}").returncode == 0
        alice, mallory, twice = token("alice", ["app-read"]), token("mallory", ["default"]), token("twice",
                                                                                                   ["app-read"], 2)
        r = _kv(s, alice, "get", "-mount=secret", "app/db")
        assert r.returncode == 0 and value in r.stdout, r.stderr
        r = _kv(s, mallory, "get", "-mount=secret", "app/db")
        assert r.returncode != 0 and "403" in r.stderr, r.stderr
        for _ in range(2):  # its two uses: the reads (the vault counts no use of a token on the lookup)
            assert _kv(s, twice, "get", "-mount=secret", "app/db").returncode == 0
        assert _kv(s, twice, "get", "-mount=secret", "app/db").returncode != 0
        s.settle()
        log = _copy(Path("audit.log"), tmp_path_factory.mktemp("rt80-mount"), s.log_path.read_text().splitlines())
    yield log


@pytest.mark.vault
def test_a_kv_command_given_the_mount_refused_at_its_lookup_is_a_denied_attempt(mount_flag_log: Path) -> None:
    """Premise: mallory's and the spent token's only trace is a refused lookup of ``secret`` (the mount). Both are
    denied attempts, by their names, for any pattern under the mount; alice's allowed lookup is none (her read
    follows it), nor is root's write (`token`); a pattern on another mount counts none of them."""
    es = [json.loads(x) for x in mount_flag_log.read_text().splitlines()]
    refused = [e for e in es if e["type"] == "response" and e.get("error")]
    assert {e["request"]["path"] for e in refused} == {"sys/internal/ui/mounts/secret"} and len(refused) == 2
    assert {e["auth"].get("display_name", "") for e in refused} == {"token-mallory", ""}
    for pattern in ("secret/data/app/db", "secret/*"):
        doc = _ask(pattern, mount_flag_log)
        ops = _ops(doc)
        assert ops == {("token", "create"): (1, 0), ("token-alice", "read"): (1, 0), ("token-mallory", "mount lookup"): (1, 1),
                       ("token-twice", "read"): (2, 0), ("token-twice", "mount lookup"): (1, 1)}, (pattern, ops)
    assert _ask("kv/*", mount_flag_log, rc=1)["identities"] == []  # (a mount no path names: said, rt94 F6)
    assert_no_secret(json.dumps(_ask("secret/*", mount_flag_log)) + _access("secret/*", str(mount_flag_log)).stdout)


# -- F3: a restart, where whole pairs dropped would not show -----------------------------------------------------


def test_the_pass_names_where_the_vault_s_version_changes(tmp_path: Path) -> None:
    """The red team's recording around the upgrade (2.6.1's last 22 entries, 68 s of silence, 2.7.2's first 18):
    the completeness pass names line 23, where the version changes. A log of one version says no such thing, nor
    does one where a plugin's own version (Vault's KV, v0.21.0+builtin) sits beside the vault's."""
    out = _verify(_copy(RT80 / "restart.log", tmp_path), "completeness")
    assert out.status == PASSED, [f.message for f in out.findings]
    assert out.reason.startswith(PAIRS_ONLY), out.reason
    assert "The vault's own version changes at line 23 (v2.6.1 to v2.7.2): it was restarted there" in out.reason
    one = _verify(_copy(RT80 / "samevalue_two_headers.log", tmp_path), "completeness")
    assert one.status == PASSED and one.reason == PAIRS_ONLY, one.reason
    mixed = [p for p in (ROOT / "fixtures").rglob("*.log")
             if b"+builtin.vault" in p.read_bytes() and b'"mount_running_version":"v0.' in p.read_bytes()]
    assert mixed, "no Vault log with a plugin's own version among the fixtures"
    got = _verify(_copy(mixed[0], tmp_path), "completeness")
    assert "version changes" not in got.reason, (mixed[0], got.reason)


def test_a_restart_at_the_start_of_a_later_range_is_found_by_the_merge() -> None:
    """Read in two ranges (``--jobs``), the version change first in the later range is found where the ranges
    meet."""
    data = (RT80 / "restart.log").read_bytes()
    cut = data.rindex(b"\n", 0, data.index(b"v2.7.2")) + 1  # the first 2.7.2 entry begins the later range
    line = data[:cut].count(b"\n") + 1
    ctx = CheckContext(settings=Settings(), ledger=None, entries=[], bad_lines=[], secrets={})
    first, later = Pairs(ctx), Pairs(ctx)
    later.later_range()
    first.block("restart.log", 1, data[:cut])
    later.block("restart.log", line, data[cut:])
    assert later.restarts == [] and first.restarts == []
    first.merge(later)
    assert first.restarts == [(line, b"v2.6.1", b"v2.7.2")] and line == 23
