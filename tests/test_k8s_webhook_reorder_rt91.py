"""A Kubernetes audit webhook receiver's file, whose batches may land out of order (red team rt91 F6).

The API server's webhook backend batches events (--audit-webhook-batch-max-wait, default 30 s), sends each batch from
a goroutine of its own and retries a failed one after a backoff (k8s.io/apiserver plugin/pkg/audit/buffered): a
receiver writes them as they come, so a retried batch may follow later ones. The log backend's file is written in
order, so at the default (k8s_webhook_reorder = 0) such a file goes back in time; the setting excuses, and counts, a
batch up to that late, and nothing later, and says so beside the pass."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.test_k8s_orphan_requests import _requests
from tests.verifying import verify_lines

BASE = "[tool.auditready]\nretention_days = 0\nrequire_tamper_evidence = false\n"
BATCH_S = 30.0
ROOT = Path(__file__).resolve().parents[1] / "fixtures"


def _batches() -> list[list[dict[str, Any]]]:
    """The events of ten minutes of requests (one every 4 s), in the webhook's 30-s batches by receive time."""
    out: list[list[dict[str, Any]]] = []
    for e in _requests():
        i = int(e["auditID"][-12:])
        for key in ("requestReceivedTimestamp", "stageTimestamp"):  # microseconds, as the API server's clock has
            e[key] = e[key].replace(".000000Z", f".{101 + i:06d}Z")
        n = int(i * 4 // BATCH_S)
        while len(out) <= n:
            out.append([])
        out[n].append(e)
    return out


def _late(batch: int, by: int) -> tuple[list[str], int]:
    """The file's lines with ``batch`` written after the ``by`` batches that follow it, and its first line's number."""
    bs = _batches()
    moved = bs.pop(batch)
    bs.insert(batch + by, moved)
    lines = [json.dumps(e, separators=(",", ":")) for b in bs for e in b]
    first = 1 + sum(len(b) for b in bs[: batch + by])
    return lines, first


def _outcome(text: str, check: str) -> dict[str, Any]:
    report = json.loads(text[text.index('{\n  "'):] if '{\n  "' in text else text[text.index("{"):])
    return next(o for o in report["outcomes"] if o["check"] == check)


def test_a_retried_batch_goes_back_in_time_at_the_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The log backend's file is in order: a batch after a later one is found at its line, and the fix names the
    setting for a webhook receiver's file."""
    lines, first = _late(5, 1)
    rc, found, text = verify_lines(tmp_path, capsys, lines, BASE, "--format", "k8s")
    assert rc == 1
    assert found.get("timestamp_accuracy", [None])[0] == first, found
    assert "k8s_webhook_reorder" in text
    assert set(found) == {"timestamp_accuracy"}, found  # completeness pairs the stages whatever their order


@pytest.mark.parametrize("by", [1, 2])
def test_a_batch_within_the_reorder_is_excused_and_counted(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                           by: int) -> None:
    lines, _ = _late(5, by)
    rc, found, text = verify_lines(tmp_path, capsys, lines, BASE + "k8s_webhook_reorder = 100\n", "--format", "k8s")
    assert (rc, found) == (0, {}), text
    assert "excused" in text and "webhook's batch delivered after later batches" in text
    ta = _outcome(text, "timestamp_accuracy")
    assert ta["status"] == "passed"
    assert "Narrowed by settings: k8s_webhook_reorder = 100 s" in json.dumps(ta), ta


def test_a_batch_later_than_the_reorder_is_still_found(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Five batches (150 s) late, past k8s_webhook_reorder = 100: found at its first line, as at the default."""
    lines, first = _late(5, 5)
    rc, found, _ = verify_lines(tmp_path, capsys, lines, BASE + "k8s_webhook_reorder = 100\n", "--format", "k8s")
    assert rc == 1
    assert found["timestamp_accuracy"][0] == first, found


def test_the_setting_is_for_kubernetes_logs_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A real OpenBao log whose last entry goes back by 30 s fails whatever k8s_webhook_reorder says: the vault writes
    its file in order."""
    entries = [json.loads(ln) for ln in (ROOT / "openbao/rt72/openbao-2.7.2.log").read_text().splitlines()]
    last = entries[-1]
    when = datetime.strptime(last["time"][:19], "%Y-%m-%dT%H:%M:%S") - timedelta(seconds=30)
    last["time"] = when.strftime("%Y-%m-%dT%H:%M:%S") + last["time"][19:]
    lines = [json.dumps(e) for e in entries]
    rc, found, text = verify_lines(tmp_path, capsys, lines, BASE + "k8s_webhook_reorder = 600\n")
    assert rc == 1
    assert found.get("timestamp_accuracy", [None])[0] == len(lines), found
    assert "Narrowed by settings: k8s_webhook_reorder" not in text
