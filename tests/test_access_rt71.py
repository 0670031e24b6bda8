"""`auditready access` and the access review against red team rt71 ("who saw that secret?").

Vault/OpenBao lines are fixtures/openbao/rt71/kv.log, recorded from a real OpenBao 2.7.2 (its README says how);
CloudTrail records are built as the CloudTrail record contents and userIdentity element docs describe them.

- F1: the KV version 2 hint (a pattern given as `bao kv get` shows the path, whose readers the log holds under
  ``data/``) was given up as soon as any request matched the pattern: a sys/raw request (which counts for every
  pattern without naming it) or a `bao read secret/app/db` on the KV version 2 mount (403, or OpenBao's 404 "Invalid
  path for a versioned K/V secrets engine") left a short list standing, exit 0, every reader of the secret unsaid.
- F2: a hole inside the period asked about (a rotated file of the set not named, a numbered one missing, days
  without an entry past retention_max_gap_days) gave a confident answer, exit 0.
- F3: a full-ARN pattern counted a record whose full ARN has another random suffix: another secret of the same
  name (deleted and created again), as AWS's CreateSecret docs say; a rule naming a full ARN judged it too.
- F4: a request refused for a spent wrapping token, after the legacy unwrap (a read of cubbyhole/response), was
  counted as the token's creator's own; the review named a request sent with a wrapping token as its creator's.
- F5: the review dropped a cross-account CloudTrail caller's account.
"""

from __future__ import annotations

import gzip
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.cli import main

ROOT = Path(__file__).resolve().parents[1]
LOG = ROOT / "fixtures" / "openbao" / "rt71" / "kv.log"
LINES = LOG.read_bytes().splitlines(keepends=True)
OWNER, OTHER = "111122223333", "444455556666"
OLD = f"arn:aws:secretsmanager:us-east-1:{OWNER}:secret:prod/db-ZzZzZz"  # deleted, then created again as NEW
NEW = f"arn:aws:secretsmanager:us-east-1:{OWNER}:secret:prod/db-AbCdEf"
PARTIAL = f"arn:aws:secretsmanager:us-east-1:{OWNER}:secret:prod/db"


def _ask(capsys: pytest.CaptureFixture[str], pattern: str, *args: str) -> tuple[int, dict[str, Any], str]:
    code = main(["access", pattern, *args, "--json", "-"])
    out = capsys.readouterr()
    return code, json.loads(out.out), out.err


def _write(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"".join(lines))
    path.chmod(0o600)
    return path


def _kept(tmp_path: Path, drop: str) -> Path:
    """kv.log without the entries whose request path matches ``drop``."""
    return _write(tmp_path / "audit.log", [ln for ln in LINES if not re.search(drop.encode(), ln)])


