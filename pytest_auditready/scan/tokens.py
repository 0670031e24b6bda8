"""Credentials of a documented shape that detect-secrets has no detector for, found anywhere in a value.

detect-secrets judges a quoted run by its entropy only when the whole string is of one charset, so a token inside
prose (an error message, a description, a note) is found only by a detector of the token's own format; and its
format detectors miss a vault's tokens and several vendors' newer ones. Each rule here is such a format, with a
distinctive prefix or shape (so that no identifier, word or digest matches it by chance), plus what any text can
carry: the two HTTP credentials (a Bearer token, Basic credentials: ``user:password`` in base64), a URL's password
and a credential assigned to a key that names one ("Password=...;", "PGPASSWORD=..."). The rules run
on a whole value, a request path too (whose segments the other detectors see one by one, so a URL with a password
or a webhook in it would be cut apart). ``PREFILTERS`` hold a Hyperscan superset of each rule: literals and
bounded repeats only (Vectorscan 5.4.12 misses matches of alternations with unbounded repeats, see
scan.known.prefilters).
"""

from __future__ import annotations

import base64
import binascii
import bisect
import re
import threading
from dataclasses import dataclass
from typing import Callable, Iterator, Optional

_B = r"(?<![A-Za-z0-9_])"  # no word character before
_E = r"(?![A-Za-z0-9_])"  # nor after


def _basic(m: re.Match[str]) -> bool:
    """The base64 after "Basic" decodes to printable ``user:password`` with a password (RFC 7617)."""
    text = m.group(1)
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return False
    _user, colon, password = raw.partition(":")
    return bool(colon and password.strip()) and raw.isprintable() and not placeholder(password)


def _bearer(m: re.Match[str]) -> bool:
    """A bearer credential: a token68 (RFC 9110 11.2) of letters and digits both, not a placeholder."""
    token = m.group(1)
    return (any(c.isdigit() for c in token) and any(c.isalpha() for c in token)
            and not token.lower().startswith(("hmac-sha256", "redacted", "xxxx", "<")))


# A password that only stands for one: a template's placeholder (Vault's database engine writes connection URLs as
# "postgresql://{{username}}:{{password}}@host/db"; Go templates "{{.Password}}", shells "${PASSWORD}", printf "%s",
# "<password>" in documentation) or a mask ("****", "[REDACTED]", "(hidden)").
_PLACEHOLDER_RE = re.compile(r"\{\{[^{}]*\}\}|\$\{[^{}]*\}|\$[A-Z_][A-Z0-9_]*|<[^<>]*>|%[sv]|\*+|[xX]{3,}"
                             r"|[\[(]?(?i:redacted|hidden|masked)[\])]?")


def placeholder(password: str) -> bool:
    """``password`` (as found in a URL or a Basic credential) is a placeholder or a mask, not a password."""
    return _PLACEHOLDER_RE.fullmatch(password) is not None


def _userinfo(m: re.Match[str]) -> bool:
    """A URL's user information holds a password that is no placeholder."""
    return not placeholder(m.group(1))


def _mixed(m: re.Match[str]) -> bool:
    """Random letters hold both cases (a long identifier of one case is a name, not a token)."""
    s = m.group(0)
    return any(c.islower() for c in s[3:]) and any(c.isupper() for c in s[3:])


# The words a key that holds a credential ends in: detect-secrets' keyword detector's (its DENYLIST: "password",
# "secret", "api_key", "db_pass"...), plus "token" and an access or shared access key (Azure's AccountKey=,
# SharedAccessKey=). Their words may be joined by ".", as Hadoop's and Spark's properties are
# ("spark.hadoop.fs.s3a.secret.key=", red team rt50 F6).
CREDENTIAL_KEY = (r"(?:passw(?:or)?d|pwd|secret|token|(?:api|auth|service|account|db|database|priv|private|client"
                   r"|access|secret|shared[_.-]?access)[_.-]?key|(?:db|database|key)[_.-]?pass)")
# What follows "password=" (and its kin) in text without standing for a password: a value of no length, a word
# for none, or a reference to one kept elsewhere (a file, an environment variable).
_NOT_ASSIGNED = frozenset({"true", "false", "null", "none", "nil", "undefined", "empty", "required", "optional",
                           "unset", "yes", "no", "on", "off", "enabled", "disabled", "auto", "default", "redacted",
                           "hidden", "masked", "removed", "secret", "password", "token", "bearer", "jwt"})
# Keys that end in "token" but name a place in a listing or a stream, not a credential (AWS nextToken and
# PaginationToken, CloudWatch Logs' nextForwardToken, nextBackwardToken and sequenceToken, Google pageToken and
# syncToken, Azure's $skipToken, Microsoft Graph's deltaToken), a request's idempotence or change token (EC2's
# clientToken, AWS's clientRequestToken, WAF Classic's ChangeToken), a KMS grant token (the KMS documentation:
# "not secret"), and keys that name a Kubernetes Secret to use, not its content (Helm charts' existingSecret).
_NOT_A_CREDENTIAL = ("nexttoken", "next_token", "next-token", "pagetoken", "page_token", "page-token",
                     "paginationtoken", "pagination_token", "startingtoken", "starting_token",
                     "continuationtoken", "continuation_token", "continuation-token", "synctoken", "sync_token",
                     "resumetoken", "resume_token", "forwardtoken", "backwardtoken", "sequencetoken",
                     "sequence_token", "skiptoken", "skip_token", "deltatoken", "delta_token",
                     "clienttoken", "clientrequesttoken", "idempotencytoken", "changetoken", "granttoken",
                     "existingsecret", "existing_secret", "existing-secret")


