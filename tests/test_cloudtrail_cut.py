"""A CloudTrail delivery file cut short (a copy stopped mid-way, a full disk): its whole records are read and judged
as any file's, and what is left of the record it was cut in is a bad line at its place. Before, the whole file was
one unreadable line judged as text: its records' by-design access key ids read as leaked AWS keys and their
identities as e-mail addresses in clear, on a correct trail."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_auditready.checks import BUILTIN
from pytest_auditready.checks.base import FAILED
from pytest_auditready.config import Settings
from pytest_auditready.engine.files import offline_checks, verify_file

REAL = Path(__file__).resolve().parents[1] / "fixtures" / "cloudtrail" / "real"
SETTINGS = Settings(require_tamper_evidence=False, retention_days=0, timestamp_digits=0)
CONTENT = ("required_fields", "timestamp_precision", "no_secret_leak", "data_minimisation")


def _verify(path: Path) -> tuple[dict[str, list[str]], int]:
    res = verify_file(str(path), SETTINGS, offline_checks(BUILTIN), {})
    found = {o.check_id: [f.where for f in o.findings] for o in res.outcomes
             if o.check_id in CONTENT and o.status == FAILED}
    return found, res.entries


def _cut(tmp_path: Path, name: str, at: int) -> Path:
    data = (REAL / name).read_bytes()
    p = tmp_path / "cut.json"
    p.write_bytes(data[:at])
    p.chmod(0o600)
    return p


def _record_starts(name: str) -> list[int]:
    """Where each record of the file begins (byte offsets)."""
    data = (REAL / name).read_bytes()
    text = data.decode()
    at = text.index("[") + 1
    dec, out = json.JSONDecoder(), []
    while True:
        while text[at] in " \t\r\n,":
            at += 1
        if text[at] == "]":
            return out
        out.append(len(text[:at].encode()))
        _, at = dec.raw_decode(text, at)


@pytest.mark.parametrize("where", ["inside", "after"])
def test_a_correct_file_cut_short_is_one_bad_line_where_it_was_cut(tmp_path: Path, where: str) -> None:
    assert _verify(REAL / "correct.json")[0] == {}
    starts = _record_starts("correct.json")
    k = len(starts) // 2
    # inside record k+1 (0-based k), or right after record k (the cut cannot tell that the file ended there)
    at = starts[k] + 40 if where == "inside" else starts[k] - 1
    found, entries = _verify(_cut(tmp_path, "correct.json", at))
    line = k + 1 if where == "inside" else k
    assert found == {"required_fields": [f"{tmp_path / 'cut.json'}:{line}"]}, found
    assert entries == line - 1


def test_a_secret_in_the_record_cut_short_is_still_found(tmp_path: Path) -> None:
    """What is left of the cut record is judged as text: a canary in it is found at its line (no rule of a whole
    record applies to it, so a parameter pair such as CloudFormation's parameterKey/parameterValue is not)."""
    canary = "Zq8vN3xLw2Rk9TbYc4Hm7Pj1Ds6Fg0Ua5Ke2Xn8Wq3"
    doc = json.loads((REAL / "correct.json").read_text())
    doc["Records"][-1]["requestParameters"] = {"note": canary, "more": "x" * 200}
    data = json.dumps(doc).encode()
    p = tmp_path / "cut.json"
    p.write_bytes(data[: data.index(canary.encode()) + len(canary) + 50])
    p.chmod(0o600)
    res = verify_file(str(p), SETTINGS, offline_checks(BUILTIN), {"canary:1": canary})
    found = {o.check_id: [f.where for f in o.findings] for o in res.outcomes if o.status == FAILED}
    last = f"{p}:{len(doc['Records'])}"
    assert found["required_fields"] == [last] and found["no_secret_leak"] == [last], found
