"""The known-value database compiled ahead (a live run's, once the scenario is over) is the one the judge uses:
compiled once, in the thread known_ahead starts, and finding what the judge compiling it itself finds."""

from __future__ import annotations

import base64
import secrets as random
import threading
from typing import Any

import pytest

from pytest_auditready.scan import hyperscan
from pytest_auditready.scan.hyperscan import LeakScanner, known_ahead


def _values() -> dict[str, str]:
    return {"canary:c1": "Zq8" + random.token_urlsafe(24), "token:reader": "hvs." + random.token_urlsafe(30)}


def _block(values: dict[str, str]) -> bytes:
    c1, token = values["canary:c1"], values["token:reader"]
    return b"\n".join([
        b'{"type":"request","request":{"path":"secret/data/app","data":{"note":"clean"}}}',
        b'{"type":"response","response":{"data":{"v":"' + base64.b64encode(c1.encode()) + b'"}}}',
        b'{"type":"request","request":{"headers":{"x-token":["' + token.encode() + b'"]}}}',
    ])


def _found(values: dict[str, str]) -> list[tuple[int, tuple[Any, ...]]]:
    with LeakScanner(values) as scanner:
        return [(h.line, h.known) for h in scanner.scan_block(_block(values), 1)]


def _found_compiling_itself(values: dict[str, str]) -> list[tuple[int, tuple[Any, ...]]]:
    hyperscan._KNOWN.clear()
    return _found(values)


@pytest.fixture
def compiled_in(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the threads each known-value compile was started from, in order."""
    names: list[str] = []
    real = hyperscan._isolated

    def isolated(build: Any, *args: Any) -> bytes:
        names.append(threading.current_thread().name)
        return real(build, *args)

    monkeypatch.setattr(hyperscan, "_isolated", isolated)
    return names


def test_the_scanner_takes_the_database_compiled_ahead(compiled_in: list[str]) -> None:
    values = _values()
    known_ahead(values)
    found = _found(values)
    assert compiled_in == ["auditready-known-ahead"]
    assert LeakScanner(dict(values)).known is hyperscan._AHEAD_VALUES[0][1]  # the needles are made once too
    assert [line for line, _ in found] == [2, 3]
    assert found == _found_compiling_itself(values)


def test_values_that_change_after_are_compiled_by_the_scanner(compiled_in: list[str]) -> None:
    """known_ahead for other values (the run went on to make another) leaves the scanner to compile its own."""
    before, after = _values(), _values()
    known_ahead(before)
    assert [line for line, _ in _found(after)] == [2, 3]
    assert threading.current_thread().name in compiled_in
