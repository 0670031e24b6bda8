"""Generic JSON lines (log_format = "jsonl" with a field_map) from producers the team never wrote: Azure Key Vault
diagnostic logs, Google Cloud Audit Logs of Secret Manager, the Okta System Log, GitHub's audit log stream, Teleport
audit events and 1Password's Events API item usages (fixtures/jsonl/unseen, written to each producer's documentation,
see fixtures/README.md), each read through the field_map a team would write. A correct log gives no finding; one
planted defect a copy is caught at its line; a field_map that does not fit the log is refused in one line (exit 2).
"""

from __future__ import annotations

import json
import secrets
import string
from pathlib import Path
from typing import Any, Callable

import pytest

from pytest_auditready.auditlog.detect import UnknownFormat
from pytest_auditready.checks import BUILTIN
from pytest_auditready.checks.base import FAILED, PASSED
from pytest_auditready.cli import main
from pytest_auditready.config import Settings
from pytest_auditready.engine.files import offline_checks, verify_file
from pytest_auditready.offline import reader

ROOT = Path(__file__).resolve().parents[1] / "fixtures"
UNSEEN = ROOT / "jsonl" / "unseen"
OFFLINE = offline_checks(BUILTIN)
CONTENT = ("required_fields", "timestamp_precision", "timestamp_accuracy", "no_secret_leak", "integrity_digest",
           "data_minimisation")
OID = "http://schemas.microsoft.com/identity/claims/objectidentifier"

# producer -> (fixture, the field_map its team writes, a free-text path of its records, the identity's holder)
PRODUCERS: dict[str, tuple[str, dict[str, str], str, str]] = {
    "azure-keyvault": ("azure-keyvault.jsonl", {
        "time": "time", "identity": f"identity.claim.{OID}", "resource": "properties.requestUri",
        "action": "operationName", "result": "resultSignature", "source": "callerIpAddress",
        "request_id": "correlationId"}, "properties.clientInfo", "identity.claim"),
    "gcp-secretmanager": ("gcp-secretmanager.jsonl", {
        "time": "timestamp", "identity": "protoPayload.authenticationInfo.principalEmail",
        "resource": "protoPayload.resourceName", "action": "protoPayload.methodName", "result": "protoPayload.status",
        "source": "protoPayload.requestMetadata.callerIp", "request_id": "insertId"},
        "protoPayload.requestMetadata.callerSuppliedUserAgent", "protoPayload.authenticationInfo"),
    "okta-systemlog": ("okta-systemlog.jsonl", {
        "time": "published", "identity": "actor.alternateId", "resource": "target.0.alternateId",
        "action": "eventType", "result": "outcome.result", "source": "client.ipAddress", "request_id": "uuid"},
        "displayMessage", "actor"),
    "github-audit-stream": ("github-audit-stream.jsonl", {
        "time": "@timestamp", "identity": "actor", "resource": "org", "action": "action",
        "result": "operation_type", "source": "actor_ip", "request_id": "_document_id"}, "user_agent", ""),
    "teleport": ("teleport-events.jsonl", {
        "time": "time", "identity": "user", "resource": "cluster_name", "action": "event", "result": "success",
        "source": "addr.remote", "request_id": "uid"}, "user_agent", ""),
    "1password": ("1password-itemusages.jsonl", {
        "time": "timestamp", "identity": "user.email", "resource": "item_uuid", "action": "action",
        "result": "action", "source": "client.ip_address", "request_id": "uuid"}, "client.app_name", "user"),
}
RFC3339 = [p for p in PRODUCERS if p != "github-audit-stream"]  # GitHub streams epoch milliseconds


def _rows(producer: str) -> list[dict[str, Any]]:
    return [json.loads(ln) for ln in (UNSEEN / PRODUCERS[producer][0]).read_text().splitlines()]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    path.chmod(0o600)
    return path


