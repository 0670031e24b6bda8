"""A sealer running beside a real vault, as the README tells users to run one: `auditready seal --follow` on the
audit device's file, in a thread, with a key pair made for the test."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Optional

from pytest_auditready.seal import Sealer, load_private_key, write_keypair
from pytest_auditready.seal.sealer import SealSummary


def keys_and_logs(tmp_path: Path) -> tuple[Path, Path, Path]:
    """``keys/`` holding the key pair `auditready keygen keys/seal` makes, ``logs/`` (both 0700), and the path
    ``logs/audit.log`` a test then writes and seals with `auditready seal`."""
    from pytest_auditready.cli import main

    keys = tmp_path / "keys"
    keys.mkdir(mode=0o700)
    assert main(["keygen", str(keys / "seal")]) == 0
    logs = tmp_path / "logs"
    logs.mkdir(mode=0o700)
    return keys, logs, logs / "audit.log"


class FollowSealer:
    def __init__(self, log: Path, keydir: Path, *, every_seconds: float = 0.05, lines: int = 50) -> None:
        keydir.mkdir(mode=0o700, exist_ok=True)
        priv, self.public_key, _ = write_keypair(keydir / f"{log.name}.seal.key")
        self._sealer = Sealer(log, load_private_key(priv), lines_per_record=lines)
        self._sealer.open()
        self._every = every_seconds
        self._stop = threading.Event()
        self._error: Optional[BaseException] = None
        self.summary: Optional[SealSummary] = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.summary = self._sealer.follow(every_seconds=self._every, poll=0.02, stop=self._stop)
        except BaseException as exc:
            self._error = exc

    def stop(self) -> SealSummary:
        self._stop.set()
        self._thread.join(timeout=10)
        self._sealer.close()
        if self._error is not None:
            raise self._error
        assert self.summary is not None, "the sealer thread did not finish"
        return self.summary
