"""Vault/OpenBao entries inside two layers of framing (red team rt85 F1): a CloudWatch Logs export whose events are
Fluent Bit's records (aws-for-fluent-bit without log_key) or Docker's json-file records (the CloudWatch agent
tailing them), a Splunk export whose _raw is a Docker record, Filebeat's record whose message is a container
runtime's line. Each was refused as "a JSON log of no known audit format", with a jq line that fails and a
field_map fix that would drop the Vault checks. Each layer is taken off now: the same entries, the same findings at
the same lines as the log itself, and a split line joined across the outer records."""

from __future__ import annotations

import datetime
import gzip
import json
from pathlib import Path
from typing import Any, Callable

import pytest

from pytest_auditready.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CLEAN = FIXTURES / "openbao" / "clean.log"
LEAKY = FIXTURES / "openbao" / "leaky.log"
CANARIES = FIXTURES / "openbao" / "canaries.txt"


def _ms(entry: str) -> str:
    t = json.loads(entry)["time"]
    return t[:23] + "Z"


def _ns(entry: str) -> str:
    return str(json.loads(entry)["time"])


def _docker(entry: str) -> str:
    return json.dumps({"log": entry + "\n", "stream": "stdout", "time": _ns(entry)}, separators=(",", ":"))


def _cri(entry: str) -> str:
    return f"{_ns(entry)} stdout F {entry}"


WRAP: dict[str, Callable[[str], str]] = {
    "cloudwatch-fluent-bit": lambda e: f"{_ms(e)} " + json.dumps(
        {"time": _ns(e), "stream": "stdout", "_p": "F", "log": e,
         "kubernetes": {"pod_name": "vault-0", "namespace_name": "vault", "container_name": "vault"}},
        separators=(",", ":")),
    "cloudwatch-docker": lambda e: f"{_ms(e)} {_docker(e)}",
    "splunk-raw-docker": lambda e: json.dumps({"preview": False, "result": {"_raw": _docker(e), "_time": _ns(e),
                                                                             "host": "node-1"}}),
    # Splunk's HTTP Event Collector payload as Vector, Fluent Bit and Firehose send it, kept as a file (rt85 F4)
    "splunk-hec-event": lambda e: json.dumps({"time": 1765000000.123, "host": "vault-0", "source": "vault-audit",
                                              "sourcetype": "_json", "index": "audit", "event": e}),
    "filebeat-cri": lambda e: json.dumps({"@timestamp": _ms(e), "message": _cri(e),
                                          "log": {"file": {"path": "/var/log/containers/vault-0_vault_vault.log"}},
                                          "input": {"type": "filestream"}}),
}


def _verify(tmp_path: Path, capsys: pytest.CaptureFixture[str], path: Path) -> dict[str, Any]:
    cfg = tmp_path / "auditready.toml"
    cfg.write_text(f'require_tamper_evidence = false\nretention_days = 0\ncanaries_file = "{CANARIES}"\n')
    out = tmp_path / "out.json"
    if out.exists():
        out.unlink()
    rc = main(["verify", str(path), "--config", str(cfg), "--json", str(out)])
    text = capsys.readouterr()
    assert rc in (0, 1), text.out + text.err
    report = json.loads(out.read_text())
    report["rc"] = rc
    return report


def _found(report: dict[str, Any]) -> dict[str, list[str]]:
    """check -> the line numbers its findings name (the file's name left out)."""
    out: dict[str, list[str]] = {}
    for o in report["outcomes"]:
        for f in o["findings"]:
            out.setdefault(o["check"], []).append(str(f.get("where", "")).rsplit(":", 1)[-1])
    return out


def _write(tmp_path: Path, name: str, lines: list[str], gz: bool) -> Path:
    p = tmp_path / name
    data = ("\n".join(lines) + "\n").encode()
    p.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    p.chmod(0o600)
    return p


@pytest.mark.parametrize("shape", sorted(WRAP))
def test_entries_in_two_layers_of_framing_are_judged_as_the_log_itself(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], shape: str) -> None:
    for source in (CLEAN, LEAKY):
        entries = source.read_text().splitlines()
        bare = _verify(tmp_path, capsys, _write(tmp_path, "bare.log", entries, False))
        framed = _verify(tmp_path, capsys, _write(tmp_path, f"{shape}.gz", [WRAP[shape](e) for e in entries],
                                                  shape.startswith("cloudwatch")))
        assert [f["entries"] for f in framed["files"]] == [len(entries)], (shape, source.name, framed["files"])
        want = _found(bare)
        if shape.startswith("cloudwatch"):  # an export keeps no time order (said as a skip), as for bare entries
            want.pop("timestamp_accuracy", None)
        assert _found(framed) == want, (shape, source.name)
        assert framed["rc"] == bare["rc"] == (0 if source is CLEAN else 1)


def test_a_runtime_line_split_across_cloudwatch_events_is_joined(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """containerd splits a line over 16 KiB into pieces tagged P, then F: each piece a CloudWatch event of its
    own. Joined, the entry is read; the pieces of one never completed are said as the runtime's split."""
    entries = CLEAN.read_text().splitlines()
    lines = []
    for e in entries:
        t = datetime.datetime.fromisoformat(_ms(e).replace("Z", "+00:00")).strftime("%Y-%m-%dT%H:%M:%S.%f")[:23]
        if len(e) > 200:
            lines += [f"{t}Z {_ns(e)} stdout P {e[:100]}", f"{t}Z {_ns(e)} stdout F {e[100:]}"]
        else:
            lines.append(f"{t}Z {_cri(e)}")
    report = _verify(tmp_path, capsys, _write(tmp_path, "split.gz", lines, True))
    assert report["rc"] == 0 and sum(f["entries"] for f in report["files"]) == len(entries), report["files"]
    cut = _verify(tmp_path, capsys, _write(tmp_path, "cut.gz", [*lines[:-1], lines[-1].replace(" F ", " P ")],
                                           True))
    assert cut["rc"] == 1 and any("tag P" in f["message"] for o in cut["outcomes"] for f in o["findings"])