def credential(key: str, value: str) -> bool:
    """``value`` under ``key`` is a credential: four or more characters that are no placeholder, mask, HMAC digest,
    word for nothing or reference (a file, a variable, an encrypted value such as sops' ENC[...], a secret manager's
    path), under a key that names no paging cursor, idempotency token or Secret to use (_NOT_A_CREDENTIAL)."""
    # (a JSON document read as YAML's "key: value" lines: "true," is the literal and its comma; red team rt92 F7)
    low = value.lower().rstrip(",;")
    return (len(value) >= 4 and not placeholder(value) and low not in _NOT_ASSIGNED
            and not low.startswith(("hmac-sha256:", "@", "$", "file:", "env:", "/", "enc[", "vault:", "ref+"))
            and any(c.isalnum() for c in value)
            and not key.strip().strip("\"'").lower().endswith(_NOT_A_CREDENTIAL))


def _value(m: re.Match[str]) -> str:
    """The credential a rule's match names: its first group that took part (the quoted or the bare value), or the
    whole match where the rule has no group."""
    return next((g for g in m.groups() if g is not None), m.group(0))


def _random_body(text: str) -> bool:
    """Whether ``text`` mixes capitals, small letters and digits, as a random base62 token does (24 characters lack
    one of the three about once in 60)."""
    return any(c.isupper() for c in text) and any(c.islower() for c in text) and any(c.isdigit() for c in text)


def _random_base62(text: str) -> bool:
    """Whether ``text`` reads as random base62: capitals, small letters and digits (``_random_body``), or, without a
    digit (24 random characters have none about once in 70), six or more each of capitals and small letters, which
    an identifier's camel case seldom has (random ones lack them about once in 10,000)."""
    if _random_body(text):
        return True
    return sum(c.isupper() for c in text) >= 6 and sum(c.islower() for c in text) >= 6


def _random_key(text: str) -> bool:
    """``text`` is the base64 of 16 to 64 bytes that are not printable text (a key, not an encoded word)."""
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    return 16 <= len(raw) <= 64 and sum(32 <= b < 127 for b in raw) < len(raw) * 0.9


def _assigned(m: re.Match[str]) -> bool:
    """``KEY=value`` (the value quoted or not) in text assigns a credential (``credential``)."""
    return credential(m.group(0).split("=", 1)[0], _value(m))


def _element(m: re.Match[str]) -> bool:
    """``<key>value</`` in XML holds a credential (``credential``; the key is the element's name)."""
    return credential(m.group(0)[1:].split(">", 1)[0].split()[0].rsplit(":", 1)[-1], _value(m))


def _keyed(m: re.Match[str]) -> bool:
    """``key="KEY" value="value"`` (or ``key="KEY">value<``) in XML holds a credential (``credential``)."""
    return credential(re.split(r"[\"']", m.group(0), maxsplit=2)[1], _value(m))


def _mapped(m: re.Match[str]) -> bool:
    """``key: value`` on a line of a YAML or properties text maps a credential (``credential``)."""
    return credential(m.group(0).split(":", 1)[0].lstrip(" \t-"), _value(m))


@dataclass(frozen=True)
class TokenRule:
    kind: str  # as findings name it
    pattern: re.Pattern[str]
    check: Optional[Callable[[re.Match[str]], bool]] = None  # a match counts only if this holds
    # a cheap search without which ``pattern`` cannot match: a pattern that may start at every word of a long value
    # and scan on from each is not run on a value without it (red team rt32, F11: seconds a megabyte)
    needle: Optional[re.Pattern[str]] = None


