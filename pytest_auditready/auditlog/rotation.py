"""How rotation names an old log file, and finding the old file again by its inode (a rename keeps it).

Used where a log is followed across rotation: the live log source (to name where an entry read before a rotation
now lives) and the sealed digest chain (to verify a segment whose file was renamed).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional


def rotated_name(log: Path, name: str) -> bool:
    """Whether ``name`` is how rotation names an old ``log``: audit.log.1, audit.log-20260101, audit-20260101.log."""
    if name == log.name or name.endswith(".digests"):
        return False
    if name.startswith(log.name):
        return True
    stem = log.name.split(".", 1)[0]
    return name.startswith(stem) and name[len(stem) : len(stem) + 1] in ("-", "_", ".")


def locate_rotated(log: Path, inode: Optional[int]) -> Optional[Path]:
    """The rotated file beside ``log`` whose inode is ``inode``, or None (deleted, compressed, moved elsewhere)."""
    if inode is None:
        return None
    try:
        names = sorted(os.listdir(log.parent))
    except OSError:
        return None
    for nm in names:
        if not rotated_name(log, nm):
            continue
        p = log.parent / nm
        try:
            if p.is_file() and os.stat(p).st_ino == inode:
                return p
        except OSError:
            continue
    return None
