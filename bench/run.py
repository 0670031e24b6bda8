#!/usr/bin/env python3
"""Benchmark `auditready verify` against `sha256sum` on the same realistic OpenBao log, in one run.

    python bench/run.py --size-mb 1024 [--source LOG] [--workdir DIR] [--slice-mb 2] [--keep]
    python bench/run.py --log LOG --config auditready.toml   (any log, e.g. JSON lines with its field_map)

1. Builds a log of the chosen size from a real OpenBao run (default: record one now with bench/record.py; or
   --source, e.g. fixtures/openbao/clean.log), replicating it with fresh request ids and times that move forward,
   so that nothing repeats the way a copy-pasted file would. Mode 0600, like a real device's file.
2. Times `sha256sum`, `auditready verify` (all offline checks, secret detection included, with known canaries)
   and the same with AUDITREADY_PURE_PYTHON=1 (the pure-Python path, without the C extension) on that file,
   alternating, --repeat times each, and prints the medians: MB/s, the ratios, and each process's own peak RSS
   (from wait4, not the machine's). One core: `--jobs 1`. Compiled Hyperscan databases come from the user's
   cache after the first run; one more run with an empty cache shows the first run's cost. The package's bytecode
   is compiled first, as an installed wheel has it.
3. Times `detect-secrets scan` on the first --slice-mb of the same file, for comparison.

Not run by CI (tests/test_bench.py only runs it on a tiny size).
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Optional

HERE = Path(__file__).resolve().parent
_TIME = re.compile(rb'^(\{"time":")(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z"')
_RID = re.compile(rb'"request":\{"id":"([^"]+)"')


def build(source: Path, out: Path, size: int) -> int:
    """Replicate ``source`` into ``out`` until ``size`` bytes: each copy gets fresh request ids (a request and
    its response keep sharing theirs) and times shifted forward by the copy number."""
    # Entries of clients only: the dev server's own setup requests (no remote address) happen once per server.
    lines = [ln for ln in source.read_bytes().splitlines() if b'"remote_address"' in ln]
    base = time.mktime(time.strptime("2026-01-05T08:00:00", "%Y-%m-%dT%H:%M:%S"))
    written = 0
    copy = 0
    with open(out, "wb", buffering=1 << 20) as f:
        os.chmod(out, 0o600)
        while written < size:
            ids: dict[bytes, bytes] = {}
            chunk = []
            for i, ln in enumerate(lines):
                t = base + copy * 60 + i * 0.05
                stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)).encode()
                # nine digits that end in another than 0: the vault writes Go's RFC3339Nano, which trims trailing
                # zeros, so a fraction ending in one is a re-timed entry (timestamp_precision)
                ns = int((t % 1) * 1e9) + 1 + secrets.randbelow(999)
                frac = b".%09d" % (ns + 1 if ns % 10 == 0 else ns)
                m = _TIME.match(ln)
                if m:
                    ln = m.group(1) + stamp + frac + b'Z"' + ln[m.end() :]
                r = _RID.search(ln)
                if r:
                    new = ids.setdefault(r.group(1), str(uuid.uuid4()).encode())
                    ln = ln[: r.start()] + b'"request":{"id":"' + new + b'"' + ln[r.end() :]
                chunk.append(ln)
            data = b"\n".join(chunk) + b"\n"
            f.write(data)
            written += len(data)
            copy += 1
    return written


def versions() -> str:
    """The versions of the libraries the figures depend on: a Hyperscan release alone can change them 20-fold
    (see pyproject.toml)."""
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for dist in ("hyperscan", "msgspec", "orjson", "detect-secrets"):
        try:
            out.append(f"{dist} {version(dist)}")
        except PackageNotFoundError:
            out.append(f"{dist} absent")
    code = "from pytest_auditready.scan import native; print(native.lib is not None)"
    probe = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    out.append("C extension " + ("built" if probe.stdout.strip() == "True" else "absent (pure Python only)"))
    return "Python " + sys.version.split()[0] + ", " + ", ".join(out)


def timed(cmd: list[str], env: Optional[dict[str, str]] = None, cwd: Optional[str] = None) -> tuple[float, int, int]:
    """(seconds, peak RSS in MiB of that process (the kernel counts KiB), exit status)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=cwd)
    _pid, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return seconds, usage.ru_maxrss // 1024, proc.returncode


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mb", type=float, default=1024)
    ap.add_argument("--source", type=Path, help="a real OpenBao audit log to replicate (default: record one)")
    ap.add_argument("--workdir", type=Path, help="where the built log goes (default: a temp folder)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--slice-mb", type=float, default=2.0, help="size of the slice detect-secrets scans")
    ap.add_argument("--keep", action="store_true", help="keep the built log")
    ap.add_argument("--baseline", type=Path, help="a copy of the package's source tree (e.g. of the last commit) "
                    "timed in the same run, alternating, as 'before' (python -m pytest_auditready from it)")
    ap.add_argument("--log", type=Path, help="time this log (with --canaries-file) instead of building one")
    ap.add_argument("--canaries-file", type=Path, help="the canaries for --log")
    ap.add_argument("--config", type=Path, help="the settings --log is verified with (a JSON lines log's field_map)")
    args = ap.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="auditready-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    source = args.source
    canaries = work / "canaries.txt"
    if source is None and args.log is None:
        source = work / "recorded.log"
        subprocess.run([sys.executable, str(HERE / "record.py"), "clean", str(source), "--rounds", "40"], check=True)
    # Known values to look for (absent from the log): 4 canaries, about 32 needles in all their encodings.
    if args.log is not None:
        log, canaries = args.log.resolve(), (args.canaries_file or canaries).resolve()  # the baseline runs elsewhere
        if args.canaries_file is None:
            canaries.write_text("".join(secrets.token_urlsafe(32) + "\n" for _ in range(4)))
        written = log.stat().st_size
        print(f"timing {log}: {written / 1e6:.1f} MB")
    else:
        canaries.write_text("".join(secrets.token_urlsafe(32) + "\n" for _ in range(4)))
        log = work / "audit.log"
        size = int(args.size_mb * 1e6)
        t0 = time.perf_counter()
        written = build(source, log, size)
        print(f"built {log}: {written / 1e6:.1f} MB from {source} in {time.perf_counter() - t0:.1f} s")
    print(versions())
    # Bytecode, as an installed wheel has it (pip compiles it at install): a checkout run with
    # PYTHONDONTWRITEBYTECODE=1 would otherwise compile every module at every start (about 20 ms).
    import pytest_auditready

    trees = [Path(pytest_auditready.__file__).parent]
    if args.baseline is not None:
        trees.append(args.baseline.resolve() / "pytest_auditready")
    for tree in trees:
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree)], check=False, capture_output=True,
                       timeout=300)
    sha = shutil.which("sha256sum")
    auditready = shutil.which("auditready", path=str(Path(sys.executable).parent)) or "auditready"
    verify = [auditready, "verify", str(log), "--canaries", str(canaries)]
    if args.config is not None:
        verify += ["--config", str(args.config.resolve())]
    helptext = subprocess.run([auditready, "verify", "--help"], capture_output=True, text=True, timeout=60).stdout
    if "--jobs" in helptext:
        verify += ["--jobs", "1"]  # the figures per core: one process reads the whole file
    native_env = {k: v for k, v in os.environ.items() if k != "AUDITREADY_PURE_PYTHON"}
    pure_env = {**native_env, "AUDITREADY_PURE_PYTHON": "1"}
    pure = "auditready verify (pure Python)"
    rows: dict[str, list[tuple[float, int, int]]] = {"sha256sum": [], "auditready verify": [], pure: []}
    before: list[tuple[str, list[str], dict[str, str]]] = []
    if args.baseline is not None:
        base = [sys.executable, "-m", "pytest_auditready", *verify[1:]]
        path = str(args.baseline.resolve())
        before = [("before: auditready verify", base, {**native_env, "PYTHONPATH": path}),
                  ("before: auditready verify (pure Python)", base, {**pure_env, "PYTHONPATH": path})]
        rows.update({name: [] for name, _, _ in before})
    for _ in range(args.repeat):
        if sha:
            rows["sha256sum"].append(timed([sha, str(log)]))
        rows["auditready verify"].append(timed(verify, native_env))
        rows[pure].append(timed(verify, pure_env))
        for name, cmd, env in before:
            # from the baseline's folder: `python -m` puts the working folder first on sys.path, and the
            # checkout's own package there would shadow PYTHONPATH
            rows[name].append(timed(cmd, env, cwd=path))
    cold = tempfile.mkdtemp(prefix="auditready-bench-cache-")  # no compiled database yet: a first run
    rows["auditready verify (empty cache)"] = [timed(verify, {**native_env, "XDG_CACHE_HOME": cold})]
    shutil.rmtree(cold, ignore_errors=True)
    mb = written / 1e6
    med: dict[str, float] = {}
    for name, runs in rows.items():
        if not runs:
            continue
        secs = statistics.median(r[0] for r in runs)
        med[name] = mb / secs
        rss = max(r[1] for r in runs)
        codes = sorted({r[2] for r in runs})
        print(f"{name:34s} {mb / secs:8.1f} MB/s  (median of {len(runs)}: {secs:.2f} s)  peak RSS {rss} MiB  "
              f"exit {codes}")
    if "sha256sum" in med:
        print(f"ratio verify / sha256sum: {med['auditready verify'] / med['sha256sum']:.2f} "
              f"(pure Python: {med[pure] / med['sha256sum']:.2f})")
    print(f"speed-up of the C extension over pure Python: {med['auditready verify'] / med[pure]:.2f}x")
    ds = shutil.which("detect-secrets", path=str(Path(sys.executable).parent)) or shutil.which("detect-secrets")
    if ds:
        piece = work / "slice.log"
        with open(log, "rb") as src, open(piece, "wb") as dst:
            data = src.read(int(args.slice_mb * 1e6))
            dst.write(data[: data.rfind(b"\n") + 1])
        pmb = piece.stat().st_size / 1e6
        secs, rss, _code = timed([ds, "scan", str(piece)])
        vsecs, vrss, _vcode = timed([auditready, "verify", str(piece), "--canaries", str(canaries)])
        print(f"detect-secrets scan  {pmb / secs:8.2f} MB/s on a {pmb:.1f} MB slice ({secs:.2f} s), "
              f"peak RSS {rss} MiB; auditready verify on the same slice: {vsecs:.2f} s (start-up included), "
              f"peak RSS {vrss} MiB")
    print(f"load average (1, 5, 15 min) at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if not args.keep and args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
