"""`auditready access`: a PATTERN that starts as no path of the files does answers no "nobody" that stands (red team
rt94, F6), and a `sys/raw` list is no read of every value (F7).

The Vault lines are ``fixtures/access/rt94/live2.log`` (a real OpenBao 2.7.2: mounts secret/, kv1/, team/kv, a
namespace ns1, sys/raw enabled); the Kubernetes and CloudTrail files were built from those producers' documented
formats (``k8s_get_ok.log``: alice's get of Secret prod/db; ``ct_sm_get.json``: a GetSecretValue of prod/db)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.test_access_rt94 import access

HERE = Path(__file__).resolve().parents[1] / "fixtures" / "access" / "rt94"
VAULT, K8S, CT = str(HERE / "live2.log"), str(HERE / "k8s_get_ok.log"), str(HERE / "ct_sm_get.json")


@pytest.mark.parametrize("pattern, first", [
    ("secert/data/app/db", "secert"),  # a mistyped mount
    ("nothing/here", "nothing"),
    ("ns2/secret/data/app/db", "ns2"),  # a namespace the files never name
])
def test_a_vault_pattern_whose_mount_no_path_names_is_said_and_exits_1(tmp_path: Path, capsys: Any, pattern: str,
                                                                       first: str) -> None:
    rc, doc, err = access(tmp_path, capsys, pattern, VAULT)
    assert rc == 1, err
    unseen = doc["pattern_unseen"]
    assert unseen["first_segment"] == first
    assert {"secret", "sys", "auth", "kv1", "ns1"} <= set(unseen["first_segments_named"])
    assert f"no path these files name starts with {first} as {pattern} does" in err, err
    assert "secret/" in err and "mistyped" in err


def test_a_kubernetes_secret_asked_for_by_its_name_alone_is_said(tmp_path: Path, capsys: Any) -> None:
    rc, doc, err = access(tmp_path, capsys, "prod/db", K8S)
    assert rc == 1, err
    assert doc["requests"] == 0
    assert doc["pattern_unseen"] == {"first_segment": "prod", "first_segments_named": ["api"]}
    assert "api/v1/namespaces/NAMESPACE/secrets/NAME" in err, err


@pytest.mark.parametrize("pattern", ["api/v1/namespaces/prod/secrets/db", "/api/v1/namespaces/prod/secrets/db"])
def test_the_same_secret_asked_for_as_the_api_server_logs_it_is_answered(tmp_path: Path, capsys: Any,
                                                                        pattern: str) -> None:
    rc, doc, err = access(tmp_path, capsys, pattern, K8S)
    assert (rc, doc["requests"], err) == (0, 1, "")
    assert "pattern_unseen" not in doc


@pytest.mark.parametrize("pattern", [
    "secret/data/never",  # a mount the files name, a secret nobody asked for: "nobody" stands
    "+/data/never",  # a first segment of any name
    "sec*",  # a first segment's start
    "kv1/app/db",  # answered by name
])
def test_a_pattern_under_a_mount_the_files_name_is_answered_as_before(tmp_path: Path, capsys: Any,
                                                                      pattern: str) -> None:
    rc, doc, err = access(tmp_path, capsys, pattern, VAULT)
    assert "pattern_unseen" not in doc
    assert "starts with" not in err, err
    assert rc == 0, err


def test_a_kv2_path_given_as_the_kv_command_shows_it_keeps_its_own_hint(tmp_path: Path, capsys: Any) -> None:
    _, doc, err = access(tmp_path, capsys, "secret/app/db", VAULT)
    assert doc["kv2"]["pattern"] == "secret/data/app/db"
    assert "pattern_unseen" not in doc and "starts with" not in err
    assert "fix: ask for secret/data/app/db" in err


def test_cloudtrail_names_are_free_form_and_not_judged(tmp_path: Path, capsys: Any) -> None:
    rc, doc, err = access(tmp_path, capsys, "elsewhere/db", CT)
    assert (rc, doc["requests"], err) == (0, 0, "")
    assert "pattern_unseen" not in doc


def test_a_first_segment_from_the_log_is_escaped_where_it_is_printed(tmp_path: Path, capsys: Any) -> None:
    line = json.loads(Path(VAULT).read_text().splitlines()[0])
    line["request"]["path"] = "\x1b]0;owned\x07evil/x"
    log = tmp_path / "audit.log"
    log.write_text(json.dumps(line) + "\n")
    rc, doc, err = access(tmp_path, capsys, "secret/data/app/db", str(log))
    assert rc == 1 and doc["pattern_unseen"]["first_segment"] == "secret"
    assert "\x1b" not in err and "\x07" not in err
    assert "owned" in err  # shown, escaped


def test_a_sys_raw_list_is_said_to_have_seen_key_names_not_every_value(tmp_path: Path, capsys: Any) -> None:
    _, doc, _ = access(tmp_path, capsys, "kv1/app/db", VAULT)
    token = next(i for i in doc["identities"] if any(p.startswith("sys/raw") for p in i["paths"]))
    scopes = token["scopes"]
    names = [s for s in scopes if s.startswith("the names of what the vault stores under a sys/raw path")]
    assert names and scopes[names[0]] == {"requests": 2, "denied": 0}, scopes
    # the read of sys/raw (refused here: 404) is still held as one that may read every value
    assert any(s.startswith("everything the vault stores") for s in scopes), scopes


# -- F5: a leading '/' is part of an AWS name ----------------------------------------------------------------------
def _readers(doc: dict[str, Any]) -> set[str]:
    return {i["display_name"].rsplit("/", 1)[-1] for i in doc["identities"]}


def test_a_parameters_by_path_read_is_no_read_of_a_secrets_manager_secret(tmp_path: Path, capsys: Any) -> None:
    """gina's GetParametersByPath /prod (recursive) reads the SSM parameters of /prod, all named /prod/...; the
    Secrets Manager secret prod/db is none of them (SSM reaches such a secret only by GetParameter(s) of
    /aws/reference/secretsmanager/...)."""
    rc, doc, err = access(tmp_path, capsys, "prod/db", str(HERE / "ct_bypath.json"))
    assert (rc, doc["requests"], err) == (0, 0, "")
    rc, doc, _ = access(tmp_path, capsys, "/prod/db", str(HERE / "ct_bypath.json"))  # a parameter under /prod
    assert (rc, doc["requests"], doc["unnamed"]) == (0, 1, 1)


def test_a_secrets_manager_read_is_no_read_of_the_ssm_parameter_of_that_path(tmp_path: Path, capsys: Any) -> None:
    rc, doc, _ = access(tmp_path, capsys, "/prod/db", CT)
    assert (rc, doc["requests"]) == (0, 0)
    rc, doc, _ = access(tmp_path, capsys, "prod/db", CT)
    assert (rc, doc["requests"], _readers(doc)) == (0, 1, {"alice"})


def test_on_a_whole_trail_each_name_counts_the_service_that_holds_it(tmp_path: Path, capsys: Any) -> None:
    trail = str(HERE / "ct1.json")
    _, sm, _ = access(tmp_path, capsys, "prod/db", trail)
    assert "gina" not in _readers(sm) and {"alice", "kim", "carol", "dave"} <= _readers(sm)  # kim: by reference
    _, ssm, _ = access(tmp_path, capsys, "/prod/db/password", trail)
    assert _readers(ssm) == {"erin", "frank", "gina"}
    _, nothing, _ = access(tmp_path, capsys, "prod/db/password", trail)  # no parameter: SSM names it from the root
    assert "erin" not in _readers(nothing) and "gina" not in _readers(nothing)


def test_a_role_session_is_named_with_its_source_identity(tmp_path: Path, capsys: Any) -> None:
    """F12: the trail's DevRole session carries ``sessionContext.sourceIdentity`` (the person who assumed the role);
    AppRole's does not."""
    _, doc, _ = access(tmp_path, capsys, "prod/db", str(HERE / "ct1.json"))
    names = {i["display_name"] for i in doc["identities"]}
    assert ("arn:aws:sts::111122223333:assumed-role/DevRole/pat-session (source identity pat@example.com)"
            in names), names
    assert "arn:aws:sts::111122223333:assumed-role/AppRole/i-0abc123" in names
    assert not [n for n in names if "source identity" in n and "pat-session" not in n]


