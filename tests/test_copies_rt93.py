"""Sets kept in two places, and URLs no store reads (red team rt93 F2, F3).

F3: a rotated file and its copy in another folder (the archive, or a second folder named in the run) that hold other
entries passed: files are judged once by name, and the copies were never compared (in one folder the same pair was
found). Copies are told from two logs' files of one name (two HA nodes' audit.log-20261206.gz) by the entries they
share at both ends. F2: an https:// presigned or SAS URL was globbed as a path and its refusal ("no file matches")
quoted its signature; so did other messages that name a path."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from pytest_auditready.cli import main

ROOT = Path(__file__).resolve().parents[1]
CFG = "[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\n"
SIGNATURE = "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"


def _pairs() -> list[list[str]]:
    """The request/response pairs of a real OpenBao log, as JSON lines."""
    entries = [json.loads(ln) for ln in (ROOT / "fixtures/openbao/rt72/openbao-2.7.2.log").read_text().splitlines()]
    by_id: dict[str, list[str]] = {}
    for e in entries:
        by_id.setdefault(e["request"].get("id", ""), []).append(json.dumps(e))
    return [p for p in by_id.values() if len(p) == 2]


def _gz(path: Path, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress("".join(ln + "\n" for ln in lines).encode()))
    path.chmod(0o600)


def _verify(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str, cfg: str = CFG) -> tuple[int, str]:
    (tmp_path / "c.toml").write_text(cfg)
    rc = main(["verify", *args, "--config", str(tmp_path / "c.toml")])
    return rc, capsys.readouterr().out


@pytest.mark.parametrize("changed", ["local", "archive"])
@pytest.mark.parametrize("how", ["named", "retention_archive"])
def test_two_copies_of_one_rotated_file_that_differ_are_found(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                              changed: str, how: str) -> None:
    pairs = _pairs()
    whole = [ln for p in pairs for ln in p]
    cut = [ln for i, p in enumerate(pairs) for ln in p if i != len(pairs) // 2]  # a pair deleted mid-file
    _gz(tmp_path / "live/audit.log-20261206.gz", cut if changed == "local" else whole)
    _gz(tmp_path / "archive/audit.log-20261206.gz", whole if changed == "local" else cut)
    if how == "named":
        rc, out = _verify(tmp_path, capsys, str(tmp_path / "live"), str(tmp_path / "archive"))
    else:
        rc, out = _verify(tmp_path, capsys, str(tmp_path / "live"),
                          cfg=CFG + f'retention_archive = "{tmp_path / "archive"}"\n')
    assert rc == 1, out
    assert "are copies of one rotated file" in out and "one of them was changed" in out, out


def test_an_intact_copy_and_two_nodes_files_of_one_name_are_no_finding(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    pairs = _pairs()
    half = len(pairs) // 2
    node_a = [ln for p in pairs[:half] for ln in p]
    node_b = [ln for p in pairs[half:] for ln in p]
    _gz(tmp_path / "node-a/audit.log-20261206.gz", node_a)
    _gz(tmp_path / "node-b/audit.log-20261206.gz", node_b)
    _gz(tmp_path / "archive/audit.log-20261206.gz", node_a)  # node a's file, archived as it was
    rc, out = _verify(tmp_path, capsys, str(tmp_path / "node-a"), str(tmp_path / "node-b"),
                      str(tmp_path / "archive"))
    assert (rc, "are copies of one rotated file" in out) == (0, False), out


PRESIGNED = [f"https://logs.s3.amazonaws.com/vault/audit.log?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
             f"AKIAIOSFODNN7EXAMPLE%2F20261207%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature={SIGNATURE}",
             f"https://acct.blob.core.windows.net/logs/audit.log?sv=2022-11-02&ss=b&sig={SIGNATURE}%3D",
             f"https://storage.googleapis.com/b/audit.log?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Signature={SIGNATURE}"]


@pytest.mark.parametrize("url", PRESIGNED, ids=["s3", "azure-sas", "gcs"])
def test_a_signed_https_url_is_refused_without_its_signature(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                             url: str) -> None:
    assert main(["verify", url]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "https:// URLs are not read" in err and "signature or token" in err, err
    assert SIGNATURE[:16] not in err and "AKIAIOSFODNN7EXAMPLE" not in err, err
    log = tmp_path / "audit.log"
    log.write_text((ROOT / "fixtures/openbao/rt72/openbao-2.7.2.log").read_text())
    log.chmod(0o600)
    assert main(["verify", str(log), "--public-key", url]) == 2
    err = capsys.readouterr().err
    assert SIGNATURE[:16] not in err and "<withheld>" in err, err
