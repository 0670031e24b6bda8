"""Many files that hold the same entries (red team rt89 F4: 2,000 identical one-line files took 142 s, 100,000 never
finished): which of them are copies no correct set holds (engine.files.stand_ins) was told a pair at a time, time
square in the copies. Each group is now told once; this holds it to the pairwise reference on random sets of names
(places of a rotation, compressed or not, one name in two folders, a link)."""

from __future__ import annotations

import os
import random
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from pytest_auditready.auditlog.rotation import distinct_slots
from pytest_auditready.engine import files


def _reference(twins: list[tuple[str, str]], ordered: list[Any]) -> list[tuple[str, str]]:
    keyed = {e.name: e.keyed for e in ordered}
    copies: dict[str, list[str]] = {}
    for twin, kept in twins:
        copies.setdefault(kept, [kept]).append(twin)
    out = []
    for twin, kept in twins:
        others = [c for c in copies[kept] if c != twin]
        if any(distinct_slots(files._base(twin), files._base(c)) for c in others) or not (
                keyed.get(kept, False) or any(files._one_file(twin, c) for c in others)):
            out.append((twin, kept))
    return out


def test_copies_told_once_say_what_pairs_say(tmp_path: Path) -> None:
    rnd = random.Random(5)
    names = ["audit.log", "audit.log.1", "audit.log.1.gz", "audit.log.2.gz", "audit.log.7.gz",
             "audit.log-20261103", "audit.log-20261107.gz", "chunk-8f3a.json", "chunk-91bc.json", "vault-0.log"]
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
        for n in names:
            (tmp_path / d / n).write_text("x")
    os.link(tmp_path / "a" / "audit.log.2.gz", tmp_path / "b" / "linked.log")
    pool = [str(tmp_path / d / n) for d in ("a", "b") for n in names] + [str(tmp_path / "b" / "linked.log"),
                                                                          "s3://bucket/vault/audit.log.3.gz"]
    told = 0
    for _ in range(400):
        picked = rnd.sample(pool, rnd.randint(2, 9))
        kept, rest = picked[0], picked[1:]
        twins = [(t, kept) for t in rest]
        if rnd.random() < 0.5:  # a second group
            more = rnd.sample([p for p in pool if p not in picked], 2)
            twins += [(more[1], more[0])]
        ordered = [SimpleNamespace(name=k, keyed=rnd.random() < 0.3) for k in {k for _, k in twins}]
        want = _reference(twins, ordered)
        assert files.stand_ins(twins, ordered) == want, twins  # type: ignore[arg-type]
        told += len(want)
    assert told > 100
