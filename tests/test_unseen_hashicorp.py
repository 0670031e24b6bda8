"""Right on HashiCorp Vault's own audit entries (not OpenBao's): Community 1.10, 1.15 and 1.21 and Enterprise 1.21
(namespaces, a performance standby, an exclusion filter), written by fixtures/vault/unseen/build.py to Vault's source
(audit/types.go, audit/entry_formatter.go, audit/hashstructure.go; see fixtures/vault/unseen/README.md). A correct log
gives no finding and `auditready access` names its readers; one planted defect is caught at its line.
"""

from __future__ import annotations

import json
import random
import string
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

import pytest

from pytest_auditready.auditlog.formats import FORMATS
from pytest_auditready.checks import BUILTIN
from pytest_auditready.checks.base import FAILED
from pytest_auditready.cli import main
from pytest_auditready.config import Settings
from pytest_auditready.engine.files import offline_checks, read_canaries, verify_file
from pytest_auditready.scan.secrets import GenericScanner
from tests.conftest import load_script
from tests.test_unseen_vault_options import _write

HERE = Path(__file__).resolve().parents[1] / "fixtures" / "vault" / "unseen"
OFFLINE = offline_checks(BUILTIN)
CONTENT = ("completeness", "required_fields", "timestamp_precision", "timestamp_accuracy", "no_secret_leak",
           "integrity_digest", "data_minimisation")
LOGS = ("community-1.10.log", "community-1.15.log", "community-1.21.log", "enterprise-1.21-namespaces.log",
        "enterprise-1.21-exclude.log")
CANARIES = read_canaries(str(HERE / "canaries.txt"))


def _build() -> ModuleType:
    """build.py, loaded afresh (its generator is seeded at import)."""
    mod: ModuleType = load_script(HERE / "build.py", "vault_unseen_build")
    return mod


def _lines(name: str) -> list[str]:
    return (HERE / name).read_text().splitlines()


def _findings(path: Path) -> dict[str, list[str]]:
    """Check id -> the where of each finding, over the content checks that failed (canaries known)."""
    res = verify_file(str(path), Settings(require_tamper_evidence=False, retention_days=0), OFFLINE, CANARIES)
    return {o.check_id: [f.where for f in o.findings] for o in res.outcomes
            if o.check_id in CONTENT and o.status == FAILED}


def test_the_logs_are_what_build_writes(tmp_path: Path) -> None:
    mod = _build()
    mod.HERE = tmp_path
    mod.main()
    for name in (*LOGS, "canaries.txt"):
        assert (tmp_path / name).read_text() == (HERE / name).read_text(), f"{name}: run build.py again"


def test_the_entries_have_each_version_s_key_order() -> None:
    """What makes these logs Vault's: 1.21 writes its struct fields in order (time first, type last), 1.10 to 1.15
    time, type, auth, request; a device with an exclusion filter sorts every key (a Go map)."""
    first = {name: json.loads(_lines(name)[1]) for name in LOGS}
    assert list(first["community-1.21.log"])[:2] == ["time", "auth"] and list(first["community-1.21.log"])[-1] == "type"
    assert list(first["community-1.15.log"])[:3] == ["time", "type", "auth"]
    assert "mount_accessor" not in first["community-1.10.log"]["request"]
    assert "mount_accessor" in first["community-1.15.log"]["request"]
    excl = first["enterprise-1.21-exclude.log"]
    assert list(excl) == sorted(excl) and list(excl["request"]) == sorted(excl["request"])
    assert first["enterprise-1.21-namespaces.log"]["request"]["namespace"] == {"id": "Xq3Mb", "path": "team-a/"}


@pytest.mark.parametrize("name", LOGS)
def test_a_correct_vault_log_gives_no_finding(tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, name, _lines(name))
    assert _findings(path) == {}
    config = tmp_path / "auditready.toml"
    config.write_text("[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\n")
    code = main(["verify", "--jobs", "1", str(path), "--canaries", str(HERE / "canaries.txt"), "--config", str(config)])
    assert code == 0, capsys.readouterr().out


# -- planted defects, each at its line ----------------------------------------------------------------------------

def _line_of(name: str, pred: Callable[[dict[str, Any]], bool]) -> int:
    return next(i for i, ln in enumerate(_lines(name), 1) if pred(json.loads(ln)))


