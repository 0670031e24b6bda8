"""A field_map entry may name several paths, tried in order (red team rt86 F5). Infisical names the actor under
actorMetadata.userId, .identityId or .serviceId by the actor's kind, so one path per field made a correct log fail
(12 of 18 entries "lack who") with no setting to fix it; Azure's claims and Google's principals have the same need.
The first path that holds a value gives the field; an entry with none of them lacks it, named with every path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_auditready.cli import main
from pytest_auditready.config import load

ACTORS = [("user", {"userId": "10e07b13-8517-4e00-b3f9-c79bcf50c718", "email": "alice.martin@acme.io"}),
          ("identity", {"identityId": "5a1d7c2e-3b4f-4e6a-9c8d-7e6f5a4b3c2d", "name": "ci-deployer"}),
          ("service", {"serviceId": "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a", "name": "legacy-token"})]
MAP = ('[field_map]\ntime = "createdAt"\nresource = "eventMetadata.secretPath"\naction = "eventType"\n'
       'result = "eventType"\nsource = "ipAddress"\nrequest_id = "id"\n')
LIST = 'identity = ["actorMetadata.userId", "actorMetadata.identityId", "actorMetadata.serviceId"]\n'


def _log(tmp_path: Path, drop_actor_at: int = -1) -> Path:
    lines = []
    for n in range(18):
        kind, meta = ACTORS[n % 3]
        entry: dict[str, Any] = {
            "id": f"878ac67c-c4e6-4b43-9f5f-{n:012d}", "actor": kind, "actorMetadata": meta,
            "ipAddress": "203.0.113.10", "eventType": "get-secret",
            "eventMetadata": {"environment": "prod", "secretPath": "/payments", "secretKey": "DB_PASSWORD"},
            "createdAt": f"2026-03-02T09:15:{n:02d}.369Z"}
        if n == drop_actor_at:
            del entry["actorMetadata"]
        lines.append(json.dumps(entry, separators=(",", ":")))
    p = tmp_path / "audit.jsonl"
    p.write_text("\n".join(lines) + "\n")
    p.chmod(0o600)
    return p


def _run(tmp_path: Path, capsys: pytest.CaptureFixture[str], identity: str, log: Path) -> tuple[int, list[Any]]:
    cfg = tmp_path / "i.toml"
    cfg.write_text('log_format = "jsonl"\nrequire_tamper_evidence = false\nretention_days = 0\n' + MAP + identity)
    out = tmp_path / "out.json"
    rc = main(["verify", str(log), "--config", str(cfg), "--json", str(out)])
    capsys.readouterr()
    report = json.loads(out.read_text())
    return rc, [(o["check"], f["where"].rsplit(":", 1)[-1], f["message"]) for o in report["outcomes"]
                for f in o["findings"]]


def test_a_list_of_paths_reads_each_kind_of_actor(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, found = _run(tmp_path, capsys, LIST, _log(tmp_path))
    assert (rc, found) == (0, [])
    rc, found = _run(tmp_path, capsys, 'identity = "actorMetadata.userId"\n', _log(tmp_path))
    assert rc == 1 and len([f for f in found if f[0] == "required_fields"]) >= 12  # one path: the old false alarm
    rc, found = _run(tmp_path, capsys, LIST, _log(tmp_path, drop_actor_at=7))
    (lacks,) = [f for f in found if f[0] == "required_fields"]
    assert rc == 1 and lacks[1] == "8"
    assert ("actorMetadata.userId, actorMetadata.identityId or actorMetadata.serviceId" in lacks[2]), lacks


@pytest.mark.parametrize("value", ['[]', '["ok", 3]', '["ok", ""]', '"a||b"'])
def test_a_list_must_hold_paths(value: str) -> None:
    import tomllib

    with pytest.raises(Exception) as caught:
        load([("i.toml", tomllib.loads(f"[field_map]\nidentity = {value}\n"))])
    assert "lists of them" in str(caught.value)


def test_each_listed_path_names_its_key_as_evidence() -> None:
    """The keys a mapped evidence field ends in name values by design (formats.jsonl_format): each of a list's
    paths, not the "|"-joined text (whose keys were "whoRef|actor" and such). (Keys no generic id or name pattern
    takes.)"""
    import re

    import tomllib

    from pytest_auditready.auditlog.formats import jsonl_format
    from pytest_auditready.config import load

    settings = load([("i.toml", tomllib.loads('[field_map]\nidentity = ["actor.whoRef", "actor.byRef"]\n'))])
    keys = re.compile(jsonl_format(settings.field_map).name_keys)
    assert keys.search("whoRef") and keys.search("byRef") and not keys.search("unrelatedRef")
