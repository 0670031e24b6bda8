#!/usr/bin/env python3
"""Benchmark `pytest --auditready-offline` over several log files with `-n 2` against `-n 0`, in one run.

    python bench/xdist.py --files 4 --size-mb 1024 [--source LOG] [--workdir DIR] [--repeat 3] [--keep]

1. Builds --files logs of --size-mb each from a real OpenBao run (bench/run.py's builder: fresh request ids and
   times in every copy, so the files differ), mode 0600.
2. Runs `pytest --auditready-offline FILES... -n 0` and `-n 2`, alternating, --repeat times each, in a scratch
   folder of its own, and prints the medians and the speedup. pytest loads only this plugin and pytest-xdist
   (PYTEST_DISABLE_PLUGIN_AUTOLOAD): what a user's environment starts, not the test extra's other plugins
   (hypothesis alone adds ~0.2 s to every worker).

Not run by CI (tests/test_bench.py only runs it on a tiny size).
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import build, versions  # noqa: E402  (bench/run.py, beside this script)


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0, proc.returncode


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=4)
    ap.add_argument("--size-mb", type=float, default=1024, help="size of each file")
    ap.add_argument("--source", type=Path, help="a real OpenBao audit log to replicate (default: record one)")
    ap.add_argument("--workdir", type=Path, help="where the built logs go (default: a temp folder)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", action="store_true", help="keep the built logs")
    args = ap.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="auditready-xdist-"))
    work.mkdir(parents=True, exist_ok=True)
    source = args.source
    if source is None:
        source = work / "recorded.log"
        subprocess.run([sys.executable, str(HERE / "record.py"), "clean", str(source), "--rounds", "40"], check=True)
    canaries = work / "canaries.txt"
    canaries.write_text("".join(secrets.token_urlsafe(32) + "\n" for _ in range(4)))
    (work / "pyproject.toml").write_text("[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\n")
    logs = []
    t0 = time.perf_counter()
    total = 0
    for i in range(args.files):
        log = work / f"audit-{i + 1}.log"
        total += build(source, log, int(args.size_mb * 1e6))
        logs.append(str(log))
    print(f"built {args.files} logs, {total / 1e6:.1f} MB in all, from {source} in {time.perf_counter() - t0:.1f} s")
    print(versions())
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    base = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "xdist.plugin", "-p",
            "pytest_auditready.plugin", "--auditready-offline", *logs, "--auditready-canaries", str(canaries)]
    runs: dict[str, list[tuple[float, int]]] = {"-n 0": [], "-n 2": []}
    for _ in range(args.repeat):
        for n in ("0", "2"):
            runs[f"-n {n}"].append(timed([*base, "-n", n], work, env))
    med = {}
    for name, rs in runs.items():
        med[name] = statistics.median(r[0] for r in rs)
        print(f"pytest --auditready-offline {name}: {med[name]:6.2f} s (median of {len(rs)}: "
              f"{', '.join(f'{r[0]:.2f}' for r in rs)}), {total / 1e6 / med[name]:.1f} MB/s, "
              f"exit {sorted({r[1] for r in rs})}")
    print(f"speedup -n 2 / -n 0: {med['-n 0'] / med['-n 2']:.2f}x over {args.files} files")
    if not args.keep and args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    codes = {r[1] for rs in runs.values() for r in rs}
    if not codes <= {0, 1}:  # 0: every check held, 1: findings; anything else means pytest did not run the checks
        print(f"pytest exited {sorted(codes)}: the timings above are not of the checks", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