def _planted(tmp_path: Path, name: str, edits: dict[int, Callable[[dict[str, Any]], None]]) -> Path:
    lines = _lines(name)
    for n, edit in edits.items():
        d = json.loads(lines[n - 1])
        edit(d)
        lines[n - 1] = json.dumps(d, separators=(",", ":"), ensure_ascii=False)
    return _write(tmp_path, "planted.log", lines)


def _write_request(d: dict[str, Any]) -> bool:
    return d["type"] == "request" and d["request"]["operation"] in ("create", "update") and "client_token" in d[
        "request"] and not d.get("error")


def _read_response(d: dict[str, Any]) -> bool:
    return d["type"] == "response" and d["request"]["operation"] == "read" and "client_token" in d["request"]


def _denied_request(d: dict[str, Any]) -> bool:
    return (d["type"] == "request" and d.get("error") == "permission denied"
            and d["auth"].get("policy_results", {}).get("allowed") is False)


def _set(*path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(d: dict[str, Any]) -> None:
        node = d
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = value
    return edit


def _drop(*path: str) -> Callable[[dict[str, Any]], None]:
    def edit(d: dict[str, Any]) -> None:
        node = d
        for k in path[:-1]:
            node = node[k]
        node.pop(path[-1])
    return edit


def _whole_second(d: dict[str, Any]) -> None:
    d["time"] = d["time"].split(".")[0] + "Z"


def _log_raw(d: dict[str, Any]) -> None:
    """The entry as a device with log_raw = true writes it: the caller's token as sent."""
    token = "hvs.CAESI" + "".join(random.Random(7).choice(string.ascii_letters) for _ in range(80))
    d["auth"]["client_token"] = token
    d["request"]["client_token"] = token


DEFECTS: dict[str, tuple[Callable[[dict[str, Any]], bool], Callable[[dict[str, Any]], None], str]] = {
    # a mount tuned with audit_non_hmac_request_keys: the value as sent
    "a secret in clear in request.data": (_write_request, _set("request", "data", value={"api_key": next(
        v for k, v in CANARIES.items())}), "no_secret_leak"),
    "a token in clear (log_raw)": (_read_response, _log_raw, "no_secret_leak"),
    "no remote_address": (_read_response, lambda d: (d["request"].pop("remote_address"),
                                                     d["request"].pop("remote_port")) and None, "required_fields"),
    "a time without sub-seconds": (_read_response, _whole_second, "timestamp_precision"),
    "no request id": (_read_response, _drop("request", "id"), "required_fields"),
    "a denied request without its error": (_denied_request, _drop("error"), "required_fields"),
    "a blank error on a denied request": (_denied_request, _set("error", value=" "), "required_fields"),
}


@pytest.mark.parametrize("name", LOGS)
@pytest.mark.parametrize("defect", list(DEFECTS))
def test_a_planted_defect_is_caught_at_its_line(tmp_path: Path, name: str, defect: str) -> None:
    pred, edit, check = DEFECTS[defect]
    n = _line_of(name, pred)
    found = _findings(_planted(tmp_path, name, {n: edit}))
    assert check in found, (defect, found)
    assert found[check][0] == f"{tmp_path / 'planted.log'}:{n}", (defect, found)


@pytest.mark.parametrize("name", LOGS)
def test_a_refused_response_without_its_error_is_caught_too(tmp_path: Path, name: str) -> None:
    """The response entry of a denied read keeps the policy decision (audit/entry_formatter.go copies it): without
    the error, at its line, also when the request entry kept its error and the response its HMAC'd data.error."""
    n = _line_of(name, _denied_request) + 1
    assert json.loads(_lines(name)[n - 1])["type"] == "response"
    found = _findings(_planted(tmp_path, name, {n: _drop("error")}))
    at = [f"{tmp_path / 'planted.log'}:{n}"]
    # where the request entry kept its error and the response keeps none (no data.error either), the response
    # answering it as allowed is a broken pair too
    answer = json.loads(_lines(name)[n - 1]).get("response") or {}
    refused = bool(json.loads(_lines(name)[n - 2]).get("error")) and not (answer.get("data") or {}).get("error")
    assert found == ({"required_fields": at, "completeness": at} if refused else {"required_fields": at})


def test_a_refusal_without_its_error_is_caught_line_by_line_too(tmp_path: Path) -> None:
    """A block with an unreadable line is read line by line (no decoded objects): the refusal is found in its text,
    at the same line."""
    name = "community-1.21.log"
    n = _line_of(name, _denied_request)
    lines = _lines(name)
    lines[0] = lines[0][: len(lines[0]) // 2]  # truncated: the block goes line by line
    d = json.loads(lines[n - 1])
    d.pop("error")
    lines[n - 1] = json.dumps(d, separators=(",", ":"))
    path = _write(tmp_path, "cut.log", lines)
    found = _findings(path)
    assert f"{path}:{n}" in found["required_fields"] and f"{path}:1" in found["required_fields"]


def test_one_short_time_among_go_times_is_told_by_chance(tmp_path: Path) -> None:
    """Go trims trailing zeros: a 9-digit source writes 8 digits one time in ten, 7 one in a hundred; those are no
    finding. A whole second (one in a billion) or a single digit (one in a hundred million) is."""
    name = "community-1.21.log"
    lines = _lines(name)
    n = _line_of(name, _read_response)
    trimmed = {n: _set("time", value=json.loads(lines[n - 1])["time"][:-3] + "Z"),  # 7 digits
               n + 1: _set("time", value=json.loads(lines[n])["time"][:-2] + "Z")}  # 8 digits
    assert _findings(_planted(tmp_path, name, trimmed)) == {}
    one = {n: _set("time", value=json.loads(lines[n - 1])["time"][:21] + "Z")}
    # cut to one digit, the response is also earlier than its request (line n - 1): timestamp_accuracy says so
    assert _findings(_planted(tmp_path, name, one)) == {"timestamp_precision": [f"{tmp_path / 'planted.log'}:{n}"],
                                                        "timestamp_accuracy": [f"{tmp_path / 'planted.log'}:{n}"]}


def test_a_microsecond_clock_is_judged_by_its_own_odds(tmp_path: Path) -> None:
    """A vault on a host whose clock ticks in microseconds writes up to 6 digits: 2 digits there happen once in ten
    thousand entries (no finding in a small log), a whole second once in a million: one in these 68 entries is a
    6.8e-5 chance, over the one-in-a-hundred-thousand bar for a hop's cuts (timestamp_accuracy finds this one, before
    its request), and two are found."""
    name = "community-1.21.log"

    def micro(text: str) -> str:
        head, frac = text[:-1].split(".")
        frac = frac[:6].rstrip("0")
        return head + ("." + frac if frac else "") + "Z"

    lines = []
    for ln in _lines(name):
        d = json.loads(ln)
        d["time"] = micro(d["time"])
        lines.append(json.dumps(d, separators=(",", ":")))
    n = _line_of(name, _read_response)
    m = _line_of(name, lambda d: d["type"] == "request" and d["time"][20:21] not in ("", "0"))
    head = json.loads(lines[n - 1])["time"][:19]
    # (.97: two digits, not before its request's time, 02.967...; a whole second is, as timestamp_accuracy says)
    for value, also, expected in ((head + ".97Z", False, {}),
                                  (head + "Z", False, {"timestamp_accuracy": [f"{{}}:{n}"]}),
                                  (head + "Z", True, {"timestamp_precision": sorted([f"{{}}:{m}", f"{{}}:{n}"]),
                                                      "timestamp_accuracy": [f"{{}}:{n}"]})):
        planted = list(lines)
        d = json.loads(lines[n - 1])
        d["time"] = value
        planted[n - 1] = json.dumps(d, separators=(",", ":"))
        if also:  # a request's time cut to its whole second too (earlier, as a request may be)
            d = json.loads(lines[m - 1])
            d["time"] = d["time"][:19] + "Z"
            planted[m - 1] = json.dumps(d, separators=(",", ":"))
        path = _write(tmp_path, "micro.log", planted)
        found = _findings(path)
        assert found == {k: [w.format(path) for w in v] for k, v in expected.items()}, (value, also)


# -- the classes behind the fixes -----------------------------------------------------------------------------------

def test_lease_ids_in_paths_and_the_http_target_are_no_secret() -> None:
    """A lease id (its path and 24 base62 characters, in clear in response.secret.lease_id and in sys/leases paths)
    names a lease, like an accessor; request_uri ("/v1/" + path + query) is judged part by part like the path. Random
    lease ids read as high-entropy one time in twenty in a path, and nearly always in a whole URI. A token in a query
    parameter is still found."""
    rng = random.Random(11)
    alphabet = string.ascii_letters + string.digits
    hits = 0
    tokens = 0
    with GenericScanner(fmt=FORMATS["vault"]) as scanner:
        for _ in range(400):
            lid = "".join(rng.choice(alphabet) for _ in range(24))
            lease = "database/creds/billing-ro/" + lid
            hits += bool(scanner.scan_value("lease_id", lease))
            hits += bool(scanner.scan_value("path", "sys/leases/revoke/" + lease))
            hits += bool(scanner.scan_value("request_uri", "/v1/sys/leases/revoke/" + lease))
            hits += bool(scanner.scan_value("request_uri", "/v1/team-a/sys/leases/lookup/" + lease + ".Xq3Mb"))
            tokens += bool(scanner.scan_value("request_uri", "/v1/secret/data/app?token=hvs." + lid + lid))
    assert hits == 0
    assert tokens == 400


def test_an_identity_in_the_http_target_is_evidence_personal_data_elsewhere_is_not(tmp_path: Path) -> None:
    """request_uri repeats the path: a user who logs in by an e-mail address is named there as in request.path; an
    e-mail address in a secret's path is personal data in both."""
    name = "community-1.21.log"
    n = _line_of(name, _read_response)

    def mail(d: dict[str, Any]) -> None:
        d["request"]["path"] = "secret/data/customers/jane.doe@example.org"
        d["request"]["request_uri"] = "/v1/secret/data/customers/jane.doe@example.org"

    # planted in the response and in its request entry, which the vault writes with the same path
    request = next(i for i, ln in enumerate(_lines(name), 1) if json.loads(ln)["type"] == "request"
                   and json.loads(ln)["request"]["id"] == json.loads(_lines(name)[n - 1])["request"]["id"])
    found = _findings(_planted(tmp_path, name, {request: mail, n: mail}))
    assert found == {"data_minimisation": [f"{tmp_path / 'planted.log'}:{request}"]}  # named where first seen


# -- who read what -------------------------------------------------------------------------------------------------

def _access(tmp_path: Path, pattern: str, name: str, rc: int = 0) -> dict[str, Any]:
    """The answer; ``rc`` 1 for a pattern no path of the log starts as (``pattern_unseen``)."""
    out = tmp_path / "answer.json"
    assert main(["access", pattern, str(HERE / name), "--json", str(out)]) == rc
    doc: dict[str, Any] = json.loads(out.read_text())
    return doc


@pytest.mark.parametrize("name", ["community-1.10.log", "community-1.15.log", "community-1.21.log"])
def test_access_names_the_readers_of_a_community_log(tmp_path: Path, name: str) -> None:
    doc = _access(tmp_path, "secret/data/billing/*", name)
    who = {i["display_name"]: i for i in doc["identities"]}
    assert who["approle"]["operations"]["create"]["requests"] == 1
    ops = who["approle"]["operations"]
    assert ops["read"]["requests"] == ops["read (wrapped)"]["requests"] == 1  # a read and a response-wrapped read
    assert "userpass-alice" not in who  # she listed and read metadata, never the data
    if name == "community-1.21.log":  # a batch token (no accessor) read it too
        assert who["token-batch-reporter"]["operations"]["read"]["requests"] == 1
        assert not who["token-batch-reporter"]["accessors"]
    denied = _access(tmp_path, "secret/data/prod/*", name)
    assert [(i["display_name"], i["denied"]) for i in denied["identities"]] == [("userpass-alice", 1)]


@pytest.mark.parametrize("name", ["enterprise-1.21-namespaces.log", "enterprise-1.21-exclude.log"])
def test_access_names_the_readers_across_enterprise_namespaces(tmp_path: Path, name: str) -> None:
    doc = _access(tmp_path, "team-a/secret/data/*", name)
    assert [(i["display_name"], i["requests"]) for i in doc["identities"]] == [("userpass-bob", 1)]
    dev = _access(tmp_path, "team-a/dev/*", name)
    who = {i["display_name"]: (i["requests"], i["denied"]) for i in dev["identities"]}
    assert who == {"userpass-bob": (2, 1), "oidc-dana@example.com": (1, 0)}
    root = _access(tmp_path, "secret/data/*", name, rc=1)  # root's secret/ is not team-a's, and no path names it:
    assert root["identities"] == [] and root["pattern_unseen"]["first_segment"] == "secret"  # said (rt94 F6)
