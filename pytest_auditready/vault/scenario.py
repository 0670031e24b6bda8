"""The scenario: plant canaries, act as distinct identities, record every action client-side, clean up.

A Plan is built without touching the network (so that pytest can collect one item per action), extended by the
``pytest_auditready_scenario`` hook, then run against a vault. Secret values (canaries, tokens) live only in a
SecretBox in memory; the ledger and the facts hold names and HMAC digests.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import secrets
import signal
import stat
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Optional, Union
from urllib.parse import urlsplit

from ..auditlog.model import AccessLedger, Action, in_scope
from ..errors import AuditReadyError
from ..text import UUID
from .client import Reply, VaultClient
from .config import origins_from_description, uri_origin

IDENTITIES = ("admin", "writer", "reader", "unprivileged")
# Asked by the unprivileged identity once the audit devices are known (its body names them).
CAPABILITIES_ACTION = "capabilities-audit-devices"
# Sends a canary in every request header the vault audits (sys/config/auditing/request-headers): one audited
# without hmac = true writes it in clear.
HEADERS_ACTION = "audited-headers"
HEADER_SECRET = "canary:header"
_PHASES = ("setup", "main", "cleanup", "teardown")
# The keys of every Vault/OpenBao API answer, beside what the endpoint returns.
_ENVELOPE = ("request_id", "lease_id", "renewable", "lease_duration", "data", "wrap_info", "warnings", "auth",
             "mount_type")
# Audit device options that are configuration, not credentials: the only ones copied into facts/evidence.
_DEVICE_OPTION_KEYS = ("file_path", "mode", "log_raw", "hmac_accessor", "format", "prefix", "elide_list_responses",
                       "socket_type", "facility", "tag", "filter", "fallback", "exclude")
DRILL_SECRET = "canary:fail-closed-drill"
# How the drill stops the devices writing: a file device's file becomes /dev/full (a full disk); the socket
# device's receiver stops listening (a collector that went away).
DRILL_HOW = "a file device's file on /dev/full, a socket device's receiver gone"
DRILL_WAIT = 10.0  # seconds for the broken devices to start failing after SIGHUP (a loaded machine is slow)


# Endpoints that exist only in the root namespace: the audit devices, their HMAC and the audited request headers.
# Asked from inside a namespace they answer 400 "operation only available in root namespace" and are not audited
# at all, so a run in a namespace sends them to the root namespace, where the audit devices are.
_ROOT_ONLY = re.compile(r"sys/(?:audit|audit/.*|audit-hash/.*|config/auditing/.*)")


def root_only(path: str) -> bool:
    """Whether ``path`` is an endpoint of the root namespace only (the audit devices and their configuration)."""
    return _ROOT_ONLY.fullmatch(path.strip("/")) is not None


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


# Request headers the vault or a hop acts on (``probed_headers``), lower case.
_ACTED_ON = re.compile(r"x-vault-|x-forwarded-|forwarded\Z|x-real-ip\Z|host\Z|content-|transfer-encoding\Z"
                       r"|connection\Z|te\Z|upgrade\Z|expect\Z")
# A header whose name says it carries a credential (Authorization, Cookie, X-Api-Key, X-Auth-Token, a session, a
# signature...): audited without HMAC, it writes that credential in clear.
HEADER_CREDENTIAL = re.compile(r"auth|cookie|token|secret|passw|pwd|key|session|sig|jwt|otp|csrf|xsrf|credential"
                               r"|bearer|cert")


def probed_headers(audited: Mapping[str, bool]) -> list[str]:
    """The audited request headers (name -> audited as an HMAC) the probe sends a canary in: those audited as an
    HMAC (the canary must show as its digest) and those whose name says they carry a credential; never one the
    vault or a hop acts on, which carries no secret of its own and whose canary would change the request or its
    entry: the vault's own (X-Vault-Token carries the client's token and is never written into an entry;
    X-Vault-Namespace, X-Vault-Wrap-TTL and the others steer the request), the client's address a trusted proxy
    hands on (X-Forwarded-For, X-Real-IP, Forwarded: the vault may log it as the request's remote_address), and
    HTTP's own framing. A header audited in clear for what it is (User-Agent, X-Request-Id, a trace id: the
    feature's purpose, OpenBao's default hmac = false) carries none: a canary there would be a leak the run made
    (red team rt40, F6); log_protection tells it instead."""
    return sorted(n for n, hmac in audited.items()
                  if not _ACTED_ON.match(n) and (hmac or HEADER_CREDENTIAL.search(n)))


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
    # a main-phase action run only on the embedded target's own throw-away server (it changes the vault: mounts,
    # auth methods); on any other target it does not run and its items are skipped
    throwaway_only: bool = False

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
    # the unprivileged token is made without the vault's default policy (unprivileged_no_default_policy): else it
    # carries it, as every token the vault makes does unless told not to
    no_default_policy: bool = False
    settings_in: str = "in [tool.auditready]"  # where the run's settings are set, for the fixes (Settings.set_in)
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
        # each token may look itself up and revoke itself: an audit token revoked alone (-mode=orphan) leaves the
        # tokens it made alive, and clean-up then has no other way to tell or end them (Runner._revoke_selves, _alive)
        own = ('path "auth/token/lookup-self" { capabilities = ["read"] }\n'
               'path "auth/token/revoke-self" { capabilities = ["update"] }\n')
        return {
            "writer": (
                f'path "{m}/data/{b}/*" {{ capabilities = ["create", "update"] }}\n'
                f'path "{m}/metadata/{b}/*" {{ capabilities = ["delete"] }}\n' + own
            ),
            "reader": (
                f'path "{m}/data/{b}/*" {{ capabilities = ["read"] }}\n'
                f'path "{m}/metadata/{b}/*" {{ capabilities = ["read", "list"] }}\n' + own
            ),
        }


def _kv_write(secret: str, cas: int, pad: int = 0) -> Callable[[SecretBox], Mapping[str, Any]]:
    """A KV v2 write of the canary ``secret`` under "value", and ``pad`` more keys of a fixed filler."""
    filler = {f"auditready-pad-{i:03d}": "x" for i in range(pad)}
    return lambda box: {"options": {"cas": cas}, "data": {"value": box[secret], **filler}}


# The first canary's write carries this many more keys, so that its request entry and its reads' response entries
# (about 17 KB, each key's digest 76 bytes) are longer than the usual limits of a hop: rsyslog's 8 KiB, Splunk's
# 10000 bytes, a container runtime's 16 KiB line. A hop that cuts entries is then seen cutting the run's own, where
# entries of a few KB would pass it (red team rt51 F6); production entries that long are common (a response of
# many keys, a certificate chain).
HOP_PROBE_KEYS = 170


def new_plan(
    *,
    run_id: str,
    kv_mount: str,
    prefix: str,
    canaries: int,
    unprivileged_policies: tuple[str, ...],
    token_ttl: str,
    no_default_policy: bool = False,
    settings_in: str = "in [tool.auditready]",
) -> Plan:
    """An empty plan with fresh canary values (32 random bytes each, two versions per canary)."""
    names = [f"c{i + 1}" for i in range(canaries)]
    plan = Plan(run_id, kv_mount, prefix, names, unprivileged_policies, token_ttl, no_default_policy, settings_in)
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
        pad = HOP_PROBE_KEYS if c == names[0] else 0
        add(ActionSpec(f"create-{c}", "writer", "POST", plan.data_path(c), "create",
                       _kv_write(f"canary:{c}", 0, pad), secrets=(f"canary:{c}",)))
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
    if names:
        add(ActionSpec(HEADERS_ACTION, "reader", "GET", plan.metadata_path(names[0]), "read"))
    _add_pci_events(plan)
    for c in names:
        add(ActionSpec(f"destroy-{c}", "writer", "DELETE", plan.metadata_path(c), "delete", phase="cleanup"))
    for ident in ("writer", "reader", "unprivileged"):
        add(ActionSpec(f"revoke-token-{ident}", "admin", "POST", "auth/token/revoke-accessor", "update",
                       phase="teardown"))
    for ident in ("writer", "reader"):
        add(ActionSpec(f"delete-policy-{ident}", "admin", "DELETE", f"sys/policies/acl/{plan.policy_name(ident)}",
                       "delete", phase="teardown"))


_PASSWORDS = ("password:user", "password:user@v2")


def _add_pci_events(plan: Plan) -> None:
    """The events PCI DSS 10.2.1 lists, beyond the secret accesses: access to the audit configuration (10.2.1.3);
    and, on the throw-away server only, a credential created and changed on an auth method the run enables
    (10.2.1.5) and system objects created and deleted (10.2.1.7: a scratch mount and that auth method)."""
    add = plan.add
    scratch, up = f"auditready-{plan.run_id}-scratch", f"auditready-{plan.run_id}-userpass"
    user = f"auth/{up}/users/auditready"
    add(ActionSpec("read-audit-devices", "admin", "GET", "sys/audit", "read", expect="info"))
    add(ActionSpec("enable-scratch-mount", "admin", "POST", f"sys/mounts/{scratch}", "update",
                   {"type": "kv", "options": {"version": "2"}}, throwaway_only=True))
    add(ActionSpec("enable-userpass", "admin", "POST", f"sys/auth/{up}", "update", {"type": "userpass"},
                   throwaway_only=True))
    add(ActionSpec("create-user", "admin", "POST", user, "create", lambda box: {"password": box["password:user"]},
                   secrets=("password:user",), throwaway_only=True))
    add(ActionSpec("change-password", "admin", "POST", f"{user}/password", "update",
                   lambda box: {"password": box["password:user@v2"]}, secrets=("password:user@v2",),
                   throwaway_only=True))
    add(ActionSpec("delete-user", "admin", "DELETE", user, "delete", throwaway_only=True))
    add(ActionSpec("disable-userpass", "admin", "DELETE", f"sys/auth/{up}", "delete", throwaway_only=True))
    add(ActionSpec("disable-scratch-mount", "admin", "DELETE", f"sys/mounts/{scratch}", "delete",
                   throwaway_only=True))


_MOST_NAMESPACES = 500  # namespaces whose mounts are listed (each is two requests)
_MOST_NAMES = 100  # real names asked about from one listing (token roles, groups, AppRole roles, userpass users)


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
    # the fail-closed drill (embedded target only): {"ran": bool, "reason": why not, "steps": [...], ...}
    drill: dict[str, Any] = field(default_factory=dict)
    audited_headers: dict[str, bool] = field(default_factory=dict)  # request header -> audited as an HMAC
    audited_headers_error: str = ""
    non_hmac: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # mount -> request/response -> keys
    mount_types: dict[str, str] = field(default_factory=dict)  # of the mounts in non_hmac: kv, pki, userpass...
    # of the mounts in non_hmac: [the namespace it lives in ("" for the root), its path there ("secret/",
    # "auth/corp/")], which its name ("secret/ (namespace ns1/)") only shows to a reader
    mount_places: dict[str, list[str]] = field(default_factory=dict)
    auth_types: dict[str, str] = field(default_factory=dict)  # every auth method mounted: "auth/<path>/" -> type
    mounts: list[str] = field(default_factory=list)  # every mount of the run's namespace: "secret/", "auth/<path>/"
    mounts_error: str = ""  # how listing sys/mounts or sys/auth answered when it could not be read
    namespace: str = ""  # the namespace the run was made in ("" for the root namespace)
    capabilities_note: str = ""  # how facts.capabilities was known when sys/capabilities-self could not say
    # the local addresses the run's connections to the vault came from (what remote_address ought to name)
    client_addresses: list[str] = field(default_factory=list)
    hash_error: str = ""  # how sys/audit-hash answered when it gave no hash (a 403: the audit token may not ask it)
    hash_withheld: str = ""  # why the audit token's own digest was not asked (``Runner._hash_risk``)
    token_policies: list[str] = field(default_factory=list)  # the audit token's own policies (lookup-self)
    # the path stanzas of the policies read with the audit token (the unprivileged identity's, and those of the
    # entries it may log in as): name -> [[pattern, [capabilities]], ...] (vault.policies)
    policy_grants: dict[str, list[list[Any]]] = field(default_factory=dict)
    policies_error: str = ""  # why a policy the unprivileged identity holds could not be read
    names: dict[str, list[str]] = field(default_factory=dict)  # folder -> real names listed (token roles, groups...)
    names_cut: list[str] = field(default_factory=list)  # listings with more names than asked about
    kv_mounts: dict[str, str] = field(default_factory=dict)  # the run's namespace's KV mounts: "secret/" -> "2"
    # entries of auth methods the unprivileged identity may log in as by name (a SecretID, a password), and token
    # roles it may make tokens of: "auth/<mount>/role/<name>", "auth/token/roles/<name>" -> {"policies": [...],
    # "unread": {policy: why}} and/or {"error": why}; "auth/token/roles" -> {"error": why they were not listed}
    use_objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    # an HA cluster (sys/leader): {"enabled": True, "is_self": the node that answered is the active one, "leader":
    # the active node's API address, "nodes": every node's API address known (sys/ha-status, else the active's),
    # "nodes_error": why sys/ha-status did not list them}; {} when the vault is no HA cluster or does not say
    ha: dict[str, Any] = field(default_factory=dict)
    # each file device's file, as found here before and after the run (``Runner._mark_device_files``): device ->
    # {"file_path", "since_ns", "size", "ino", "dev", "run_requests", "found", "grew", "rotated", "cut"} or with
    # "unread": why it could not be looked at
    device_files: dict[str, dict[str, Any]] = field(default_factory=dict)
    device_files_local: str = ""  # how the devices' paths are known to be this host's files ("" unknown)
    # the KV mounts among those in non_hmac: mount -> "1" or "2" (their version)
    kv_versions: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


class ScenarioError(AuditReadyError):
    pass


_NO_ANSWER = "its creation got no answer"  # a pending token's reason when its create may still land
# A standby's answer while the cluster has no active node (an election: a step-down, the leader gone): the request
# was handed to no active node, so nothing of it was done.
_NO_ACTIVE = "active cluster node not found"


class Interrupted(AuditReadyError):
    """SIGINT or SIGTERM ended the run. The message says what clean-up achieved, as verified: "removed" only when
    the vault was asked afterwards and nothing of the run was left."""


class _Held:
    """Process-wide state of ``shielded`` blocks (they nest): the handlers they replaced and the signals held."""

    def __init__(self) -> None:
        self.depth = 0
        self.saved: dict[int, Any] = {}
        self.pending: list[int] = []

    def handler(self, signum: int, _frame: Any) -> None:
        self.pending.append(signum)


_HELD = _Held()


@contextlib.contextmanager
def shielded() -> Iterator[None]:
    """Hold SIGINT/SIGTERM off for the block, then raise KeyboardInterrupt for what arrived. Blocks nest: only the
    outermost one raises, so the work between a request and its bookkeeping is never cut in two. Every request
    has a total deadline, so a held signal waits at most request_timeout per request. A signal the process
    ignores (SIG_IGN) stays ignored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = _HELD
    if held.depth == 0:
        held.pending = []
        held.saved = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            current = signal.getsignal(sig)
            if current is not None and current is not signal.SIG_IGN:
                held.saved[sig] = signal.signal(sig, held.handler)
    held.depth += 1
    try:
        yield
    finally:
        held.depth -= 1
        if held.depth == 0:
            for signum, h in held.saved.items():
                signal.signal(signum, h)
            if held.pending:  # read after every handler is back, so that nothing arrives unseen in between
                held.pending = []
                raise KeyboardInterrupt