def _log(tmp_path: Path, producer: str, rows: list[Any]) -> Path:
    return _write(tmp_path, PRODUCERS[producer][0],
                  "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))


def _settings(producer: str, **extra: Any) -> Settings:
    return Settings(require_tamper_evidence=False, retention_days=0, log_format="jsonl",
                    field_map=tuple(PRODUCERS[producer][1].items()), **extra)


def _findings(path: Path, producer: str) -> dict[str, list[str]]:
    """Check id -> the where of each finding, over the content checks that failed."""
    res = verify_file(str(path), _settings(producer), OFFLINE, {})
    return {o.check_id: [f.where for f in o.findings] for o in res.outcomes
            if o.check_id in CONTENT and o.status == FAILED}


def _keys(obj: Any, path: str) -> list[Any]:
    keys = reader.resolve(obj, path.split("."))
    assert keys is not None, path
    return keys


def _set(obj: Any, path: str, value: Any) -> None:
    """Set the value at a dotted path (keys may hold dots), or create its last key under the path before it."""
    keys: Any = reader.resolve(obj, path.split("."))
    if keys is None:
        head, _, last = path.rpartition(".")
        keys = [*(_keys(obj, head) if head else []), last]
    for k in keys[:-1]:
        obj = obj[k]
    obj[keys[-1]] = value


def _get(obj: Any, path: str) -> Any:
    for k in _keys(obj, path):
        obj = obj[k]
    return obj


def _delete(obj: Any, path: str) -> None:
    keys = _keys(obj, path)
    for k in keys[:-1]:
        obj = obj[k]
    del obj[keys[-1]]


def _config(tmp_path: Path, producer: str) -> Path:
    table = ", ".join(f"{k} = {json.dumps(v)}" for k, v in PRODUCERS[producer][1].items())
    return _write(tmp_path, "auditready.toml", "[tool.auditready]\nrequire_tamper_evidence = false\n"
                  f"retention_days = 0\nlog_format = \"jsonl\"\nfield_map = {{{table}}}\n")


def _toml(producer: str, settings: str = "", **paths: str) -> str:
    """The auditready.toml that verifies ``producer``'s log as generic JSON lines (tests/verifying.verify_lines):
    its field_map with ``paths`` in place of the producer's, and ``settings`` (TOML lines) beside it."""
    fields = {**PRODUCERS[producer][1], **paths}
    return ('log_format = "jsonl"\nrequire_tamper_evidence = false\nretention_days = 0\n' + settings + "[field_map]\n"
            + "".join(f"{k} = {json.dumps(v)}\n" for k, v in fields.items()))


def _compact(rows: list[dict[str, Any]]) -> list[str]:
    """``rows`` as JSON lines without spaces, as the producers write them."""
    return [json.dumps(r, separators=(",", ":")) for r in rows]


# -- a correct log gives no finding --------------------------------------------------------------------------------

@pytest.mark.parametrize("producer", RFC3339)
def test_correct_log_of_an_unseen_producer_gives_no_finding(tmp_path: Path, producer: str,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """Each producer's own ids (insertId, uuid, transaction and session ids, 26-character uuids, correlation ids),
    cursors (pageToken), keys that hold dots (Teleport's addr.remote, Azure's claim URIs), results that are objects,
    booleans or words, and the e-mail addresses that name who acted (and the object that holds them) are no
    finding."""
    path = _log(tmp_path, producer, _rows(producer))
    assert _findings(path, producer) == {}
    assert main(["verify", "--jobs", "1", str(path), "--config", str(_config(tmp_path, producer))]) == 0, \
        capsys.readouterr().out


def test_github_epoch_milliseconds_are_no_time_and_say_how_to_fix(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """GitHub's stream writes @timestamp in epoch milliseconds: not read as a time (SPEC), said at each entry with
    the way out; everything else of the correct log holds (its hashed_token is a digest, secret_name a name)."""
    producer = "github-audit-stream"
    path = _log(tmp_path, producer, _rows(producer))
    found = _findings(path, producer)
    # and no time to order: timestamp_accuracy judged nothing, which is no pass (red team rt24: it passed, "judged"
    # every entry)
    assert found == {"timestamp_precision": [f"{path}:1", f"{path}:2", f"{path}:3"], "timestamp_accuracy": [""]}
    res = verify_file(str(path), _settings(producer), OFFLINE, {})
    (acc,) = [o for o in res.outcomes if o.check_id == "timestamp_accuracy"]
    assert "judged nothing" in acc.findings[0].message and "no readable time" in acc.findings[0].message
    (prec,) = [o for o in res.outcomes if o.check_id == "timestamp_precision"]
    assert "'1764496800123' is not an RFC 3339 time" in prec.findings[0].message
    assert "an epoch number is read as a time only where epoch_unit" in prec.findings[0].fix  # (test_epoch_times)
    assert main(["verify", "--jobs", "1", str(path), "--config", str(_config(tmp_path, producer))]) == 1
    assert "Traceback" not in capsys.readouterr().err


# -- planted defects, each at its line -----------------------------------------------------------------------------

def _token() -> str:
    return "ghp_" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(36))


def _earlier(t: str) -> str:
    return t[:11] + f"{int(t[11:13]) - 1:02d}" + t[13:]


DEFECTS: dict[str, tuple[str, Callable[[str, list[Any]], None]]] = {
    "missing identity": ("required_fields", lambda p, rows: _delete(rows[1], PRODUCERS[p][1]["identity"])),
    "missing source": ("required_fields", lambda p, rows: _delete(rows[1], PRODUCERS[p][1]["source"])),
    # what a serialiser writes for a null, and the common log format's dash: no one, no request
    "identity 'null'": ("required_fields", lambda p, rows: _set(rows[1], PRODUCERS[p][1]["identity"], "null")),
    "identity '-'": ("required_fields", lambda p, rows: _set(rows[1], PRODUCERS[p][1]["identity"], "-")),
    "request id 'None'": ("required_fields", lambda p, rows: _set(rows[1], PRODUCERS[p][1]["request_id"], "None")),
    "time without offset": ("timestamp_precision", lambda p, rows: _set(
        rows[1], PRODUCERS[p][1]["time"], _get(rows[1], PRODUCERS[p][1]["time"])[:-1])),
    "time going backwards": ("timestamp_accuracy", lambda p, rows: _set(
        rows[1], PRODUCERS[p][1]["time"], _earlier(_get(rows[0], PRODUCERS[p][1]["time"])))),
    "token in a value": ("no_secret_leak", lambda p, rows: _set(rows[1], PRODUCERS[p][2], "debug " + _token())),
    "e-mail not the identity": ("data_minimisation", lambda p, rows: _set(
        rows[1], PRODUCERS[p][2], "reported by carol.other@example.net")),
    "card number": ("data_minimisation", lambda p, rows: _set(rows[1], PRODUCERS[p][2], "card 4111 1111 1111 1111")),
    "unreadable line": ("required_fields", lambda p, rows: rows.__setitem__(1, json.dumps(rows[1])[:60])),
}


@pytest.mark.parametrize("defect", list(DEFECTS))
@pytest.mark.parametrize("producer", list(PRODUCERS))
def test_planted_defect_is_caught_at_its_line(tmp_path: Path, producer: str, defect: str) -> None:
    check, plant = DEFECTS[defect]
    if producer == "github-audit-stream" and check in ("timestamp_precision", "timestamp_accuracy"):
        pytest.skip("GitHub's times are epoch numbers, which no time check reads (see the test above)")
    baseline = _findings(_log(tmp_path, producer, _rows(producer)), producer)
    rows = _rows(producer)
    plant(producer, rows)
    path = _log(tmp_path, producer, rows)
    found = _findings(path, producer)
    assert f"{path}:2" in found.get(check, []), (check, found)
    assert all(set(v) <= set(baseline.get(k, [])) | {f"{path}:2"} for k, v in found.items()), found


@pytest.mark.parametrize("producer", [p for p in PRODUCERS if PRODUCERS[p][3]])
def test_the_identity_holder_is_still_judged_for_card_numbers_and_other_addresses(tmp_path: Path,
                                                                                  producer: str) -> None:
    """The object holding the mapped identity is who acted, for e-mail addresses: a card number in it is still a
    finding at its line; so is an e-mail address elsewhere in the line that is not the identity's."""
    holder = PRODUCERS[producer][3]
    rows = _rows(producer)
    _set(rows[1], holder + ".nickname", "4111-1111-1111-1111")
    path = _log(tmp_path, producer, rows)
    assert _findings(path, producer) == {"data_minimisation": [f"{path}:2"]}


def test_a_card_number_in_a_clear_field_whose_key_holds_dots_is_found(tmp_path: Path) -> None:
    """Teleport's addr.remote is a clear-text field (where from) under one key with a dot: still judged for card
    numbers, as every clear-text field is."""
    rows = _rows("teleport")
    rows[1]["addr.remote"] = "4111 1111 1111 1111"
    path = _log(tmp_path, "teleport", rows)
    assert _findings(path, "teleport") == {"data_minimisation": [f"{path}:2"]}


def test_okta_target_that_is_the_actor_is_no_finding_another_user_is(tmp_path: Path) -> None:
    """Okta names the actor again as a target (user.authentication.sso's AppUser): the same address is the same
    evidence. Another person's address among the targets is judged."""
    rows = _rows("okta-systemlog")
    assert rows[1]["target"][1]["alternateId"] == rows[1]["actor"]["alternateId"]
    rows[1]["target"][1]["alternateId"] = "bob.other@example.com"
    path = _log(tmp_path, "okta-systemlog", rows)
    assert _findings(path, "okta-systemlog") == {"data_minimisation": [f"{path}:2"]}


# -- how the fields are read ---------------------------------------------------------------------------------------

def _record(producer: str, row: int) -> Any:
    parse = reader.jsonl_parser("x.jsonl", PRODUCERS[producer][1])
    return parse(row + 1, json.dumps(_rows(producer)[row]).encode())


def test_keys_that_hold_dots_are_read_through_the_field_map() -> None:
    """Teleport writes the client's address under the one key "addr.remote"; an Azure token's claims are keyed by
    URIs ("http://schemas.microsoft.com/identity/claims/objectidentifier"): both were read as missing."""
    assert _record("teleport", 0).source == "198.51.100.5:53412"
    azure = _rows("azure-keyvault")[0]
    assert _record("azure-keyvault", 0).identity == azure["identity"]["claim"][OID]
    # a plain nested path still wins over a key that happens to hold the same dots
    parse = reader.jsonl_parser("x", {"source": "addr.remote"})
    rec = parse(1, json.dumps({"addr": {"remote": "nested"}, "addr.remote": "dotted"}).encode())
    assert isinstance(rec, reader.Record) and rec.source == "nested"
    rec = parse(1, json.dumps({"addr": "10.0.0.1", "addr.remote": "dotted"}).encode())  # "addr" leads nowhere
    assert isinstance(rec, reader.Record) and rec.source == "dotted"


def test_results_that_are_objects_booleans_or_numbers_are_values() -> None:
    """Google's status is a google.rpc.Status, {} for every success (proto3 JSON omits code 0); Teleport's success
    is a boolean; an HTTP status is a number."""
    assert _record("gcp-secretmanager", 0).result == "{}"
    assert json.loads(_record("gcp-secretmanager", 1).result)["code"] == 7
    assert [_record("teleport", i).result for i in range(2)] == ["true", "false"]
    parse = reader.jsonl_parser("x", {"result": "properties.httpStatusCode", "identity": f"identity.claim.{OID}"})
    rec = parse(1, json.dumps(_rows("azure-keyvault")[2]).encode())
    assert isinstance(rec, reader.Record) and rec.result == "403"
    # an object is no identity: the line says its mapped field holds one (red team rt44 F4)
    bad = reader.jsonl_parser("x", {"result": "properties.httpStatusCode", "identity": "identity"})(
        1, json.dumps(_rows("azure-keyvault")[2]).encode())
    assert isinstance(bad, reader.BadLine) and bad.reason.startswith("its identity (identity) holds an object of ")


# -- a field_map that does not fit is refused in one line -----------------------------------------------------------

def test_a_field_map_path_no_entry_has_is_refused_naming_the_mapping(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """A typo (or another producer's names) used to blame every entry for lacking the field: one line names the
    mapping and the keys the entries do have (exit 2)."""
    path = _log(tmp_path, "okta-systemlog", _rows("okta-systemlog"))
    fmap = {**PRODUCERS["okta-systemlog"][1], "source": "client.ip"}
    with pytest.raises(UnknownFormat, match=r'none of the first 6 entries .* has field_map\'s source = "client\.ip"'):
        verify_file(str(path), Settings(log_format="jsonl", field_map=tuple(fmap.items())), OFFLINE, {})
    cfg = _write(tmp_path, "c.toml", "[tool.auditready]\nlog_format = \"jsonl\"\nfield_map = {"
                 + ", ".join(f"{k} = {json.dumps(v)}" for k, v in fmap.items()) + "}\n")
    assert main(["verify", "--jobs", "1", str(path), "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "client.ip" in err and "Traceback" not in err


@pytest.mark.parametrize(("fixture", "title", "fmt"), [
    ("openbao/clean.log", "a Vault/OpenBao audit log", "vault"),
    ("k8s/audit.log", "a Kubernetes audit log", "k8s"),
])
def test_another_formats_log_read_as_jsonl_is_refused_as_what_it_is(tmp_path: Path, fixture: str, title: str,
                                                                     fmt: str) -> None:
    """A Vault or Kubernetes log named as JSON lines with a field_map (here an Okta one): refused, naming what it is
    and the --format that reads it, instead of every entry lacking every field, or (a field_map that fits it) the
    generic rules standing in for its own, which passed a Vault log that lost lines (red team rt34, F4)."""
    path = _write(tmp_path, Path(fixture).name, (ROOT / fixture).read_text())
    with pytest.raises(UnknownFormat, match=f"is {title}: log_format/--format jsonl with a field_map") as exc:
        verify_file(str(path), _settings("okta-systemlog"), OFFLINE, {})
    assert f"--format {fmt}" in exc.value.fix


def test_a_field_map_key_that_is_no_canonical_field_is_named(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    path = _log(tmp_path, "okta-systemlog", _rows("okta-systemlog"))
    cfg = _write(tmp_path, "c.toml", '[tool.auditready]\nlog_format = "jsonl"\n'
                 'field_map = {time = "published", who = "actor.alternateId"}\n')
    assert main(["verify", "--jobs", "1", str(path), "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "'who': no canonical field" in err and "Traceback" not in err


@pytest.mark.parametrize("indent", [None, 2])
def test_an_api_answer_that_is_one_json_array_is_refused_with_the_jq_line(tmp_path: Path, indent: Any) -> None:
    """The Okta System Log API (GET /api/v1/logs) and gcloud logging read --format=json answer one JSON array:
    it was refused as "varying text before the JSON objects" or "JSON spread over several lines" with jq -c ., which
    writes the same array again."""
    path = _write(tmp_path, "logs.json", json.dumps(_rows("okta-systemlog"), indent=indent))
    with pytest.raises(UnknownFormat, match="one JSON array of records") as exc:
        verify_file(str(path), _settings("okta-systemlog"), OFFLINE, {})
    assert f"jq -c '.[]' {path}" in exc.value.fix


@pytest.mark.parametrize("indent", [None, 2])
def test_an_array_newest_first_is_refused_with_the_jq_line_that_reverses_it(tmp_path: Path, indent: Any) -> None:
    """gcloud logging read returns entries newest first (--order=desc, its default), as the Okta API does with
    sortOrder=DESCENDING: `jq -c '.[]'` of it read as a log going back in time, a timestamp_accuracy failure blamed on
    a pipeline (red team rt100 F3). The refusal says so and gives `jq -c 'reverse[]'`."""
    rows = _rows("okta-systemlog")
    assert rows[0]["published"] < rows[-1]["published"]
    path = _write(tmp_path, "logs.json", json.dumps(rows[::-1], indent=indent))
    with pytest.raises(UnknownFormat, match="one JSON array of records") as exc:
        verify_file(str(path), _settings("okta-systemlog"), OFFLINE, {})
    assert exc.value.cause.endswith("not one record a line, newest first"), exc.value.cause
    assert f"jq -c 'reverse[]' {path}" in exc.value.fix


@pytest.mark.parametrize("indent", [None, 4])
def test_azure_records_document_is_refused_with_the_jq_line(tmp_path: Path, indent: Any) -> None:
    """Azure Monitor's {"records": [...]} (Event Hubs, storage blobs before 2018-11): compact, it was read as ONE
    entry lacking every field."""
    path = _write(tmp_path, "PT1H.json", json.dumps({"records": _rows("azure-keyvault")}, indent=indent))
    with pytest.raises(UnknownFormat, match=r"Azure Monitor resource logs in one JSON document") as exc:
        verify_file(str(path), _settings("azure-keyvault"), OFFLINE, {})
    assert f"jq -c '.records[]' {path}" in exc.value.fix


def test_times_cut_to_whole_seconds_are_found_beyond_chance(tmp_path: Path) -> None:
    """One precise time certified a source whose other times are whole seconds (red team rt26: 199 of 200 passed).
    A whole second is a trimmed fraction once in 10^digits times: in numbers beyond that, each is a finding at its
    line; one among many precise times is chance, and milliseconds beside another service's microseconds meet the
    requirement."""
    rows = _rows("okta-systemlog")
    many = [dict(rows[i % len(rows)]) for i in range(200)]
    for i, r in enumerate(many):
        r["uuid"] = f"{r['uuid'][:-6]}{i:06d}"
        r["published"] = f"2026-11-30T10:{i // 60:02d}:{i % 60:02d}.{(i * 7919) % 1000:03d}Z"
    assert "timestamp_precision" not in _findings(_log(tmp_path, "okta-systemlog", many), "okta-systemlog")
    cut = [dict(r, published=r["published"][:19] + ("Z" if i != 101 else r["published"][19:]))
           for i, r in enumerate(many)]
    found = _findings(_log(tmp_path, "okta-systemlog", cut), "okta-systemlog")["timestamp_precision"]
    assert found[0].endswith(":1") and found[1].endswith(":2")
    one = [dict(r, published=r["published"][:19] + "Z") if i == 50 else r for i, r in enumerate(many)]
    micro = [dict(r, published=r["published"][:23] + "417Z") if i % 3 == 0 else r for i, r in enumerate(many)]
    for rows_ in (one, micro):
        assert "timestamp_precision" not in _findings(_log(tmp_path, "okta-systemlog", rows_), "okta-systemlog")


def test_times_with_a_space_for_the_t_are_rfc_3339(tmp_path: Path) -> None:
    """RFC 3339 5.6 lets a space stand for the "T" (Python's str() of an aware datetime writes one): such a source
    is judged, not refused; the same times without their offset are still findings at their lines (found by red
    teams rt24 and rt26, F7)."""
    rows = _rows("okta-systemlog")
    spaced = [dict(r, published=r["published"].replace("T", " ", 1).replace("Z", "+00:00")) for r in rows]
    assert " " in spaced[0]["published"]
    assert _findings(_log(tmp_path, "okta-systemlog", spaced), "okta-systemlog") == {}
    local = [dict(r, published=r["published"][:-6]) if i == 1 else r for i, r in enumerate(spaced)]
    found = _findings(_log(tmp_path, "okta-systemlog", local), "okta-systemlog")["timestamp_precision"]
    assert len(found) == 1 and found[0].endswith(":2"), found


def _vault_as_jsonl(tmp_path: Path, at: str = "") -> Path:
    """A configuration that names a Vault log JSON lines, with a field_map of its fields (under ``at``)."""
    fields = {"time": "time", "identity": "auth.display_name", "resource": "request.path", "action":
              "request.operation", "result": "type", "source": "request.remote_address", "request_id": "request.id"}
    return _write(tmp_path, "c.toml", "[tool.auditready]\nlog_format = \"jsonl\"\nrequire_tamper_evidence = false\n"
                  "retention_days = 0\nfield_map = {" + ", ".join(f'{k} = "{at}{v}"' for k, v in fields.items())
                  + "}\n")


def test_a_vault_log_with_a_field_map_that_fits_it_is_refused_not_judged_generically(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A field_map that fits a Vault log (a shared configuration, a copied example) made it generic JSON lines:
    completeness was skipped ("a JSON lines log has no request/response pairs"), and the log with a response
    entry dropped passed, exit 0 (red team rt34, F4). Refused in one line, naming --format vault."""
    lines = (ROOT / "openbao/clean.log").read_text().splitlines(keepends=True)
    n = next(i for i, ln in enumerate(lines) if '"type":"response"' in ln and "secret/data/" in ln)
    path = _write(tmp_path, "dropped.log", "".join(lines[:n] + lines[n + 1:]))
    cfg = _vault_as_jsonl(tmp_path)
    assert main(["verify", "--jobs", "1", str(path), "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "is a Vault/OpenBao audit log" in err and "--format vault" in err
    cfg.write_text(cfg.read_text().replace('log_format = "jsonl"\n', ""))  # told from the content: the pair is lost
    assert main(["verify", "--jobs", "1", str(path), "--config", str(cfg)]) == 1
    assert "FAIL completeness" in capsys.readouterr().out


@pytest.mark.parametrize("outcome", [[], {}, "ok"])
def test_an_empty_list_or_object_is_no_result(tmp_path: Path, outcome: Any) -> None:
    """Every other mapped field took [] or {} for no value; the result took them as one, and a log none of whose
    entries said how its action ended passed required_fields (red team rt34, F6)."""
    rows = [{"ts": f"2026-03-01T10:00:{i:02d}.123456Z", "actor": "alice", "path": "kv/app", "op": "read",
             "outcome": outcome, "ip": "10.0.0.1", "id": f"r{i}"} for i in range(5)]
    path = _write(tmp_path, "o.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    fmap = (("time", "ts"), ("identity", "actor"), ("resource", "path"), ("action", "op"), ("result", "outcome"),
            ("source", "ip"), ("request_id", "id"))
    res = verify_file(str(path), Settings(log_format="jsonl", field_map=fmap, require_tamper_evidence=False,
                                          retention_days=0), OFFLINE, {})
    (out,) = [o for o in res.outcomes if o.check_id == "required_fields"]
    lacks = [f for f in out.findings if "lacks the result" in f.message]
    assert (len(lacks) == 5) is (outcome != "ok"), [f.message for f in out.findings]


def test_a_vault_log_inside_a_shippers_records_with_a_field_map_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The same one level down: each entry under "json" (Filebeat's decode_json_fields with a target, documented
    as "the field under which the decoded JSON will be written"), a field_map through it. The dropped response
    passed, completeness skipped (red team rt39, F2). Refused in one line naming the way out (jq)."""
    lines = (ROOT / "openbao/clean.log").read_text().splitlines()
    n = next(i for i, ln in enumerate(lines) if '"type":"response"' in ln and "secret/data/" in ln)
    rows = [json.dumps({"@timestamp": "2026-03-01T10:00:00.000Z", "json": json.loads(ln), "agent":
                        {"type": "filebeat"}, "log": {"file": {"path": "/var/log/openbao/audit.log"}}})
            for i, ln in enumerate(lines) if i != n]
    path = _write(tmp_path, "fb.jsonl", "".join(r + "\n" for r in rows))
    cfg = _vault_as_jsonl(tmp_path, "json.")
    assert main(["verify", "--jobs", "1", str(path), "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "under the key \"json\"" in err and "jq -c" in err, err
    # a genuine app log whose records hold no producer's entry is read through its field_map as before
    app = _write(tmp_path, "app.jsonl", "".join(json.dumps({"@timestamp": f"2026-03-01T10:00:0{i}.123Z", "json": {
        "time": f"2026-03-01T10:00:0{i}.123456Z", "user": "alice", "path": "kv/app", "op": "read", "ok": "success",
        "ip": "10.0.0.1", "id": f"r{i}"}}) + "\n" for i in range(5)))
    cfg.write_text("[tool.auditready]\nlog_format = \"jsonl\"\nrequire_tamper_evidence = false\nretention_days = 0\n"
                   "field_map = {time = \"json.time\", identity = \"json.user\", resource = \"json.path\", action = "
                   "\"json.op\", result = \"json.ok\", source = \"json.ip\", request_id = \"json.id\"}\n")
    assert main(["verify", "--jobs", "1", str(app), "--config", str(cfg)]) == 0, capsys.readouterr()


def _actiontrail(i: int) -> dict[str, Any]:
    """An Alibaba Cloud ActionTrail management event as its docs give one (event structure, doc 28819)."""
    return {"eventId": f"9F767C45-EFBC-5D8B-BD8A-1B913142{i:04d}", "eventVersion": 1,
            "eventSource": "kms.cn-hangzhou.aliyuncs.com", "acsRegion": "cn-hangzhou", "eventType": "ApiCall",
            "eventName": "GetSecretValue", "eventRW": "Read", "eventTime": f"2026-03-01T10:00:{i:02d}Z",
            "requestId": f"4164D839-EFBC-5D8B-BD8A-1B913142{i:04d}", "serviceName": "Kms",
            "sourceIpAddress": "203.0.113.1", "requestParameters": {"SecretName": "prod/db"},
            "userIdentity": {"type": "ram-user", "userName": "app-reader", "accountId": "1968132276290000"}}


def test_a_producer_modelled_on_cloudtrail_is_read_as_json_lines(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """ActionTrail shares CloudTrail's names (eventVersion, eventTime, eventSource), not its region or endpoints:
    it was taken for CloudTrail records, refused under jsonl and every line failed as a damaged CloudTrail record
    (red team rt39, F6). Read through its field_map now; an AWS record one a line is still CloudTrail's."""
    path = _write(tmp_path, "actiontrail.jsonl", "".join(json.dumps(_actiontrail(i)) + "\n" for i in range(6)))
    cfg = _write(tmp_path, "c.toml", "[tool.auditready]\nlog_format = \"jsonl\"\nrequire_tamper_evidence = false\n"
                 "retention_days = 0\ntimestamp_digits = 0\nfield_map = {time = \"eventTime\", identity = "
                 "\"userIdentity.userName\", resource = \"requestParameters.SecretName\", action = \"eventName\", "
                 "result = \"eventType\", source = \"sourceIpAddress\", request_id = \"requestId\"}\n")
    assert main(["verify", "--jobs", "1", str(path), "--config", str(cfg)]) == 0, capsys.readouterr()
    capsys.readouterr()
    cfg.write_text("[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\n")
    assert main(["verify", "--jobs", "1", str(path), "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "no field_map says where its fields are" in err and "CloudTrail records" not in err, err


# -- a producer that writes a request and a response entry of each call, its type mapped ----------------------------
PAIRED_MAP = (("time", "ts"), ("identity", "actor"), ("resource", "path"), ("action", "op"), ("result", "status"),
              ("source", "ip"), ("request_id", "rid"), ("type", "kind"))


def _paired_rows(n: int) -> list[dict[str, Any]]:
    """An API gateway's log of ``n`` calls: a request entry, then its response entry, a few ms later."""
    rows = []
    for i in range(n):
        at = f"2026-12-05T08:{i // 60:02d}:{i % 60:02d}.{137 + i:03d}"
        ask = {"rid": f"r-{i:05d}", "actor": f"svc-{i % 7}", "path": f"/secrets/app{i % 5}", "op": "read",
               "ip": f"10.0.0.{1 + i % 9}", "kind": "request", "status": "", "ts": at + "261Z"}
        rows += [ask, {**ask, "kind": "response", "status": "success", "ts": at + "973Z"}]
    return rows


@pytest.mark.parametrize("defect", ["", "response deleted", "response edited", "no type mapped"])
def test_a_mapped_type_pairs_request_and_response_entries(tmp_path: Path, defect: str) -> None:
    """The README offers field_map's type = request/response; mapped, the entries are paired as Vault's are: a
    response deleted in the middle of the log, or one that names another operation than its request, is a
    completeness finding at its line. Before, completeness was skipped for any JSON lines log (red team rt50 F8).
    Not mapped, it is skipped, and says field_map names no type."""
    rows = _paired_rows(120)
    if defect == "response deleted":
        del rows[101]
    elif defect == "response edited":
        rows[101]["op"] = "delete"
    path = _write(tmp_path, "gateway.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    fmap = PAIRED_MAP[:-1] if defect == "no type mapped" else PAIRED_MAP
    res = verify_file(str(path), Settings(require_tamper_evidence=False, retention_days=0, log_format="jsonl",
                                          field_map=fmap), OFFLINE, {})
    (done,) = [o for o in res.outcomes if o.check_id == "completeness"]
    if defect == "no type mapped":
        assert done.status != FAILED and "field_map names no type" in done.reason, done
        return
    assert done.status == (FAILED if defect else PASSED), done  # judged, not skipped
    assert [f.where for f in done.findings] == ([] if not defect else [f"{path}:{101 + (defect == 'response edited')}"])
