#!/usr/bin/env python3
"""Benchmark the sealer against `sha256sum` on the same audit log, in one run.

    python bench/seal.py [--size-mb 200] [--source LOG] [--workdir DIR] [--repeat 3] [--lines 1000] [--keep]

1. Builds a log of --size-mb from a real OpenBao audit log (default fixtures/openbao/clean.log, or --source),
   replicated with fresh request ids so that lines do not repeat. Mode 0600, like a device's file.
2. Times, alternating, --repeat times each, on that file:
   - `sha256sum LOG` (the floor: reading and hashing every byte once);
   - `auditready seal LOG --key KEY --follow`: the real command, as a process, from its start until the chain
     covers the whole file (polling LOG.digests), then SIGTERM; process start-up is included;
   - `auditready seal LOG --key KEY` (one-shot), as a process.
   Each sealer run starts a fresh chain. Prints medians in MB/s and the ratio to sha256sum.

Not a unit test: figures depend on the machine; run it by hand (the issue asks for >= 200 MB/s with --follow).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pytest_auditready.seal.chain import last_record, write_keypair  # noqa: E402

MB = 1 << 20


def build_log(path: Path, source: Path, size: int) -> None:
    lines = [ln for ln in source.read_bytes().splitlines() if ln.strip()]
    if not lines:
        raise SystemExit(f"bench: {source} has no lines")
    rid = re.compile(rb'"id":"([0-9a-f-]{36})"')
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    written, n = 0, 0
    with os.fdopen(fd, "wb", buffering=4 * MB) as f:
        while written < size:
            n += 1
            tag = f"{n:08x}".encode()

            def fresh(m: re.Match[bytes], tag: bytes = tag) -> bytes:
                return b'"id":"' + tag + m.group(1)[8:] + b'"'

            block = b"".join(rid.sub(fresh, ln) + b"\n" for ln in lines)
            f.write(block)
            written += len(block)


def sealer_cmd() -> list[str]:
    exe = shutil.which("auditready")
    return [exe] if exe else [sys.executable, "-m", "pytest_auditready.cli"]


def time_sha256sum(log: Path) -> float:
    t = time.perf_counter()
    subprocess.run(["sha256sum", str(log)], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def _fresh(log: Path) -> list[str]:
    """A new chain for each run: the chain removed, and the sealer's state in a folder of the bench's own (never the
    user's), emptied; the sealer's options that name it."""
    d = Path(str(log) + ".digests")
    if d.exists():
        d.unlink()
    state = log.parent / "seal-state"
    shutil.rmtree(state, ignore_errors=True)
    return ["--state", str(state)]


def time_follow(log: Path, key: Path, lines: int) -> float:
    state = _fresh(log)
    size = log.stat().st_size
    digests = Path(str(log) + ".digests")
    t = time.perf_counter()
    proc = subprocess.Popen([*sealer_cmd(), "seal", str(log), "--key", str(key), "--follow", "--lines", str(lines),
                             "--interval", "0.2", *state], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            last = last_record(digests) if digests.exists() else None
            if last is not None and last.end >= size:
                elapsed = time.perf_counter() - t
                break
            if proc.poll() is not None:
                raise SystemExit(f"bench: the sealer exited with {proc.returncode}")
            if time.perf_counter() - t > 600:
                raise SystemExit("bench: the sealer did not cover the log within 600 s")
            time.sleep(0.002)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    return elapsed


def time_once(log: Path, key: Path, lines: int) -> float:
    state = _fresh(log)
    t = time.perf_counter()
    subprocess.run([*sealer_cmd(), "seal", str(log), "--key", str(key), "--lines", str(lines), *state], check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=int, default=200)
    ap.add_argument("--source", type=Path, default=ROOT / "fixtures" / "openbao" / "clean.log")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--lines", type=int, default=1000, help="lines per record (the sealer's --lines)")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="auditready-bench-seal-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        log = work / "audit.log"
        build_log(log, args.source, args.size_mb * MB)
        size = log.stat().st_size
        key = work / "seal.key"
        if key.exists():
            key.unlink()
            Path(str(key) + ".pub").unlink(missing_ok=True)
        write_keypair(key)
        time_sha256sum(log)  # warm the page cache, so that every contender reads from memory alike
        runs: dict[str, list[float]] = {"sha256sum": [], "seal --follow": [], "seal (one-shot)": []}
        for _ in range(args.repeat):
            runs["sha256sum"].append(time_sha256sum(log))
            runs["seal --follow"].append(time_follow(log, key, args.lines))
            runs["seal (one-shot)"].append(time_once(log, key, args.lines))
        records = sum(1 for _ in open(str(log) + ".digests", "rb"))
        base = statistics.median(runs["sha256sum"])
        result = {"size_mb": round(size / MB, 1), "lines_per_record": args.lines, "records": records,
                  "cpus": os.cpu_count(), "repeat": args.repeat}
        print(f"log: {size / MB:.1f} MB, {records} records of up to {args.lines} lines, median of {args.repeat}")
        for name, times in runs.items():
            med = statistics.median(times)
            mbs = size / MB / med
            ratio = base / med
            result[name] = {"seconds": round(med, 3), "mb_per_s": round(mbs, 1), "vs_sha256sum": round(ratio, 3)}
            print(f"  {name:<16} {med:7.3f} s  {mbs:8.1f} MB/s  {ratio:6.2f} x sha256sum's speed")
        print(json.dumps(result))
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
