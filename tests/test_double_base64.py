"""A secret whose base64 text is encoded in base64 again: a Kubernetes Secret of type
kubernetes.io/dockerconfigjson holds ``{"auths": {REGISTRY: {"auth": base64("user:password")}}}`` as base64 data
(Kubernetes documents both layers), and an audit policy at level Request or RequestResponse writes that data into
the event's requestObject. Each layer may start at any byte of the text around it, so the needles are the base64
of each alignment of the value's base64, at each alignment. A value encoded so used to be found by no needle."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from pytest_auditready.cli import main
from pytest_auditready.scan.known import KnownValues

ROOT = Path(__file__).resolve().parents[1] / "fixtures"
VALUES = ["s3cr3t-Pw", "Rk7-canary-Xq93mZpL", "p@ss/w+rd=é-0123456789abcdef"]


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("outer", ["", "a", "ab", "abc"])
@pytest.mark.parametrize("inner", ["", "u:", "us:", "use:"])
@pytest.mark.parametrize("urlsafe", [False, True])
def test_found_at_every_alignment_of_both_layers(value: str, outer: str, inner: str, urlsafe: bool) -> None:
    once = base64.b64encode((inner + value).encode()).decode()
    encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    twice = encode(f'{outer}{{"auth":"{once}"}}'.encode()).decode()
    hits = {(h.name, h.encoding) for h in KnownValues({"c": value}).find(f'{{"data":"{twice}"}}')}
    # a stretch with no + or / is the same text in both alphabets, named by the standard one
    assert hits in ([{("c", "base64url of base64")}, {("c", "base64 of base64")}] if urlsafe
                    else [{("c", "base64 of base64")}]), hits


@pytest.mark.parametrize("value", VALUES)
def test_another_value_so_encoded_is_no_hit(value: str) -> None:
    once = base64.b64encode(("u:" + value[::-1] + "x").encode()).decode()
    twice = base64.b64encode(f'{{"auth":"{once}"}}'.encode()).decode()
    assert not KnownValues({"c": value}).find(f'{{"data":"{twice}"}}')


def _event(password: str) -> str:
    """A create of a dockerconfigjson Secret at level Request, in the fixture's own event shape."""
    first = (ROOT / "k8s" / "audit-requestresponse.log").read_text().splitlines()[0]
    e = json.loads(first)
    auth = base64.b64encode(f"robot$ci:{password}".encode()).decode()
    config = json.dumps({"auths": {"registry.example.com": {"username": "robot$ci", "auth": auth}}})
    e.update(verb="create", level="Request", requestURI="/api/v1/namespaces/prod/secrets",
             objectRef={"resource": "secrets", "namespace": "prod", "name": "regcred", "apiVersion": "v1"},
             responseStatus={"metadata": {}, "code": 201},
             requestObject={"kind": "Secret", "apiVersion": "v1", "metadata": {"name": "regcred"},
                            "type": "kubernetes.io/dockerconfigjson",
                            "data": {".dockerconfigjson": base64.b64encode(config.encode()).decode()}})
    return json.dumps(e, separators=(",", ":"))


def test_a_canary_in_a_dockerconfigjson_secret_is_named_at_its_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    password = "Rk7-canary-Xq93mZpL"
    log = tmp_path / "audit.log"
    log.write_text(_event(password) + "\n")
    log.chmod(0o600)
    canaries = tmp_path / "canaries.txt"
    canaries.write_text(password + "\n")
    assert main(["verify", str(log), "--canaries", str(canaries)]) == 1
    out = capsys.readouterr().out
    assert f"[{log}:1, request id " in out and "<canary:1> appears in the log (base64 of base64)" in out, out
    assert password not in out and base64.b64encode(password.encode()).decode()[:12] not in out
    canaries.write_text("another-canary-value-0042\n")  # the same event, another canary: not named
    main(["verify", str(log), "--canaries", str(canaries)])
    assert "<canary:1>" not in capsys.readouterr().out
