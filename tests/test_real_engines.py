"""Real OpenBao entries of engines a production vault serves (fixtures/openbao/engines, red team rt8): each correct
log has no finding, and the defect planted in a copy of it is found at its line."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Callable

import pytest

from pytest_auditready.checks import BUILTIN
from pytest_auditready.checks.base import FAILED
from pytest_auditready.config import Settings
from pytest_auditready.engine.files import offline_checks, verify_file

ENGINES = Path(__file__).resolve().parents[1] / "fixtures" / "openbao" / "engines"
OFFLINE = offline_checks(BUILTIN)
SETTINGS = Settings(require_tamper_evidence=False, retention_days=0)


def _failed(path: Path) -> dict[str, list[int]]:
    """Check id -> the lines of its findings, over the checks that failed (log_protection aside: a copy's mode)."""
    res = verify_file(str(path), SETTINGS, OFFLINE, {})
    return {o.check_id: sorted({int(f.where.rsplit(":", 1)[1]) for f in o.findings if f.where.count(":")})
            for o in res.outcomes if o.status == FAILED and o.check_id != "log_protection"}


def _copy(tmp_path: Path, name: str, line: int = 0, edit: Callable[[dict[str, Any]], None] = lambda e: None) -> Path:
    lines = (ENGINES / name).read_text().splitlines()
    if line:
        entry = json.loads(lines[line - 1])
        edit(entry)
        lines[line - 1] = json.dumps(entry, separators=(",", ":"))
    out = tmp_path / name
    out.write_text("".join(ln + "\n" for ln in lines))
    out.chmod(0o600)
    return out


@pytest.mark.parametrize("name", ["renew-accessor.log", "ssh-signed-key.log", "unauthenticated.log"])
def test_a_correct_engines_log_has_no_finding(tmp_path: Path, name: str) -> None:
    """Fails without the fixes: integrity_digest blamed a shipper for the client_token the vault blanks in a renewal
    by accessor; data_minimisation read ssh-ed25519-cert-v01@openssh.com as an e-mail address; required_fields
    wanted an identity on GET ssh/public_key and LIST pki/issuers, which the API docs call unauthenticated."""
    assert _failed(_copy(tmp_path, name)) == {}


def _drop_minted_accessor(e: dict[str, Any]) -> None:
    del e["response"]["auth"]["accessor"]


def _add_owner(e: dict[str, Any]) -> None:
    e["response"]["data"]["signed_key"] += " dana.smith@example.org"  # a key comment naming a person


def _strip_who(e: dict[str, Any]) -> None:
    for k in ("display_name", "accessor", "entity_id"):
        e["auth"].pop(k, None)


@pytest.mark.parametrize("name, line, edit, checks", [
    ("renew-accessor.log", 2, _drop_minted_accessor, {"integrity_digest"}),  # the accessor the vault does write
    ("ssh-signed-key.log", 2, _add_owner, {"data_minimisation"}),
    # an authenticated read stays judged (its accessor's digest gone too: integrity_digest's)
    ("unauthenticated.log", 1, _strip_who, {"required_fields", "integrity_digest"}),
], ids=["renewal-without-accessor", "person-in-certificate", "authenticated-read-without-who"])
def test_the_defect_planted_in_each_is_found_at_its_line(tmp_path: Path, name: str, line: int,
                                                         edit: Callable[[dict[str, Any]], None],
                                                         checks: set[str]) -> None:
    found = _failed(_copy(tmp_path, name, line, edit))
    assert set(found) == checks and all(lines == [line] for lines in found.values()), found


def test_a_token_given_as_display_name_is_found_as_the_vault_logs_it(tmp_path: Path) -> None:
    """Fails without the rule: the vault logs -display-name=s.<24> as token-s-<24> (its sanitiser makes '.' a
    '-'), which the token rule, needing the dot, never matched, though the README promises this very case (rt8)."""
    assert _failed(_copy(tmp_path, "token-display-name.log")) == {"no_secret_leak": [2]}


@pytest.mark.parametrize("name, found", [
    ("token-s-xoS38WLlHkO5rXGTk2jBrC2H", True),  # s.<24 base62>, as logged
    ("token-s.xoS38WLlHkO5rXGTk2jBrC2H", True),  # the same, by a producer (or an edit) that keeps the dot (rt14)
    ("token-hvs-CAESIJk3xQm9Lp2ZtR8vW4yNb7HcA1sDfG6hJ0kE5uTqYoXiGh4KHGh2cy5", True),
    ("token-s-serviceaccountdeployments", False),  # words: no capitals, no digits
    ("token-s-ci-deployer-prod-pipeline", False),
    ("token-hvs-rotation-job-for-the-payments-team", False),
    ("userpass-s-xoS38WLlHkO5rXGTk2jBrC2H", False),  # not the token store's name
])
def test_the_display_name_rule_tells_a_token_from_a_name(name: str, found: bool) -> None:
    from pytest_auditready.scan.secrets import GenericScanner

    with GenericScanner() as g:
        kinds = {h.kind for h in g.scan_value("display_name", name)}
    assert ("Vault Token" in kinds) is found, kinds


def test_personal_data_in_paths_is_masked_in_the_evidence_bundle(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """Fails without the masking: data_minimisation reported the e-mail and phone numbers masked, while the access
    review wrote each path in clear into report.html and evidence.json (red team rt8, OUT-1)."""
    from pytest_auditready.cli import main

    log = _copy(tmp_path, "personal-paths.log")
    config = tmp_path / "auditready.toml"
    config.write_text("require_tamper_evidence = false\nretention_days = 0\n")
    assert main(["verify", str(log), "--config", str(config), "--evidence", str(tmp_path / "ev")]) == 1
    out = capsys.readouterr().out
    assert "FAIL data_minimisation" in out
    for name in ("report.html", "evidence.json", "summary.md"):
        text = (tmp_path / "ev" / name).read_text()
        for clear in ("dave.jones@example.net", "7946 0958", "555-0132", "7946%200958"):
            assert clear not in text, (name, clear)
    assert "secret/data/users/<d***@***.net>/profile" in (tmp_path / "ev" / "evidence.json").read_text()


def _on_kv_mount(e: dict[str, Any]) -> None:
    """The authenticated KV read at line 1, moved to a KV path that ends as an SSH mount's public key does, its
    identity stripped."""
    e["request"]["path"] = "secret/data/team/public_key"
    _strip_who(e)


def test_a_kv_path_that_ends_like_a_public_endpoint_still_needs_who(tmp_path: Path) -> None:
    """Fails without the mount tie: the PKI and SSH suffixes (``…/public_key``, ``…/ca``, ``…/issuers``) excused a
    missing identity under any mount, so a KV read of ``secret/data/team/public_key`` whose identity a shipper
    stripped passed; its entry says ``mount_type`` kv. The SSH mount's own unauthenticated read stays excused
    (test_a_correct_engines_log_has_no_finding)."""
    found = _failed(_copy(tmp_path, "unauthenticated.log", 1, _on_kv_mount))
    assert found.get("required_fields") == [1], found


def _error_echoing(body: str) -> Callable[[dict[str, Any]], None]:
    """The error Vault writes when a request's body does not fit its field (the audit schema's documented example,
    'error converting input {"name":"John"} for field "data"'), echoing that body."""
    def edit(e: dict[str, Any]) -> None:
        e["error"] = f"error converting input {body} for field \"data\": '' expected a map, got 'string'"
    return edit


@pytest.mark.parametrize("body, leak", [('{"password":"Tr0ub4dor&3-Prod-Xy9"}', True),
                                        ('{"password": "Tr0ub4dor3ProdXy9"}', True),
                                        ('{"name":"John"}', False)], ids=["password", "spaced", "harmless"])
def test_a_password_echoed_in_an_error_message_is_found(tmp_path: Path, body: str, leak: bool) -> None:
    """Fails without reading JSON quoted in prose (red team rt10, finding 3): the password the error echoes, in
    a field the vault never digests, passed, while the same password as password=... in prose was found."""
    found = _failed(_copy(tmp_path, "unauthenticated.log", 2, _error_echoing(body)))
    assert found.get("no_secret_leak") == ([2] if leak else None), found


def test_a_password_in_a_urls_user_information_is_no_e_mail_address(tmp_path: Path) -> None:
    """Fails without the fix (red team rt10, finding 9): data_minimisation read user:password@host as an e-mail
    address and showed it masked as 'T***@***.internal', the password's first character. It is no_secret_leak's,
    which names it without any of it."""
    def dsn(e: dict[str, Any]) -> None:
        e["error"] = "dial failed: postgres://app:Tr0ub4dor3xQ7@db.internal:5432/prod"

    log = _copy(tmp_path, "unauthenticated.log", 2, dsn)
    res = verify_file(str(log), SETTINGS, OFFLINE, {})
    failed = {o.check_id for o in res.outcomes if o.status == FAILED and o.check_id != "log_protection"}
    assert failed == {"no_secret_leak"}, failed
    assert "T***" not in json.dumps([f.message for o in res.outcomes for f in o.findings])


@pytest.mark.parametrize("key, value, kinds", [
    # the database engine's generated login (OpenBao docs, username_template's default for PostgreSQL:
    # v-<display name>-<role>-<random 20>-<unix time>), logged readable by a tuned mount: who, not a secret (red
    # team rt35, F4: its entropy passed detect-secrets' limit nine times in ten)
    ("username", "v-token-ro-RnPNQialQGXYlOblMOd7-1796427275", set()),
    ("username", "v-token-ro-T82nHH6mmtI6xiYP3J13-1796427211", set()),
    # the same value under a key that names no one is judged by its randomness
    ("note", "v-token-ro-RnPNQialQGXYlOblMOd7-1796427275", {"Base64 High Entropy String"}),
    # a credential of a documented shape is one under any key
    ("username", "ghp_Zq8vN3xLw2Rk9TbYc4Hm7Pj1Ds6Fg0Ua5Ke2", {"GitHub Token"}),
])
def test_a_vault_username_is_judged_by_a_secrets_own_format_only(key: str, value: str, kinds: set[str]) -> None:
    from pytest_auditready.auditlog.formats import FORMATS
    from pytest_auditready.scan.secrets import GenericScanner

    with GenericScanner(fmt=FORMATS["vault"]) as g:
        assert {h.kind for h in g.scan_value(key, value)} == kinds


@pytest.mark.parametrize("key, value, flagged", [
    # public by definition, written by controllers on every heartbeat (red team rt33, F3): a WireGuard public key
    # as Cilium and Calico publish it, a commit id as Argo CD's revision, a version label, CodeBuild's sourceVersion
    ("network.cilium.io/wg-pub-key", "5qukt1/mog1Eq3B3R1AdwZMbrYTgxtseR4doUxFbckY=", False),
    ("projectcalico.org/WireguardPublicKey", "5qukt1/mog1Eq3B3R1AdwZMbrYTgxtseR4doUxFbckY=", False),
    # its IPv6 tunnel's (Calico's Node annotation and status field), Kilo's (red teams rt42 F9, rt43 F8)
    ("projectcalico.org/WireguardPublicKeyV6", "5qukt1/mog1Eq3B3R1AdwZMbrYTgxtseR4doUxFbckY=", False),
    ("wireguardPublicKeyV6", "5qukt1/mog1Eq3B3R1AdwZMbrYTgxtseR4doUxFbckY=", False),
    ("kilo.squat.ai/key", "5qukt1/mog1Eq3B3R1AdwZMbrYTgxtseR4doUxFbckY=", False),
    ("revisions", "9f1c3b7e2d4a6c8e0f1a3b5c7d9e1f2a4b6c8d0e", False),  # Argo CD's multi-source (rt42 F10)
    ("example.com/key", "5qukt1/mog1Eq3B3R1AdwZMbrYTgxtseR4doUxFbckY=", True),  # only Kilo's names a public key
    ("revision", "9f1c3b7e2d4a6c8e0f1a3b5c7d9e1f2a4b6c8d0e", False),
    ("app.kubernetes.io/version", "9f1c3b7e2d4a6c8e0f1a3b5c7d9e1f2a4b6c8d0e", False),
    ("sourceVersion", "4e1c7a9b3d5f7e9a1c3b5d7f9e1a3c5b7d9f1e3a5c7b9d1f3e5a7c9b1d3f5e7a", False),
    # the same shapes where a secret sits are judged as before
    ("wg-priv-key", "5qukt1/mog1Eq3B3R1AdwZMbrYTgxtseR4doUxFbckY=", True),
    ("note", "9f1c3b7e2d4a6c8e0f1a3b5c7d9e1f2a4b6c8d0e", True),
    ("version", "5qukt1/mog1Eq3B3R1AdwZMbrYTgxtseR4doUxFbckY=", True),  # no commit id: a base64 run
])
def test_public_keys_and_commit_ids_under_keys_that_name_them(key: str, value: str, flagged: bool) -> None:
    from pytest_auditready.scan.secrets import GenericScanner

    with GenericScanner() as g:
        assert bool(g.scan_value(key, value)) is flagged


@pytest.mark.parametrize("first", ["token", "password"])
def test_each_credential_of_a_uri_query_is_named_whatever_the_order(first: str) -> None:
    """Two credentials in one requestURI query: the one after the other was never named, its kind being found
    already (red team rt32, F6): one of them would stay unrotated."""
    from pytest_auditready.auditlog.formats import FORMATS
    from pytest_auditready.scan.known import fingerprint
    from pytest_auditready.scan.secrets import GenericScanner

    token, password = "ghp_Zq8vN3xLw2Rk9TbYc4Hm7Pj1Ds6Fg0Ua5Ke2", "hunter2hunter2"
    params = [f"access_token={token}", f"password={password}"]
    uri = "/api/v1/namespaces/ci/configmaps?" + "&".join(params if first == "token" else params[::-1])
    with GenericScanner(fmt=FORMATS["k8s"]) as g:
        prints = {h.fingerprint for h in g.scan_value("requestURI", uri)}
    assert {fingerprint(token), fingerprint(password)} <= prints, prints


@pytest.mark.parametrize("pure", [False, True], ids=["native", "pure"])
def test_a_path_is_judged_by_a_secrets_own_format_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       pure: bool) -> None:
    """A tenant id or a content digest as a path segment (the vault writes paths in clear by design) read as
    high-entropy hex, live whenever another client's request fell in the run's window (red team rt40, F12); a
    token in a path (auth/token/lookup/<token>) is still found."""
    from pytest_auditready.scan import native

    if pure:
        monkeypatch.setattr(native, "lib", None)
    text = (Path(__file__).resolve().parents[1] / "fixtures" / "openbao" / "clean.log").read_text()
    paths = sorted(set(re.findall(r'"path":"(secret/data/[^"]+)"', text)))[:3]
    segments = ["8f14e45fceea167a5a36dedd4bea2543", "c9f0f895fb98ab9159f51fd0297e236d5a3b1c2e",
                "hvs.CAESIJ7aXb2kQ9vLmN3pR8sT4uW6yZ1cE5fG"]
    for path, seg in zip(paths, segments):  # each request and its response alike
        text = text.replace(f'"path":"{path}"', f'"path":"{path}/{seg}"')
    log = tmp_path / "audit.log"
    log.write_text(text)
    log.chmod(0o600)
    token_lines = [i + 1 for i, ln in enumerate(text.splitlines()) if segments[2] in ln]
    assert token_lines and _failed(log) == {"no_secret_leak": token_lines[:1]}


def _kv_write_logged(tmp_path: Path, data: dict[str, Any]) -> tuple[Path, int]:
    """tmp_path/audit.log: the real OpenBao log fixtures/openbao/clean.log with its first KV version 2 write's data
    replaced by ``data`` (as the vault logs a value it does not HMAC: a number, a key); the log and that line's
    index."""
    lines = (Path(__file__).resolve().parents[1] / "fixtures" / "openbao" / "clean.log").read_text().splitlines()
    at = next(i for i, ln in enumerate(lines) if '"data":{"data":{' in ln and '"type":"request"' in ln)
    entry = json.loads(lines[at])
    entry["request"]["data"]["data"] = data
    lines[at] = json.dumps(entry, separators=(",", ":"))
    log = tmp_path / "audit.log"
    log.write_text("".join(ln + "\n" for ln in lines))
    log.chmod(0o600)
    return log, at


def test_a_card_number_stored_as_a_json_number_is_found_and_told_why(tmp_path: Path) -> None:
    """The vault HMACs strings only: a KV value written as a JSON number is logged as it is, whatever the tuning
    (seen on a real OpenBao 2.7.2: {"pin": 123456} in the write's request and the read's response). A card number
    stored so is in clear: found, and the fix says to store it as a string (tuning cannot help)."""
    log, at = _kv_write_logged(tmp_path, {"pan": 4111111111111111})
    res = verify_file(str(log), SETTINGS, OFFLINE, {})
    (dm,) = [o for o in res.outcomes if o.check_id == "data_minimisation"]
    assert dm.status == FAILED and len(dm.findings) == 1, [f.message for f in dm.findings]
    assert dm.findings[0].where.endswith(f":{at + 1}") and "as a JSON string" in dm.findings[0].fix
    assert "4111111111111111" not in dm.findings[0].message


def test_no_secret_leak_names_personal_data_neither_by_its_key_nor_by_a_fingerprint(tmp_path: Path) -> None:
    """KV data keyed by a customer's address, with a card number as a JSON number under it (both in clear: the vault
    HMACs neither keys nor numbers). no_secret_leak's finding printed the key, the address, in clear, and a keyed
    fingerprint of the card number beside data_minimisation's masked form, which together give the number back to
    whoever holds the fingerprint key (red team rt56 F1, F8). A value of no personal data keeps its fingerprint."""
    log, _at = _kv_write_logged(tmp_path, {"jane.doe@example.com": {"card": 4111111111111111},
                                          "ref": 4111111111111112})
    res = verify_file(str(log), SETTINGS, OFFLINE, {})
    (leak,) = [o for o in res.outcomes if o.check_id == "no_secret_leak"]
    messages = [f.message for f in leak.findings]
    assert len(messages) == 2 and all("jane.doe" not in m and "example.com" not in m for m in messages), messages
    (card,) = [m for m in messages if ".card'" in m]
    assert "<e-mail address " in card and "sha256" not in card and "no fingerprint" in card, card
    (other,) = [m for m in messages if "'ref'" in m]
    assert "(sha256 " in other, other