class Runner:
    """Runs a Plan: setup, main, then always teardown and a check that nothing is left behind."""

    def __init__(self, plan: Plan, admin: VaultClient, ledger: AccessLedger, *, log_path: Optional[str] = None,
                 audit_device: Optional[str] = None) -> None:
        self.plan = plan
        self.admin = admin
        self.ledger = ledger
        self.facts = VaultFacts(unprivileged_policies=list(plan.unprivileged_policies), namespace=admin.namespace)
        self._clients: dict[str, VaultClient] = {"admin": admin}
        self._ns = admin.namespace
        self._token_home = ""  # the namespace the audit token belongs to ("" for the root), from preflight
        self._accessors: dict[str, str] = {}
        self._log_path = log_path
        self._audit_device = audit_device
        # Everything clean-up must remove is written down before the request that makes it is sent:
        self._created: list[str] = []  # KV data paths under the run's prefix that may exist
        self._pending_tokens: dict[str, str] = {}  # identity -> why its token's accessor is unknown
        self._token_search = "the vault did not answer"  # why pending tokens could not be looked for
        self._policies_written: list[str] = []
        self._unanswered: set[str] = set()  # policies whose write got no answer: it may land after clean-up
        self._failures = 0  # consecutive failed clean-up calls: past two, the vault is taken as unreachable
        self._done: set[str] = set()
        # What the vault confirmed removing with a 2xx answer to the removal itself ("canary PATH", "accessor A",
        # "policy NAME"): the verdict on a thing whose check-up the audit token may not read (403).
        self._confirmed: set[str] = set()
        self._revoke_said: dict[str, str] = {}  # identity -> how its token's revocations answered (_revoke_refused)
        self.verified = False  # set by a teardown that ran to its end and asked the vault what is left

    @property
    def touched(self) -> bool:
        """Whether the run sent (or was about to send) anything that creates a canary, token or policy."""
        return bool(self._created or self._accessors or self._pending_tokens or self._policies_written)

    # -- recording -------------------------------------------------------------------------------------------
    def _where(self, client: VaultClient, path: str) -> VaultClient:
        """The client itself, or its twin in the root namespace for an endpoint only the root namespace has."""
        return client.in_root() if self._ns and root_only(path) else client

    def redacted(self, text: str) -> str:
        """``text`` with every value of the run (canaries, tokens) by its name, as a line the terminal shows."""
        from ..text import redact, visible

        return visible(redact(text, dict(self.plan.secrets.items()))[:300])

    def _admin_call(self, method: str, path: str, body: Optional[dict[str, Any]] = None) -> Reply:
        return self._where(self.admin, path).call(method, path, body)

    def _call(self, spec: ActionSpec, json_body: Optional[Mapping[str, Any]] = None,
              headers: Optional[Mapping[str, str]] = None, *, root: bool = False) -> Reply:
        """Send ``spec`` as its identity and record it; ``root``: in the root namespace whatever the path."""
        client = self._clients.get(spec.identity)
        if client is not None:
            client = client.in_root() if root else self._where(client, spec.path)
        if client is None:
            raise ScenarioError(f"scenario action {spec.name} needs identity {spec.identity}, which has no token",
                                "check the actions added by pytest_auditready_scenario")
        body = json_body
        if body is None and spec.body is not None:
            try:
                body = spec.body(self.plan.secrets) if callable(spec.body) else spec.body
            except Exception as exc:  # a hook's builder: its message may quote the values it was given
                raise ScenarioError(f"the body of scenario action {spec.name} raised {type(exc).__name__}: "
                                    f"{self.redacted(str(exc))}",
                                    "correct the action added by pytest_auditready_scenario") from None
        with shielded():  # the request and its bookkeeping: at most request_timeout
            claim = self._kv_claim(spec)
            if claim is not None:
                self._created.append(claim)  # before the request leaves: it may land without an answer
            reply = client.call(spec.method, spec.path, dict(body) if body is not None else None, headers)
            self._note_removal(spec.method, spec.path, body, reply)
            if claim is not None and 400 <= reply.status < 500:
                self._created.remove(claim)  # refused (a check-and-set conflict above all): nothing of ours there
            self.ledger.record(
                Action(
                    name=spec.name,
                    identity=spec.identity,
                    display_name=self.ledger.identities.get(spec.identity, ""),
                    method=spec.method,
                    # with its namespace, as the log's request.namespace.path + request.path name it (in_scope)
                    path=in_scope(client.namespace, spec.path),
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
        if spec.expect == "allowed" and reply.status == 403 and self._token_dead():
            self._parent_gone = True
            raise self.token_gone(f"scenario step {spec.name} ({spec.method} {spec.path} as {spec.identity}) "
                                  "answered 403, and so does the token's own lookup")
        if spec.expect == "allowed" and reply.status == 403 and spec.identity != "admin" and not self._alive(
                spec.identity):
            raise ScenarioError(
                f"the run's token of {spec.identity} stopped working during the run (revoked or expired from "
                f"outside it): scenario step {spec.name} ({spec.method} {spec.path} as {spec.identity}) answered "
                "403, and so does the token's own lookup",
                "find what revoked it (the audit log names the request: auth/token/revoke*), then run the audit "
                "again")
        if spec.expect == "allowed" and not reply.ok:
            remedy = _remedy(spec, self.plan, reply.status, "" if root_only(spec.path) else self._ns)
            if reply.status >= 500 and _NO_ACTIVE in reply.error:
                remedy = ("the HA cluster had no active node when the step was sent (an election, after a "
                          "step-down or the loss of the leader): run the audit again once sys/leader (bao status) "
                          "names an active node")
            stale = self._stale_standby(reply)
            raise ScenarioError(
                f"scenario step {spec.name} ({spec.method} {spec.path} as {spec.identity}) answered "
                f"{reply.status}: {reply.error or 'no error text'}" + (f"; {stale[0]}" if stale else ""),
                f"{stale[1]}; if the active node answers so too: {remedy}" if stale else remedy,
            )
        return reply

    def _stale_standby(self, reply: Reply) -> Optional[tuple[str, str]]:
        """The likely cause of a refused step (403, 404) on an HA cluster, and its fix, when the answer may come
        from a standby that had not yet applied the run's earlier writes (its policies, tokens, canaries), else None.
        A standby serves reads from its own copy (OpenBao's default disable_standby_reads = false, Vault Enterprise's
        performance standbys); a request that carried the run's X-Vault-Index was answered by a node that had it."""
        ha = self.facts.ha
        if not ha.get("enabled") or reply.index_sent or reply.status not in (403, 404):
            return None
        from ..text import visible

        active = visible(str(ha.get("leader") or "")) or "the node sys/leader names"
        if ha.get("is_self") and self.admin.url.rstrip("/") == active.rstrip("/"):
            return None  # the active node itself answered
        who = ("the target answered sys/leader as a standby" if not ha.get("is_self") else
               "the target answered sys/leader as the active node: this holds if it is a load balancer over the "
               "nodes")
        return (f"the vault is an HA cluster ({who}), and a standby answers reads from its own copy of the "
                "storage, which may not yet hold what the run wrote an instant before; the vault gave no "
                "X-Vault-Index the run could send back to have a standby forward such a request (OpenBao gives "
                "one from 2.7)",
                f"point --auditready-target at the active node ({active}), or have the standbys forward reads "
                "(OpenBao: disable_standby_reads = true; Vault Enterprise: disable_performance_standby = true), "
                "and check on the active node what clean-up left (its check-ups went through the standby too)")

    def _refused(self, spec: ActionSpec) -> bool:
        """After a ScenarioError from ``_call(spec)``: the vault refused it (4xx), or it was never sent. Either
        way it created nothing. A server error (5xx) may come after the work was done."""
        last = self.ledger.actions[-1] if self.ledger.actions else None
        return last is None or last.name != spec.name or 400 <= last.status < 500 or (
            last.status >= 500 and _NO_ACTIVE in last.error)

    def _kv_claim(self, spec: ActionSpec) -> Optional[str]:
        """The KV data path a write creates under the run's own prefix, if it is the first write there (a later
        one, such as a rotation, finds it claimed already). Writes elsewhere are not the run's to remove."""
        if spec.method not in ("POST", "PUT", "PATCH"):
            return None
        m, base = self.plan.kv_mount, self.plan.base
        path = spec.path.strip("/")
        if path.startswith(f"{m}/metadata/{base}/"):
            path = path.replace(f"{m}/metadata/", f"{m}/data/", 1)
        if not path.startswith(f"{m}/data/{base}/") or path in self._created:
            return None
        return path

    # -- phases ----------------------------------------------------------------------------------------------
    def preflight(self) -> None:
        reply = self.admin.call("GET", "auth/token/lookup-self")
        if self._ns and reply.status == 404 and "namespace" in reply.error.lower():
            raise ScenarioError(f"the namespace {self._ns}/ does not exist on the vault at {self.admin.url} "
                                f"({reply.status}: {reply.error})",
                                f"set namespace {self.plan.settings_in} to an existing namespace (bao namespace list)")
        if reply.status in (400, 401, 403):
            where = f" in namespace {self._ns}/" if self._ns else ""
            known = self._token_known()
            if known:  # a token the vault knows, whose policies leave out its own lookup (red team rt102 F1)
                raise ScenarioError(
                    f"the token in VAULT_TOKEN may not read auth/token/lookup-self{where} ({reply.status}: "
                    f"{reply.error or 'denied'}), although the vault at {self.admin.url} knows it ({known}): its "
                    "policies lack read on auth/token/lookup-self, which the default policy grants (a token made "
                    "with -no-default-policy, or a role with token_no_default_policy, goes without it)",
                    "add path \"auth/token/lookup-self\" { capabilities = [\"read\"] } to the token's policy "
                    "(examples/auditready-policy.hcl has it), or give the token the default policy",
                )
            raise ScenarioError(
                f"the vault at {self.admin.url} rejected the token{where} ({reply.status}: {reply.error or 'denied'})",
                "export a valid, unexpired token in VAULT_TOKEN (or BAO_TOKEN)"
                + (f" that belongs to namespace {self._ns}/ or to a parent of it" if self._ns else ""),
            )
        if reply.status == 404 and urlsplit(self.admin.url).path.strip("/"):
            raise ScenarioError(f"token lookup answered {reply.status} ({reply.error}): the target "
                                f"{self.admin.url} has a path, and the vault's API is under /v1/ of its address",
                                "point --auditready-target at the vault's address without a path, as VAULT_ADDR "
                                "has it (https://vault.example.com:8200)")
        if not reply.ok and reply.body is None and reply.status in (404, 405):
            # no Vault error body ({"errors": [...]}): something else answers at that address
            raise ScenarioError(f"{self.admin.url} does not answer as a Vault or OpenBao server (GET "
                                f"/v1/auth/token/lookup-self answered {reply.status} with no Vault error body)",
                                "point --auditready-target at the vault's API address, as VAULT_ADDR has it "
                                "(https://vault.example.com:8200)")
        if reply.status == 500 and reply.error.strip().lower() == "internal error":
            # what Vault and OpenBao answer when no audit device could log the request: they fail closed
            raise ScenarioError(f"token lookup answered 500: internal error, which the vault answers above all "
                                f"when none of its audit devices could log the request (it fails closed): the node "
                                f"at {self.admin.url} most likely cannot write its audit log",
                                "check that node's audit devices (its file's disk, permissions and attributes, a "
                                "socket device's receiver) and its server log (\"no audit backend succeeded\"); in "
                                "an HA cluster each node writes its own audit log on its own host")
        if not reply.ok:
            hop = reply.error.startswith("not the vault's answer")  # a proxy's own page (client.py, rt83 F3)
            raise ScenarioError(f"token lookup answered {reply.status}: {reply.error or 'no error text'}",
                                "check the proxy or load balancer in front of the vault (its upstream, health "
                                "checks and error log), then the vault's health (bao status)" if hop else
                                "check the vault's health (bao status) and its server log")
        self.ledger.identities["admin"] = str(reply.data.get("display_name") or "")
        policies = reply.data.get("policies")
        self.facts.token_policies = sorted({str(p) for p in policies}) if isinstance(policies, list) else []
        home = str(reply.data.get("namespace_path") or "").strip("/")  # the token's namespace, "" for the root
        if self._ns and home and not (self._ns + "/").startswith(home + "/"):
            raise ScenarioError(f"the token in VAULT_TOKEN belongs to namespace {home}/, which is neither "
                                f"{self._ns}/ nor a parent of it, so it has no rights there",
                                f"export a token of namespace {self._ns}/ or of a parent of it, or set namespace "
                                f"{self.plan.settings_in} to the token's own")
        self._token_home = home
        self._token_lasts(reply.data)
        health = self.admin.call("GET", "sys/seal-status")
        self.facts.version = str((health.body or {}).get("version", ""))
        self._ha_facts()
        self._kv_v2()
        self._unprivileged_policies_exist()
        listing = self._admin_call("GET", "sys/audit")
        self._audit_device_exists(listing)
        self._mark_device_files(listing)

    def _token_known(self) -> str:
        """After the audit token's own lookup was refused: how the vault shows it knows the token, else "". GET
        sys/internal/ui/mounts needs no policy: Vault and OpenBao answer it for any token they know (its mounts, as
        that token may see them) and refuse a token they do not know (unknown, expired, revoked, outside its bound
        CIDRs) with 403 (OpenBao and Vault: ``pathInternalUIMountsRead``). The error texts differ too (OpenBao 2.x:
        "permission denied" for an unknown token, "1 error occurred: * permission denied" for a policy's refusal;
        Vault 1.17+ adds "invalid token" for an unknown one), but an answer tells, not a wording."""
        try:
            probe = self.admin.call("GET", "sys/internal/ui/mounts")
        except AuditReadyError:
            return ""
        if probe.ok:
            return "it answers GET sys/internal/ui/mounts with this token, which it refuses a token it does not know"
        return ""

    def _ha_facts(self) -> None:
        """``facts.ha``: whether the vault is an HA cluster, from sys/leader (unauthenticated, in the root namespace),
        and its nodes from sys/ha-status where the audit token may read it (asked of an HA cluster only)."""
        root = self.admin.in_root()
        leader = root.call("GET", "sys/leader")
        body = leader.body or {}
        if not leader.ok or body.get("ha_enabled") is not True:
            return
        active = body.get("leader_address")
        ha: dict[str, Any] = {"enabled": True, "is_self": body.get("is_self") is True,
                              "leader": active if isinstance(active, str) else "",
                              "nodes": [active] if isinstance(active, str) and active else []}
        status = root.call("GET", "sys/ha-status")
        nodes = (status.data or status.body or {}).get("nodes") if status.ok else None
        if isinstance(nodes, list):
            named = {str(n.get("api_address") or n.get("hostname") or "") for n in nodes if isinstance(n, dict)}
            ha["nodes"] = sorted(named - {""})
        else:
            ha["nodes_error"] = f"sys/ha-status answered {status.status}: {status.error or 'no node list'}"
        self.facts.ha = ha

    def _kv_v2(self) -> None:
        """Refuse a ``kv_mount`` that is no KV version 2 mount before anything is written: on KV v1 the canaries
        land at the literal .../data/... paths, where clean-up (metadata/) cannot remove them (red team rt40, F4).
        Told by sys/mounts/<kv_mount>, or by the sys/mounts listing where that is refused; a mount neither tells is
        refused too."""
        kv = self.plan.kv_mount
        fix = f"set kv_mount {self.plan.settings_in} to a KV v2 mount (bao secrets enable -version=2 kv)"
        mount = self.admin.call("GET", f"sys/mounts/{kv}")
        info: Any = (mount.data or (mount.body or {})) if mount.ok else None
        if mount.status == 403:
            listing = self.admin.call("GET", "sys/mounts")
            if not listing.ok:
                at = f"{self._ns}/" if self._ns else ""  # a policy of the root namespace names a namespace's paths so
                raise ScenarioError(f"the audit token may read neither {at}sys/mounts/{kv} ({mount.status}) nor "
                                    f"{at}sys/mounts ({listing.status}), so nothing tells that {kv}/ is a KV version "
                                    "2 mount (on KV v1 the run's canaries could not be removed)",
                                    f"give the audit token read on {at}sys/mounts/{kv}"
                                    f"{f' (in namespace {at})' if at else ''}: examples/auditready-policy.hcl grants "
                                    "every capability the run needs")
            info = (listing.data or listing.body or {}).get(f"{kv}/")
            if info is None:
                raise ScenarioError(f"there is no secrets engine mounted at {kv}/", fix)
        if isinstance(info, dict):
            version = str((info.get("options") or {}).get("version", ""))
            if info.get("type") not in ("kv", "generic") or version != "2":
                raise ScenarioError(f"the mount {kv}/ is not a KV version 2 secrets engine", fix)
        elif mount.status == 400 or mount.status == 404:
            raise ScenarioError(f"there is no secrets engine mounted at {kv}/", fix)

    def _audit_device_exists(self, reply: Reply) -> None:
        """Refuse an ``audit_device`` the vault does not have (where the audit token may list the devices, in
        ``reply``): no digest of the run could be asked of it, and the run would fail integrity_digest for a typo."""
        if not self._audit_device:
            return
        if not reply.ok:
            return
        have = sorted(p.rstrip("/") for p in _device_listing(reply))
        if self._audit_device.strip("/") not in have:
            raise ScenarioError(
                f"audit_device {self._audit_device!r} is not an audit device of the vault at {self.admin.url} "
                f"(it has: {', '.join(have) or 'none'})",
                f"set audit_device {self.plan.settings_in} to the device that writes the log (bao audit list "
                "-detailed)",
            )

    def _unprivileged_policies_exist(self) -> None:
        """Refuse ``unprivileged_policies`` naming a policy the vault does not have: a token may carry any name,
        so the unprivileged identity would hold nothing, and its checks would say nothing about the vault's users.
        A policy the audit token may not read is refused too: a misspelt name would pass unseen. "default" and
        "root" always exist."""
        for name in self.plan.unprivileged_policies:
            if name in ("default", "root"):
                continue
            r = self.admin.call("GET", f"sys/policies/acl/{name}")
            if r.status == 403:
                raise ScenarioError(
                    f"unprivileged_policies names the policy {name!r}, which the audit token may not read "
                    f"(sys/policies/acl/{name} answered 403), so the run cannot tell that the vault has it: a "
                    "misspelt name would leave the unprivileged identity no rights, and log_protection and "
                    "denied_access_logged saying nothing about your users",
                    "give the audit token read on sys/policies/acl/* (examples/auditready-policy.hcl has it)",
                )
            if r.status == 404:
                where = f" in namespace {self._ns}/" if self._ns else ""
                vault = ("the embedded vault (its policies are OpenBao's and those of vault_config's policies/*.hcl)"
                         if self.ledger.target == "embedded" else f"the vault at {self.admin.url}{where}")
                raise ScenarioError(
                    f"unprivileged_policies names the policy {name!r}, which {vault} does not have: the "
                    "unprivileged identity would hold no rights, and log_protection and denied_access_logged would "
                    "say nothing about your users",
                    f"set unprivileged_policies {self.plan.settings_in} to the policies your ordinary users get "
                    "(bao policy list)",
                )

    def _token_lasts(self, data: Mapping[str, Any]) -> None:
        """Refuse a token that would stop working before the run ends: the scenario's tokens are its children and
        go with it, and clean-up needs it to remove the canaries and policies."""
        need = _TOKEN_MIN_SECONDS + 4 * self.admin.timeout
        if data.get("type") == "batch":
            raise ScenarioError("the token in VAULT_TOKEN is a batch token, and batch tokens cannot create the "
                                "scenario's tokens", "export a service token (bao token create -type=service)")
        ttl, uses = data.get("ttl"), data.get("num_uses")
        fix = f"export a token with at least {need:g} s to live and no use limit (bao token create -ttl=1h)"
        if isinstance(ttl, int) and not isinstance(ttl, bool) and 0 < ttl < need:
            raise ScenarioError(f"the token in VAULT_TOKEN expires in {ttl} s: a run that meets a slow vault can "
                                f"outlast that, and its clean-up needs the token to the end (allow {need:g} s)", fix)
        if isinstance(uses, int) and not isinstance(uses, bool) and uses > 0:
            # Vault and OpenBao refuse a use-limited token any child ("restricted use token cannot generate child
            # tokens"), whatever uses it has left: the scenario's tokens are its children (red team rt40, F7).
            raise ScenarioError(f"the token in VAULT_TOKEN is limited to a number of uses ({uses} left): the vault "
                                "lets such a token make no tokens, and the run makes its identities' tokens with it",
                                fix)

    _parent_gone = False  # the audit token stopped working mid-run (``_token_dead``)

    def token_gone(self, seen: str) -> ScenarioError:
        """The run's one line for an audit token that stopped working mid-run (``seen``: how it was found)."""
        return ScenarioError(
            f"the token in VAULT_TOKEN stopped working during the run (expired, used up or revoked): {seen}; the "
            "run's tokens, made from it, went with it or revoked themselves",
            "export a token that outlives the run (bao token create -ttl=1h), then run the audit again",
        )

    @property
    def parent_gone(self) -> bool:
        """Whether the audit token stopped working during the run (found by a step, or at clean-up)."""
        return self._parent_gone

    def _token_dead(self) -> bool:
        """Whether the audit token no longer works (expired, used up or revoked mid-run)."""
        return not self._alive("admin")

    def setup(self) -> None:
        policies = self.plan.policies()
        for spec in self._specs("setup"):
            if spec.name.startswith("write-policy-"):
                ident = spec.name[len("write-policy-"):]
                name = self.plan.policy_name(ident)
                self._policies_written.append(name)  # before the request leaves
                try:
                    self._call(spec, {"policy": policies[ident]})
                except ScenarioError:
                    if self._refused(spec):
                        self._policies_written.remove(name)
                    raise
                except AuditReadyError:  # no answer: the write may land after clean-up looked
                    self._unanswered.add(name)
                    raise
            elif spec.name.startswith("issue-token-"):
                ident = spec.name[len("issue-token-"):]
                self._issue_token(spec, ident)
            else:
                self._call(spec)

    def _issue_token(self, spec: ActionSpec, ident: str) -> None:
        if ident == "unprivileged":
            # The vault attaches its default policy to every token (an AppRole or userpass login too) unless the
            # role says token_no_default_policy, and it cannot be deleted: the identity carries it as ordinary users
            # do, whatever unprivileged_policies names (red team rt74 F2), unless the settings say they lack it.
            pols = list(self.plan.unprivileged_policies)
            bare = self.plan.no_default_policy
        else:  # the run's own identities hold their run policy alone
            pols = [self.plan.policy_name(ident)]
            bare = True
        body = {
            "policies": pols,
            "no_default_policy": bare,
            "display_name": self.plan.token_display(ident),
            "ttl": self.plan.token_ttl,
            "renewable": False,
            "meta": {"auditready_run": self.plan.run_id},
        }
        # Until its answer is read, the token may exist with an accessor nobody knows: teardown then searches
        # for it by display name and run id. The answer and its bookkeeping are one shielded step.
        with shielded():
            self._pending_tokens[ident] = _NO_ANSWER
            try:
                reply = self._call(spec, body)
            except ScenarioError:
                if self._refused(spec):
                    del self._pending_tokens[ident]  # no token was made
                else:  # a server error may come after the token was made (a response it could not audit)
                    self._pending_tokens[ident] = "its creation answered with a server error"
                raise
            auth = (reply.body or {}).get("auth") or {}
            token, accessor = auth.get("client_token"), auth.get("accessor")
            if not isinstance(token, str) or not isinstance(accessor, str):
                self._pending_tokens[ident] = "its creation answered without an accessor"
                raise ScenarioError("token creation returned no token", "check the token auth method")
            del self._pending_tokens[ident]
            self.plan.secrets[f"token:{ident}"] = token
            self._accessors[ident] = accessor
            held = auth.get("token_policies", auth.get("policies"))
            if ident == "unprivileged" and isinstance(held, list):  # what the findings name: the policies it holds
                self.facts.unprivileged_policies = [str(p) for p in held]
            self._clients[ident] = self.admin.with_token(token)
            self.ledger.identities[ident] = display_name_for(self.plan.token_display(ident))

    def main(self) -> None:
        for c in self.plan.canary_names:
            self.ledger.canaries[c] = self.plan.data_path(c)
        from .embedded import drill_for

        throwaway = self.ledger.target == "embedded" and drill_for(self.admin.url) is not None
        # Secrets that only some runs send are made only for those (each is hashed with sys/audit-hash below, and
        # a log_raw device would log each of those requests in clear).
        if throwaway:
            for name in _PASSWORDS:
                self.plan.secrets[name] = secrets.token_urlsafe(32)
        if any(s.name == HEADERS_ACTION for s in self._specs("main")):
            self._read_audited_headers()
            if self._probed_headers():
                self.plan.secrets[HEADER_SECRET] = secrets.token_urlsafe(32)
        for spec in self._specs("main"):
            if spec.throwaway_only and not throwaway:
                continue  # it would change a vault that is not ours to change: its items are skipped
            if spec.name == CAPABILITIES_ACTION:
                self._gather_facts(spec)
            elif spec.name == HEADERS_ACTION:
                self._headers_probe(spec)
            else:
                self._call(spec)  # a canary is claimed for clean-up before its create is sent
        if CAPABILITIES_ACTION not in self._done:
            self._gather_facts(None)
        self._drill()
        for spec in self._specs("cleanup"):
            self._call(spec)

    def _read_audited_headers(self) -> None:
        reply = self._admin_call("GET", "sys/config/auditing/request-headers")
        raw = (reply.data or reply.body or {}).get("headers") if reply.ok else None
        if reply.ok and isinstance(raw, dict):
            self.facts.audited_headers = {str(k).lower(): bool(isinstance(v, dict) and v.get("hmac"))
                                          for k, v in raw.items()}
        elif not reply.ok:
            self.facts.audited_headers_error = f"{reply.status}: {reply.error or 'no answer'}"
            if self._ns and reply.status == 403 and self._token_home:
                self.facts.audited_headers_error += (
                    f"; they are configured in the root namespace, and the audit token belongs to namespace "
                    f"{self._token_home}/: run with a token of the root namespace")

    def _probed_headers(self) -> list[str]:
        return probed_headers(self.facts.audited_headers)

    def _headers_probe(self, spec: ActionSpec) -> None:
        """Every request header the vault audits, sent with a canary value (the action's secret when there is
        any): a header audited without hmac = true then shows it in clear."""
        names = self._probed_headers()
        if not names or HEADER_SECRET not in self.plan.secrets:
            self._call(spec)
            return
        value = self.plan.secrets[HEADER_SECRET]
        self._call(dataclasses.replace(spec, secrets=(HEADER_SECRET,)), headers={n: value for n in names})

    def _drill(self) -> None:
        """The fail-closed drill, on the embedded target's own throw-away server only (a URL target, even one
        this process started, is never drilled): every file audit device made unable to write, a KV write sent,
        the devices restored, the write read back. Its requests are not scenario actions (the refused one has
        no entry by design); facts.drill names each step and what the vault answered."""
        from .embedded import drill_for

        drill: dict[str, Any] = {"ran": False, "steps": []}
        self.facts.drill = drill
        server = drill_for(self.admin.url) if self.ledger.target == "embedded" else None
        if server is None:
            drill["reason"] = "only the embedded target's throw-away server is drilled"
            return
        steps: list[dict[str, Any]] = drill["steps"]
        path = f"{self.plan.kv_mount}/data/{self.plan.base}/fail-closed-drill"
        drill["path"] = path
        self.plan.secrets[DRILL_SECRET] = secrets.token_urlsafe(32)
        before = {d: server.said(f"failed:{d}") for d in self.facts.devices}
        unaudited = server.said("unaudited")
        # From the break to the restore, Ctrl-C and SIGTERM wait (each step has a deadline): the devices are never
        # left unable to write behind an interrupted run, and the clean-up after it is allowed.
        with shielded():
            try:
                broken = server.break_audit()
            except AuditReadyError as exc:
                drill["reason"] = f"the audit devices could not be made to fail: {exc.cause}"
                return
            # The server says it reloads before every device has its new file: until each broken device has failed
            # to log a harmless probe, a write could still reach the old file and prove nothing.
            harmless = f"sys/mounts/{self.plan.kv_mount}"
            if not server.devices_failing(broken, lambda: self.admin.call("GET", harmless), DRILL_WAIT):
                try:
                    server.restore_audit()
                except AuditReadyError:
                    pass
                drill["reason"] = (f"the audit devices {', '.join(broken)} did not start failing within "
                                   f"{DRILL_WAIT:g} s of SIGHUP")
                return
            # what the server says from here on is about the drill's write, not the probes
            before = {d: server.said(f"failed:{d}") for d in self.facts.devices}
            unaudited = server.said("unaudited")
            drill["ran"] = True
            steps.append({"step": "break", "what": "audit devices " + ", ".join(broken) + " made unable to write "
                          f"({DRILL_HOW}) after SIGHUP, each seen failing to log a probe"})
            drill["broken"] = broken
            try:
                with shielded():
                    self._created.append(path)  # before the request leaves: it may be applied
                    reply = self.admin.call("POST", path, {"options": {"cas": 0},
                                                           "data": {"value": self.plan.secrets[DRILL_SECRET]}})
                steps.append({"step": "write", "what": f"POST {path} while no broken device can write",
                              "status": reply.status, "request_id": reply.request_id, "error": reply.error[:200]})
            except AuditReadyError as exc:
                steps.append({"step": "write", "what": f"POST {path}", "status": 0, "error": exc.cause[:200]})
            finally:
                try:
                    server.restore_audit()
                    steps.append({"step": "restore", "what": "real files back, SIGHUP, devices reopened"})
                except AuditReadyError as exc:
                    drill["restore_error"] = exc.cause
                    steps.append({"step": "restore", "what": "FAILED: " + exc.cause})
                # read once the server said it reopened its files: what it said about the write came before that
                drill["failed_devices"] = sorted(d for d, n in before.items() if server.said(f"failed:{d}") > n)
                drill["server_said_unaudited"] = server.said("unaudited") > unaudited
        if "restore_error" in drill:
            return
        back = self.admin.call("GET", path)
        steps.append({"step": "read-back", "what": f"GET {path} after the devices were restored",
                      "status": back.status, "request_id": back.request_id})
        probe = self.admin.call("GET", f"sys/mounts/{self.plan.kv_mount}")  # answers with a request id to look for
        steps.append({"step": "logged-again", "what": f"GET sys/mounts/{self.plan.kv_mount}, to be found in the log",
                      "status": probe.status, "request_id": probe.request_id})

    def _gather_facts(self, caps_spec: Optional[ActionSpec]) -> None:
        reply = self._admin_call("GET", "sys/audit")
        from .embedded import drill_for

        # Origin marks are this process's own writing, in the description of a server it started: a URL target's
        # descriptions are the vault's text, and never stand for what a device does (red team rt40, F16).
        ours = self.ledger.target == "embedded" and drill_for(self.admin.url) is not None
        if reply.ok:
            for path, dev in _device_listing(reply).items():
                if not isinstance(dev, dict):
                    continue
                opts = dev.get("options") or {}
                options = {k: str(opts[k]) for k in _DEVICE_OPTION_KEYS if k in opts}
                # where the entries go, judged by log_protection (red team rt40, F14/F15): an http device's uri as
                # scheme and host only (a token may sit in its user information, path or query)
                if "uri" in opts:
                    options["uri"] = uri_origin(str(opts["uri"]))
                if "address" in opts:
                    options["address"] = str(opts["address"])
                self.facts.devices[path.rstrip("/")] = {"type": dev.get("type", ""), "options": options}
                origin = origins_from_description(str(dev.get("description") or "")) if ours else {}
                if origin:  # booted from the user's configuration: where each option was declared
                    self.facts.devices[path.rstrip("/")]["origin"] = origin
        else:
            self.facts.devices_error = f"{reply.status}: {reply.error or 'no answer'}"
            if self._ns and reply.status == 403 and self._token_home:
                self.facts.devices_error += (f"; the audit devices are in the root namespace, and the audit token "
                                             f"belongs to namespace {self._token_home}/: run with a token of the root "
                                             f"namespace "
                                             f"(namespace = \"{self._ns}\" still keeps the canaries in {self._ns}/)")
        self.facts.device = self._resolve_device()
        self._gather_mount_tuning()
        clear, unknown = self._hash_risk()
        if clear:
            self.facts.hash_error = clear
        for dev in ([] if clear else [self.facts.device] if self.facts.device else list(self.facts.devices)):
            hashes: dict[str, str] = {}
            for name, value in self.plan.secrets.items():
                if unknown and name == "token:admin":
                    self.facts.hash_withheld = unknown
                    continue
                r = self._admin_call("POST", f"sys/audit-hash/{dev}", {"input": value})
                h = r.data.get("hash") or (r.body or {}).get("hash")
                if r.ok and isinstance(h, str):
                    hashes[name] = h
                elif not self.facts.hash_error:
                    self.facts.hash_error = f"sys/audit-hash/{dev} answered {r.status}: {r.error or 'no hash'}"
            self.facts.digests[dev] = hashes
        if caps_spec is not None:
            paths = ["sys/audit"] + [f"sys/audit/{d}" for d in self.facts.devices]
            # and whether it may have a device compute its HMAC of any value it guesses (red team rt102 F3)
            paths += [f"sys/audit-hash/{d}" for d in self.facts.devices]
            # and what would let it give itself those: writing a policy it holds, or tokens of any policy
            held = sorted({"default", *self.plan.unprivileged_policies} - {"root"})
            paths += [f"{where}/{p}" for p in held for where in ("sys/policies/acl", "sys/policy")]
            paths += ["auth/token/create", "auth/token/create-orphan"]
            from ..checks.log_protection import (
                ESCALATION_PROBES,
                auth_probes,
                kv_probes,
                named_probes,
                tune_probes,
            )

            paths += ESCALATION_PROBES  # a token role, an identity group or entity, an auth method of its own
            paths += auth_probes(self.facts.auth_types)  # a role or user of an auth method, carrying any policy
            paths += tune_probes(self.facts.mounts)  # a mount's tuning: which keys every device writes in clear
            # the same routes under the real names the identity's policies give and the audit token lists (red team
            # rt76 F1: a grant on auth/token/roles/ci passed, one on auth/token/roles/* failed), and the KV mounts'
            # secrets (rt76 F2)
            mine = [n for n in self.facts.unprivileged_policies if n != "root"]
            self._read_policies(mine)
            self._list_names()
            grants = [g for n in mine for g in self.facts.policy_grants.get(n, ())]
            paths += named_probes(grants, self.facts.auth_types, self.facts.names)
            paths += kv_probes(self.facts.kv_mounts, self.facts.policy_grants.get("default", ()) if "default" in mine
                               else ())
            paths = list(dict.fromkeys(paths))
            # asked where the audit devices are: in the root namespace (inside a namespace, sys/audit/<device>
            # names nothing)
            r = self._call(caps_spec, {"paths": paths}, root=True)
            if r.ok:
                for p in paths:
                    caps = r.data.get(p, (r.body or {}).get(p))
                    if isinstance(caps, list):
                        self.facts.capabilities[p] = [str(c) for c in caps]
            elif self._ns and r.status == 403:
                # The unprivileged token was made in the namespace, and a token of a child namespace is refused
                # every request in the root namespace, where the audit devices are. What the root namespace's own
                # ordinary tokens hold there (its default policy) is asked instead; never taken for "deny"
                # unasked (red team rt40, F8: a root default policy with sudo on sys/audit/* passed).
                why = self._capabilities_in_root(paths)
                if why:
                    self.facts.capabilities_error = why
                else:
                    self.facts.capabilities_note = (
                        f"a token of namespace {self._ns}/ is refused every request in the root namespace (sys/"
                        f"capabilities-self answered {r.status} there); asked instead for a token of the root "
                        "namespace with its default policy, as every login there gets")
            elif r.status != 403 or not self._capabilities_by_accessor(paths, r):
                self.facts.capabilities_error = f"{r.status}: {r.error or 'no answer'}"
            if self._ns:
                self._capabilities_in_namespace(caps_spec, [p for p in paths if not root_only(p)
                                                            and not p.startswith("sys/raw")])
            self._read_used_objects()

    def _capabilities_in_namespace(self, spec: ActionSpec, paths: list[str]) -> None:
        """In a namespace run, what the unprivileged identity holds on the namespace's own paths (its KV mounts and
        their tuning, its policies, auth methods, token roles and identities), asked of the identity there: the
        root namespace's answer (its default policy's, where the namespace's token is refused) says nothing of
        them, so a namespace default policy that reads every secret of its KV mount passed (red team rt95, F1). Only
        the audit devices' paths, and sys/raw, are the root namespace's; refused here too, the audit token asks for
        the identity's accessor (``_capabilities_by_accessor``)."""
        client = self._clients.get(spec.identity)
        if client is None or not paths:
            return
        with shielded():
            r = client.call(spec.method, spec.path, {"paths": paths})
        if r.ok:
            for p in paths:
                caps = r.data.get(p, (r.body or {}).get(p))
                if isinstance(caps, list):
                    self.facts.capabilities[p] = [str(c) for c in caps]
                else:  # not answered: never the root namespace's word for a path of this namespace
                    self.facts.capabilities.pop(p, None)
            said = f"the namespace's own paths (its mounts, policies, auth methods) were asked of the identity in " \
                   f"namespace {self._ns}/"
            self.facts.capabilities_note = "; ".join(x for x in (self.facts.capabilities_note, said) if x)
            return
        note = self.facts.capabilities_note
        if r.status == 403 and self._capabilities_by_accessor(paths, r):
            self.facts.capabilities_note = "; ".join(x for x in (note, f"in namespace {self._ns}/, "
                                                                 f"{self.facts.capabilities_note}") if x)
            return
        for p in paths:
            self.facts.capabilities.pop(p, None)
        if not self.facts.capabilities_error:
            self.facts.capabilities_error = (f"in namespace {self._ns}/, sys/capabilities-self answered {r.status}: "
                                             f"{r.error or 'no answer'}")

    def _read_policies(self, names: list[str], errors: Optional[dict[str, str]] = None) -> None:
        """The path stanzas of each policy of ``names`` not read yet (``facts.policy_grants``), read with the audit
        token (a policy the vault does not have, 404, grants nothing). Why one could not be read (or parsed) goes to
        ``errors`` by name, else the first to ``facts.policies_error``."""
        from .policies import policy_paths

        for name in names:
            if name in self.facts.policy_grants:
                continue
            r = self._admin_call("GET", f"sys/policies/acl/{name}")
            text = "" if r.status == 404 else r.data.get("policy") if r.ok else None
            why = f"sys/policies/acl/{name} answered {r.status}: {r.error or 'no policy text'}"
            if self._ns and r.status == 403:  # a policy of the root namespace names the namespace's paths so
                why += (f" (in namespace {self._ns}/: a policy of the root namespace grants it as "
                        f"{self._ns}/sys/policies/acl/*)")
            if isinstance(text, str):
                try:
                    self.facts.policy_grants[name] = [[p, list(c)] for p, c in policy_paths(text)]
                    continue
                except ValueError as exc:
                    why = f"the text of policy {name} could not be read as a policy: {exc}"
            if errors is not None:
                errors[name] = why
            elif not self.facts.policies_error:
                self.facts.policies_error = why

    def _list_names(self) -> None:
        """The real names the audit token may list (``log_protection.name_listings``: token roles, identity groups,
        AppRole roles, userpass users), a second source beside the policies' texts: each is asked by name. A listing
        refused or empty adds none."""
        from ..checks.log_protection import name_listings

        for folder in name_listings(self.facts.auth_types):
            r = self._admin_call("LIST", folder)
            keys = r.data.get("keys") if r.ok else None
            found = [k for k in (str(k).strip("/") for k in (keys if isinstance(keys, list) else ())) if k
                     and "/" not in k]
            if len(found) > _MOST_NAMES:
                self.facts.names_cut.append(f"{folder}: {len(found)}, {_MOST_NAMES} asked")
            if found:
                self.facts.names[folder] = found[:_MOST_NAMES]

    def _read_used_objects(self) -> None:
        """For each named entry the unprivileged identity may log in as or make tokens of
        (``log_protection.named_uses``: a role's SecretID, a user's password, a token role's tokens), the policies its
        logins get (token_policies, policies; a token role's allowed ones) and their texts, read with the audit token
        (``facts.use_objects``); and why the token roles could not be listed, where it may use any of them."""
        from ..checks.log_protection import PROBE, TOKEN_ROLES, named_uses, token_role_globs, token_role_policies

        known: Union[list[str], str, None] = None  # the vault's policy names, for a token role's globs
        for entry in named_uses(self.facts.capabilities, self.facts.auth_types):
            r = self._admin_call("GET", entry)
            if r.status == 404:  # no such entry: no login of it
                self.facts.use_objects[entry] = {"policies": []}
                continue
            if not r.ok:
                self.facts.use_objects[entry] = {"error": f"{entry} answered {r.status}: {r.error or 'no answer'}"}
                continue
            seen: dict[str, Any] = {}
            if entry.startswith(f"{TOKEN_ROLES}/"):  # red team rt79 F1
                if known is None and token_role_globs(r.data):
                    listed = self._admin_call("LIST", "sys/policies/acl")
                    keys = listed.data.get("keys") if listed.ok else None
                    known = ([str(k) for k in keys] if isinstance(keys, list) else
                             f"LIST sys/policies/acl answered {listed.status}: {listed.error or 'no names'}")
                seen["policies"], why = token_role_policies(r.data, () if known is None else known)
                if why:
                    seen["error"] = why
            else:
                pols: set[str] = set()
                for key in ("token_policies", "policies"):
                    v = r.data.get(key)
                    pols.update(str(p).strip() for p in (v if isinstance(v, list) else str(v or "").split(",")))
                seen["policies"] = sorted(p for p in pols if p)
            unread: dict[str, str] = {}
            self._read_policies([n for n in seen["policies"] if n not in ("root", "default")], unread)
            if unread:
                seen["unread"] = unread
            self.facts.use_objects[entry] = seen
        if set(self.facts.capabilities.get(f"auth/token/create/{PROBE}", ())) & {"root", "create", "update"} \
                and TOKEN_ROLES not in self.facts.names:  # tokens of any role, and none listed: none, or refused?
            r = self._admin_call("LIST", TOKEN_ROLES)
            if not r.ok and r.status != 404:
                self.facts.use_objects[TOKEN_ROLES] = {"error": f"LIST {TOKEN_ROLES} answered {r.status}: "
                                                                f"{r.error or 'no names'}"}

    def _capabilities_in_root(self, paths: list[str]) -> str:
        """Ask sys/capabilities-self in the root namespace as a token of its default policy that the audit token
        makes for it, revoked once it has answered, and made to last two uses (the request, and the endpoint's own
        lookup of it) and a minute at most, should the revocation fail. Returns "" when the capabilities were
        recorded, else why they could not be asked."""
        if self._token_home:
            return (f"the audit token belongs to namespace {self._token_home}/ and may not ask what a token of the "
                    "root namespace, where the audit devices are, holds there: run with a token of the root namespace")
        root = self.admin.in_root()
        made = root.call("POST", "auth/token/create", {
            "policies": ["default"], "display_name": self.plan.token_display("root-default"), "ttl": "60s",
            "num_uses": 2, "renewable": False, "meta": {"auditready_run": self.plan.run_id}})
        auth = ((made.body or {}).get("auth") or {}) if made.ok else {}
        token, accessor = auth.get("client_token"), auth.get("accessor")
        if not isinstance(token, str) or not isinstance(accessor, str):
            return (f"a token of namespace {self._ns}/ is refused every request in the root namespace, and a token "
                    f"of the root namespace's default policy could not be made to ask there (auth/token/create "
                    f"answered {made.status}: {made.error or 'no token'})")
        self.plan.secrets["token:root-default"] = token
        try:
            r = root.with_token(token).call("POST", "sys/capabilities-self", {"paths": paths})
        finally:
            with contextlib.suppress(AuditReadyError):
                root.call("POST", "auth/token/revoke-accessor", {"accessor": accessor})
        if not r.ok:
            return (f"a token of the root namespace's default policy may not call sys/capabilities-self there "
                    f"({r.status}: {r.error or 'no answer'})")
        for p in paths:
            caps = r.data.get(p, (r.body or {}).get(p))
            if isinstance(caps, list):
                self.facts.capabilities[p] = [str(c) for c in caps]
        return ""

    def _capabilities_by_accessor(self, paths: list[str], refused: Reply) -> bool:
        """A hardened default policy may not let a token call sys/capabilities-self: the audit token asks the same
        question of the unprivileged token's accessor (sys/capabilities-accessor, update), which answers for the
        same policies. Whether it could."""
        accessor = self._accessors.get("unprivileged")
        if not accessor:
            return False
        r = self._admin_call("POST", "sys/capabilities-accessor", {"accessor": accessor, "paths": paths})
        if not r.ok:
            return False
        for p in paths:
            caps = r.data.get(p, (r.body or {}).get(p))
            if isinstance(caps, list):
                self.facts.capabilities[p] = [str(c) for c in caps]
        self.facts.capabilities_note = (f"the unprivileged identity may not call sys/capabilities-self (answered "
                                        f"{refused.status}); the audit token asked sys/capabilities-accessor for its "
                                        "accessor instead")
        return True

    def _hash_risk(self) -> tuple[str, str]:
        """Whether asking sys/audit-hash would write what it is asked in clear into the log: a system mount tuned to
        log the request key ``input`` without HMAC (sys/audit-hash takes the value as ``input``; red team rt35 F5:
        the audit token the run was given, a root token there, landed in every device's log). Returns (why nothing
        is asked, why the audit token's own digest is not: the tuning could not be read)."""
        for mount, kinds in self.facts.non_hmac.items():
            if self.facts.mount_types.get(mount) == "system" and "input" in kinds.get("request", ()):
                return (f"not asked: mount {mount!r} is tuned to log the request key 'input' without HMAC "
                        "(audit_non_hmac_request_keys), so every device would write each value sys/audit-hash is "
                        "given, the audit token among them, in clear"), ""
        if self.facts.mounts_error:
            return "", (f"the mounts' tuning could not be read ({self.facts.mounts_error}), so sys/audit-hash might "
                        "log its input in clear: the audit token, which the run does not own, was not given to it")
        return "", ""

    def _gather_mount_tuning(self) -> None:
        """Mounts tuned to log some keys without HMAC (audit_non_hmac_request/response_keys): their values are
        logged in clear; and the auth methods mounted (their roles and users are escalation routes: checks.
        log_protection). Read with the audit token; a listing it may not read is noted (``mounts_error``). A run in a
        namespace reads the root namespace's mounts too, and every run every other namespace's: the audit devices in
        the root namespace write every namespace's requests, so a mount tuned so anywhere logs into the log judged
        (its name says which namespace)."""
        where = [(self.admin, "")] + ([(self.admin.in_root(), " (root namespace)")] if self._ns else [])
        where += [(self.admin.in_namespace(ns), f" (namespace {ns}/)") for ns in self._namespaces()
                  if ns != self._ns]
        for client, home in where:
            for prefix in ("sys/mounts", "sys/auth"):
                self._mount_listing(client, prefix, home)

    def _namespaces(self) -> list[str]:
        """Every namespace of the vault (OpenBao, Vault Enterprise), found from the root namespace down: the
        devices write each one's requests, so each one's mounts are judged (red team rt40, F3: a child namespace's
        KV mount tuned to log secrets in clear passed). A vault without namespaces answers 404; a listing refused
        is ``mounts_error`` (a mount there cannot be ruled out)."""
        found: list[str] = []
        todo, cut = [""], False
        while todo and not cut:
            parent = todo.pop(0)
            reply = self.admin.in_namespace(parent).call("LIST", "sys/namespaces")
            if reply.status == 404:
                continue
            if not reply.ok:
                if not self.facts.mounts_error:
                    self.facts.mounts_error = (f"{parent + '/' if parent else ''}sys/namespaces answered "
                                               f"{reply.status}: {reply.error or 'no answer'}; each namespace's "
                                               "mounts are listed too, as the audit devices write its requests")
                continue
            keys = (reply.data or reply.body or {}).get("keys")
            for key in keys if isinstance(keys, list) else []:
                child = f"{parent}/{str(key).strip('/')}" if parent else str(key).strip("/")
                if child and child not in found:
                    cut = len(found) >= _MOST_NAMESPACES
                    if cut:
                        break
                    found.append(child)
                    todo.append(child)
        if cut and not self.facts.mounts_error:  # never judged for what was not read
            self.facts.mounts_error = (f"the vault has more than {_MOST_NAMESPACES} namespaces, and the run lists "
                                       f"the mounts of {_MOST_NAMESPACES} (two requests each)")
        return found

    def _mount_listing(self, client: VaultClient, prefix: str, home: str) -> None:
        """One listing of ``_gather_mount_tuning`` (in ``client``'s namespace); ``home`` is appended to the names of
        another namespace's mounts (whose auth methods are no escalation route of the run's unprivileged identity:
        not recorded)."""
        reply = client.call("GET", prefix)
        if not reply.ok and not self.facts.mounts_error:
            self.facts.mounts_error = f"{prefix}{home} answered {reply.status}: {reply.error or 'no answer'}"
        raw = (reply.data or reply.body or {}) if reply.ok else {}
        for mount, info in raw.items():
            conf = info.get("config") if isinstance(info, dict) else None
            if not isinstance(conf, dict):
                continue
            path = mount if prefix == "sys/mounts" else f"auth/{mount}"
            name = path + home
            if not home:
                self.facts.mounts.append(name)
            if prefix == "sys/auth" and isinstance(info.get("type"), str) and not home:
                self.facts.auth_types[name] = info["type"]
            if prefix == "sys/mounts" and info.get("type") in ("kv", "generic") and not home:
                version = str((info.get("options") or {}).get("version") or "1")
                self.facts.kv_mounts[name] = "2" if info.get("type") == "kv" and version == "2" else "1"
            for kind in ("request", "response"):
                keys = conf.get(f"audit_non_hmac_{kind}_keys")
                if isinstance(keys, list) and keys:
                    self.facts.non_hmac.setdefault(name, {})[kind] = sorted(str(k) for k in keys)
                    self.facts.mount_types[name] = str(info.get("type", ""))
                    self.facts.mount_places[name] = [client.namespace, path]
                    if info.get("type") in ("kv", "generic"):  # KV v2 sends a secret's fields in a map: data
                        version = str((info.get("options") or {}).get("version") or "1")
                        self.facts.kv_versions[name] = "2" if info.get("type") == "kv" and version == "2" else "1"

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

    def _mark_device_files(self, listing: Reply) -> None:
        """Where each file device's file stands before the run's first step (its size and identity), so that
        ``_measure_device_files`` tells, once the run is over, whether it received the run's entries (red team rt102
        F2: a second device on a full disk wrote none, and the report said it records). A path is the vault's: it
        names a file here only on the vault's own host, which the measure tells (``local_files``)."""
        from ..checks.fail_closed import keeps_nothing

        since = time.time_ns()
        for path, dev in (_device_listing(listing) if listing.ok else {}).items():
            opts = dev.get("options") if isinstance(dev, dict) else None
            fp = str((opts or {}).get("file_path", "")) if isinstance(opts, dict) else ""
            if dev.get("type") != "file" or not fp or keeps_nothing(fp):
                continue
            mark: dict[str, Any] = {"file_path": fp, "since_ns": since}
            if not os.path.isabs(fp):
                mark["unread"] = "its file_path is relative to the vault's working folder, unknown here"
            else:
                try:
                    st = os.stat(fp)
                except OSError as exc:
                    mark["unread"] = f"there is no file at that path here ({exc.strerror or exc})"
                else:
                    if stat.S_ISREG(st.st_mode):
                        mark.update(size=st.st_size, ino=st.st_ino, dev=st.st_dev)
                    else:
                        mark["unread"] = "its path leads to no regular file here"
            self.facts.device_files[path.rstrip("/")] = mark

    def local_files(self) -> str:
        """How the run knows that the audit devices' file paths name files of this host, "" when it does not: the
        embedded target's own server, or the log the run reads being the file of the device it audits (the same
        file, by its identity). A file found elsewhere at a device's path says nothing of that device."""
        from .embedded import drill_for

        if self.ledger.target == "embedded" and drill_for(self.admin.url) is not None:
            return "the vault is the embedded target's own server"
        read = self.facts.devices.get(self.facts.device, {})
        fp = str(read.get("options", {}).get("file_path", "")) if read.get("type") == "file" else ""
        if fp and self._log_path and os.path.isabs(fp):
            with contextlib.suppress(OSError):
                if os.path.samefile(fp, self._log_path):
                    return f"the log the run reads is the file of device {self.facts.device!r}"
        return ""

    def _measure_device_files(self) -> None:
        """For each file device marked at preflight (``_mark_device_files``): how many of the run's requests (those
        answered with a request id) its file received since, read from where the file stood then (from its start
        when it was replaced meanwhile: a rotation), at most ``fail_closed.DEVICE_FILE_BYTES``. Never its content:
        only the request ids it holds are counted."""
        if not self.facts.device_files:
            return
        self.facts.device_files_local = self.local_files()
        actions = [(a.sent_ns, a.request_id) for a in self.ledger.actions if a.request_id]
        for mark in self.facts.device_files.values():
            if "unread" in mark or "size" not in mark:
                continue
            want = {rid.lower() for sent, rid in actions if sent >= int(mark["since_ns"])}
            mark["run_requests"] = len(want)
            if want:
                _count_ids(mark, want)

    def teardown(self) -> None:
        """Always runs, with SIGINT/SIGTERM held off until it is done. Removes canaries, tokens and policies,
        records the planned teardown steps, then asks the vault what is left: facts.residue names it, and
        ``verified`` says the answer is complete."""
        with shielded():
            self.verified = False
            for path in self._created:
                meta = path.replace(f"{self.plan.kv_mount}/data/", f"{self.plan.kv_mount}/metadata/", 1)
                self._quiet("DELETE", meta)
            self._find_pending_tokens()
            if not self._parent_gone and self._token_dead():  # gone after the last step that needed it
                self._parent_gone = True
            if self._parent_gone:
                self._revoke_selves()
            specs = {s.name: s for s in self._specs("teardown")}
            for ident, accessor in list(self._accessors.items()):
                spec = specs.get(f"revoke-token-{ident}")
                if spec is not None:
                    self._record_quiet(spec, {"accessor": accessor})
                else:
                    self._quiet("POST", "auth/token/revoke-accessor", {"accessor": accessor})
            if not self._parent_gone:
                self._revoke_refused()
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
            self.verified = True

    def _revoke_refused(self) -> None:
        """Each token whose revocation by accessor the vault did not confirm (refused: the audit token may lack
        update on auth/token/revoke-accessor) revokes itself (auth/token/revoke-self: the run's own policies grant
        it, and the default policy does). What each answered is kept for the residue (``_revoke_said``)."""
        for ident, accessor in self._accessors.items():
            client = self._clients.get(ident)
            if f"accessor {accessor}" in self._confirmed or client is None or self._failures >= 2:
                continue
            tried = self.ledger.by_name(f"revoke-token-{ident}")
            said = (f"auth/token/revoke-accessor answered {tried.status}" if tried is not None and tried.status
                    else "its revocation by accessor was not confirmed")
            try:
                r = client.call("POST", "auth/token/revoke-self")
            except AuditReadyError:
                self._revoke_said[ident] = f"{said}, and its own revoke-self got no answer"
                continue
            if r.ok:
                self._confirmed.add(f"accessor {accessor}")
            self._revoke_said[ident] = f"{said}, and its own revoke-self {r.status}"

    def _revoke_selves(self) -> None:
        """The audit token stopped working (``_parent_gone``): the tokens it made went with it, unless it was
        revoked alone (-mode=orphan). Each identity revokes its own token (revoke-self: every token may)."""
        for ident, client in self._clients.items():
            if ident != "admin":
                with contextlib.suppress(AuditReadyError):
                    client.call("POST", "auth/token/revoke-self")

    def _alive(self, ident: str) -> bool:
        """Whether the identity's token still works: its own lookup answers (the run's policies grant it; the
        unprivileged identity's only with the default policy). No answer, or a token that may not look itself up:
        it may."""
        client = self._clients.get(ident)
        if client is None:
            return False
        if ident == "unprivileged" and self.plan.no_default_policy:
            return True  # refused or gone: a 403 could not tell
        try:
            return client.call("GET", "auth/token/lookup-self").status != 403
        except AuditReadyError:
            return True

    def _find_pending_tokens(self) -> None:
        """Find the tokens whose creation got no answer: among the vault's token accessors, the one with the
        identity's display name and this run's id in its metadata. Needs LIST (sudo) on auth/token/accessors; a
        token not searched for stays pending and is named in facts.residue."""
        if not self._pending_tokens:
            return
        listing = self._quiet("LIST", "auth/token/accessors")
        keys = listing.data.get("keys") if listing is not None and listing.ok else None
        if not isinstance(keys, list):
            if listing is not None and listing.status == 403:
                self._token_search = "listing them needs sudo on auth/token/accessors"
            return
        wanted = {display_name_for(self.plan.token_display(i)): i for i in self._pending_tokens}
        give_up = time.monotonic() + _TOKEN_SEARCH_SECONDS
        unread = 0
        for accessor in keys:
            if not self._pending_tokens:
                return
            if time.monotonic() > give_up:
                self._token_search = f"the search ran out of its {_TOKEN_SEARCH_SECONDS:g} s"
                return
            r = self._quiet("POST", "auth/token/lookup-accessor", {"accessor": str(accessor)})
            if r is None:
                return
            if not r.ok:  # gone meanwhile (400), or not ours to read: it might have been the one
                unread += r.status != 400
                continue
            meta = r.data.get("meta")
            ident = wanted.get(str(r.data.get("display_name", "")))
            if ident in self._pending_tokens and isinstance(meta, dict) and meta.get("auditready_run") == (
                self.plan.run_id
            ):
                del self._pending_tokens[ident]
                self._accessors[ident] = str(accessor)
        if unread:
            self._token_search = f"{unread} of them could not be looked up"
            return
        # every accessor was looked at: a token not found was not made, unless its create got no answer, which may
        # still land (held by a proxy or a queue); that one is named as one that may be made yet
        for ident, why in list(self._pending_tokens.items()):
            if why != _NO_ANSWER:
                del self._pending_tokens[ident]
        self._token_search = ""  # searched: the tokens still pending may yet be made

    def _note_removal(self, method: str, path: str, body: Optional[Mapping[str, Any]],
                      reply: Optional[Reply]) -> None:
        """Remember a removal the vault confirmed (2xx): a KV metadata delete, an accessor's revocation, a policy's
        deletion. Deleting or revoking what is already gone answers 2xx too: either way it is gone."""
        if reply is None or not reply.ok:
            return
        p, m = path.strip("/"), self.plan.kv_mount
        if method == "DELETE" and p.startswith(f"{m}/metadata/"):
            self._confirmed.add("canary " + p.replace(f"{m}/metadata/", f"{m}/data/", 1))
        elif method == "POST" and p == "auth/token/revoke-accessor" and body and body.get("accessor"):
            self._confirmed.add(f"accessor {body['accessor']}")
        elif method == "DELETE" and p.startswith("sys/policies/acl/"):
            self._confirmed.add("policy " + p[len("sys/policies/acl/"):])

    def _left(self, reply: Optional[Reply], gone: bool, confirmed: str) -> bool:
        """Whether a thing of the run is still in the vault: the check-up's answer where it tells (``gone``, or
        200: there), else (refused, no answer) whether its removal was confirmed. A check-up the token may not
        make never reads as "removed" by itself."""
        if reply is not None and gone:
            return False
        if reply is not None and reply.ok:
            return True
        return confirmed not in self._confirmed

    def _shown(self, ident: str) -> str:
        """The display name the vault shows for ``ident``'s token (bao token lookup, auth/token/lookup-accessor):
        the token store prefixes "token-" to the one the run gave (``display_name_for``)."""
        return display_name_for(self.plan.token_display(ident))

    def _verify_clean(self) -> None:
        self.facts.residue = []
        for path in self._created:
            meta = path.replace(f"{self.plan.kv_mount}/data/", f"{self.plan.kv_mount}/metadata/", 1)
            r = self._quiet("GET", meta)
            if self._left(r, r is not None and r.status == 404, f"canary {path}"):
                self.facts.residue.append(f"canary {path}")
        for ident in self._accessors if self._parent_gone else ():
            # (the audit token expired or was revoked: its children went with it, unless it was revoked alone,
            # -mode=orphan: each token still working is named, asked with itself)
            if self._alive(ident):
                self.facts.residue.append(
                    f"token of {ident} (display name {self._shown(ident)}: the audit token stopped "
                    f"working and this one did not, as a token revoked with -mode=orphan leaves its children; it "
                    f"expires after {self.plan.token_ttl})")
        for ident, accessor in ({} if self._parent_gone else self._accessors).items():
            r = self._quiet("POST", "auth/token/lookup-accessor", {"accessor": accessor})
            # 400 "invalid accessor": no token has it any more
            if self._left(r, r is not None and r.status == 400, f"accessor {accessor}"):
                said = self._revoke_said.get(ident, "")
                self.facts.residue.append(f"token of {ident} (display name {self._shown(ident)}) ("
                                          + (f"{said}; " if said else "")
                                          + f"it expires after its ttl of {self.plan.token_ttl})")
        for ident, why in ({} if self._parent_gone else self._pending_tokens).items():
            searched = (f"the vault's token accessors could not be searched as {self._token_search}"
                        if self._token_search else "it was not among the vault's tokens when clean-up looked, and "
                        "a create that got no answer may land later")
            self.facts.residue.append(
                f"token of {ident} if it was made (display name {self._shown(ident)}: {why} and "
                f"{searched}; it expires after {self.plan.token_ttl})"
            )
        for name in self._policies_written:
            r = self._quiet("GET", f"sys/policies/acl/{name}")
            if self._left(r, r is not None and r.status == 404, f"policy {name}"):
                self.facts.residue.append(f"policy {name}")
            elif name in self._unanswered:
                self.facts.residue.append(f"policy {name} if its write lands (it got no answer, and was not there "
                                          "when clean-up looked)")

    def interrupted(self) -> Interrupted:
        """The error for a run that SIGINT/SIGTERM ended, once teardown has run: true about what is left."""
        if not self.touched:
            return Interrupted("interrupted before the run wrote anything to the vault")
        if self.verified and not self.facts.residue:
            return Interrupted("interrupted; the run's canaries, tokens and policies were removed")
        left = self.facts.residue if self.verified else [
            "the run's canaries, tokens and policies (clean-up did not run to its end)"
        ]
        if self.ledger.target == "embedded":  # the throw-away server goes, and everything in it, whatever was left
            return Interrupted(f"interrupted; clean-up could not remove: {', '.join(left)} from the embedded "
                               "throw-away OpenBao, which is stopped and deleted with everything in it")
        return Interrupted(f"interrupted; clean-up could NOT remove: {', '.join(left)}",
                           "remove them by hand (bao kv metadata delete, bao policy delete; a token by its "
                           "accessor: bao list auth/token/accessors, bao token lookup -accessor A shows its display "
                           "name, bao token revoke -accessor A)")

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
        self._note_removal(method, path, body, reply)
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
        with contextlib.suppress(OSError, ValueError):  # a file that cannot be read is said where it is marked
            self._measure_device_files()
        self.facts.client_addresses = self.admin.local_addresses
        self.admin.close()  # the identities share its connection pool


_REQUEST_ID = re.compile(UUID.encode())


def _count_ids(mark: dict[str, Any], want: set[str]) -> None:
    """Fill ``mark`` (``Runner._mark_device_files``) with what its file gained since: "grew" (bytes), "found" (how
    many of ``want``, the run's request ids, it holds), "rotated" (another file is at the path now, read from its
    start) with "rotated_to" (where the file marked went, found by its identity in the same folder, read from the
    mark on), "cut" (more than ``fail_closed.DEVICE_FILE_BYTES`` gained: read that far), or "unread" (why it could
    not be read). A file that did not grow is told by its size alone, without reading it."""
    fp = str(mark["file_path"])
    try:
        st = os.stat(fp)
    except OSError as exc:
        mark["unread"] = f"its file could not be found again at the run's end ({exc.strerror or exc})"
        return
    same = (st.st_ino, st.st_dev) == (mark["ino"], mark["dev"])
    start = int(mark["size"]) if same and st.st_size >= int(mark["size"]) else 0
    parts = [(fp, start)]
    if not same:  # rotated during the run: the entries before the rotation are in the file marked, if it is near
        mark["rotated"] = True
        old = _same_file(os.path.dirname(fp), int(mark["ino"]), int(mark["dev"]))
        if old is not None:
            mark["rotated_to"] = old
            parts.append((old, int(mark["size"])))
    mark["grew"] = st.st_size - start
    if mark["grew"] == 0 and same:
        mark["found"] = 0
        return
    from ..checks.fail_closed import DEVICE_FILE_BYTES

    found: set[str] = set()
    left = DEVICE_FILE_BYTES
    for path, begin in parts:
        try:
            left = _find_ids(path, begin, want, found, left)
        except OSError as exc:
            mark["unread"] = f"its file could not be read here ({exc.strerror or exc})"
            return
    mark["cut"] = left <= 0 and len(found) < len(want)
    mark["found"] = len(found)


def _same_file(folder: str, ino: int, dev: int) -> Optional[str]:
    """The file of ``folder`` (its first 1000 entries) that is the file (``ino``, ``dev``), if one is."""
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        for n, entry in enumerate(entries):
            if n >= 1000:
                break
            with contextlib.suppress(OSError):
                st = entry.stat(follow_symlinks=False)
                if (st.st_ino, st.st_dev) == (ino, dev):
                    return entry.path
    return None


def _find_ids(path: str, begin: int, want: set[str], found: set[str], left: int) -> int:
    """Add to ``found`` the ids of ``want`` that ``path`` holds from byte ``begin`` on, reading at most ``left``
    bytes; returns what is left of ``left``."""
    tail = b""
    with open(path, "rb") as f:
        f.seek(begin)
        while left > 0 and len(found) < len(want):
            chunk = f.read(min(1 << 20, left))
            if not chunk:
                break
            left -= len(chunk)
            data = tail + chunk
            found.update(rid for rid in (m.decode().lower() for m in _REQUEST_ID.findall(data)) if rid in want)
            tail = data[-35:]  # an id cut at the chunk's end is whole in the next one
    return left


# The least a token must have left to live (plus four request timeouts): a run takes about a second, but its
# clean-up needs the token whatever happens before it.
_TOKEN_MIN_SECONDS = 30.0
# How long teardown looks through the vault's token accessors for a token whose creation got no answer.
_TOKEN_SEARCH_SECONDS = 30.0

_POLICY_HINT = "examples/auditready-policy.hcl grants every capability the run needs"
# What the audit token needs for each admin step, to name it when the vault says no.
_ADMIN_NEEDS = {
    "write-policy-": "create and update on sys/policies/acl/auditready-*",
    "issue-token-": "update and sudo on auth/token/create (sudo lets the tokens carry the run's own policies)",
    "revoke-token-": "update on auth/token/revoke-accessor",
    "delete-policy-": "delete on sys/policies/acl/auditready-*",
}


def _device_listing(reply: Reply) -> dict[str, Any]:
    """The audit devices of a ``GET sys/audit`` answer, by path: under "data" (empty when there is none); an older
    answer lists them at the top level too, beside the response envelope's own keys, which are no devices."""
    body = reply.body or {}
    data = body.get("data")
    if isinstance(data, dict):
        return {k: v for k, v in data.items() if isinstance(v, dict)}
    return {k: v for k, v in body.items() if isinstance(v, dict) and "type" in v and k not in _ENVELOPE}


def _remedy(spec: ActionSpec, plan: Plan, status: int = 403, namespace: str = "") -> str:
    """What to do about an allowed step the vault refused: a policy for a 4xx, but not for what no policy causes.
    In a ``namespace``, a policy of the root namespace grants its paths only under its prefix: the paths are named
    so."""
    if status == 429:
        return ("a rate limit quota of the vault refused it: exempt the audit's token or path from the quota, or "
                "raise it (bao list sys/quotas/rate-limit), then run the audit again")
    if status >= 500 or status in (408, 412):
        return ("the vault, or a proxy or load balancer in front of it, failed the request: check its health and "
                "logs (and the hop's upstream timeouts), then run the audit again")
    if spec.identity == "admin":
        need = next((v for k, v in _ADMIN_NEEDS.items() if spec.name.startswith(k)), f"access to {spec.path}")
        if namespace:  # "create and update on sys/policies/acl/..." -> ".. on team1/sys/policies/acl/..."
            ns = namespace.strip("/") + "/"
            need = re.sub(r"\b(?=(?:sys|auth|identity)/)", ns, need)
            return (f"the token in VAULT_TOKEN needs {need} (the run is in namespace {ns}: a policy of the root "
                    f"namespace grants its paths under {ns}, one of the namespace grants them as written); "
                    f"{_POLICY_HINT} (written for the root namespace: in a root-namespace policy, give its paths of "
                    f"the namespace the {ns} prefix)")
        return f"the token in VAULT_TOKEN needs {need}; {_POLICY_HINT}"
    if spec.identity in ("writer", "reader"):
        return (
            f"the {spec.identity} identity's policy did not take effect on {spec.path}; check that "
            f"{plan.kv_mount}/ is a KV v2 mount and that no Sentinel/EGP policy blocks it"
        )
    return f"check the step's path and the policies {', '.join(plan.unprivileged_policies)}"
