"""The scenario: plant canaries, act as distinct identities, record every action client-side, clean up.

A Plan is built without touching the network (so that pytest can collect one item per action), extended by the
``pytest_auditready_scenario`` hook, then run against a vault. Secret values (canaries, tokens) live only in a
SecretBox in memory; the ledger and the facts hold names and HMAC digests.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Optional, Union

from ..auditlog.model import AccessLedger, Action
from ..errors import AuditReadyError
from .client import Reply, VaultClient

IDENTITIES = ("admin", "writer", "reader", "unprivileged")
# Asked by the unprivileged identity once the audit devices are known (its body names them).
CAPABILITIES_ACTION = "capabilities-audit-devices"
_PHASES = ("setup", "main", "cleanup", "teardown")
# Audit device options that are configuration, not credentials: the only ones copied into facts/evidence.
_DEVICE_OPTION_KEYS = ("file_path", "mode", "log_raw", "hmac_accessor", "format", "prefix", "elide_list_responses")


def new_run_id() -> str:
    """Unique per run, so that parallel runs against one vault never collide; sortable by time."""
    return time.strftime("%Y%m%dt%H%M%S", time.gmtime()) + "-" + secrets.token_hex(3)


def display_name_for(name: str) -> str:
    """What Vault/OpenBao log as display_name for a token created with display_name=name."""
    return "token-" + re.sub(r"[^a-zA-Z0-9-]", "-", name)


class SecretBox:
    """Secret values by name ("canary:c1", "canary:c1@v2", "token:reader"). Never printed, never serialised."""

    def __init__(self) -> None:
        self._values: dict[str, str] = {}

    def __setitem__(self, name: str, value: str) -> None:
        self._values[name] = value

    def __getitem__(self, name: str) -> str:
        return self._values[name]

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def items(self) -> Iterator[tuple[str, str]]:
        return iter(list(self._values.items()))

    def names(self) -> list[str]:
        return list(self._values)

    def __repr__(self) -> str:  # never leak through a repr
        return f"SecretBox({len(self._values)} values)"


Body = Union[None, Mapping[str, Any], Callable[[SecretBox], Mapping[str, Any]]]


@dataclass(frozen=True)
class ActionSpec:
    """A planned access. ``body`` may be a callable taking the SecretBox, so that values stay out of the plan."""

    name: str
    identity: str
    method: str
    path: str
    operation: str
    body: Body = None
    # "allowed": anything else aborts the run; "denied": must be denied; "probe": ought to be denied, but an
    # answer either way is a finding for a check, not a run error; "info": the answer is only information.
    expect: str = "allowed"
    secrets: tuple[str, ...] = ()
    phase: str = "main"  # "setup", "main", "cleanup" (removes the canaries) or "teardown" (tokens, policies)

    def __post_init__(self) -> None:
        if self.phase not in _PHASES:
            raise ValueError(f"ActionSpec {self.name}: phase must be one of {', '.join(_PHASES)}")
        if self.expect not in ("allowed", "denied", "probe", "info"):
            raise ValueError(f"ActionSpec {self.name}: expect must be allowed, denied, probe or info")
        if self.identity not in IDENTITIES:
            raise ValueError(f"ActionSpec {self.name}: identity must be one of {', '.join(IDENTITIES)}")


@dataclass
class Plan:
    run_id: str
    kv_mount: str
    prefix: str
    canary_names: list[str]
    unprivileged_policies: tuple[str, ...]
    token_ttl: str
    actions: list[ActionSpec] = field(default_factory=list)
    secrets: SecretBox = field(default_factory=SecretBox, repr=False)

    @property
    def base(self) -> str:
        return f"{self.prefix}/{self.run_id}"

    def data_path(self, canary: str) -> str:
        return f"{self.kv_mount}/data/{self.base}/{canary}"

    def metadata_path(self, canary: str = "") -> str:
        return f"{self.kv_mount}/metadata/{self.base}/{canary}"

    def policy_name(self, identity: str) -> str:
        return f"auditready-{self.run_id}-{identity}"

    def token_display(self, identity: str) -> str:
        return f"auditready-{self.run_id}-{identity}"

    def add(self, spec: ActionSpec) -> None:
        """Add an action (from a pytest_auditready_scenario hook). Setup and main actions go before the clean-up
        steps, so a custom action still finds the canaries in place."""
        if any(a.name == spec.name for a in self.actions):
            raise ValueError(f"duplicate scenario action name {spec.name!r}")
        order = _PHASES.index(spec.phase)
        at = next((i for i, a in enumerate(self.actions) if _PHASES.index(a.phase) > order), len(self.actions))
        self.actions.insert(at, spec)

    def policies(self) -> dict[str, str]:
        m, b = self.kv_mount, self.base
        return {
            "writer": (
                f'path "{m}/data/{b}/*" {{ capabilities = ["create", "update"] }}\n'
                f'path "{m}/metadata/{b}/*" {{ capabilities = ["delete"] }}\n'
            ),
            "reader": (
                f'path "{m}/data/{b}/*" {{ capabilities = ["read"] }}\n'
                f'path "{m}/metadata/{b}/*" {{ capabilities = ["read", "list"] }}\n'
            ),
        }


def _kv_write(secret: str, cas: int) -> Callable[[SecretBox], Mapping[str, Any]]:
    return lambda box: {"options": {"cas": cas}, "data": {"value": box[secret]}}


def new_plan(
    *,
    run_id: str,
    kv_mount: str,
    prefix: str,
    canaries: int,
    unprivileged_policies: tuple[str, ...],
    token_ttl: str,
) -> Plan:
    """An empty plan with fresh canary values (32 random bytes each, two versions per canary)."""
    names = [f"c{i + 1}" for i in range(canaries)]
    plan = Plan(run_id, kv_mount, prefix, names, unprivileged_policies, token_ttl)
    for c in names:
        plan.secrets[f"canary:{c}"] = secrets.token_urlsafe(32)
        plan.secrets[f"canary:{c}@v2"] = secrets.token_urlsafe(32)
    return plan


def add_builtin_actions(plan: Plan) -> None:
    """The scenario of SPEC.md: set up identities, act as each, probe the audit devices, clean up."""
    add = plan.add
    names, run_id = plan.canary_names, plan.run_id
    for ident in ("writer", "reader"):
        add(ActionSpec(f"write-policy-{ident}", "admin", "PUT", f"sys/policies/acl/{plan.policy_name(ident)}",
                       "update", phase="setup"))
    for ident in ("writer", "reader", "unprivileged"):
        add(ActionSpec(f"issue-token-{ident}", "admin", "POST", "auth/token/create", "update", phase="setup"))
    for c in names:
        add(ActionSpec(f"create-{c}", "writer", "POST", plan.data_path(c), "create", _kv_write(f"canary:{c}", 0),
                       secrets=(f"canary:{c}",)))
        add(ActionSpec(f"read-allowed-{c}", "reader", "GET", plan.data_path(c), "read", secrets=(f"canary:{c}",)))
        add(ActionSpec(f"read-denied-{c}", "unprivileged", "GET", plan.data_path(c), "read", expect="denied"))
        add(ActionSpec(f"rotate-{c}", "writer", "POST", plan.data_path(c), "update",
                       _kv_write(f"canary:{c}@v2", 1), secrets=(f"canary:{c}@v2",)))
    add(ActionSpec("list", "reader", "LIST", plan.metadata_path(), "list"))
    for c in names:
        add(ActionSpec(f"metadata-read-{c}", "reader", "GET", plan.metadata_path(c), "read"))
    add(ActionSpec("list-audit-devices", "unprivileged", "GET", "sys/audit", "read", expect="probe"))
    add(ActionSpec("disable-audit-attempt", "unprivileged", "DELETE",
                   f"sys/audit/auditready-{run_id}-nonexistent", "delete", expect="probe"))
    add(ActionSpec(CAPABILITIES_ACTION, "unprivileged", "POST", "sys/capabilities-self", "update", expect="info"))
    for c in names:
        add(ActionSpec(f"destroy-{c}", "writer", "DELETE", plan.metadata_path(c), "delete", phase="cleanup"))
    for ident in ("writer", "reader", "unprivileged"):
        add(ActionSpec(f"revoke-token-{ident}", "admin", "POST", "auth/token/revoke-accessor", "update",
                       phase="teardown"))
    for ident in ("writer", "reader"):
        add(ActionSpec(f"delete-policy-{ident}", "admin", "DELETE", f"sys/policies/acl/{plan.policy_name(ident)}",
                       "delete", phase="teardown"))


@dataclass
class VaultFacts:
    """What the run learnt about the vault, as plain data (no secret values)."""

    version: str = ""
    devices: dict[str, dict[str, Any]] = field(default_factory=dict)  # path -> {type, options}
    devices_error: str = ""
    device: str = ""  # the device that writes the log under test, when known
    digests: dict[str, dict[str, str]] = field(default_factory=dict)  # device -> secret name -> hmac digest
    capabilities: dict[str, list[str]] = field(default_factory=dict)  # unprivileged caps on sys/audit/<dev>
    capabilities_error: str = ""
    unprivileged_policies: list[str] = field(default_factory=list)
    residue: list[str] = field(default_factory=list)  # what clean-up could not remove

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


class ScenarioError(AuditReadyError):
    pass


@contextlib.contextmanager
def _shielded() -> Iterator[None]:
    """Hold SIGINT/SIGTERM off while cleaning up, then deliver what arrived: clean-up is never cut short."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    old = {s: signal.signal(s, lambda n, _f: pending.append(n)) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        if pending:
            raise KeyboardInterrupt


