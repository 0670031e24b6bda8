"""A set of many small files (an hourly rotation kept for a year, CloudTrail's file every five minutes) costs the
same per file however many there are: nothing done for one file walks the whole set path by path.

Red team rt11 measured 300 files in 3.4 s and 1,000 in 20 s (2,000 in 72 s): each file compared its folder with
every other file's (``seal.verify.chains_near``: two stats a pair), listed the folder again, and asked retention
whether it was in the set path by path; and each file's scanner entered detect-secrets' settings anew. Counted
here, not timed (bench/manyfiles.py prints the times): the stats, listings, settings entered and log names told for
a set of N files and of 2N files.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.cli import main

ROOT = Path(__file__).resolve().parents[1] / "fixtures"


def _set(folder: Path, n: int) -> Path:
    """``n`` files, each a request and its response entry of a real OpenBao log."""
    import json

    lines = (ROOT / "openbao/odd/correct.log").read_bytes().splitlines()
    pairs = [(a, b) for a, b in zip(lines, lines[1:])
             if json.loads(a)["type"] == "request" and json.loads(b)["type"] == "response"
             and json.loads(a)["request"].get("id") == json.loads(b)["request"].get("id")
             and json.loads(a)["request"].get("remote_address") and json.loads(a).get("auth", {}).get("client_token")]
    folder.mkdir()
    for i in range(n):
        p = folder / f"audit-{i:05d}.log"
        pair = b"\n".join(pairs[i % len(pairs)])
        rid = json.loads(pairs[i % len(pairs)][0])["request"]["id"].encode()
        p.write_bytes(pair.replace(rid, rid[:-5] + b"%05x" % i) + b"\n")  # no file a copy of another
        p.chmod(0o600)
    cfg = folder.parent / f"auditready-{n}.toml"
    cfg.write_text("[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\n")
    return cfg


def _costs(tmp_path: Path, n: int, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    import detect_secrets.settings as ds

    from pytest_auditready.engine import files
    from pytest_auditready.seal import verify as seal_verify

    counts = {"samefile": 0, "listdir": 0, "settings": 0, "log_name": 0}
    real_samefile, real_listdir, real_default = os.path.samefile, os.listdir, ds.default_settings
    real_log_name = files._log_name

    def log_name(path: str) -> str:
        counts["log_name"] += 1
        return real_log_name(path)

    def samefile(a: Any, b: Any) -> bool:
        counts["samefile"] += 1
        return real_samefile(a, b)

    def listdir(path: Any = ".") -> list[str]:
        counts["listdir"] += 1
        return real_listdir(path)

    def default_settings() -> Any:
        counts["settings"] += 1
        return real_default()

    seal_verify._LISTED.clear()
    seal_verify._set_folders.cache_clear()
    monkeypatch.setattr(os.path, "samefile", samefile)
    monkeypatch.setattr(os, "listdir", listdir)
    monkeypatch.setattr(ds, "default_settings", default_settings)
    monkeypatch.setattr(files, "_log_name", log_name)
    folder = tmp_path / f"set{n}"
    cfg = _set(folder, n)
    assert main(["verify", str(folder), "--config", str(cfg), "--jobs", "1", "-q"]) == 0
    monkeypatch.undo()
    return counts


def test_a_set_twice_as_large_costs_twice_as_much_per_set_not_four_times(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    small = _costs(tmp_path, 40, monkeypatch)
    large = _costs(tmp_path, 80, monkeypatch)
    capsys.readouterr()
    # linear in the files: at most about twice as many for twice the files (it was four times the stats)
    assert large["samefile"] <= 2 * small["samefile"] + 10, (small, large)
    assert large["listdir"] <= 2 * small["listdir"] + 10, (small, large)
    # which log each file of the set is a piece of: told once a run, not once a file (set_member told it for every
    # file, 8 million times for 2,000 files)
    assert large["log_name"] <= 2 * small["log_name"] + 10, (small, large)
    # detect-secrets' settings entered once for the run, not once a file
    assert small["settings"] <= 2 and large["settings"] <= 2, (small, large)