RULES: tuple[TokenRule, ...] = (
    # Vault / OpenBao tokens: service (hvs.), batch (hvb.), recovery (hvr.), the legacy s. (24 base62 characters,
    # optionally a namespace suffix) and b. forms. The hv prefixes may follow a dash: the vault logs a token
    # created with -display-name=<name> as "token-<name>" (the one-letter legacy forms may not: "x-s." is a word's).
    TokenRule("Vault Token", re.compile(
        r"(?:(?<![A-Za-z0-9_.])hv[sbr]\.[A-Za-z0-9_-]{24,}|(?<![A-Za-z0-9_.-])(?:s\.[A-Za-z0-9]{24}"
        r"(?:\.[A-Za-z0-9]{5})?|b\.[A-Za-z0-9_-]{24,}))(?![A-Za-z0-9_-])")),
    # The same forms joined to a word of a name ("deploy_s.<24>", "vault_hvs.<...>", "leaked-s.<24>", "s.<24>-old": a
    # KV path, a file or an object named after the token it holds; red team rt60, F3): counted only with a random
    # body (_random_base62: capitals, small letters and digits, or six and more of each letter case without a digit,
    # as one token in about 60 has), which a word after "-s." or "_b." has not. (An hv form after "-" is the rule
    # above's.)
    TokenRule("Vault Token", re.compile(
        r"(?<=[A-Za-z0-9][_.])hv[sbr]\.[A-Za-z0-9_-]{24,}(?![A-Za-z0-9_-])"
        r"|(?<=[A-Za-z0-9][_-])(?:s\.[A-Za-z0-9]{24}(?:\.[A-Za-z0-9]{5})?|b\.[A-Za-z0-9_-]{24,})(?![A-Za-z0-9_-])"
        r"|(?<![A-Za-z0-9_.-])s\.[A-Za-z0-9]{24}(?:\.[A-Za-z0-9]{5})?(?=[_-][A-Za-z0-9])"),
        lambda m: _random_base62(m.group(0).split(".")[1])),
    # A legacy recovery token: "r." and 24 base62 characters (sdk/helper/consts/token_consts.go
    # LegacyRecoveryTokenPrefix; vault/generate_root_recovery.go issues it whenever server-side consistent tokens are
    # off, and every Vault from 1.3 to 1.9 did), standing alone or joined to a word of a name as the forms above. Its
    # one-letter prefix begins words ("r.someCamelCaseIdentifier" in a path or a message): only a random body counts
    # (_random_base62).
    TokenRule("Vault Token", re.compile(
        r"(?:(?<![A-Za-z0-9_.-])|(?<=[A-Za-z0-9][_-]))r\.[A-Za-z0-9]{24}(?![A-Za-z0-9_-])"),
        lambda m: _random_base62(m.group(0)[2:])),
    # The same token given as -display-name: the token store writes "token-" and the name with every character
    # but letters, digits and "-" made "-" (token_store.go displayNameSanitize), so s.<24> is logged as
    # token-s-<24> (a producer that does not sanitise, or an edited copy, keeps the dot: token-s.<24>; the same for
    # a legacy recovery token's r.). Random
    # base62, so holding capitals, small letters and digits (a name of words does not).
    TokenRule("Vault Token", re.compile(
        r"(?<![A-Za-z0-9])token-(?:[sr][-.]([A-Za-z0-9]{24})|(?:hv[sbr]|b)-([A-Za-z0-9-]{24,}))(?![A-Za-z0-9])"),
        lambda m: _random_body(_value(m))),
    # A token sent in a token endpoint's path (OpenBao/Vault API, "Token auth method": the older lookup, renew,
    # revoke and revoke-orphan forms take it as the path's last segment): a token by where it stands, whatever its
    # shape (a custom id given with -id, a pre-1.0 UUID). The vault writes a request's path in clear (red team rt43,
    # F6). Not lookup-accessor: an accessor uses no secret.
    TokenRule("Vault Token", re.compile(
        r"(?<![A-Za-z0-9_-])auth/token/(?:lookup|renew|revoke|revoke-orphan)/([^/?#\s\"&]+)"),
        lambda m: credential("token", _value(m))),
    # Vault / OpenBao unseal and recovery keys as the server prints them: a dev server's notice ("Unseal Key: <base64
    # of the 32-byte key>"), `operator init` ("Unseal Key 1: <base64 of a 33-byte Shamir share>", "Recovery Key 1:
    # ..."), or in hex. Whoever holds enough of them unseals the vault: in a log, each is a leak.
    TokenRule("Vault Unseal Key", re.compile(
        r"(?i)(?<![A-Za-z0-9])(?:unseal|recovery) key(?: \d{1,3})?:[ \t]+([A-Za-z0-9+/]{43,44}={0,2}"
        r"|[0-9a-f]{64,66})(?![A-Za-z0-9+/=])")),
    # GitHub's fine-grained personal access tokens (GitHub Docs, "About authentication to GitHub": github_pat_)
    TokenRule("GitHub Token", re.compile(_B + r"github_pat_[A-Za-z0-9_]{40,255}" + _E)),
    # npm access tokens (npm Docs, "About access tokens": npm_ and 36 base62 characters)
    TokenRule("npm Token", re.compile(_B + r"npm_[A-Za-z0-9]{36}" + _E)),
    # Shopify access tokens and shared secrets (shpat_, shpca_, shppa_, shpss_ and 32 hex digits)
    TokenRule("Shopify Token", re.compile(_B + r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}" + _E)),
    # Anthropic API and admin keys (sk-ant-api03-..., sk-ant-admin01-...)
    TokenRule("Anthropic API Key", re.compile(_B + r"sk-ant-(?:api|admin)\d\d-[A-Za-z0-9_-]{80,}")),
    # OpenAI project, service-account and admin keys (the legacy form has detect-secrets' OpenAI detector)
    TokenRule("OpenAI Token", re.compile(_B + r"sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,}")),
    # DigitalOcean personal, OAuth and refresh tokens
    TokenRule("DigitalOcean Token", re.compile(_B + r"do[opr]_v1_[a-f0-9]{64}" + _E)),
    # Hugging Face user access tokens (hf_ and 34 letters of both cases)
    TokenRule("Hugging Face Token", re.compile(_B + r"hf_[A-Za-z]{34}" + _E), _mixed),
    # Databricks personal access tokens
    TokenRule("Databricks Token", re.compile(_B + r"dapi[a-f0-9]{32}(?:-\d)?" + _E)),
    # age secret keys (Bech32, 58 characters after the 1)
    TokenRule("age Secret Key", re.compile(r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}")),
    # Grafana service-account tokens and Grafana Cloud access-policy tokens
    TokenRule("Grafana Token", re.compile(_B + r"(?:glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}"
                                          r"|glc_[A-Za-z0-9+/]{32,}={0,2})")),
    # Doppler tokens (personal, service, service account, CLI, SCIM, audit)
    TokenRule("Doppler Token", re.compile(_B + r"dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,44}" + _E)),
    # HCP Terraform / Terraform Enterprise API tokens
    TokenRule("Terraform Cloud Token", re.compile(_B + r"[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,70}")),
    # Pulumi access tokens
    TokenRule("Pulumi Token", re.compile(_B + r"pul-[a-f0-9]{40}" + _E)),
    # Postman API keys
    TokenRule("Postman API Key", re.compile(_B + r"PMAK-[a-f0-9]{24}-[a-f0-9]{34}" + _E)),
    # Linear API keys
    TokenRule("Linear API Key", re.compile(_B + r"lin_api_[A-Za-z0-9]{40}" + _E)),
    # Atlassian API tokens
    TokenRule("Atlassian API Token", re.compile(_B + r"ATATT3[A-Za-z0-9_=-]{180,}")),
    # Google API keys (AIza and 35 more), OAuth client secrets and access tokens
    TokenRule("Google API Key", re.compile(_B + r"AIza[0-9A-Za-z_-]{35}" + r"(?![A-Za-z0-9_-])")),
    TokenRule("Google OAuth Credential", re.compile(_B + r"(?:GOCSPX-[A-Za-z0-9_-]{28}|ya29\.[A-Za-z0-9_-]{30,})")),
    # Slack incoming webhooks (detect-secrets' Slack detector finds them outside paths; a path is judged by segment)
    TokenRule("Slack Token", re.compile(r"https://hooks\.slack\.com/(?:services|workflows)/T[A-Za-z0-9_]+/"
                                        r"[A-Za-z0-9_]+/[A-Za-z0-9_]{8,}")),
    # A password in a URL's user information (RFC 3986 3.2.1: "user:password@", either part of unreserved, percent-
    # encoded and sub-delims characters, the password also of ":"; "redis://:password@" has no user). detect-secrets'
    # own regex leaves out the sub-delims ("!$&'()*+,;="), which real passwords hold. Characters no URI holds
    # (quotes, braces, backslash...) end it, so a template's "{{password}}" or a JSON text around a URL is none.
    TokenRule("Basic Auth Credentials", re.compile(r"://[^:/?#\[\]@\s\"<>\\^`{|}]*:([^/?#\[\]@\s\"<>\\^`{|}]+)@"),
              _userinfo),
    # A password in a Go MySQL driver DSN ("user:password@tcp(host:3306)/db", also @unix(...), @udp(...)): the
    # form Vault's and OpenBao's MySQL database plugin takes as connection_url, and echoes in its errors once the
    # templates are filled in. Its template "{{username}}:{{password}}@tcp(...)" and a mask are none.
    TokenRule("Basic Auth Credentials", re.compile(r"(?<![A-Za-z0-9_.:-])[A-Za-z0-9_.-]*:([^\s@/\"'<>\\`{}|]+)"
                                                   r"@(?:tcp6?|udp|unix)\("), _userinfo),
    # A password in an Oracle Easy Connect string ("user/password@//host:port/service", "user/password@host:1521/x":
    # sqlplus's and a JDBC thin URL's logon, an ORACLE_CONNECT environment variable). Only with the form's "//" or a
    # port after the "@", so that a path with an "@" ("actions/checkout@v4", "x/mod@v0.1.0") is none.
    TokenRule("Connect String Password", re.compile(
        r"(?<![A-Za-z0-9_$#/.@%-])[A-Za-z][A-Za-z0-9_$#]{0,127}/([^\s/@\"'<>\\`{}|]+)"
        r"@(?://[A-Za-z0-9.\[\]:-]+|[A-Za-z0-9.-]+:\d{1,5}(?![A-Za-z0-9]))"), _userinfo),
    # A random key written after "base64:" (Laravel's APP_KEY, as `php artisan key:generate` writes it into .env:
    # "base64:" and the base64 of 32 random bytes; Laravel's encrypter takes 16 or 32): the prefix takes the run out of
    # the base64 charset, so no entropy detector sees it. Only the base64 of 16 to 64 bytes that are no text.
    TokenRule("Application Key", re.compile(r"(?<![A-Za-z0-9_])base64:([A-Za-z0-9+/]{22,86}={0,2})(?![A-Za-z0-9+/=])"),
              lambda m: _random_key(m.group(1))),
    # A credential assigned to a key that names one, inside a value: a connection string ("Server=db;Password=..;",
    # libpq's "password=..", JDBC's "&password=.."), a command line ("--password=.."), an environment assignment
    # ("PGPASSWORD=..", "AWS_SECRET_ACCESS_KEY=.."). detect-secrets' keyword detector sees only "key": "value" pairs
    # and quoted assignments there. The value ends where a connection string, a query or a command line would end it.
    # It starts only where a run of name characters does: from any later start in the run it finds no match the run's
    # start does not, and each failed start scanned the run to its end again ("a-a-a-...a password=x": time square in
    # the run, 40 s at 20 KB of a request path any client sends: red team rt89 F1).
    TokenRule("Secret Keyword", re.compile(
        r"(?i)(?<![A-Za-z0-9_.-])[A-Za-z0-9_.-]*?" + CREDENTIAL_KEY + r"\s{0,2}=\s{0,2}"
        r"(?:\"([^\"\n]+)\"|'([^'\n]+)'|([^\s;&,\"'<>()\[\]{}|`]+))"), _assigned,
        re.compile(r"(?i)" + CREDENTIAL_KEY + r"\s{0,2}=")),
    # The same in XML: an element named by such a key (Maven's settings.xml "<password>...</password>"), and a
    # key/value pair (.NET's appSettings '<add key="ApiKey" value="..."/>', Java's '<entry key="secret">...<').
    TokenRule("Secret Keyword", re.compile(
        r"(?i)<[A-Za-z0-9_.:-]*?" + CREDENTIAL_KEY + r"(?:\s[^<>]*)?>([^<>\n]+)</"), _element),
    TokenRule("Secret Keyword", re.compile(
        r"(?i)(?<![A-Za-z0-9])key\s*=\s*[\"'][A-Za-z0-9_.:-]*?" + CREDENTIAL_KEY
        + r"[\"'](?:\s+value\s*=\s*[\"']([^\"'\n]+)[\"']|\s*>([^<>\n]+)<)"), _keyed),
    # The same in a YAML, properties or .env text inside a value: a ConfigMap's "application.yml" ("spring:\n
    # datasource:\n    password: s3cr3t"), Helm values, a Compose file. The key begins its line (indented, or a list
    # item's "- "), and YAML asks for a space after the colon. An unquoted value is one word (so prose after a colon,
    # "token: not found", is none) and not a YAML block, tag, alias or anchor ("|", "!vault", "*x", "&x"); a quoted
    # value may hold spaces. A comment after it is not part of it; a line may end in CR LF.
    TokenRule("Secret Keyword", re.compile(
        r"(?im)^[ \t]*(?:-[ \t]+)?[\"']?[A-Za-z0-9_.-]*?" + CREDENTIAL_KEY + r"[\"']?[ \t]{0,4}:[ \t]+"
        r"(?:\"([^\"\n]+)\"|'([^'\n]+)'|([^\s\"'#|>&*!%@`{\[][^\s]*))[ \t]*(?:#[^\n]*)?\r?$"), _mapped),
    # A password a SQL statement sets, as a database's query log or a proxy's audit event writes it (Teleport's
    # db.session.query): PostgreSQL's "CREATE|ALTER ROLE|USER .. [ENCRYPTED] PASSWORD 'x'", SQL Server's "CREATE|
    # ALTER LOGIN .. WITH PASSWORD = 'x'", MySQL's "IDENTIFIED [WITH plugin] BY 'x'" and "SET PASSWORD .. = 'x'",
    # Oracle's "IDENTIFIED BY x" (quoted or not). Only in such a statement (never "password 'x'" in prose); a bind
    # parameter ("$1", "?", ":pw") or a mask is no password.
    TokenRule("SQL Password", re.compile(
        r"(?is)\b(?:(?:CREATE|ALTER)\s+(?:USER|ROLE|LOGIN)\b|GRANT\b)[^;]{0,512}?"
        r"(?:\b(?:ENCRYPTED\s+)?PASSWORD\s*=?\s*|\bIDENTIFIED\s+(?:WITH\s+\S+\s+)?BY\s+(?:PASSWORD\s+)?)"
        r"(?:'((?:[^'\n]|'')+)'|\"([^\"\n]+)\"|(?<=BY )(?!PASSWORD\b|VALUES\b)([A-Za-z][A-Za-z0-9_$#]{3,}))"),
        lambda m: credential("password", _value(m)) and _value(m)[:1] not in ("?", ":")),
    TokenRule("SQL Password", re.compile(
        r"(?is)\bSET\s+PASSWORD\b[^;=]{0,256}=\s*(?:PASSWORD\s*\(\s*)?'((?:[^'\n]|'')+)'"),
        lambda m: credential("password", _value(m))),
    # A password in a .netrc text (the GNU inetutils and curl manuals: tokens apart by blanks or line ends,
    # "machine NAME" or "default", then "login", "account" or "port" with theirs, and "password STRING", curl also
    # quoted), as a ConfigMap's or an application's logged file holds it (red team rt50 F6). A login or account
    # before the password is asked for, so that prose ("machine learning password reset") is none.
    TokenRule("Secret Keyword", re.compile(
        r"(?i)(?<![A-Za-z0-9_])(?:machine\s+\S+|default)(?:\s+(?:login|account|port)\s+\S+)+\s+password\s+"
        r"(?:\"([^\"\n]+)\"|(\S+))"), lambda m: credential("password", _value(m))),
    # A line of a PostgreSQL password file (its manual, "The Password File": hostname:port:database:username:password,
    # each of the first four may be "*"): exactly five fields, the port a number or "*", the host a name or address
    # (a letter, a dot or "*": no clock time, no IPv6 address, which has eight groups or an empty one), the database
    # and user names (a letter or "*"), and a password of six or more characters that is not one lower-case word.
    TokenRule("Secret Keyword", re.compile(
        r"(?m)^(?=[^:\s]*[A-Za-z.*])(?:[^:\s\\]|\\.)+:(?:\d{1,5}|\*):(?=[^:\s]*[A-Za-z*])(?:[^:\s\\]|\\.)+:"
        r"(?=[^:\s]*[A-Za-z*])(?:[^:\s\\]|\\.)+:((?:[^:\s\\]|\\.){6,})\r?$"),
        lambda m: credential("password", _value(m)) and not (_value(m).isalpha() and _value(m).islower())),
    # An HTTP Authorization credential written into any text: "Bearer <token68>", "Basic <base64 of user:pass>"
    TokenRule("Bearer Token", re.compile(r"(?i)(?<![A-Za-z0-9])bearer\s+([A-Za-z0-9._~+/-]{16,}=*)"), _bearer),
    TokenRule("Basic Auth Credentials", re.compile(r"(?i)(?<![A-Za-z0-9])basic\s+([A-Za-z0-9+/]{4,}={0,2})"
                                                   r"(?![A-Za-z0-9+/=])"), _basic),
)

# The kinds of the HTTP credentials above, which name no format: they count only where nothing else is found in the
# value (a Bearer JWT is a JSON Web Token), and not at all under an audited credential header, whose whole value is
# one (scan.secrets.header_credentials names it so).
HTTP_KINDS = frozenset({"Bearer Token", "Basic Auth Credentials"})

# Hyperscan expressions, each a superset of one or more rules above (literals and bounded repeats only; a URL's
# user information longer than 256 characters is not looked for).
# One white space of Python's \s (str), as bytes: ASCII's, U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029,
# U+202F, U+205F, U+3000 in UTF-8, or escaped as a JSON text writes it
_PY_SPACE = (rb"(?:[\t\x0b\x0c\x1c-\x1f ]|\\[nrtf]|\\u(?:00[0-9a-fA-F]{2}|1680|20[0-2][0-9a-fA-F]|205[fF]|3000)"
             rb"|\xc2[\x85\xa0]|\xe1\x9a\x80|\xe2\x80[\x80-\x8a\xa8\xa9\xaf]|\xe2\x81\x9f|\xe3\x80\x80)")
PREFILTERS: tuple[tuple[bytes, bool], ...] = (  # (expression, caseless)
    (rb"(?:hv[sbr]\.[A-Za-z0-9_-]{24}|[sr]\.[A-Za-z0-9]{24}|b\.[A-Za-z0-9_-]{24})", False),
    (rb"token-(?:[sr][-.][A-Za-z0-9]{24}|(?:hv[sbr]|b)-[A-Za-z0-9-]{24})", False),
    (rb"auth(?:/|\\/)token(?:/|\\/)(?:lookup|renew|revoke|revoke-orphan)(?:/|\\/)[^/\\\"?#\s&]", False),
    # the key's number: Python's \d is any script's digit (two to four bytes of UTF-8, or a JSON \u escape)
    (rb"(?:unseal|recovery) key(?: (?:[0-9]|[\x80-\xff]{2,4}|\\u[0-9a-fA-F]{4}){1,3})?:(?:[ \t]|\\t)", True),
    (rb"github_pat_[A-Za-z0-9_]{40}", False),
    (rb"npm_[A-Za-z0-9]{36}", False),
    (rb"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}", False),
    (rb"sk-ant-(?:api|admin)\d\d-", False),
    (rb"sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40}", False),
    (rb"do[opr]_v1_[a-f0-9]{64}", False),
    (rb"hf_[A-Za-z]{34}", False),
    (rb"dapi[a-f0-9]{32}", False),
    (rb"AGE-SECRET-KEY-1", False),
    (rb"gl(?:sa|c)_[A-Za-z0-9+/]{32}", False),
    (rb"dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40}", False),
    (rb"\.atlasv1\.", False),
    (rb"pul-[a-f0-9]{40}", False),
    (rb"PMAK-[a-f0-9]{24}-", False),
    (rb"lin_api_[A-Za-z0-9]{40}", False),
    (rb"ATATT3", False),
    (rb"AIza[0-9A-Za-z_-]{35}", False),
    (rb"GOCSPX-|ya29\.", False),
    (rb"hooks\.slack\.com/", False),
    (rb"://[^\s\"<>\\^`{|}/?#\[\]@]{1,256}@", False),
    (rb"@(?:tcp6?|udp|unix)\(", False),
    # a connect string's "@//" or "@host:port" (from the "@", not the password before it: a bounded run of any
    # character before a literal made this one expression cost two thirds of the whole database's scan)
    (rb"@(?://|[A-Za-z0-9.-]{1,253}:\d)", False),
    (rb"base64:[A-Za-z0-9+/]{22}", False),
    (CREDENTIAL_KEY.encode("ascii") + rb"\s{0,2}=", True),
    # an XML element's or key's end, as a JSON text writes it (Go writes ">" as \u003e, a quote escaped)
    (CREDENTIAL_KEY.encode("ascii") + rb"(?:\s[^<>]{0,128})?(?:>|\\u003[eE])", True),
    (CREDENTIAL_KEY.encode("ascii") + rb"\\?[\"'](?:\s{1,8}value|\s{0,8}(?:>|\\u003[eE]))", True),
    # the mapping's colon and space, as a JSON text writes them (a quote escaped, a tab as \t)
    (CREDENTIAL_KEY.encode("ascii") + rb"(?:\\?[\"'])?(?:[ \t]|\\t){0,4}:(?:[ \t]|\\t)", True),
    # a JSON body quoted inside a text (an error message's "{\"password\":\"...\"}", Go's %q), at any depth
    (CREDENTIAL_KEY.encode("ascii") + rb"\\{1,8}[\"'][ \t]{0,4}:", True),
    # a credential's key URL-encoded with its "=" (a connection string in a query parameter: AccountKey%3D...)
    (CREDENTIAL_KEY.encode("ascii") + rb"(?:%25){0,2}%3[dD]", True),
    # a .netrc entry's password (its "machine" or "default", then "password" with blanks or escaped line ends)
    # a .netrc entry's password (after a login, account or port of any length) and a SQL SET PASSWORD (after any
    # number of blanks): a white space of Python's \s right before "password", raw or as a JSON text escapes it
    (_PY_SPACE + rb"password", True),
    # a password file's line: five fields, the second a port or "*", at a value's start or after an escaped newline
    (rb"(?:\"|\\n)[^:\s\"\\]{1,253}:(?:[0-9\x80-\xff]{1,20}|\*):[^:\s\"]{1,128}:[^:\s\"]{1,128}:[^:\s\"\\]", False),
    (rb"bearer\s", True),
    (rb"basic\s", True),
    # a SQL statement's password (the SQL Password rule): its keyword, then a quote or (Oracle) a bare word
    (rb"(?:password(?:[ \t]|\\[nrt]){0,8}=?(?:[ \t]|\\[nrt]){0,8}(?:'|\\{1,8}\")|identified(?:[ \t]|\\[nrt]){1,8}"
     rb"(?:with(?:[ \t]|\\[nrt]){1,8}[^ \t]{1,64}(?:[ \t]|\\[nrt]){1,8})?by(?:[ \t]|\\[nrt]){1,8})", True),
)


# -- the fast path of ``find`` on a long text: a Hyperscan pass says which rules can match and on which lines -------

_WS = rb"[\t-\r\x1c-\x20]"  # Python's \s, once ``_FOLD`` has made each of its other white spaces " "
_KEY = CREDENTIAL_KEY.encode("ascii")
# Characters that are not ASCII but that Python's regexes take for ASCII: under (?i), a capital I with a dot and a
# dotless i (for "i"), a long s ("s") and the Kelvin sign ("k"), and \s's white spaces beyond ASCII. Made those
# (one character for one, so that lines stay lines) before the Hyperscan pass, whose caseless and classes are
# ASCII's. tests/test_tokens_fast.py checks this against every code point.
_FOLD = {0x130: "i", 0x131: "i", 0x17F: "s", 0x212A: "k",
         **{c: " " for c in (0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F, 0x205F, 0x3000)}}
FOLD_LETTERS = tuple(c for c, to in _FOLD.items() if to != " ")  # (scan.hyperscan sends a line holding one whole)
_FOLDED = re.compile("[" + "".join(map(chr, _FOLD)) + "]")  # a text without one is not translated (str.translate
# takes 70 ns a character of a text that is not ASCII)


@dataclass(frozen=True)
class Gate:
    """What every match of one rule (``RULES``, the same index) holds, for Hyperscan (literals and bounded ASCII
    classes only): a part ``where`` matches, with at most ``before`` line breaks ("\\n") from the match's start to
    that part's end and ``after`` from there to the match's end (None: any number); and a part each of ``also``
    matches (anywhere in the text). A rule without a hit of each is not run; one is run on the lines around its
    hits only (``find``)."""

    where: bytes
    caseless: bool = False
    before: Optional[int] = 0
    after: Optional[int] = 0
    also: tuple[bytes, ...] = ()


_VAULT = rb"(?:hv[sbr]|b)\.[A-Za-z0-9_-]{24}|s\.[A-Za-z0-9]{24}"
GATES: tuple[Gate, ...] = (
    Gate(_VAULT),
    Gate(_VAULT),
    Gate(rb"r\.[A-Za-z0-9]{24}"),
    Gate(rb"token-(?:[sr][-.][A-Za-z0-9]{24}|(?:hv[sbr]|b)-[A-Za-z0-9-]{24})"),
    Gate(rb"auth/token/(?:lookup|renew|revoke)"),
    Gate(rb"(?:unseal|recovery) key", True),
    Gate(rb"github_pat_[A-Za-z0-9_]{40}"),
    Gate(rb"npm_[A-Za-z0-9]{36}"),
    Gate(rb"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}"),
    Gate(rb"sk-ant-(?:api|admin)"),  # then \d\d: any script's digits
    Gate(rb"sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40}"),
    Gate(rb"do[opr]_v1_[a-f0-9]{64}"),
    Gate(rb"hf_[A-Za-z]{34}"),
    Gate(rb"dapi[a-f0-9]{32}"),
    Gate(rb"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}"),
    Gate(rb"glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}|glc_[A-Za-z0-9+/]{32}"),
    Gate(rb"dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40}"),
    Gate(rb"[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60}"),
    Gate(rb"pul-[a-f0-9]{40}"),
    Gate(rb"PMAK-[a-f0-9]{24}-[a-f0-9]{34}"),
    Gate(rb"lin_api_[A-Za-z0-9]{40}"),
    Gate(rb"ATATT3[A-Za-z0-9_=-]{180}"),
    Gate(rb"AIza[0-9A-Za-z_-]{35}"),
    Gate(rb"GOCSPX-[A-Za-z0-9_-]{28}|ya29\.[A-Za-z0-9_-]{30}"),
    Gate(rb"https://hooks\.slack\.com/(?:services|workflows)/T"),
    Gate(rb"://"),
    Gate(rb"@(?:tcp6?|udp|unix)\("),
    Gate(rb"@[A-Za-z0-9./-]"),  # the Easy Connect's "@//" or "@host:"
    Gate(rb"base64:[A-Za-z0-9+/]{22}"),
    # KEY, up to two white spaces (line breaks too), "=", up to two more, then the value (no line break)
    Gate(_KEY + _WS + rb"{0,2}=", True, 2, 2),
    Gate(_KEY, True, 0, None, (rb"</",)),  # the element's attributes may run over lines
    # key\s*=\s*"KEY" then \s+value or \s*>
    Gate(_KEY + rb"[\"'](?:" + _WS + rb"|>)", True, None, None,
         (rb"key(?:" + _WS + rb"|=)", rb"=(?:" + _WS + rb"|[\"'])")),
    Gate(_KEY + rb"[\"']?[ \t]{0,4}:[ \t]", True),
    # (?s), \s+: over lines. (CREATE|ALTER)\s+ or GRANT\b, then PASSWORD or IDENTIFIED
    Gate(rb"password|identified", True, None, None,
         (rb"(?:create|alter)" + _WS + rb"|grant[^A-Za-z0-9_]",)),  # GRANT\b, then more
    Gate(_WS + rb"password", True, None, None, (rb"set" + _WS,)),  # SET\s+PASSWORD
    # (machine\s+\S+|default) (\s+(login|account|port)\s+\S+)+ \s+password\s+
    Gate(rb"password" + _WS, True, None, None,
         (rb"machine" + _WS + rb"|default", _WS + rb"(?:login|account|port)" + _WS)),
    # the port (\d{1,5}: a digit of any script is one to four bytes, none of them ASCII but the ASCII ones) or "*"
    Gate(rb":(?:\*|[0-9\x80-\xff]{1,20}):"),
    Gate(rb"bearer", True, 0, None),
    Gate(rb"basic", True, 0, None),
)
# characters: a shorter text is searched rule by rule until the database is at hand (loading it costs what a few
# tens of KB searched rule by rule do), then a text of FAST_MIN_LOADED or more is not
FAST_MIN, FAST_MIN_LOADED = 4096, 32
_GATE_DB: list[object] = []  # [the database] once compiled or loaded (scan.hyperscan.compiled)
_SCANNING = threading.Lock()  # held for a scan: one scratch space, one scan at a time (another thread: the loop)
# each rule's expression ids in that database: its ``where``'s, then its ``also`` parts' (GATES' order)
_GATE_IDS: tuple[tuple[int, tuple[int, ...]], ...] = tuple(
    (n, tuple(range(n + 1, n + 1 + len(g.also))))
    for n, g in zip([sum(1 + len(g.also) for g in GATES[:i]) for i in range(len(GATES))], GATES))


def _gate_db() -> object:
    """GATES' Hyperscan database (ids ``_GATE_IDS``; each ``also`` part reports once at most), compiled once per
    process in a child or loaded from the cache (scan.hyperscan.compiled)."""
    if not _GATE_DB:
        import hyperscan

        from .hyperscan import _load_one, compiled

        exprs, flags = [], []
        for gate in GATES:
            flag = hyperscan.HS_FLAG_CASELESS if gate.caseless else 0
            exprs.append(gate.where)
            flags.append(flag)
            for part in gate.also:
                exprs.append(part)
                flags.append(flag | hyperscan.HS_FLAG_SINGLEMATCH)
        ids = list(range(len(exprs)))

        def build() -> bytes:
            d = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
            d.compile(expressions=exprs, ids=ids, elements=len(exprs), flags=flags)
            return bytes(hyperscan.dumpb(d))

        _GATE_DB.append(compiled(repr(("tokens.GATES", exprs, ids, flags)).encode(), build, _load_one))
    return _GATE_DB[0]


def _newlines(text: str) -> list[int]:
    """The index of each "\\n" in ``text`` (of bytes: in their latin-1 decoding, one character a byte)."""
    found, i = [], text.find("\n")
    while i >= 0:
        found.append(i)
        i = text.find("\n", i + 1)
    return found


def _windows(value: str) -> Optional[dict[int, list[tuple[int, int]]]]:
    """For each rule that can match in ``value`` (``GATES``), the (pos, endpos) of the runs of whole lines its
    matches can lie on, in order and apart; None while another thread scans."""
    folded = value if value.isascii() or _FOLDED.search(value) is None else value.translate(_FOLD)
    data = folded.encode("utf-8", "surrogatepass")
    ends: dict[int, list[int]] = {}

    def hit(expression_id: int, _start: int, end: int, _flags: int, _context: object) -> None:
        ends.setdefault(expression_id, []).append(end)

    db = _gate_db()
    if not _SCANNING.acquire(blocking=False):
        return None
    try:
        db.scan(data, match_event_handler=hit)  # type: ignore[attr-defined]
    finally:
        _SCANNING.release()
    if not ends:  # no rule can match: no line to find
        return {}
    breaks = _newlines(value)
    # the same lines in the bytes scanned: "\\n" is one byte, no other character's UTF-8 holds it
    byte_breaks = breaks if len(data) == len(value) else _newlines(data.decode("latin-1"))
    last = len(breaks)  # the last line's index
    windows: dict[int, list[tuple[int, int]]] = {}
    for i, (gate, (where, also)) in enumerate(zip(GATES, _GATE_IDS)):
        if where not in ends or any(part not in ends for part in also):
            continue
        runs: list[tuple[int, int]] = []
        for end in sorted(ends[where]):
            line = bisect.bisect_left(byte_breaks, end - 1)  # the line of the hit's last byte
            first = 0 if gate.before is None else max(0, line - gate.before)
            final = last if gate.after is None else min(last, line + gate.after)
            if runs and first <= runs[-1][1] + 1:
                runs[-1] = (runs[-1][0], max(runs[-1][1], final))
            else:
                runs.append((first, final))
        windows[i] = [(breaks[a - 1] + 1 if a else 0, breaks[b] if b < last else len(value)) for a, b in runs]
    return windows


def _find_reference(value: str) -> Iterator[tuple[str, str]]:
    """``find`` rule by rule over the whole text: what the fast path must equal (tests/test_tokens_fast.py)."""
    for rule in RULES:
        if rule.needle is not None and rule.needle.search(value) is None:
            continue
        for m in rule.pattern.finditer(value):
            if rule.check is None or rule.check(m):
                yield rule.kind, _value(m)


def find(value: str) -> Iterator[tuple[str, str]]:
    """(kind, the credential) for each rule's match in ``value``: the match, or its group where the rule has one
    (the token after "Bearer", the password of a URL), so that the same credential written elsewhere is one.

    A text of ``FAST_MIN`` characters or more is searched by each rule on the lines its ``GATES`` entry allows only
    (``_windows``), with ``pattern.finditer(value, pos, endpos)``: the same matches in the same order. Every match
    lies within a run of lines (its gate's part is in it), runs are apart, so no match begins in one run and ends in
    another and none lies between them; ``pos`` leaves lookbehind and "^" (?m) the text before, and ``endpos`` cuts
    just before a "\\n", where no rule's ``$`` (?m), ``\\b`` or lookahead tells the text's end from a line break."""
    windows = _windows(value) if len(value) >= (FAST_MIN_LOADED if _GATE_DB else FAST_MIN) else None
    if windows is None:
        yield from _find_reference(value)
        return
    for i, runs in windows.items():
        rule = RULES[i]
        for pos, endpos in runs:
            for m in rule.pattern.finditer(value, pos, endpos):
                if rule.check is None or rule.check(m):
                    yield rule.kind, _value(m)