class Runner:
    """Runs a Plan: setup, main, then always teardown and a check that nothing is left behind."""

    def __init__(self, plan: Plan, admin: VaultClient, ledger: AccessLedger, *, log_path: Optional[str] = None,
                 audit_device: Optional[str] = None) -> None:
        self.plan = plan
        self.admin = admin
        self.ledger = ledger
        self.facts = VaultFacts(unprivileged_policies=list(plan.unprivileged_policies))
        self._clients: dict[str, VaultClient] = {"admin": admin}
        self._accessors: dict[str, str] = {}
        self._log_path = log_path
        self._audit_device = audit_device
        self._created: list[str] = []  # canaries that may exist
        self._failures = 0  # consecutive failed clean-up calls: past two, the vault is taken as unreachable
        self._policies_written: list[str] = []
        self._done: set[str] = set()

    # -- recording -------------------------------------------------------------------------------------------
    def _call(self, spec: ActionSpec, json_body: Optional[Mapping[str, Any]] = None) -> Reply:
        client = self._clients.get(spec.identity)
        if client is None:
            raise ScenarioError(f"scenario action {spec.name} needs identity {spec.identity}, which has no token",
                                "check the actions added by pytest_auditready_scenario")
        body = json_body
        if body is None and spec.body is not None:
            body = spec.body(self.plan.secrets) if callable(spec.body) else spec.body
        reply = client.call(spec.method, spec.path, dict(body) if body is not None else None)
        self.ledger.record(
            Action(
                name=spec.name,
                identity=spec.identity,
                display_name=self.ledger.identities.get(spec.identity, ""),
                method=spec.method,
                path=spec.path,
                operation=spec.operation,
                sent_ns=reply.sent_ns,
                received_ns=reply.received_ns,
                status=reply.status,
                request_id=reply.request_id,
                error=reply.error[:300],
                expect=spec.expect,
                secrets=(*tuple(spec.secrets), f"token:{spec.identity}"),
            )
        )
        self._done.add(spec.name)
        if reply.status == 400 and "check-and-set" in reply.error:
            raise ScenarioError(
                f"a secret already exists at {spec.path}; the run wrote nothing over it and leaves it as it was",
                "find out who wrote under the run's own prefix; never point prefix at data you keep",
            )
        if spec.expect == "allowed" and not reply.ok:
            raise ScenarioError(
                f"scenario step {spec.name} ({spec.method} {spec.path} as {spec.identity}) answered "
                f"{reply.status}: {reply.error or 'no error text'}",
                _remedy(spec, self.plan),
            )
        return reply

    # -- phases ----------------------------------------------------------------------------------------------
    def preflight(self) -> None:
        reply = self.admin.call("GET", "auth/token/lookup-self")
        if reply.status in (400, 401, 403):
            raise ScenarioError(
                f"the vault at {self.admin.url} rejected the token ({reply.status}: {reply.error or 'denied'})",
                "export a valid, unexpired token in VAULT_TOKEN (or BAO_TOKEN)",
            )
        if not reply.ok:
            raise ScenarioError(f"token lookup answered {reply.status}: {reply.error}", "check the vault's health")
        self.ledger.identities["admin"] = str(reply.data.get("display_name") or "")
        health = self.admin.call("GET", "sys/seal-status")
        self.facts.version = str((health.body or {}).get("version", ""))
        mount = self.admin.call("GET", f"sys/mounts/{self.plan.kv_mount}")
        if mount.ok:
            d = mount.data or (mount.body or {})
            version = str((d.get("options") or {}).get("version", ""))
            if d.get("type") not in ("kv", "generic") or version != "2":
                raise ScenarioError(
                    f"the mount {self.plan.kv_mount}/ is not a KV version 2 secrets engine",
                    "set kv_mount in [tool.auditready] to a KV v2 mount (bao secrets enable -version=2 kv)",
                )
        elif mount.status == 400 or mount.status == 404:
            raise ScenarioError(
                f"there is no secrets engine mounted at {self.plan.kv_mount}/",
                "set kv_mount in [tool.auditready] to a KV v2 mount (bao secrets enable -version=2 kv)",
            )

    def setup(self) -> None:
        policies = self.plan.policies()
        for spec in self._specs("setup"):
            if spec.name.startswith("write-policy-"):
                ident = spec.name[len("write-policy-"):]
                self._policies_written.append(self.plan.policy_name(ident))
                self._call(spec, {"policy": policies[ident]})
            elif spec.name.startswith("issue-token-"):
                ident = spec.name[len("issue-token-"):]
                self._issue_token(spec, ident)
            else:
                self._call(spec)

    def _issue_token(self, spec: ActionSpec, ident: str) -> None:
        if ident == "unprivileged":
            pols = list(self.plan.unprivileged_policies)
        else:
            pols = [self.plan.policy_name(ident)]
        body = {
            "policies": pols,
            "no_default_policy": "default" not in pols,
            "display_name": self.plan.token_display(ident),
            "ttl": self.plan.token_ttl,
            "renewable": False,
            "meta": {"auditready_run": self.plan.run_id},
        }
        reply = self._call(spec, body)
        auth = (reply.body or {}).get("auth") or {}
        token, accessor = auth.get("client_token"), auth.get("accessor")
        if not isinstance(token, str) or not isinstance(accessor, str):
            raise ScenarioError("token creation returned no token", "check the token auth method")
        self.plan.secrets[f"token:{ident}"] = token
        self._accessors[ident] = accessor
        self._clients[ident] = self.admin.with_token(token)
        self.ledger.identities[ident] = display_name_for(self.plan.token_display(ident))

    def main(self) -> None:
        for c in self.plan.canary_names:
            self.ledger.canaries[c] = self.plan.data_path(c)
        for spec in self._specs("main") + self._specs("cleanup"):
            if spec.name == CAPABILITIES_ACTION:
                self._gather_facts(spec)
                continue
            if not spec.name.startswith("create-"):
                self._call(spec)
                continue
            # A canary is ours to remove once the vault accepted it, or when no answer came back (it may have
            # been written). A refusal (a check-and-set conflict above all) means the path is not ours.
            try:
                self._call(spec)
            except ScenarioError:
                raise
            except AuditReadyError:
                self._created.append(spec.path)
                raise
            self._created.append(spec.path)
        if CAPABILITIES_ACTION not in self._done:
            self._gather_facts(None)

    def _gather_facts(self, caps_spec: Optional[ActionSpec]) -> None:
        reply = self.admin.call("GET", "sys/audit")
        if reply.ok:
            raw = reply.data or {k: v for k, v in (reply.body or {}).items() if isinstance(v, dict)}
            for path, dev in raw.items():
                if not isinstance(dev, dict):
                    continue
                opts = dev.get("options") or {}
                self.facts.devices[path.rstrip("/")] = {
                    "type": dev.get("type", ""),
                    "options": {k: str(opts[k]) for k in _DEVICE_OPTION_KEYS if k in opts},
                }
        else:
            self.facts.devices_error = f"{reply.status}: {reply.error or 'no answer'}"
        self.facts.device = self._resolve_device()
        for dev in ([self.facts.device] if self.facts.device else list(self.facts.devices)):
            hashes: dict[str, str] = {}
            for name, value in self.plan.secrets.items():
                r = self.admin.call("POST", f"sys/audit-hash/{dev}", {"input": value})
                h = r.data.get("hash") or (r.body or {}).get("hash")
                if r.ok and isinstance(h, str):
                    hashes[name] = h
            self.facts.digests[dev] = hashes
        if caps_spec is not None:
            paths = ["sys/audit"] + [f"sys/audit/{d}" for d in self.facts.devices]
            r = self._call(caps_spec, {"paths": paths})
            if r.ok:
                for p in paths:
                    caps = r.data.get(p, (r.body or {}).get(p))
                    if isinstance(caps, list):
                        self.facts.capabilities[p] = [str(c) for c in caps]
            else:
                self.facts.capabilities_error = f"{r.status}: {r.error or 'no answer'}"

    def _resolve_device(self) -> str:
        if self._audit_device:
            return self._audit_device.rstrip("/")
        if self._log_path:
            want = os.path.realpath(self._log_path)
            for path, dev in self.facts.devices.items():
                fp = dev["options"].get("file_path", "")
                if fp and os.path.realpath(fp) == want:
                    return path
        if len(self.facts.devices) == 1:
            return next(iter(self.facts.devices))
        return ""

    def teardown(self) -> None:
        """Always runs. Removes canaries, tokens and policies, records the planned teardown steps, and lists
        whatever could not be removed in facts.residue."""
        with _shielded():
            for path in self._created:
                meta = path.replace(f"{self.plan.kv_mount}/data/", f"{self.plan.kv_mount}/metadata/", 1)
                self._quiet("DELETE", meta)
            specs = {s.name: s for s in self._specs("teardown")}
            for ident, accessor in list(self._accessors.items()):
                spec = specs.get(f"revoke-token-{ident}")
                if spec is not None:
                    self._record_quiet(spec, {"accessor": accessor})
                else:
                    self._quiet("POST", "auth/token/revoke-accessor", {"accessor": accessor})
            for name in self._policies_written:
                ident = name.rsplit("-", 1)[-1]
                spec = specs.get(f"delete-policy-{ident}")
                if spec is not None:
                    self._record_quiet(spec)
                else:
                    self._quiet("DELETE", f"sys/policies/acl/{name}")
            for spec in specs.values():
                if spec.name not in self._done and not spec.name.startswith(("revoke-token-", "delete-policy-")):
                    self._record_quiet(spec)
            self._verify_clean()

    def _verify_clean(self) -> None:
        for path in self._created:
            meta = path.replace(f"{self.plan.kv_mount}/data/", f"{self.plan.kv_mount}/metadata/", 1)
            r = self._quiet("GET", meta)
            if r is None or r.status != 404:
                self.facts.residue.append(f"canary {path}")
        for ident, accessor in self._accessors.items():
            r = self._quiet("POST", "auth/token/lookup-accessor", {"accessor": accessor})
            if r is None or r.ok:
                self.facts.residue.append(f"token of {ident} (display name {self.plan.token_display(ident)})")
        for name in self._policies_written:
            r = self._quiet("GET", f"sys/policies/acl/{name}")
            if r is None or r.status != 404:
                self.facts.residue.append(f"policy {name}")

    def _quiet(self, method: str, path: str, body: Optional[dict[str, Any]] = None) -> Optional[Reply]:
        """A clean-up call that never raises. Once two calls in a row found no vault, the rest are not tried
        (each would wait out its timeout) and everything not yet removed is named in facts.residue."""
        if self._failures >= 2:
            return None
        try:
            reply = self.admin.call(method, path, body)
        except AuditReadyError:
            self._failures += 1
            return None
        self._failures = 0
        return reply

    def _record_quiet(self, spec: ActionSpec, body: Optional[Mapping[str, Any]] = None) -> None:
        if self._failures >= 2:
            return
        try:
            self._call(spec, body)
            self._failures = 0
        except ScenarioError:
            self._failures = 0  # the vault answered, just not with success
        except AuditReadyError:
            self._failures += 1

    def _specs(self, phase: str) -> list[ActionSpec]:
        return [a for a in self.plan.actions if a.phase == phase]

    def close(self) -> None:
        self.admin.close()  # the identities share its connection pool


_POLICY_HINT = "examples/auditready-policy.hcl grants every capability the run needs"
# What the audit token needs for each admin step, to name it when the vault says no.
_ADMIN_NEEDS = {
    "write-policy-": "create and update on sys/policies/acl/auditready-*",
    "issue-token-": "update and sudo on auth/token/create (sudo lets the tokens carry the run's own policies)",
    "revoke-token-": "update on auth/token/revoke-accessor",
    "delete-policy-": "delete on sys/policies/acl/auditready-*",
}


def _remedy(spec: ActionSpec, plan: Plan) -> str:
    if spec.identity == "admin":
        need = next((v for k, v in _ADMIN_NEEDS.items() if spec.name.startswith(k)), f"access to {spec.path}")
        return f"the token in VAULT_TOKEN needs {need}; {_POLICY_HINT}"
    if spec.identity in ("writer", "reader"):
        return (
            f"the {spec.identity} identity's policy did not take effect on {spec.path}; check that "
            f"{plan.kv_mount}/ is a KV v2 mount and that no Sentinel/EGP policy blocks it"
        )
    return f"check the step's path and the policies {', '.join(plan.unprivileged_policies)}"
