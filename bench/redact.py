#!/usr/bin/env python3
"""Time report.common.masked_tokens (scan.tokens.find) on a ~500 KB report text: the rule-by-rule loop
(tokens._find_reference) against find's fast path (a Hyperscan pass over tokens.GATES, then each rule on the lines
around its gate's hits), and check both mask alike.

    python bench/redact.py [--size 500000] [--repeat 5]

The text is the reports `auditready verify fixtures/openbao/leaky.log` writes (evidence.json, report.html,
summary.md, the JUnit XML, SARIF, JSON), repeated to --size characters, with that log's lines (its credentials)
every so often. Not run by CI.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

from pytest_auditready.report import common
from pytest_auditready.scan import tokens

ROOT = Path(__file__).resolve().parent.parent


def report_text(size: int) -> str:
    log = ROOT / "fixtures" / "openbao" / "leaky.log"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        subprocess.run([sys.executable, "-m", "pytest_auditready", "verify", str(log), "--evidence", str(out / "ev"),
                        "--json", str(out / "r.json"), "--junit", str(out / "r.xml"), "--sarif", str(out / "s.sarif")],
                       capture_output=True, check=False)
        reports = [p.read_text(encoding="utf-8") for p in sorted(out.rglob("*")) if p.is_file()]
    leaks = log.read_text(encoding="utf-8")
    parts, total, i = [], 0, 0
    while total < size:
        part = reports[i % len(reports)] + (leaks if i % 7 == 0 else "")
        parts.append(part)
        total += len(part)
        i += 1
    return "".join(parts)[:size]


def median_time(run: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.process_time()
        run()  # type: ignore[operator]
        times.append(time.process_time() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    text = report_text(args.size)
    start = time.perf_counter()
    tokens._gate_db()
    print(f"text: {len(text):,} characters, {text.count(chr(10)):,} lines; gate database at hand in "
          f"{time.perf_counter() - start:.3f} s (compiled in a child or read from the cache, once per process)")
    with mock.patch.object(tokens, "find", tokens._find_reference):
        expected = common.masked_tokens(text)
        before = median_time(lambda: common.masked_tokens(text), args.repeat)
    assert common.masked_tokens(text) == expected, "the fast path masks otherwise"
    after = median_time(lambda: common.masked_tokens(text), args.repeat)
    found = len(dict.fromkeys(tokens.find(text)))
    print(f"masked_tokens: {before * 1000:.1f} ms rule by rule, {after * 1000:.1f} ms fast "
          f"({before / after:.1f}x), {found} credentials masked alike (CPU time, median of {args.repeat})")


if __name__ == "__main__":
    main()
