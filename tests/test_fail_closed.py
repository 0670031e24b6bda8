"""Fail closed, the same way through every front end (issue: "One engine that fails closed").

One table of log files, each run through `pytest --auditready-offline` and `auditready verify`: the same exit
code, the same verdicts, findings and accounting; a log of no known format is refused in one line (exit 2) by
both; missing evidence is never an excuse; a check that judged nothing fails. Then fail_on, honoured by all three
front ends, and live runs that refuse a log they cannot read instead of blaming the vault.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

from pytest_auditready.cli import main
from tests.auditrun import run_audit

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CLEAN = FIXTURES / "openbao" / "clean.log"
LEAKY = FIXTURES / "openbao" / "leaky.log"
CANARIES = FIXTURES / "openbao" / "canaries.txt"
K8S = FIXTURES / "k8s" / "audit.log"
K8S_LEAKY = FIXTURES / "k8s" / "audit-requestresponse.log"
TRAIL = FIXTURES / "cloudtrail" / "secretsmanager.json"


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines()


def _strip(ln: bytes) -> bytes:
    d = json.loads(ln)
    d.pop("auth", None)
    d.get("request", {}).pop("id", None)
    d.get("request", {}).pop("remote_address", None)
    return json.dumps(d).encode()


def _pretty(path: Path) -> bytes:
    return b"\n".join(json.dumps(json.loads(ln), indent=2).encode() for ln in _lines(path)[:5]) + b"\n"


def _xml(_: Path) -> bytes:
    return (b'<json:object xmlns:json="http://www.ibm.com/xmlns/prod/2009/jsonx">'
            b'<json:string name="type">request</json:string></json:object>\n') * 3


# name -> (content, format given or None, expected exit, what must hold)
Build = Callable[[], bytes]
CASES: dict[str, tuple[Build, Optional[str], int, Callable[[dict[str, Any], str], None]]] = {}


def case(name: str, build: Build, fmt: Optional[str], code: int) -> Callable[[Callable[[dict[str, Any], str], None]],
                                                                            None]:
    def add(check: Callable[[dict[str, Any], str], None]) -> None:
        CASES[name] = (build, fmt, code, check)

    return add


def status(d: dict[str, Any], check_id: str) -> str:
    return str(d["verdicts"][check_id]["status"])


@case("junk JSON lines", lambda: b'{"hello":"world"}\n' * 5, None, 2)
def _junk(d: dict[str, Any], err: str) -> None:
    assert "JSON lines of no known audit format" in err and "field_map" in err


@case("vault log without auth, request id and remote address", lambda: b"\n".join(map(_strip, _lines(CLEAN))) + b"\n",
      None, 1)
def _stripped(d: dict[str, Any], err: str) -> None:
    assert status(d, "required_fields") == "failed"
    texts = " ".join(f[0] for f in d["verdicts"]["required_fields"]["findings"])
    assert "lacks who" in texts and "where from" in texts and "the request id" in texts
    assert not d["accounting"]["checks"]["required_fields"]["excused"]  # nothing excused by missing evidence


@case("empty file", lambda: b"", None, 1)
def _empty(d: dict[str, Any], err: str) -> None:
    for cid in ("required_fields", "timestamp_precision", "timestamp_accuracy", "no_secret_leak"):
        assert status(d, cid) == "failed", cid
        assert "judged nothing" in d["verdicts"][cid]["findings"][0][0]
    assert d["accounting"]["lines"] == 0


@case("k8s log given as vault", lambda: K8S.read_bytes(), "vault", 2)
def _k8s_as_vault(d: dict[str, Any], err: str) -> None:
    assert "is a Kubernetes audit log, not a Vault/OpenBao audit log" in err and "--format k8s" in err


@case("vault log given as k8s", lambda: CLEAN.read_bytes(), "k8s", 2)
def _vault_as_k8s(d: dict[str, Any], err: str) -> None:
    assert "is a Vault/OpenBao audit log, not a Kubernetes audit log" in err


@case("cloudtrail file given as vault", lambda: TRAIL.read_bytes(), "vault", 2)
def _trail_as_vault(d: dict[str, Any], err: str) -> None:
    assert "AWS CloudTrail log file" in err and "--format cloudtrail" in err


@case("XML (a JSONx device)", lambda: _xml(CLEAN), None, 2)
def _xml_case(d: dict[str, Any], err: str) -> None:
    assert "XML" in err and "jsonx" in err


@case("CSV", lambda: b"time,user,path,op\n2026-01-01T00:00:00Z,alice,secret/a,read\n" * 3, None, 2)
def _csv(d: dict[str, Any], err: str) -> None:
    assert "CSV" in err


@case("plain text", lambda: b"vault started\nall good\n", None, 2)
def _text(d: dict[str, Any], err: str) -> None:
    assert "plain text" in err


@case("pretty-printed JSON", lambda: _pretty(CLEAN), None, 2)
def _pretty_case(d: dict[str, Any], err: str) -> None:
    assert "spread over several lines" in err and "jq -c" in err


@case("a constant device prefix nobody declared",
      lambda: b"\n".join(b"vault-audit: " + ln for ln in _lines(CLEAN)) + b"\n", None, 2)
def _prefix(d: dict[str, Any], err: str) -> None:
    assert 'set log_prefix = "vault-audit: "' in err


@case("syslog framing", lambda: b"\n".join(b"Dec  1 07:54:37 vault1 bao[812]: " + ln for ln in _lines(CLEAN)[:20])
      + b"\n", None, 0)
def _syslog(d: dict[str, Any], err: str) -> None:
    # the header is framing (auditlog/syslog.py): every line read as the entry it carries, at its own line
    assert d["accounting"]["entries"] == 20 and d["accounting"]["unreadable_lines"] == 0


@case("OpenBao's own clean log", lambda: CLEAN.read_bytes(), None, 0)
def _clean(d: dict[str, Any], err: str) -> None:
    assert all(v["status"] != "failed" for v in d["verdicts"].values())
    rf = d["accounting"]["checks"]["required_fields"]
    # the vault's own requests are excused by named rules, and counted
    assert rf["judged"] == d["accounting"]["entries"] - sum(e["entries"] for e in rf["excused"]) > 100
    assert any("self-test" in e["rule"] for e in rf["excused"])


@case("OpenBao leaky log (log_raw), with its canaries", lambda: LEAKY.read_bytes(), None, 1)
def _leaky(d: dict[str, Any], err: str) -> None:
    found = d["verdicts"]["no_secret_leak"]["findings"]
    assert status(d, "no_secret_leak") == "failed" and all(f[1].rsplit(":", 1)[1].isdigit() for f in found)


@case("Kubernetes clean log", lambda: K8S.read_bytes(), None, 0)
def _k8s_clean(d: dict[str, Any], err: str) -> None:
    assert all(v["status"] != "failed" for v in d["verdicts"].values())
    assert d["accounting"]["format"] == "k8s"


@case("Kubernetes log at level RequestResponse (a Secret's data)", lambda: K8S_LEAKY.read_bytes(), None, 1)
def _k8s_leaky(d: dict[str, Any], err: str) -> None:
    assert status(d, "no_secret_leak") == "failed"
    assert {f[1].rsplit(":", 1)[1] for f in d["verdicts"]["no_secret_leak"]["findings"]} == {"6"}


@case("CloudTrail delivery file, gzip-compressed", lambda: gzip.compress(TRAIL.read_bytes()), None, 1)
def _trail(d: dict[str, Any], err: str) -> None:
    assert d["accounting"]["format"] == "cloudtrail"
    assert status(d, "required_fields") == "passed" and status(d, "no_secret_leak") == "passed"
    assert status(d, "timestamp_precision") == "failed"  # CloudTrail writes whole seconds: said, not hidden


def _normal(outcomes: list[dict[str, Any]]) -> dict[str, Any]:
    return {o["check"]: {"status": o["status"], "reason": o["reason"], "tally": o["tally"],
                         "findings": [(f["message"], f["where"], f["request_id"]) for f in o["findings"]]}
            for o in outcomes}


def _setup(tmp_path: Path, name: str) -> tuple[Path, Path, Optional[str], int, Any]:
    build, fmt, code, check = CASES[name]
    log = tmp_path / "audit.log"
    log.write_bytes(build())
    log.chmod(0o600)
    cfg = tmp_path / "auditready.toml"
    cfg.write_text(f'require_tamper_evidence = false\nretention_days = 0\ncanaries_file = "{CANARIES}"\n')
    return log, cfg, fmt, code, check


@pytest.mark.parametrize("name", list(CASES))
def test_both_front_ends_give_the_same_verdict(name: str, tmp_path: Path, pytester: pytest.Pytester,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    log, cfg, fmt, code, check = _setup(tmp_path, name)
    fmt_args = ["--format", fmt] if fmt else []
    # auditready verify
    cli_dir = tmp_path / "cli"
    rc = main(["verify", str(log), "--config", str(cfg), "--evidence", str(cli_dir), *fmt_args])
    out = capsys.readouterr()
    assert rc == code, out.out + out.err
    assert "Traceback" not in out.out + out.err
    # pytest --auditready-offline, same file and settings
    if fmt:
        cfg.write_text(cfg.read_text() + f'log_format = "{fmt}"\n')
    py_dir = tmp_path / "py"
    r = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--auditready-offline", str(log),
                                     "--auditready-config", str(cfg), f"--auditready-evidence={py_dir}")
    text = r.stdout.str() + r.stderr.str()
    assert int(r.ret) == code, text
    assert "Traceback" not in text
    if code == 2:
        err = out.err.strip()
        assert len(err.splitlines()) == 1 and out.out == "", out.out + out.err
        refusal = err.split("auditready: ", 1)[1]
        assert refusal in " ".join(text.split()), "pytest refuses with the same line"
        check({}, err)
        return
    cli_ev = json.loads((cli_dir / "evidence.json").read_text())
    py_ev = json.loads((py_dir / "evidence.json").read_text())
    cli_v = _normal([o for c in cli_ev["checks"] for o in c["outcomes"]])
    py_v = _normal([o for c in py_ev["checks"] for o in c["outcomes"]])
    assert cli_v == py_v
    assert cli_ev["accounting"] == py_ev["accounting"] and len(cli_ev["accounting"]) == 1
    check({"verdicts": cli_v, "accounting": cli_ev["accounting"][0]}, "")


def test_verify_json_says_what_was_read_judged_and_excused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log, cfg, *_ = _setup(tmp_path, "OpenBao's own clean log")
    assert main(["verify", str(log), "--config", str(cfg), "--json", str(tmp_path / "r.json")]) == 0
    data = json.loads((tmp_path / "r.json").read_text())
    (acct,) = data["files"]
    assert acct["lines"] == acct["entries"] == len(_lines(CLEAN)) and acct["unreadable_lines"] == 0
    assert data["verdict"] == "passed" and {c["id"] for c in data["checks"]} >= {"required_fields", "no_secret_leak"}
    printed = capsys.readouterr().out
    assert "lines read" in printed and "excused" in printed and "entries judged" in printed
    # a check skipped on every file is said apart, never counted among those that hold
    skipped = sorted(c["id"] for c in data["checks"] if c["status"] == "skipped")
    assert skipped and f"{len(data['checks']) - len(skipped)}/{len(data['checks'])} checks hold, {len(skipped)} " \
        f"skipped ({', '.join(skipped)})" in printed.splitlines()[-1]
    # a check skipped on a file judged none of its entries: not judged, and no rule excused them (red team rt68:
    # they were counted as excused), as the accounting says apart
    for cid in skipped:
        tally = acct["checks"].get(cid)
        if tally is not None and tally["fed"]:
            assert tally["judged"] == 0 and not any(e["rule"].startswith("skipped") for e in tally["excused"])
            assert tally["not_judged"]["entries"] + sum(e["entries"] for e in tally["excused"]) == tally["fed"]
            assert tally["not_judged"]["reason"] and f"{cid} {tally['not_judged']['entries']} not judged: the check " \
                "was skipped (" in printed, (cid, tally)
    assert any((acct["checks"].get(cid) or {}).get("fed") for cid in skipped)  # a skipped check had been fed


# -- fail_on, the same gate for all three front ends ---------------------------------------------------------
def test_fail_on_offline_front_ends(tmp_path: Path, pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str]
                                    ) -> None:
    """A CloudTrail file fails only timestamp_precision (low): fail_on=medium passes both front ends, low fails."""
    log, cfg, *_ = _setup(tmp_path, "CloudTrail delivery file, gzip-compressed")
    for fail_on, code in (("medium", 0), ("low", 1), ("any", 1)):
        assert main(["verify", str(log), "--config", str(cfg), "--fail-on", fail_on]) == code, fail_on
        capsys.readouterr()
        pytester.makepyprojecttoml(f'[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\n'
                                   f'fail_on = "{fail_on}"\n')
        r = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--auditready-offline", str(log))
        assert int(r.ret) == code, (fail_on, r.stdout.str())
        # (hypothesis's plugin, which no test here involves, would import hypothesis in each of the 3 processes)
        r = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-n", "2",
                                          "--auditready-offline", str(log), str(log))
        assert int(r.ret) == code, (fail_on, "xdist", r.stdout.str())


@pytest.mark.vault
def test_fail_on_live_front_end(pytester: pytest.Pytester, bao: Any, url_env: Any) -> None:
    server = bao(audit_options={"mode": "0644"})  # log_protection (high) fails
    url_env(server)
    run = run_audit(pytester, server, seal=False, fail_on="critical")
    assert run.failed_checks() == {"log_protection"} and int(run.result.ret) == 0
    run = run_audit(pytester, server, seal=False, fail_on="high")
    assert run.failed_checks() == {"log_protection"} and int(run.result.ret) == 1


# -- live runs refuse what they cannot read -------------------------------------------------------------------
@pytest.mark.vault
@pytest.mark.parametrize(("reship", "said"), [
    (lambda e: "shipper: " + json.dumps(e), 'set log_prefix = "shipper: "'),
    (lambda e: json.dumps(e, indent=2), "spread over several lines"),
])
def test_live_log_of_unknown_format_is_refused_in_one_line(pytester: pytest.Pytester, bao: Any, url_env: Any,
                                                           pipeline: Any, tmp_path: Path,
                                                           reship: Callable[[dict[str, Any]], str], said: str) -> None:
    """A shipper that re-frames the real device's lines: exit 2 with one line that names what was found and the
    setting, instead of every action reported missing from the log."""
    server = bao()
    url_env(server)
    shipped = tmp_path / "shipped.log"
    pipeline(server.log_path, shipped, reship)
    run = run_audit(pytester, server, shipped, seal=False)
    out = run.result.stdout.str()
    assert int(run.result.ret) == 2, out
    lines = [ln for ln in out.splitlines() if "auditready:" in ln]
    assert len(lines) == 1 and said in lines[0], out
    assert "completeness" not in out and "Traceback" not in out  # not blamed on the vault


@pytest.mark.vault
def test_live_log_through_a_prefixing_shipper_passes_with_log_prefix(pytester: pytest.Pytester, bao: Any,
                                                                     url_env: Any, pipeline: Any,
                                                                     tmp_path: Path) -> None:
    server = bao()
    url_env(server)
    shipped = tmp_path / "shipped.log"
    pipeline(server.log_path, shipped, lambda e: "shipper: " + json.dumps(e))
    shipped.touch(mode=0o600)
    run = run_audit(pytester, server, shipped, seal=False, log_prefix="shipper: ")
    assert run.failed_checks() <= {"log_protection"} and "completeness" not in run.failed_checks()


def test_canaries_are_split_at_newlines_only(tmp_path: Path) -> None:
    """A known value may hold a line or paragraph separator or a form feed: it stays one value."""
    from pytest_auditready.engine.files import read_canaries

    values = ["a\u2028b-secret-1", "c\x0cd\x0be-secret-2", "f\x85g-secret-3", "plain-secret-4"]
    f = tmp_path / "canaries.txt"
    f.write_text("# known values\n" + "\r\n".join(f"  {v}\t" for v in values) + "\n\n")
    assert list(read_canaries(str(f)).values()) == values