def _names(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {i["display_name"]: i for i in doc["identities"]}


# -- F1 ---------------------------------------------------------------------------------------------------------

# a request that matched secret/app/db without reaching its value: root's `bao list sys/raw/logical/`; alice's and
# root's `bao read secret/app/db` (403, and 404 "Invalid path for a versioned K/V secrets engine")
RAW = rb'"path":"sys/raw/'
WRONG = rb'"path":"secret/app/db"'


@pytest.mark.parametrize(("drop", "headline"), [
    (WRONG.decode(), "no request named secret/app/db, but 6 named secret/data/app/db"),
    (RAW.decode(), "6 requests named secret/data/app/db, which secret/app/db does not match"),
    ("$^", "6 requests named secret/data/app/db, which secret/app/db does not match")])
def test_the_kv2_hint_stands_whatever_else_matched_the_cli_path(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                                drop: str, headline: str) -> None:
    log = _kept(tmp_path, drop)
    code, doc, err = _ask(capsys, "secret/app/db", str(log))
    assert code == 0 and doc["requests"] >= 1  # the sys/raw request, or the wrong-path reads, or both
    if drop != WRONG.decode():  # root's read got OpenBao's 404 "Invalid path ...": a read that failed, no value
        assert _names(doc)["token"]["operations"]["read"]["denied"] == 1
    assert doc["kv2"] == {"pattern": "secret/data/app/db", "requests": 6}
    assert headline in err and "fix: ask for secret/data/app/db" in err
    # the count is the named requests of the API path (bob's refused mount lookup and sys/raw aside)
    code, doc, err = _ask(capsys, "secret/data/app/db", str(log))
    assert code == 0 and "kv2" not in doc and not err
    assert doc["requests"] - doc["unnamed"] - _names(doc)["userpass-bob"]["operations"]["mount lookup"]["requests"] \
        == 6
    # a KV version 1 secret read at its own path: no hint (nothing is logged under kv1/data/...)
    code, doc, err = _ask(capsys, "kv1/app/db", str(log))
    read = _names(doc)["userpass-alice"]["operations"]["read"]
    assert code == 0 and "kv2" not in doc and not err and (read["requests"], read["denied"]) == (1, 0)


def test_a_pattern_that_takes_in_the_api_paths_gets_no_hint(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    log = _kept(tmp_path, "$^")
    code, doc, err = _ask(capsys, "secret/*", str(log))  # secret/data/app/db is among its own
    assert code == 0 and "kv2" not in doc and not err
    code, doc, err = _ask(capsys, "secret/app/*", str(log))  # the folder as `bao kv list` shows it
    assert code == 0 and doc["kv2"]["pattern"] == "secret/data/app/*" and "fix: ask for secret/data/app/*" in err


# -- F2 ---------------------------------------------------------------------------------------------------------

# kv.log cut at whole request/response pairs into three files, as rotated once a day
CUTS = ((0, 27), (27, 49), (49, len(LINES)))


def _part(k: int, day: str) -> list[bytes]:
    lo, hi = CUTS[k]
    return [re.sub(rb'^\{"time":"\d{4}-\d{2}-\d{2}T', b'{"time":"' + day.encode() + b"T", ln) for ln in LINES[lo:hi]]


def _set(folder: Path, names: tuple[str, str, str], days: tuple[str, str, str]) -> list[Path]:
    folder.mkdir()
    return [_write(folder / n, _part(k, d)) for k, (n, d) in enumerate(zip(names, days))]


DAYS = ("2026-12-01", "2026-12-02", "2026-12-03")


@pytest.mark.parametrize("names", [("audit.log.2", "audit.log.1", "audit.log"),
                                   ("audit.log-20261202", "audit.log-20261203.gz", "audit.log")])
def test_a_rotated_file_left_out_between_two_named_is_a_hole(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                             names: tuple[str, str, str]) -> None:
    old, middle, live = _set(tmp_path / "logs", names, DAYS)
    if middle.name.endswith(".gz"):  # (logrotate's compress: the file beside is gzip)
        middle.write_bytes(gzip.compress(b"".join(_part(1, DAYS[1]))))
    args = ("secret/data/app/db", str(old), str(live), "--since", "2026-12-01", "--until", "2026-12-03")
    code, doc, err = _ask(capsys, *args)
    (hole,) = doc["covers"]["holes"]
    assert code == 1 and hole["files"] == [str(middle)] and str(middle) in hole["why"]
    assert hole["from"].startswith("2026-12-01T") and hole["to"].startswith("2026-12-03T")
    assert "hole(s) in the period asked about, so the answer may be incomplete" in err
    # the whole set, or a period after the hole: complete
    code, doc, err = _ask(capsys, "secret/data/app/db", str(tmp_path / "logs"))
    assert code == 0 and doc["covers"]["holes"] == [] and not err
    begins = json.loads(live.read_bytes().splitlines()[0])["time"]  # (a period from the newest file's first entry)
    code, doc, err = _ask(capsys, "secret/data/app/db", str(old), str(live), "--since", begins)
    assert code == 0 and doc["covers"]["holes"] == [] and not err


def test_a_numbered_rotated_file_missing_is_a_hole(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old, middle, live = _set(tmp_path / "logs", ("audit.log.2", "audit.log.1", "audit.log"), DAYS)
    middle.unlink()  # deleted: logrotate numbers without gaps
    code, doc, err = _ask(capsys, "secret/data/app/db", str(old), str(live))
    (hole,) = doc["covers"]["holes"]
    assert code == 1 and hole["files"] == [] and f"{tmp_path}/logs/audit.log.1 is not in the files named" in hole["why"]
    # an empty rotated file beside them (an idle day's rotation, logrotate's ifempty) holds nothing lost
    middle.write_bytes(b"")
    code, doc, err = _ask(capsys, "secret/data/app/db", str(old), str(live))
    assert code == 0 and doc["covers"]["holes"] == [] and not err


def test_days_without_entries_past_retention_max_gap_days_are_a_hole(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    old, middle, live = _set(tmp_path / "logs", ("audit.log-20261129", "audit.log-20261201", "audit.log"),
                             ("2026-11-28", "2026-11-30", "2026-12-03"))
    middle.unlink()  # gone: nothing in the set tells it was there but the days without an entry
    code, doc, err = _ask(capsys, "secret/data/app/db", str(old), str(live))
    (hole,) = doc["covers"]["holes"]
    assert code == 1 and (hole["from"], hole["to"]) == ("2026-11-29", "2026-12-02")
    assert "no Vault/OpenBao entry from 2026-11-29 to 2026-12-02 (4 days)" in hole["why"] and "(4 days)" in err
    # a vault idle that long is said so in the settings retention judges the set by
    cfg = tmp_path / "ar.toml"
    cfg.write_text("retention_max_gap_days = 4\n")
    code, doc, err = _ask(capsys, "secret/data/app/db", str(old), str(live), "--config", str(cfg))
    assert code == 0 and doc["covers"]["holes"] == [] and not err


def test_a_quiet_day_in_a_complete_set_is_no_hole(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A vault idle for a day writes nothing: one day without entries (retention_max_gap_days = 1) between two files
    that follow each other proves no file lost."""
    folder = tmp_path / "logs"
    folder.mkdir()
    old = _write(folder / "audit.log-20261202", _part(0, "2026-12-01"))
    live = _write(folder / "audit.log", _part(1, "2026-12-03") + _part(2, "2026-12-03"))
    code, doc, err = _ask(capsys, "secret/data/app/db", str(old), str(live))
    assert code == 0 and doc["covers"]["holes"] == [] and not err


# -- F3 ---------------------------------------------------------------------------------------------------------

def _record(n: int, who: dict[str, Any], secret_id: str) -> dict[str, Any]:
    return {"eventVersion": "1.09", "userIdentity": who, "eventTime": f"2026-11-0{n + 1}T09:00:00Z",
            "eventSource": "secretsmanager.amazonaws.com", "eventName": "GetSecretValue", "awsRegion": "us-east-1",
            "sourceIPAddress": "203.0.113.10", "userAgent": "aws-cli/2.15.0",
            "requestParameters": {"secretId": secret_id}, "responseElements": None,
            "requestID": f"00000000-0000-0000-0000-00000000071{n}", "eventID": f"00000000-0000-0000-0000-00000000072{n}",
            "readOnly": True, "eventType": "AwsApiCall", "managementEvent": True, "recipientAccountId": OWNER,
            "eventCategory": "Management"}


def _user(name: str) -> dict[str, Any]:
    return {"type": "IAMUser", "principalId": f"AIDAEXAMPLE{name.upper()}", "arn": f"arn:aws:iam::{OWNER}:user/{name}",
            "accountId": OWNER, "userName": name}


def _trail(path: Path, *records: dict[str, Any]) -> Path:
    path.write_text(json.dumps({"Records": list(records)}))
    return path


def test_a_full_arn_counts_no_record_of_another_incarnation(tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    trail = _trail(tmp_path / "ct.json", _record(0, _user("olduser"), OLD), _record(1, _user("newuser"), NEW),
                   _record(2, _user("byname"), "prod/db"), _record(3, _user("bypartial"), PARTIAL))
    code, doc, _ = _ask(capsys, NEW, str(trail))
    callers = {i["display_name"] for i in doc["identities"]}
    assert code == 0 and callers == {f"arn:aws:iam::{OWNER}:user/{u}" for u in ("newuser", "byname", "bypartial")}
    # the name and the partial ARN take in both incarnations, as the service resolves them
    for asked in ("prod/db", PARTIAL):
        code, doc, _ = _ask(capsys, asked, str(trail))
        assert code == 0 and len(doc["identities"]) == 4
    code, doc, _ = _ask(capsys, OLD, str(trail))
    assert {i["display_name"] for i in doc["identities"]} == {f"arn:aws:iam::{OWNER}:user/{u}"
                                                              for u in ("olduser", "byname", "bypartial")}


def _rule_outcome(tmp_path: Path, capsys: pytest.CaptureFixture[str], trail: Path) -> dict[str, Any]:
    cfg = tmp_path / "ar.toml"
    cfg.write_text('require_tamper_evidence = false\nretention_days = 0\n[[access.rules]]\nname = "new db"\n'
                   f'paths = ["{NEW}"]\noperations = ["read"]\nidentities = ["arn:aws:iam::{OWNER}:user/newuser"]\n')
    main(["verify", str(trail), "--config", str(cfg), "--json", str(tmp_path / "r.json")])
    capsys.readouterr()
    (o,) = [o for o in json.loads((tmp_path / "r.json").read_text())["outcomes"] if o["check"] == "access_policy"]
    return dict(o)


def test_a_rule_on_a_full_arn_judges_that_secret_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trail = _trail(tmp_path / "ct.json", _record(0, _user("olduser"), OLD), _record(1, _user("newuser"), NEW))
    assert _rule_outcome(tmp_path, capsys, trail)["status"] == "passed"  # olduser read another secret
    trail = _trail(tmp_path / "ct.json", _record(0, _user("olduser"), NEW), _record(1, _user("newuser"), NEW))
    o = _rule_outcome(tmp_path, capsys, trail)
    (f,) = o["findings"]
    assert o["status"] == "failed" and "by arn:aws:iam::111122223333:user/olduser breaks rule 'new db'" in f["message"]


# -- F4 ---------------------------------------------------------------------------------------------------------

HOLDER = "holder of a wrapping token from userpass-alice"


@pytest.mark.parametrize(("lines", "refused"), [(LINES, 4), (LINES[:45] + LINES[61:], 1)])  # whole; the third alone
def test_a_spent_wrapping_tokens_requests_are_its_holders(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          lines: list[bytes], refused: int) -> None:
    """The third wrapping token is unwrapped by a read of cubbyhole/response (lines 66-67) and then refused (68-71);
    the first is refused by its policy (line 48), which spends it, then refused for that (50-55)."""
    log = _write(tmp_path / "audit.log", lines)
    code, doc, _ = _ask(capsys, "secret/data/app/db", str(log))
    named = _names(doc)
    # alice read it once with her own token; every refusal of a wrapping token is its holder's, none alice's
    alice = named["userpass-alice"]["operations"]
    assert code == 0 and list(alice) == ["read"] and (alice["read"]["requests"], alice["read"]["denied"]) == (1, 0)
    assert named[HOLDER]["denied"] == named[HOLDER]["requests"] == refused
    code, doc, _ = _ask(capsys, "cubbyhole/*", str(log))
    assert {i["display_name"] for i in doc["identities"] if i["denied"]} == {HOLDER}


def test_the_review_names_a_wrapping_tokens_sender_its_holder(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    log = _write(tmp_path / "audit.log", LINES)
    main(["verify", str(log), "--evidence", str(tmp_path / "ev")])
    capsys.readouterr()
    review = json.loads((tmp_path / "ev" / "evidence.json").read_text())["review"]
    paths = {p["path"]: {i["display_name"]: i for i in p["identities"]} for p in review["paths"]}
    db = paths["secret/data/app/db"]
    assert db[HOLDER]["operations"] == {"read": {"requests": 1, "denied": 1}}  # line 48, refused by its policy
    assert db["userpass-alice"]["operations"] == {"read": {"requests": 1, "denied": 0}}  # her own read
    assert paths["secret/data/app/api"][HOLDER]["operations"] == {"unwrap": {"requests": 2, "denied": 0}}


# -- F5 ---------------------------------------------------------------------------------------------------------

def test_the_review_names_a_caller_from_another_account_with_its_account(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    other = {"type": "AWSAccount", "principalId": "AROAOTHERACCT:frank", "accountId": OTHER}
    trail = _trail(tmp_path / "ct.json", _record(0, other, NEW), _record(1, _user("newuser"), NEW))
    shutil.rmtree(tmp_path / "ev", ignore_errors=True)
    main(["verify", str(trail), "--evidence", str(tmp_path / "ev")])
    capsys.readouterr()
    review = json.loads((tmp_path / "ev" / "evidence.json").read_text())["review"]
    (path,) = review["paths"]
    shown = {i["display_name"] for i in path["identities"]}
    assert shown == {f"AROAOTHERACCT:frank (account {OTHER})", f"arn:aws:iam::{OWNER}:user/newuser"}
    code, doc, _ = _ask(capsys, NEW, str(trail))
    assert code == 0 and {i["display_name"] for i in doc["identities"]} == shown  # as `auditready access` names them
