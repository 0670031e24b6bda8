"""Records the producers write that are no client request, or come before anyone is known, as their documentation
and source describe them: excused by a named rule (and counted as excused), never by missing evidence alone.

- CloudTrail Insights events (``eventType`` AwsCloudTrailInsight, AWS CloudTrail User Guide, "Insights events"):
  CloudTrail's own analysis of call rates; the API they concern sits inside ``insightDetails``, with no caller,
  source address or action of their own. ``fixtures/cloudtrail/real/insights.json`` holds a Start/End pair.
- The Kubernetes API server's failed-authentication event (apiserver ``endpoints/filters/authn_audit.go``): the
  request is refused with 401 before a user is known, so ``user`` is empty. ``fixtures/k8s/real/failed-authn.log``
  holds three normal events and one such refusal.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Optional

import pytest

from pytest_auditready.checks import BUILTIN
from pytest_auditready.checks.required_fields import K8S_RECEIVED
from pytest_auditready.cli import main
from pytest_auditready.config import Settings
from pytest_auditready.engine.files import FileResult, offline_checks, verify_file

ROOT = Path(__file__).resolve().parents[1] / "fixtures"
CHECKS = [c for c in offline_checks(BUILTIN) if c.id == "required_fields"]


def _verify(path: Path, **settings: Any) -> FileResult:
    return verify_file(str(path), Settings(require_tamper_evidence=False, retention_days=0, **settings), CHECKS, {})


def _copy(tmp_path: Path, name: str) -> Path:
    out = tmp_path / Path(name).name
    shutil.copyfile(ROOT / name, out)
    out.chmod(0o600)
    return out


def _fields(result: FileResult) -> tuple[list[str], dict[str, int]]:
    (o,) = [o for o in result.outcomes if o.check_id == "required_fields"]
    return [f.where for f in o.findings], dict(o.tally.excused)


def _status(result: FileResult) -> str:
    (o,) = [o for o in result.outcomes if o.check_id == "required_fields"]
    return o.status


def test_cloudtrail_insights_events_are_excused_by_their_rule(tmp_path: Path) -> None:
    doc = json.loads((ROOT / "cloudtrail/real/correct.json").read_text())
    doc["Records"][1:1] = json.loads((ROOT / "cloudtrail/real/insights.json").read_text())["Records"]
    log = tmp_path / "mixed.json"
    log.write_text(json.dumps(doc))
    log.chmod(0o600)
    result = _verify(log, timestamp_digits=0)
    found, excused = _fields(result)
    assert (found, _status(result)) == ([], "passed")
    assert [n for rule, n in excused.items() if "Insights event" in rule] == [2]


def test_a_file_of_insights_events_alone_is_skipped_not_passed_nor_failed(tmp_path: Path) -> None:
    # CloudTrail delivers Insights events under CloudTrail-Insight/, in files of their own: no request to judge.
    result = _verify(_copy(tmp_path, "cloudtrail/real/insights.json"), timestamp_digits=0)
    (o,) = [o for o in result.outcomes if o.check_id == "required_fields"]
    assert (o.status, o.findings) == ("skipped", ())
    assert "Insights event" in o.reason and "nothing for this check to judge" in o.reason


def test_a_record_without_a_caller_that_is_no_insights_event_still_fails(tmp_path: Path) -> None:
    doc = json.loads((ROOT / "cloudtrail/real/insights.json").read_text())
    doc["Records"][1]["eventType"] = "AwsApiCall"  # the same shape claiming to be a call: nobody to name
    log = tmp_path / "forged.json"
    log.write_text(json.dumps(doc))
    log.chmod(0o600)
    found, excused = _fields(_verify(log, timestamp_digits=0))
    assert found == [f"{log}:2"]
    assert sum(excused.values()) == 1


def test_kubernetes_failed_authentication_event_is_excused_by_its_rule(tmp_path: Path) -> None:
    result = _verify(_copy(tmp_path, "k8s/real/failed-authn.log"))
    found, excused = _fields(result)
    assert (found, _status(result)) == ([], "passed")
    assert [n for rule, n in excused.items() if "refused at authentication" in rule] == [1]


def test_a_file_of_refused_requests_alone_judged_nothing_and_fails(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_text((ROOT / "k8s/real/failed-authn.log").read_text().splitlines()[-1] + "\n")
    log.chmod(0o600)
    result = _verify(log)
    found, _ = _fields(result)
    assert _status(result) == "failed" and found == [""]  # "judged nothing": only alone rules may skip


def test_kubernetes_event_with_no_user_that_was_not_refused_fails(tmp_path: Path) -> None:
    lines = (ROOT / "k8s/real/failed-authn.log").read_text().splitlines()
    ev = json.loads(lines[-1])
    ev["responseStatus"] = {"metadata": {}, "code": 200}  # served, yet nobody named: missing evidence
    log = tmp_path / "audit.log"
    log.write_text("\n".join([*lines[:-1], json.dumps(ev)]) + "\n")
    log.chmod(0o600)
    found, excused = _fields(_verify(log))
    assert found == [f"{log}:4"]
    # no excuse hides it: the one excused is the log's RequestReceived event, whose outcome its later stage carries
    assert excused == {K8S_RECEIVED: 1}


# Text an export tool re-encoded, or a file a crash left as zero bytes: refused in one line (exit 2) that names the
# encoding and the conversion, never read as lines of "text before the JSON" (a device prefix) or judged.
@pytest.mark.parametrize("encoding, said", [
    ("utf-16", "UTF-16"), ("utf-16-le", "UTF-16"), ("utf-16-be", "UTF-16"),
    ("utf-32", "UTF-32"), ("utf-32-be", "UTF-32"), (None, "starts with zero bytes"),
])
def test_wide_or_zero_text_is_refused_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                   encoding: Optional[str], said: str) -> None:
    text = (ROOT / "openbao/odd/correct.log").read_text()
    log = tmp_path / "exported.log"
    log.write_bytes(text.encode(encoding) if encoding else b"\0" * 4096 + text.encode())
    log.chmod(0o600)
    assert main(["verify", str(log)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and said in err
    if encoding:
        assert f"iconv -f {said}" in err and "-t UTF-8" in err  # without a BOM, the byte order too


def test_a_utf8_byte_order_mark_an_export_tool_wrote_is_no_text(tmp_path: Path) -> None:
    """RFC 8259 lets a JSON reader ignore a UTF-8 BOM; Windows tools write one. The log reads as without it."""
    log = tmp_path / "exported.log"
    log.write_bytes(b"\xef\xbb\xbf" + (ROOT / "openbao/odd/correct.log").read_bytes())
    log.chmod(0o600)
    result = verify_file(str(log), Settings(require_tamper_evidence=False, retention_days=0), CHECKS, {})
    assert (result.bad_lines, _status(result)) == (0, "passed")


# Times no right clock wrote: after the verification began, or before any of these producers existed (a clock
# reset to the 1970 epoch). A log dated so passed every check before.
@pytest.mark.parametrize("year, said", [("2099", "is after this verification began"),
                                        ("1970", "before any of these producers existed")])
def test_times_no_right_clock_wrote_fail_timestamp_accuracy_at_their_line(tmp_path: Path, year: str,
                                                                          said: str) -> None:
    from pytest_auditready.checks import timestamp_accuracy

    lines = (ROOT / "openbao/odd/correct.log").read_text().splitlines()
    moved = json.loads(lines[6])
    moved["time"] = year + moved["time"][4:]
    lines[6] = json.dumps(moved)
    log = tmp_path / "audit.log"
    log.write_text("\n".join(lines) + "\n")
    log.chmod(0o600)
    result = verify_file(str(log), Settings(require_tamper_evidence=False, retention_days=0),
                         [timestamp_accuracy.CHECK], {})
    (o,) = result.outcomes
    found = [f for f in o.findings if said in f.text()]
    assert o.status == "failed" and [f.where for f in found] == [f"{log}:7"]


def test_a_correct_log_has_no_implausible_time(tmp_path: Path) -> None:
    from pytest_auditready.checks import timestamp_accuracy

    for name in ("openbao/odd/correct.log", "k8s/real/correct.log"):
        log = _copy(tmp_path, name)
        (o,) = verify_file(str(log), Settings(require_tamper_evidence=False, retention_days=0),
                           [timestamp_accuracy.CHECK], {}).outcomes
        assert o.status == "passed", [f.text() for f in o.findings]


# Text that is no JSON audit entry behind a syslog-looking header is refused (exit 2), not read as entries a syslog
# hop cut (which blamed the vault's log for every line).
@pytest.mark.parametrize("text, said", [
    # Kubernetes' legacy audit format (--audit-log-format=legacy), as the API server documents it
    ('2017-03-21T03:57:09.106841886-04:00 AUDIT: id="c939d2a7-1c37-4ef1-b2f7-4ba9b1e43b53" stage="RequestReceived" '
     'ip="127.0.0.1" method="get" user="admin" groups="\\"system:masters\\"" as="<self>" asgroups="<lookup>" '
     'namespace="default" uri="/api/v1/namespaces/default/pods"\n', "--audit-log-format=json"),
    ("<13>1 2026-12-01T09:13:13.583Z host bao - - - core: successful mount\n"
     "Dec  1 09:13:13 host bao[1]: core: post-unseal setup complete\n", "plain text"),
])
def test_syslog_framed_text_is_refused_not_judged(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str,
                                                  said: str) -> None:
    log = tmp_path / "messages.log"
    log.write_text(text)
    log.chmod(0o600)
    assert main(["verify", str(log)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and said in err


def test_a_synced_cloudtrail_folder_reads_the_logs_and_leaves_the_digest_files_out(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`aws s3 sync s3://BUCKET/AWSLogs/ DIR/AWSLogs/` (the README's own advice) puts CloudTrail-Digest/ beside the
    logs; a digest file is evidence for tamper_evidence, not a log, and read as one it was exit 2 for the run."""
    import gzip

    root = tmp_path / "AWSLogs" / "111122223333"
    log = root / "CloudTrail/eu-west-1/2026/01/05/111122223333_CloudTrail_eu-west-1_20260105T0805Z_a1b2.json.gz"
    digest = (root / "CloudTrail-Digest/eu-west-1/2026/01/05/"
              "111122223333_CloudTrail-Digest_eu-west-1_trail_eu-west-1_20260105T080000Z.json.gz")
    for path, body in ((log, (ROOT / "cloudtrail/real/correct.json").read_bytes()),
                       (digest, json.dumps({"awsAccountId": "111122223333", "logFiles": []}).encode())):
        path.parent.mkdir(parents=True)
        path.write_bytes(gzip.compress(body))
        path.chmod(0o600)
    config = tmp_path / "auditready.toml"
    config.write_text("require_tamper_evidence = false\nretention_days = 0\ntimestamp_digits = 0\n")
    assert main(["verify", str(tmp_path / "AWSLogs"), "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "auditready verify: 1 file(s)" in out and "CloudTrail-Digest" not in out


@pytest.mark.parametrize("kind", ["bzip2", "xz"])
def test_a_rotated_file_compressed_with_bzip2_or_xz_is_read_as_gzip_is(tmp_path: Path, kind: str,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """logrotate's compresscmd may be bzip2 or xz: such a file named on its own reads like its plain content, and
    a damaged one is refused in one line (exit 2)."""
    import bz2
    import lzma

    text = (ROOT / "openbao/odd/correct.log").read_bytes()
    packed = bz2.compress(text) if kind == "bzip2" else lzma.compress(text)
    log = tmp_path / f"audit.log.1.{'bz2' if kind == 'bzip2' else 'xz'}"
    log.write_bytes(packed)
    log.chmod(0o600)
    plain = verify_file(str(_copy(tmp_path, "openbao/odd/correct.log")), Settings(require_tamper_evidence=False,
                                                                                 retention_days=0), CHECKS, {})
    packed_result = verify_file(str(log), Settings(require_tamper_evidence=False, retention_days=0), CHECKS, {})
    assert (packed_result.entries, packed_result.bad_lines, _status(packed_result)) == (plain.entries, 0, "passed")
    log.write_bytes(packed[: len(packed) // 2])
    assert main(["verify", str(log)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot read" in err


@pytest.mark.parametrize("kind", ["bzip2", "xz"])
def test_what_follows_a_bzip2_or_xz_stream_is_read_or_refused(tmp_path: Path, kind: str,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """Streams one after another (bzip2 and xz write a file compressed in parts so) are one log, with xz's stream
    padding; lines appended after compression, or a damaged second stream, were taken for the file's end, never
    read, and the log passed (red team rt34, F1): refused in one line (exit 2), as gzip's are."""
    import bz2
    import lzma

    text = (ROOT / "openbao/odd/correct.log").read_bytes()
    cut = text.index(b"\n", len(text) // 2) + 1
    pack = bz2.compress if kind == "bzip2" else lzma.compress
    log = tmp_path / f"audit.log.1.{'bz2' if kind == 'bzip2' else 'xz'}"
    plain = verify_file(str(_copy(tmp_path, "openbao/odd/correct.log")), Settings(require_tamper_evidence=False,
                                                                                 retention_days=0), CHECKS, {})
    second = pack(text[cut:])
    for whole in (pack(text[:cut]) + second, pack(text[:cut]) + (b"\0" * 8 if kind == "xz" else b"") + second):
        log.write_bytes(whole)
        log.chmod(0o600)
        got = verify_file(str(log), Settings(require_tamper_evidence=False, retention_days=0), CHECKS, {})
        assert (got.entries, got.bad_lines, _status(got)) == (plain.entries, 0, "passed")
    appended = text.splitlines(keepends=True)[-1]
    bads = [pack(text) + appended, pack(text[:cut]) + bytes([second[0] ^ 0xFF]) + second[1:],
            pack(text) + b"\n"]  # (echo >> file: was "the file ends inside its xz data", a stream cut short)
    if kind == "xz":  # xz -t refuses these too: padding not a multiple of four, an LZMA_Alone stream (rt39, F1)
        bads += [pack(text[:cut]) + b"\0" + second, pack(text[:cut]) + second + b"\0\0\0",
                 pack(text[:cut]) + lzma.compress(text[cut:], format=lzma.FORMAT_ALONE)]
    for bad in bads:
        log.write_bytes(bad)
        assert main(["verify", str(log)]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and f"bytes that are no {kind} stream follow its {kind} data" in err, err
        assert main(["access", "secret/*", str(log)]) == 2
        assert f"no {kind} stream" in capsys.readouterr().err


@pytest.mark.parametrize("argv, said", [
    (["access", "secret/*", "{log}", "--json", "/dev/null"], "JSON answer to /dev/null: it is a character device"),
    (["verify", "{log}", "--json", "/dev/null"], "JSON report to /dev/null: it is a character device"),
    (["verify", "{log}", "--sarif", "{file}/x.sarif"], "is not a folder"),
    (["verify", "{log}", "--evidence", "{file}"], "evidence bundle"),
])
def test_an_output_that_can_never_be_written_is_refused_before_the_log_is_read(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], said: str) -> None:
    """Not after gigabytes of reading: the run stops in one line (exit 2) before the first block."""
    log = _copy(tmp_path, "openbao/odd/correct.log")
    file = tmp_path / "a-file"
    file.write_text("")
    assert main([a.format(log=log, file=file) for a in argv]) == 2
    out = capsys.readouterr()
    assert said in out.err and len(out.err.strip().splitlines()) == 1
    assert "lines read" not in out.out and "read 1 file" not in out.out  # nothing was read


def test_an_old_time_in_a_generic_json_lines_log_is_no_finding(tmp_path: Path) -> None:
    """The 2013 floor is a fact of Vault/OpenBao, Kubernetes and CloudTrail, not of any JSON-lines log."""
    from pytest_auditready.checks import timestamp_accuracy

    log = tmp_path / "app.log"
    log.write_text("".join(json.dumps({"ts": f"2009-0{m}-01T00:00:00.123Z", "user": "alice", "op": "read",
                                       "obj": "ledger", "status": "ok", "ip": "10.0.0.5", "id": str(m)}) + "\n"
                           for m in range(1, 4)))
    log.chmod(0o600)
    fmap = (("time", "ts"), ("identity", "user"), ("action", "op"), ("resource", "obj"), ("result", "status"),
            ("source", "ip"), ("request_id", "id"))
    (o,) = verify_file(str(log), Settings(require_tamper_evidence=False, retention_days=0, log_format="jsonl",
                                          field_map=fmap), [timestamp_accuracy.CHECK], {}, detected=True).outcomes
    assert o.status == "passed", [f.text() for f in o.findings]


@pytest.mark.parametrize("shape", ["deep", "long"])
def test_a_file_of_one_unreadable_line_is_refused_for_what_it_is(tmp_path: Path, shape: str,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """One line nested deeper than any producer writes, or longer than the part a format is told from: refused
    (exit 2) as "JSON spread over several lines", which sent the user after a pretty-printer (red team rt34, F8).
    A file of one long line is now read whole, and told for what it is: here JSON of no producer's format."""
    log = tmp_path / "one.log"
    log.write_text('{"a":' * 100_000 + "1" + "}" * 100_000 + "\n" if shape == "deep"
                   else '{"time":"' + "x" * 400_000 + '"}\n')
    log.chmod(0o600)
    assert main(["verify", str(log)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "spread over several lines" not in err
    assert ("nested too deeply" if shape == "deep" else "holds JSON lines of no known audit format") in err
