"""Property-based tests: whatever bytes a log holds, the readers report findings with line numbers and never
raise, and the checks never raise on entries whose fields have the wrong types."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_auditready.auditlog.model import AuditEntry, BadLine, parse_rfc3339
from pytest_auditready.auditlog.source import FileLogSource, LogBatch
from pytest_auditready.auditlog.vault_json import parse_line
from pytest_auditready.checks import BUILTIN
from pytest_auditready.checks.base import CheckContext, evaluate
from pytest_auditready.config import Settings

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                         HealthCheck.function_scoped_fixture])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
FIELDS = ["time", "type", "auth", "request", "response", "error"]
# entries shaped like audit entries, with any type in any field
entries = st.fixed_dictionaries({}, optional={k: json_values for k in FIELDS}).map(
    lambda d: {**d, "request": d.get("request") if not isinstance(d.get("request"), dict) else
               {**d["request"], "path": d["request"].get("path", "x"), "id": d["request"].get("id", 1)}}
)


@FAST
@given(st.binary(max_size=400))
def test_parse_line_never_raises(raw):
    item = parse_line("f.log", 7, raw)
    assert isinstance(item, (AuditEntry, BadLine)) and item.line == 7
    if isinstance(item, BadLine):
        assert item.reason and "\n" not in item.reason


@FAST
@given(st.lists(st.binary(max_size=120), max_size=25), st.integers(min_value=1, max_value=64))
def test_file_source_reads_any_bytes_with_line_numbers(tmp_path_factory, chunks, split):
    path = Path(tmp_path_factory.mktemp("src")) / "audit.log"
    path.write_bytes(b"")
    src = FileLogSource(path)
    src.mark()
    data = b"\n".join(chunks)
    batch = LogBatch()
    # written in pieces, polled in between: partial lines wait for their newline
    for i in range(0, len(data), split):
        with open(path, "ab") as f:
            f.write(data[i : i + split])
        src.poll(batch)
    with open(path, "ab") as f:
        f.write(b"\n")
    src.poll(batch)
    src.close()
    lines = [ln for ln in (data + b"\n").split(b"\n")[:-1]]
    expected = [n for n, ln in enumerate(lines, start=1) if ln.strip()]
    got = sorted(i.line for i in batch.entries + batch.bad_lines)
    assert got == expected


def test_pathological_lines_are_findings(tmp_path):
    cases = [b"[" * 100_000, b'{"a":' * 50_000, b'{"time":"' + b"x" * (20 * 1024 * 1024) + b'"}', b"\x00\x00{}",
             b'{"time":"2026-11-22T18:51:49.1Z","type":"request"', b"\xff\xfe\xfd"]
    for raw in cases:
        item = parse_line("f.log", 3, raw)
        assert isinstance(item, BadLine), raw[:20]
        assert item.line == 3


@FAST
@given(st.text(max_size=60))
def test_timestamps_in_every_shape(text):
    ts = parse_rfc3339(text)
    assert ts is None or (isinstance(ts.ns, int) and 0 <= ts.significant_digits <= ts.fraction_digits)


# fewer examples: every generated string goes through detect-secrets (~2 ms a value)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(entries, max_size=6))
def test_offline_checks_never_raise_on_wrong_types(docs):
    items = [AuditEntry("f.log", n, d, json.dumps(d)) for n, d in enumerate(docs, start=1)]
    ctx = CheckContext(settings=Settings(require_tamper_evidence=False), ledger=None, entries=items,
                       bad_lines=[BadLine("f.log", 99, "malformed JSON", "{")], source="f.log")
    for check in BUILTIN:
        if check.live_only:
            continue
        out = evaluate(check, ctx, check.subjects([]))
        for o in out.values():
            for f in o.findings:
                assert f.message and f.fix
