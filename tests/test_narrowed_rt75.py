"""Red team rt75 F3: ``log_max_mode = "0644"`` (a world-readable audit log) passed log_protection, and
``retention_days = 1``, ``retention_online_days = 1``, ``retention_max_gap_days = 400`` passed retention on a one-day
log (mapped to PCI DSS 10.5.1's twelve months), with no "Narrowed by settings" note: the settings that had one were
a hand-kept list. Every key is now classified in ``config.NARROWS`` (the checks it can narrow and how, or in one
word why it narrows none); a new key that is not fails here, and each key that narrows gives its checks' passes the
note, at no other value.

The bases are real recordings (fixtures/openbao/rt72: OpenBao 2.7.2; fixtures/k8s/rt72; fixtures/jsonl/unseen:
Okta's System Log); the year of history is the OpenBao log's first request and response, once a day.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import datetime
import functools
import io
import json
import re
from pathlib import Path
from typing import Any, Callable

import pytest

from pytest_auditready.checks import BUILTIN
from pytest_auditready.cli import main
from pytest_auditready.config import NARROWS, Narrows, Settings, load, narrowing, narrows

ROOT = Path(__file__).resolve().parents[1]
OPENBAO = [json.loads(ln) for ln in (ROOT / "fixtures/openbao/rt72/openbao-2.7.2.log").read_text().splitlines()]
NARROWED = "Narrowed by settings:"
REASONS = {"where", "input", "output", "timing", "widens", "review", "gate", "skips", "baseline", "subject",
           "repeats"}
DIRECTIONS = {"lower", "higher", "wider", "subset", "earlier", "set"}
OKTA = ('log_format = "jsonl"\nfield_map = {time = "published", identity = "actor.alternateId", resource = '
        '"target.0.alternateId", action = "eventType", result = "outcome.result", source = "client.ipAddress", '
        'request_id = "uuid"}\n')


# -- the logs, each passing its checks at the defaults ---------------------------------------------------------------
def _write(folder: Path, name: str, data: bytes, mode: int = 0o600) -> Path:
    path = folder / name
    path.write_bytes(data)
    path.chmod(mode)
    return path


def _lines(entries: list[Any]) -> bytes:
    return "".join(json.dumps(e) + "\n" for e in entries).encode()


def _year() -> list[Any]:
    """The OpenBao log's first request answered and its response, once a day for the 370 days before today (UTC): a set
    that holds retention at its defaults."""
    answered = {e["request"].get("id") for e in OPENBAO if e["type"] == "response"}
    req = next(e for e in OPENBAO if e["type"] == "request" and e["request"].get("id") in answered)
    resp = next(e for e in OPENBAO if e["type"] == "response" and e["request"].get("id") == req["request"]["id"])
    today = datetime.datetime.now(datetime.timezone.utc).date()
    out = []
    for back in range(370, 0, -1):
        day = (today - datetime.timedelta(days=back)).isoformat()
        for e, t in ((req, "00:00:01.123456789"), (resp, "00:00:01.124456789")):
            c = copy.deepcopy(e)
            c["time"] = f"{day}T{t}Z"
            out.append(c)
    return out


# builder -> (file name, bytes, the settings that make its checks hold at the defaults)
LOGS: dict[str, Callable[[], tuple[str, bytes, str]]] = {
    "openbao": lambda: ("audit.log", _lines(OPENBAO), "retention_days = 0\n"),
    "okta": lambda: ("okta.jsonl", (ROOT / "fixtures/jsonl/unseen/okta-systemlog.jsonl").read_bytes(),
                     "retention_days = 0\n" + OKTA),
    "k8s": lambda: ("k8s.log", (ROOT / "fixtures/k8s/rt72/audit.log").read_bytes(), "retention_days = 0\n"),
    "year": lambda: ("year.log", _lines(_year()), ""),
    "one day": lambda: ("audit.log", _lines(OPENBAO), ""),  # retention at its defaults: the log spans one day
}
YESTERDAY = (datetime.datetime.now(datetime.timezone.utc).date() - datetime.timedelta(days=1)).isoformat()
TODAY = datetime.datetime.now(datetime.timezone.utc).date().isoformat()

# Each key NARROWS says narrows a check offline: the log its checks hold on at the defaults, a value that asks less
# (and the file mode, for log_max_mode), and values that ask the same or more, which say nothing.
NARROWING: dict[str, tuple[str, str, int, tuple[str, ...]]] = {
    "timestamp_digits": ("okta", "timestamp_digits = 0", 0o600, ("timestamp_digits = 3",)),
    "max_skew": ("openbao", "max_skew = 5", 0o600, ("max_skew = 2", "max_skew = 1")),
    "k8s_request_timeout": ("k8s", "k8s_request_timeout = 300", 0o600, ("k8s_request_timeout = 30",)),
    "k8s_webhook_reorder": ("k8s", "k8s_webhook_reorder = 90", 0o600, ("k8s_webhook_reorder = 0",)),
    "required_fields": ("openbao", 'required_fields = ["time"]', 0o600,
                        ('required_fields = ["source", "time", "identity", "resource", "action", "result", '
                         '"request_id"]',)),
    "log_max_mode": ("openbao", 'log_max_mode = "0640"', 0o640, ('log_max_mode = "0600"',)),
    "completeness_window": ("openbao", "completeness_window = 600", 0o600, ("completeness_window = 60",)),
    "retention_days": ("year", "retention_days = 30", 0o600, ("retention_days = 365", "retention_days = 366")),
    "retention_online_days": ("year", "retention_online_days = 30", 0o600, ("retention_online_days = 120",)),
    "retention_max_gap_days": ("year", "retention_max_gap_days = 5", 0o600, ("retention_max_gap_days = 0",)),
    "retention_as_of": ("year", f'retention_as_of = "{YESTERDAY}"', 0o600, ('retention_as_of = ""',)),
    "rotation_start": ("year", "rotation_start = 5", 0o600, ("rotation_start = 1", "rotation_start = 0")),
    "data_minimisation_detectors": ("openbao", 'data_minimisation_detectors = ["card"]', 0o600,
                                    ('data_minimisation_detectors = ["iban", "card", "email", "phone", '
                                     '"national_id"]',)),
}
# Keys only the live run reads: judged on the embedded vault (test_settings_rt74 for unprivileged_no_default_policy,
# which needs a vault configuration whose policies exist; here log_max_mode on the embedded vault as well).
LIVE_ONLY = {"unprivileged_no_default_policy"}


def _verify(folder: Path, builder: str, config: str, mode: int = 0o600) -> dict[str, Any]:
    """``auditready verify`` of ``builder``'s log with its settings and ``config``: the exit code, the JSON report's
    outcomes by check, and the text of every report it writes."""
    name, data, base = _built(builder)
    log = _write(folder, name, data, mode)
    cfg = folder / "settings.toml"
    cfg.write_text("require_tamper_evidence = false\n" + base + config + "\n")
    out = folder / "out"
    rc = main(["verify", str(log), "--config", str(cfg), "--json", str(out / "r.json"), "--junit", str(out / "c.xml"),
               "--evidence", str(out / "ev"), "--sarif", str(out / "s.sarif")])
    texts = {p.name: p.read_text() for p in (out / "r.json", out / "c.xml", out / "s.sarif", out / "ev" /
                                            "evidence.json", out / "ev" / "summary.md", out / "ev" / "report.html")}
    return {"rc": rc, "outcomes": {o["check"]: o for o in json.loads(texts["r.json"])["outcomes"]}, "texts": texts}


@functools.lru_cache(maxsize=None)
def _built(builder: str) -> tuple[str, bytes, str]:
    """``LOGS[builder]()``, built once a session: the logs are only read."""
    return LOGS[builder]()


Verified = Callable[..., dict[str, Any]]


@pytest.fixture(scope="module")
def verified(tmp_path_factory: pytest.TempPathFactory) -> Verified:
    """``_verify(folder, builder, config, mode)`` run once a module for each (builder, config, mode) and shared by
    the tests that only read its result (several keys share a base log at its defaults; a lax value of one case is
    another test's case too); what it printed is kept under "stdout" for their failure messages."""
    done: dict[tuple[str, str, int], dict[str, Any]] = {}

    def run(builder: str, config: str = "", mode: int = 0o600) -> dict[str, Any]:
        if (builder, config, mode) not in done:
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                res = _verify(tmp_path_factory.mktemp("verified"), builder, config, mode)
            done[builder, config, mode] = {**res, "stdout": out.getvalue()}
        return done[builder, config, mode]

    return run


def _note(outcome: dict[str, Any]) -> str:
    """The narrowing note of a passed outcome: its reason from "Narrowed by settings:" on ("" without one)."""
    assert outcome["status"] == "passed", outcome
    reason: str = outcome["reason"]
    return reason[reason.index(NARROWED):] if NARROWED in reason else ""


# -- the table ---------------------------------------------------------------------------------------------------------
def test_every_setting_is_classified() -> None:
    """Each field of Settings has its row in NARROWS: a new key must be classified (what it can narrow, or why it
    narrows nothing) before any test passes. A row names built-in checks and a known direction, or a known reason."""
    ids = {c.id for c in BUILTIN}
    missing = [f.name for f in dataclasses.fields(Settings) if f.name not in NARROWS]
    assert not missing, f"classify these settings in config.NARROWS: {missing}"
    assert set(NARROWS) == {f.name for f in dataclasses.fields(Settings)}
    for key, how in NARROWS.items():
        if isinstance(how, str):
            assert how in REASONS, (key, how)
        else:
            assert how.checks and set(how.checks) <= ids and how.direction in DIRECTIONS, (key, how)


def test_every_narrowing_key_has_a_case_here() -> None:
    """Each key the table says narrows is judged below, offline or (a key only the live run reads) live."""
    narrowing_keys = {k for k, how in NARROWS.items() if isinstance(how, Narrows)}
    assert narrowing_keys == set(NARROWING) | LIVE_ONLY
    assert all(NARROWS[k].live for k in LIVE_ONLY if isinstance(NARROWS[k], Narrows))  # type: ignore[union-attr]
    assert not any(NARROWS[k].live for k in NARROWING)  # type: ignore[union-attr]


def test_narrows_tells_a_narrowing_value_from_the_default_and_from_one_asking_more() -> None:
    """``narrows`` and ``narrowing`` read the table: below, above or a part of the default as its direction says;
    never the default itself."""
    assert not any(narrows(Settings(), k) for k in NARROWS)
    lax = load([("lax.toml", {"log_max_mode": "0644", "retention_days": 1, "retention_online_days": 0,
                              "retention_max_gap_days": 400, "canaries": 1, "log_wait": 1})])
    assert narrowing(lax, "log_protection") == ["log_max_mode"]
    assert narrowing(lax, "retention") == ["retention_days", "retention_online_days", "retention_max_gap_days"]
    strict = load([("strict.toml", {"retention_days": 400, "retention_online_days": 120, "retention_max_gap_days": 0,
                                    "retention_as_of": TODAY})])  # (no later day is a setting: rt99 F5)
    assert narrowing(strict, "retention") == []


# -- every narrowing key, offline ------------------------------------------------------------------------------------
@pytest.mark.parametrize("key", sorted(NARROWING))
def test_a_narrowing_value_says_so_beside_each_pass_it_narrows_and_no_other_value_does(
        key: str, verified: Verified) -> None:
    """At the defaults each check the key narrows passes and no report says "Narrowed by settings"; at the value
    that asks less each passes with the note, naming the key; at values asking as much or more, no note."""
    builder, lax, mode, strict = NARROWING[key]
    checks = NARROWS[key].checks  # type: ignore[union-attr]
    res = verified(builder)
    for check in checks:
        assert _note(res["outcomes"][check]) == "", (check, res["stdout"][-3000:])
    for name, text in res["texts"].items():
        assert NARROWED not in text, name
    res = verified(builder, lax, mode)
    for check in checks:
        note = _note(res["outcomes"][check])
        assert note and key in note, (check, res["outcomes"][check])
        for name in ("c.xml", "evidence.json", "summary.md", "report.html"):
            assert NARROWED in res["texts"][name], name
    for value in strict:
        res = verified(builder, value)
        for check in checks:
            assert _note(res["outcomes"][check]) == "", (value, res["outcomes"][check])


# -- log_protection ---------------------------------------------------------------------------------------------------
def test_a_world_readable_log_allowed_by_log_max_mode_says_who_may_read_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The red team's case: a 0644 log fails at the default; with log_max_mode = "0644" it passes saying that every
    user may read it, the mode the default asks and where the key was set; "0640" names a log-reader group. A
    0600 log under "0640" passes with the note too: the pass rests on the wider mode allowed."""
    res = _verify(tmp_path, "openbao", "", 0o644)
    assert res["outcomes"]["log_protection"]["status"] == "failed"
    assert "has mode 0644: group and others can read it" in res["outcomes"]["log_protection"]["findings"][0]["message"]
    res = _verify(tmp_path, "openbao", 'log_max_mode = "0644"', 0o644)
    assert res["rc"] == 0
    note = _note(res["outcomes"]["log_protection"])
    assert res["outcomes"]["log_protection"]["reason"].startswith(NARROWED)  # first: a cut cell keeps it
    assert note.startswith('Narrowed by settings: log mode up to 0644 allowed (log_max_mode = "0644" in '
                           f"{tmp_path / 'settings.toml'}; default 0600): the file's group and every user (others) "
                           "may read it;"), note
    out = capsys.readouterr().out
    assert re.search(r"^PASS log_protection .*Narrowed by settings: log mode up to 0644 allowed", out, re.M), out
    res = _verify(tmp_path, "openbao", 'log_max_mode = "0640"', 0o600)
    assert "log mode up to 0640 allowed" in _note(res["outcomes"]["log_protection"])
    assert ": a log-reader group may read it;" in _note(res["outcomes"]["log_protection"])
    res = _verify(tmp_path, "openbao", 'log_max_mode = "0604"', 0o604)
    assert ": every user (others) may read it;" in _note(res["outcomes"]["log_protection"])


# -- retention --------------------------------------------------------------------------------------------------------
def test_a_one_day_log_under_lax_retention_says_what_pci_dss_asks(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], verified: Verified) -> None:
    """The red team's case: the one-day OpenBao log with retention_days = 1, retention_online_days = 1 and
    retention_max_gap_days = 400 passes retention; the pass names each of the three with its default and says PCI
    DSS 10.5.1 asks for 12 months, three at hand. retention_days = 0 stays a skip, with no note."""
    lax = "retention_days = 1\nretention_online_days = 1\nretention_max_gap_days = 400"
    res = _verify(tmp_path, "one day", "")
    assert res["outcomes"]["retention"]["status"] == "failed"
    res = _verify(tmp_path, "one day", lax)
    assert res["rc"] == 0, capsys.readouterr().out[-3000:]
    reason = res["outcomes"]["retention"]["reason"]
    assert reason.startswith(NARROWED), reason
    where = f"in {tmp_path / 'settings.toml'}"
    for said in (f"retention_days = 1 {where} (default 365): a set spanning 1 day passes",
                 f"retention_online_days = 1 {where} (default 90): only the newest 1 day need be at hand",
                 f"retention_max_gap_days = 400 {where} (default 1): up to 400 days in a row without entries pass",
                 "PCI DSS 10.5.1 asks for 12 months of history, the most recent three at hand"):
        assert said in reason, (said, reason)
    out = capsys.readouterr().out
    assert re.search(r"^PASS retention .*Narrowed by settings: retention_days = 1 ", out, re.M), out
    res = verified("openbao")  # retention_days = 0 (the base): a skip, no note
    assert res["outcomes"]["retention"]["status"] == "skipped"
    assert all(NARROWED not in t for t in res["texts"].values())


def test_each_retention_key_alone_is_named_alone(verified: Verified) -> None:
    """On a year of history each key that asks less is named alone, with what it lets pass; an online window of 0
    says no day need be at hand; an as-of day before today says the days since are not asked for."""
    res = verified("year", "retention_online_days = 0")
    note = _note(res["outcomes"]["retention"])
    assert "retention_online_days = 0" in note and "no day need be at hand" in note
    assert "retention_days" not in note and "retention_max_gap_days" not in note
    res = verified("year", f'retention_as_of = "{YESTERDAY}"')
    note = _note(res["outcomes"]["retention"])
    assert f'retention_as_of = "{YESTERDAY}"' in note and "the days since are not asked for" in note


# -- live --------------------------------------------------------------------------------------------------------------
@pytest.mark.vault
def test_live_embedded_run_says_log_max_mode(pytester: pytest.Pytester) -> None:
    """`pytest --auditready` on the embedded vault with log_max_mode = "0640": log_protection's pass says so in the
    compliance JUnit and the evidence bundle; no other check does."""
    pytester.makepyprojecttoml('[tool.auditready]\nretention_days = 0\nlog_max_mode = "0640"\n')
    result = pytester.runpytest("--auditready", "-p", "no:cacheprovider", "--auditready-report",
                                str(pytester.path / "c.xml"), "--auditready-evidence", str(pytester.path / "ev"))
    assert result.ret == 0, result.stdout.str()
    checks = {c["id"]: c for c in json.loads((pytester.path / "ev" / "evidence.json").read_text())["checks"]}
    reasons = [o["reason"] for o in checks["log_protection"]["outcomes"]]
    assert reasons and all(r.startswith('Narrowed by settings: log mode up to 0640 allowed (log_max_mode = "0640" '
                                        "in [tool.auditready] of pyproject.toml; default 0600)") for r in reasons), \
        reasons
    assert "log mode up to 0640 allowed" in (pytester.path / "c.xml").read_text()
    for cid, c in checks.items():
        if cid != "log_protection":
            assert NARROWED not in json.dumps(c), cid
