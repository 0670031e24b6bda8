"""What the socket and http device tests share: a run of the embedded target through its receiver
(``assert_the_device_passes``), and the part of the audited session's conftest that puts a hop between the device
and auditready's receiver (``EmbeddedTarget(socket_relay=...)``): a loopback listener that hands each
connection of the device to ``_pipe(down, (host, port))``, which the test's own conftest text defines. Appended to
that text; it holds no ``{}`` so that the text before it can be a format string."""

from __future__ import annotations

import json
from typing import Any

from tests.auditrun import run_audit

RELAY_LISTENER = '''
_listeners = []

def _relay(address):
    host, port = address.rsplit(":", 1)
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(8)
    _listeners.append(ls)

    def accept():
        while True:
            try:
                c, _ = ls.accept()
            except OSError:
                return
            threading.Thread(target=_pipe, args=(c, (host, int(port))), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return "127.0.0.1:%d" % ls.getsockname()[1]

_drill = []

def pytest_auditready_make_target(settings, config):
    # the drill breaks auditready's receiver, but the relay still takes the device's writes: the device never
    # fails, and the drill's 10 s wait for it would only idle (the hop is what these runs test). The module as
    # this run imports it: pytester takes the modules a run imported away after it.
    import importlib
    scenario = importlib.import_module("pytest_auditready.vault.scenario")
    _drill.append((scenario, scenario.DRILL_WAIT))
    scenario.DRILL_WAIT = 1.0
    return EmbeddedTarget(settings, socket_relay=_relay)

def pytest_unconfigure(config):
    for scenario, wait in _drill:
        scenario.DRILL_WAIT = wait
    for ls in _listeners:
        ls.shutdown(socket.SHUT_RDWR)
        ls.close()
'''


def assert_the_hop_fails(pytester: Any, transport: str, relay: str, mode: str, owner: str, said: str,
                         hop: tuple[str, ...]) -> None:
    """An embedded run with ``transport`` through the relay ``relay`` (its conftest text, a format string of
    ``mode`` and ``n``) in ``mode``: ``owner`` fails with ``said``, naming the hop by one of ``hop``; exit 1."""
    run = run_audit(pytester, None, None, audit_transport=transport, log_wait=1.0,
                    conftest=relay.format(mode=mode, n=40) + RELAY_LISTENER)
    assert run.status(owner) == "failed", run.result.stdout.str()[-3000:]
    text = run.text(owner)
    assert said in text
    assert any(h in text for h in hop), text
    assert run.result.ret == 1


def assert_the_device_passes(pytester: Any, transport: str) -> Any:
    """An embedded run with the ``transport`` device received by auditready, and no file device at all: it passes
    every check the file device passes, and the drill (the receiver gone) gets the vault to refuse the write.
    Returns the run."""
    ev = pytester.path / "ev"
    run = run_audit(pytester, None, None, f"--auditready-evidence={ev}", audit_transport=transport, log_wait=5.0)
    assert run.result.ret == 0, run.result.stdout.str()[-3000:]
    assert not run.failed_checks()
    for check in ("completeness", "required_fields", "fail_closed", "tamper_evidence", "integrity_digest"):
        assert run.status(check) == "passed", check
    doc = json.loads((ev / "evidence.json").read_text())
    devices = doc["vault"]["devices"]
    assert {d["type"] for d in devices.values()} == {transport}, devices
    drill = doc["vault"]["drill"]
    assert drill["ran"] and drill["broken"] == ["auditready"] and drill["server_said_unaudited"]
    assert [s["status"] for s in drill["steps"] if s["step"] == "write"] == [500]
    return run
