"""Red team rt102 F5: a field_map that gave one key (GitHub's ``_document_id``) to identity, resource, action, result,
source and request_id passed required_fields (exit 0): one value was taken for who acted, which secret, what was
done, the outcome, from where and which request, so no entry could lack any of them. And a request id of
``"unknown"`` or ``"0"`` passed, where ``"-"``, ``"n/a"`` and null are read as no request id.

- Two or more fields whose first path is one key (the same dotted path, a list index by its number) are refused
  in one line (exit 2), by ``auditready verify`` and by ``pytest --auditready-offline`` alike, naming the fields and
  the key; so is a field_map path over a Kubernetes or CloudTrail log that is the format's own path of another
  field. A later path of a list is read only where the earlier ones hold nothing, and may be another field's
  (Okta: an event with no target is named by its type); action and result may share one key (a producer whose log
  holds only actions that took place: 1Password's item usages, Infisical's audit log). Every field_map of the
  real producers' logs the suite reads is still accepted, and their correct logs give no finding.
- A request id "unknown" (any case) or of zeros alone ("0", the nil UUID) is no request id: a required_fields
  finding at its line, in generic JSON lines and a Kubernetes event's auditID; an id that merely starts with zeros is
  one.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.auditlog.detect import _GCP_FIELD_MAP
from pytest_auditready.checks import BUILTIN
from pytest_auditready.checks.base import FAILED
from pytest_auditready.cli import main
from pytest_auditready.config import Settings, load
from pytest_auditready.engine.files import offline_checks, verify_file
from pytest_auditready.errors import ConfigError
from tests.test_field_map_lists_rt86 import LIST as INFISICAL_LIST
from tests.test_field_map_lists_rt86 import MAP as INFISICAL_MAP
from tests.test_jsonl_digests_rt100 import CONFIG as OKTA_CONFIG
from tests.test_unseen_jsonl import PRODUCERS, UNSEEN, _set

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1] / "fixtures"
GITHUB = UNSEEN / "github-audit-stream.jsonl"
K8S = ROOT / "k8s" / "audit.log"
TRAIL = ROOT / "cloudtrail" / "real" / "correct.json"
OFFLINE = offline_checks(BUILTIN)
CONTENT = ("required_fields", "timestamp_precision", "timestamp_accuracy", "no_secret_leak", "integrity_digest",
           "data_minimisation")
BASE = '[tool.auditready]\nlog_max_mode = "0644"\nretention_days = 0\nrequire_tamper_evidence = false\n'
# the red team's f5.toml
F5 = (BASE + 'log_format = "jsonl"\nepoch_unit = "ms"\n[tool.auditready.field_map]\ntime = "@timestamp"\n'
      + "".join(f'{f} = "_document_id"\n' for f in ("identity", "resource", "action", "result", "source",
                                                       "request_id")))
SIX = "identity, resource, action, result, source and request_id are all read from one key, \"_document_id\""
GITHUB_MAP = PRODUCERS["github-audit-stream"][1]


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o600)
    return path


def _toml(tmp_path: Path, text: str) -> Path:
    return _write(tmp_path / "auditready.toml", text)


def _map_toml(fields: dict[str, Any], settings: str = 'log_format = "jsonl"\n') -> str:
    return (BASE + settings + "[tool.auditready.field_map]\n"
            + "".join(f"{k} = {json.dumps(v)}\n" for k, v in fields.items()))


def _one_line_refusal(code: int, out: str, err: str) -> str:
    assert code == 2, out + err
    assert out == "" and len(err.strip().splitlines()) == 1, out + err
    assert "Traceback" not in err and "; fix: " in err
    return err.strip()


# -- one key, several fields: refused --------------------------------------------------------------------------------

def test_the_red_teams_six_fields_on_one_key_are_refused_by_verify(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["verify", "--config", str(_toml(tmp_path, F5)), str(GITHUB)])
    out, err = capsys.readouterr()
    line = _one_line_refusal(code, out, err)
    assert "bad value for 'field_map'" in line and SIX in line, line
    assert "map each field to the key where the producer writes that fact" in line
    assert "PASS" not in out


def test_the_red_teams_six_fields_on_one_key_are_refused_by_pytest(tmp_path: Path, pytester: pytest.Pytester,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """The same line under pytest --auditready-offline, before any item runs."""
    config = _toml(tmp_path, F5)
    assert main(["verify", "--config", str(config), str(GITHUB)]) == 2
    refusal = capsys.readouterr().err.strip().split("auditready: ", 1)[1]
    r = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--auditready-offline", str(GITHUB),
                                     "--auditready-config", str(config))
    text = r.stdout.str() + r.stderr.str()
    # (pytest's own exit code for a bad setting, as for every other key: tests/test_config.py)
    assert r.ret == pytest.ExitCode.USAGE_ERROR, text
    assert "Traceback" not in text and SIX in text
    assert refusal in " ".join(text.split()), "pytest refuses with the same line"
    assert len(r.stderr.str().strip().splitlines()) == 1, r.stderr.str()


REFUSED = {
    "identity and source": ({**GITHUB_MAP, "source": "actor"}, ("identity", "source"), "actor"),
    "time and request_id": ({**GITHUB_MAP, "request_id": "@timestamp"}, ("time", "request_id"), "@timestamp"),
    "resource and action": ({**GITHUB_MAP, "resource": "action"}, ("resource", "action"), "action"),
    # action and result may share a key, but not with a third field
    "action, result and resource": ({**GITHUB_MAP, "resource": "action", "result": "action"},
                                    ("resource", "action", "result"), "action"),
    # a list is read from its first path wherever the producer writes it: the later ones do not tell them apart
    "first path of a list": ({**GITHUB_MAP, "identity": ["actor_ip", "actor"]}, ("identity", "source"), "actor_ip"),
    "first paths of two lists": ({**GITHUB_MAP, "identity": ["org", "actor"], "resource": ["org", "repo"]},
                                 ("identity", "resource"), "org"),
    # a list index by its number: "00" reads the item "0" does
    "one list item, two spellings": ({**GITHUB_MAP, "identity": "actor_location.0", "source": "actor_location.00"},
                                     ("identity", "source"), "actor_location.0"),
    "type and action": ({**GITHUB_MAP, "type": "action"}, ("type", "action"), "action"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_key_read_as_two_fields_is_refused_with_both_named(case: str) -> None:
    fields, names, key = REFUSED[case]
    doc = tomllib.loads(_map_toml(fields))["tool"]["auditready"]
    with pytest.raises(ConfigError) as info:
        load([("test.toml", doc)])
    said = str(info.value)
    assert "\n" not in said
    assert re.search(", ".join(names[:-1]) + f" and {names[-1]} are (all )?read from one key, {json.dumps(key)}",
                     said), said


def test_two_keys_each_shared_are_both_named(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    fields = {**GITHUB_MAP, "source": "actor", "request_id": "org", "resource": "org"}
    code = main(["verify", "--config", str(_toml(tmp_path, _map_toml(fields))), str(GITHUB)])
    line = _one_line_refusal(code, *capsys.readouterr())
    assert 'identity and source are read from one key, "actor"' in line
    assert 'resource and request_id are read from one key, "org"' in line


def test_settings_made_without_load_are_refused_when_the_file_is_read(tmp_path: Path) -> None:
    """The API (Settings built in code, no load): the file is refused before any check judges it."""
    settings = Settings(require_tamper_evidence=False, retention_days=0, log_format="jsonl", epoch_unit="ms",
                        field_map=tuple(tomllib.loads(F5)["tool"]["auditready"]["field_map"].items()))
    with pytest.raises(ConfigError) as info:
        verify_file(str(GITHUB), settings, OFFLINE, {})
    assert SIX in str(info.value)


@pytest.mark.parametrize("log, fields, said", [
    (K8S, {"identity": "sourceIPs.0"}, 'read by its own path for source and by field_map\'s for identity: identity and '
     'source are read from one key, "sourceIPs.0"'),
    (K8S, {"request_id": "verb"}, 'read by its own path for action and by field_map\'s for request_id'),
    (TRAIL, {"resource": "eventName"}, 'read by its own path for action and by field_map\'s for resource: resource '
     'and action are read from one key, "eventName"'),
])
def test_a_path_of_a_told_formats_own_field_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                       log: Path, fields: dict[str, str], said: str) -> None:
    """Over a Kubernetes or CloudTrail log field_map replaces the paths of the fields it names and keeps the
    format's own for the others: one of its paths that is another field's own is the same one key."""
    code = main(["verify", "--config", str(_toml(tmp_path, _map_toml(fields, settings=""))), str(log)])
    line = _one_line_refusal(code, *capsys.readouterr())
    assert said in line, line


def test_a_path_of_a_told_formats_own_field_is_refused_by_pytest(tmp_path: Path, pytester: pytest.Pytester) -> None:
    config = _toml(tmp_path, _map_toml({"identity": "sourceIPs.0"}, settings=""))
    r = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--auditready-offline", str(K8S),
                                     "--auditready-config", str(config))
    text = r.stdout.str() + r.stderr.str()
    assert r.ret == pytest.ExitCode.USAGE_ERROR, text
    assert "Traceback" not in text and 'identity and source are read from one key, "sourceIPs.0"' in text


# -- still accepted ----------------------------------------------------------------------------------------------------

ACCEPTED = {
    **{f"{p} (tests/test_unseen_jsonl.py)": _map_toml(m[1]) for p, m in PRODUCERS.items()},
    # 1Password and Infisical: action and result on one key (a log of actions that took place)
    "Infisical (tests/test_field_map_lists_rt86.py)": BASE + INFISICAL_MAP.replace(
        "[field_map]", "[tool.auditready.field_map]") + INFISICAL_LIST,
    # Okta: resource = ["target.0.alternateId", "eventType"], action = "eventType" (a later path of a list)
    "Okta (tests/test_jsonl_digests_rt100.py)": "[tool.auditready]\n" + OKTA_CONFIG.replace(
        "[field_map]", "[tool.auditready.field_map]"),
    # the example the refusal of unmapped Cloud Audit Logs gives (auditlog/detect.py)
    "Cloud Audit Logs (the refusal's example)": BASE + "field_map = " + _GCP_FIELD_MAP + "\n",
    "Kubernetes' own paths, named again": BASE + "[tool.auditready.field_map]\nsource = \"sourceIPs.0\"\n",
}


@pytest.mark.parametrize("name", list(ACCEPTED))
def test_every_field_map_of_a_real_producer_is_accepted(name: str) -> None:
    doc = tomllib.loads(ACCEPTED[name])["tool"]["auditready"]
    assert load([("test.toml", doc)]).field_map


def _findings(path: Path, fields: dict[str, str], **extra: Any) -> dict[str, list[str]]:
    doc = tomllib.loads(_map_toml(fields))["tool"]["auditready"]
    settings = load([("test.toml", {**doc, **extra})])
    res = verify_file(str(path), settings, OFFLINE, {})
    return {o.check_id: [f.where for f in o.findings] for o in res.outcomes
            if o.check_id in CONTENT and o.status == FAILED}


@pytest.mark.parametrize("producer", [p for p in PRODUCERS if p != "github-audit-stream"])
def test_real_producers_correct_logs_still_give_no_finding(tmp_path: Path, producer: str) -> None:
    path = _write(tmp_path / PRODUCERS[producer][0], (UNSEEN / PRODUCERS[producer][0]).read_text())
    assert _findings(path, PRODUCERS[producer][1]) == {}


def test_githubs_correct_log_with_its_epoch_unit_gives_no_finding(tmp_path: Path) -> None:
    path = _write(tmp_path / "github.jsonl", GITHUB.read_text())
    assert _findings(path, GITHUB_MAP, epoch_unit="ms") == {}


def test_a_k8s_log_read_by_its_own_paths_gives_no_finding(tmp_path: Path) -> None:
    path = _write(tmp_path / "audit.log", K8S.read_text())
    res = verify_file(str(path), Settings(require_tamper_evidence=False, retention_days=0), OFFLINE, {})
    (fields,) = [o for o in res.outcomes if o.check_id == "required_fields"]
    assert not fields.findings


# -- a request id that names no request ----------------------------------------------------------------------------

NO_IDS = ["unknown", "UNKNOWN", " Unknown ", "0", 0, "00000000-0000-0000-0000-000000000000",
          "{00000000-0000-0000-0000-000000000000}", "00000000000000000000000000000000"]


def _rows(producer: str) -> list[dict[str, Any]]:
    return [json.loads(ln) for ln in (UNSEEN / PRODUCERS[producer][0]).read_text().splitlines()]


def _planted(tmp_path: Path, producer: str, value: Any) -> tuple[Path, dict[str, list[str]]]:
    rows = _rows(producer)
    _set(rows[1], PRODUCERS[producer][1]["request_id"], value)
    path = _write(tmp_path / PRODUCERS[producer][0], "".join(json.dumps(r) + "\n" for r in rows))
    extra = {"epoch_unit": "ms"} if producer == "github-audit-stream" else {}
    return path, _findings(path, PRODUCERS[producer][1], **extra)


@pytest.mark.parametrize("value", NO_IDS, ids=repr)
@pytest.mark.parametrize("producer", list(PRODUCERS))
def test_a_request_id_that_names_no_request_is_found_at_its_line(tmp_path: Path, producer: str, value: Any) -> None:
    """(Key Vault's correlationId written as the nil GUID is a client that passed none, excused as one written
    empty: tests/test_jsonl_optional_fields_rt100.py.)"""
    path, found = _planted(tmp_path, producer, value)
    if producer == "azure-keyvault" and value == "00000000-0000-0000-0000-000000000000":
        assert found == {}, found
        return
    assert found == {"required_fields": [f"{path}:2"]}, found


@pytest.mark.parametrize("value", ["0a1b2c3d-0000-4000-8000-000000000000", "000123", "00000000-0000-0000-0000-"
                                   "000000000001", "unknown-7f3a", 10], ids=repr)
def test_an_id_that_only_starts_or_ends_with_zeros_is_a_request_id(tmp_path: Path, value: Any) -> None:
    _, found = _planted(tmp_path, "okta-systemlog", value)
    assert found == {}, found


@pytest.mark.parametrize("value", ["0", "unknown", "00000000-0000-0000-0000-000000000000"])
def test_a_kubernetes_audit_id_that_names_no_request_is_found_at_its_line(tmp_path: Path, value: str) -> None:
    """The API server writes a UUID, or the client's Audit-ID header: one of zeros, or "unknown", tells no request
    apart."""
    lines = K8S.read_text().splitlines()
    event = json.loads(lines[1])
    event["auditID"] = value
    lines[1] = json.dumps(event, separators=(",", ":"))
    path = _write(tmp_path / "audit.log", "\n".join(lines) + "\n")
    res = verify_file(str(path), Settings(require_tamper_evidence=False, retention_days=0), OFFLINE, {})
    (fields,) = [o for o in res.outcomes if o.check_id == "required_fields"]
    assert [f.where for f in fields.findings] == [f"{path}:2"], [f.message for f in fields.findings]


def test_a_path_segment_of_other_digits_is_a_key_not_a_list_index(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """"²" is a digit to str.isdigit and no number to int(): a path through it crashed the reader (a traceback);
    it is a key, which the log does not hold, refused in one line."""
    fields = {**GITHUB_MAP, "source": "actor_ips.\u00b2"}
    rows = [{**r, "actor_ips": [r["actor_ip"]]} for r in _rows("github-audit-stream")]
    log = _write(tmp_path / "github.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    code = main(["verify", "--config", str(_toml(tmp_path, _map_toml(fields))), str(log)])
    line = _one_line_refusal(code, *capsys.readouterr())
    assert "field_map's source" in line, line
