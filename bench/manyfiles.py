#!/usr/bin/env python3
"""Time `auditready verify` over sets of many small files, and print the cost per file of each size in one run.

    python bench/manyfiles.py [--sizes 250,1000,4000] [--workdir DIR]

An hourly rotation kept for a year is 8,760 files; CloudTrail delivers a file every five minutes and region. Each
set here is N files in one folder, each a request and its response entry of a real OpenBao log
(fixtures/openbao/odd/correct.log) with a request id and an hour of its own; the whole set is verified with
`--jobs 1`. The figure to read is the time per file: flat across sizes when the run is linear in the files (red team
rt11 measured 3.4 ms a file at 300 files and 20 ms at 1,000, from a folder compared path by path with every other
file's).

Not run by CI.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXTURE = HERE.parent / "fixtures" / "openbao" / "odd" / "correct.log"
_TIME = re.compile(rb'^(\{"time":")(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z"')
_RID = re.compile(rb'"request":\{"id":"([^"]+)"')


def pairs() -> list[bytes]:
    """The request/response pairs of client requests in the fixture, each as two lines."""
    lines = FIXTURE.read_bytes().splitlines()
    out = []
    for a, b in zip(lines, lines[1:]):
        ja, jb = json.loads(a), json.loads(b)
        if (ja["type"], jb["type"]) == ("request", "response") and ja["request"].get("id") == jb["request"].get("id") \
                and ja["request"].get("remote_address") and (ja.get("auth") or {}).get("client_token"):
            out.append(a + b"\n" + b + b"\n")
    return out


def build(folder: Path, n: int, chunks: list[bytes]) -> None:
    """``n`` files of one log, an hour apart, each a pair of ``chunks`` with a request id of its own and its times
    moved to its hour: distinct files, as a rotated log's are (copies of one file are a finding of their own)."""
    folder.mkdir()
    base = 1_767_600_000  # 2026-01-05T08:00:00Z
    for i in range(n):
        rid = str(uuid.UUID(int=i + 1)).encode()
        lines = []
        for j, ln in enumerate(chunks[i % len(chunks)].splitlines()):
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(base + i * 3600)).encode()
            m = _TIME.match(ln)
            if m:  # nine digits not ending in 0, as Go's RFC3339Nano writes them
                ln = m.group(1) + stamp + b".%09d" % (123456781 + 1000 * j) + b'Z"' + ln[m.end():]
            ln = _RID.sub(b'"request":{"id":"' + rid + b'"', ln, count=1)
            lines.append(ln)
        p = folder / f"audit-{i:05d}.log"
        p.write_bytes(b"\n".join(lines) + b"\n")
        p.chmod(0o600)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="250,1000,4000")
    ap.add_argument("--workdir")
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    chunks = pairs()
    auditready = str(Path(sys.executable).with_name("auditready"))
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        root = Path(tmp)
        cfg = root / "auditready.toml"
        cfg.write_text("[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\n")
        per_file = {}
        for n in sizes:
            folder = root / f"set{n}"
            build(folder, n, chunks)
            t = time.perf_counter()
            proc = subprocess.run([auditready, "verify", str(folder), "--config", str(cfg), "--jobs", "1", "-q"],
                                  capture_output=True, text=True, timeout=3600)
            secs = time.perf_counter() - t
            per_file[n] = secs / n
            print(f"{n:6d} files: {secs:7.2f} s, {per_file[n] * 1e3:.2f} ms a file, exit {proc.returncode}")
        lo, hi = sizes[0], sizes[-1]
        print(f"cost per file at {hi} files over that at {lo}: {per_file[hi] / per_file[lo]:.2f}x "
              "(1.0x is linear; start-up weighs on the smallest set)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
