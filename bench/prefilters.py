#!/usr/bin/env python3
"""Which expression of the secret scan's main Hyperscan database costs what, on a real-format OpenBao log.

    python bench/prefilters.py [--source LOG] [--mb 20] [--top 10]

Compiles the database the leak scanner builds (scan.hyperscan.LeakScanner: tokens.PREFILTERS, the keyword and
whole-line prefilters) and prints, measured in this run on the same bytes: the whole database's MB/s, each
expression's own MB/s (the slowest --top), and the whole database's MB/s without each of those. One expression whose
absence speeds the database up by more than a few percent is worth a cheaper superset (a literal anchor first: a
bounded run of any character before one, as the Easy Connect prefilter once had, made it three times slower).
The default source is a log bench/record.py records from a real OpenBao (as bench/run.py does), repeated to --mb.
Not run by CI.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def speed(hs: Any, exprs: list[bytes], flags: list[int], data: bytes, repeat: int = 3) -> float:
    """MB/s of one database of ``exprs`` over ``data``, without callbacks' work (best of ``repeat``)."""
    db = hs.Database(mode=hs.HS_MODE_BLOCK)
    db.compile(expressions=exprs, ids=list(range(len(exprs))), elements=len(exprs), flags=flags)
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        db.scan(data, match_event_handler=lambda *_a: None)
        best = min(best, time.perf_counter() - t)
    return len(data) / best / 1e6


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--source", type=Path, help="an OpenBao audit log (default: record one with bench/record.py)")
    p.add_argument("--mb", type=float, default=20.0, help="bytes scanned, in MB (default 20)")
    p.add_argument("--top", type=int, default=10, help="how many of the slowest expressions to weigh (default 10)")
    p.add_argument("--repeat", type=int, default=5, help="scans of each database, the best kept (default 5)")
    a = p.parse_args()
    import hyperscan as hs

    from pytest_auditready.scan.hyperscan import LeakScanner

    with tempfile.TemporaryDirectory() as tmp:
        source = a.source
        if source is None:  # as bench/run.py records one
            source = Path(tmp) / "recorded.log"
            subprocess.run([sys.executable, str(HERE / "record.py"), "clean", str(source), "--rounds", "40"],
                           check=True, timeout=600)
        text = source.read_bytes()
    lines = [ln for ln in text.splitlines() if ln.startswith(b"{")]
    if not lines:
        print(f"{source} holds no JSON lines", file=sys.stderr)
        return 2
    size = int(a.mb * 1e6)
    data = b"\n".join(lines * (1 + size // max(1, len(text))))[:size]
    data = data[: data.rfind(b"\n")]
    with LeakScanner({}) as scanner:
        exprs, flags, _keyword, _whole, _entropy = scanner._material()
    whole = speed(hs, exprs, flags, data, a.repeat)
    print(f"main database: {len(exprs)} expressions, {whole:.0f} MB/s over {len(data) / 1e6:.1f} MB")
    alone = sorted((speed(hs, [e], [f], data, 1), i) for i, (e, f) in enumerate(zip(exprs, flags)))
    print(f"{'alone MB/s':>10} {'db without it':>14} {'gain':>6}  expression (gain: without it over with it)")
    for mbs, i in alone[: a.top]:
        rest = [k for k in range(len(exprs)) if k != i]
        # the whole database again beside it, so that the ratio is of one moment of the machine
        without = speed(hs, [exprs[k] for k in rest], [flags[k] for k in rest], data, a.repeat)
        now = speed(hs, exprs, flags, data, a.repeat)
        shown = exprs[i][:90].decode("latin-1")
        print(f"{mbs:10.0f} {without:14.0f} {without / now:5.2f}x  {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