# -- F13: a field selector that leaves a Secret out ----------------------------------------------------------------
K8S2 = HERE / "k8s2.log"


def _scoped(doc: dict[str, Any]) -> set[str]:
    return {i["display_name"] for i in doc["identities"] if i["scopes"]}


def test_a_list_that_leaves_a_secret_out_by_name_is_no_read_of_it(tmp_path: Path, capsys: Any) -> None:
    """neg's list of prod's Secrets with ``fieldSelector=metadata.name!=db`` returned every Secret but db."""
    _, db, _ = access(tmp_path, capsys, "api/v1/namespaces/prod/secrets/db", str(K8S2))
    assert "neg" not in _scoped(db) and "nsfield" in _scoped(db)
    _, api, _ = access(tmp_path, capsys, "api/v1/namespaces/prod/secrets/api", str(K8S2))
    assert "neg" in _scoped(api)
    _, every, _ = access(tmp_path, capsys, "api/v1/namespaces/prod/secrets/*", str(K8S2))
    assert "neg" in _scoped(every)


def test_a_selector_value_no_object_can_have_excludes_nothing(tmp_path: Path, capsys: Any) -> None:
    line = json.loads(K8S2.read_text().splitlines()[0])
    lines = []
    for stage in ("RequestReceived", "ResponseComplete"):
        e = dict(line, stage=stage, requestURI="/api/v1/namespaces/prod/secrets?fieldSelector=metadata.name%21%3D%2A")
        if stage == "ResponseComplete":
            e["responseStatus"] = {"metadata": {}, "code": 200}
        lines.append(json.dumps(e))
    log = tmp_path / "k8s.log"
    log.write_text("\n".join(lines) + "\n")
    _, db, _ = access(tmp_path, capsys, "api/v1/namespaces/prod/secrets/db", str(log))
    assert "neg" in _scoped(db), db["identities"]
