"""Secrets and personal data in the encodings and places a log carries them, and correct logs that must stay clean.

The cases come from a blind grading pass. The log lines are a real OpenBao 2.7.2 server's
(fixtures/blind-encodings/README.md); values are planted into its KV read entries the way an encoder, a client or
a mount's audit options would write them. Each case runs `auditready verify` on a file of its own, once with the C
extension and once on the pure-Python path (AUDITREADY_PURE_PYTHON=1), which must agree. The cases' files are
verified together, one `auditready verify` process for each set of canaries and each path (a file's findings are
its own: nothing a check judges is shared between files), each case's files in a folder of their own.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Callable, Iterator, NamedTuple

import pytest

from tests._native_runs import verify_process

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "blind-encodings"
CLEAN = FIXTURES / "openbao-clean.log"
SECRET_ID = FIXTURES / "openbao-approle-secret-id.log"
KV_READ = (13, 14)  # the KV v2 read of secret/data/app/db: its request and response entries (1-based lines)
CHECKS = ("no_secret_leak", "data_minimisation")
PROJECT = "[tool.auditready]\nrequire_tamper_evidence = false\nretention_days = 0\n"
MARK = "PLANTED-VALUE-MARK"
# A value planted in a KV secret's request data is also a secret's data in clear, whatever it holds (a finding of its
# own, tested in test_secret_data.py): left out here, where what is judged is each encoding of a value.
SECRET_DATA = "is Vault Secret Data (sha256"

# Placed in a KV read entry: its request data and path (a mount opted a key out of HMAC; a path is always clear)
Place = Callable[[dict, str], None]


def _in_data(e: dict, mark: str) -> None:
    e["request"]["data"] = {"note": mark}


def _in_query(e: dict, mark: str) -> None:
    e["request"]["path"] = "secret/data/app/db?note=" + mark


def _in_display_name(e: dict, mark: str) -> None:
    e["auth"]["display_name"] = "token-" + mark


def _planted(place: Place, raw_text: str) -> str:
    """The fixture's lines with ``raw_text`` written, as is (its escapes kept), where ``place`` puts a value."""
    out = []
    for n, line in enumerate(CLEAN.read_text().splitlines(), 1):
        if n in KV_READ:
            e = json.loads(line)
            place(e, MARK)
            line = json.dumps(e, separators=(",", ":")).replace(MARK, raw_text)
            json.loads(line)  # still one valid JSON object
        out.append(line)
    return "\n".join(out) + "\n"


# every case's files, by case id: (a builder of its files, by name, and the canaries its run is given)
CASES: dict[str, tuple[Callable[[], dict[str, str]], tuple[str, ...]]] = {}


def case(case_id: str, canaries: tuple[str, ...] = ()) -> Callable[[Callable[[], dict[str, str]]],
                                                                   Callable[[], dict[str, str]]]:
    def add(build: Callable[[], dict[str, str]]) -> Callable[[], dict[str, str]]:
        assert case_id not in CASES, case_id
        CASES[case_id] = (build, canaries)
        return build

    return add


class Verified(NamedTuple):
    """A case's files as verified: per file and check, the findings' messages with their place; each file's path."""

    found: dict[str, dict]
    paths: dict[str, Path]


def _run(root: Path, paths: list[Path], canaries: tuple[str, ...], pure: bool) -> tuple[str, dict[str, dict]]:
    """``auditready verify`` of ``paths`` in ``root`` (its pyproject.toml written): why its run is no answer (or ""),
    and per path and check, the findings' messages with their place; a path that some check did not run on is left
    out (each check must run on every file)."""
    (root / "pyproject.toml").write_text(PROJECT)
    args = [*map(str, paths), "--json", str(root / "out.json")]
    if canaries:
        (root / "canaries.txt").write_text("\n".join(canaries) + "\n")
        args += ["--canaries", str(root / "canaries.txt")]
    # (a process of its own, forked from a server that has imported the package: tests/_native_runs.py)
    code, stdout, stderr = verify_process(args, root, pure, timeout=300)
    if code not in (0, 1):
        return f"exit {code}: {stderr[-2000:]}", {}
    out: dict[str, dict] = {str(p): {c: [] for c in CHECKS} for p in paths}
    check = path = ""
    seen: set[tuple[str, str]] = set()
    for line in stdout.splitlines():
        m = re.match(r"(PASS|FAIL|SKIP) (\S+) (\S+)", line)
        if m:
            check, path = m.group(2), m.group(3)
            seen.add((path, check))
            continue
        if line.startswith("  - ") and check in CHECKS and path in out and SECRET_DATA not in line:
            out[path][check].append(line[4:])
    for p in paths:
        if any((str(p), c) not in seen for c in CHECKS):
            del out[str(p)]
    return "" if out else f"no file judged by every check\n{stdout[-3000:]}", out


def _write(folder: Path, files: dict[str, str]) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, text in files.items():
        p = paths[name] = folder / name
        p.write_text(text)
        os.chmod(p, 0o600)
    return paths


def _verify_all(folder: Path, pure: bool) -> Iterator[tuple[str, Verified | str]]:
    """Run ``auditready verify`` once for each set of canaries over the files of every case given it, each case's
    files in a folder of their own; (case id, what its files gave, or why the case's run is no answer)."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for case_id, (_, canaries) in CASES.items():
        groups.setdefault(canaries, []).append(case_id)
    for g, (canaries, ids) in enumerate(groups.items()):
        root = folder / f"run{g}"
        paths = {case_id: _write(root / f"case{k}", CASES[case_id][0]()) for k, case_id in enumerate(ids)}
        why, out = _run(root, [p for files in paths.values() for p in files.values()], canaries, pure)
        for case_id, files in paths.items():
            unjudged = [name for name, p in files.items() if str(p) not in out]
            if unjudged:
                yield case_id, why or f"not judged by every check: {unjudged}"
                continue
            yield case_id, Verified({name: out[str(p)] for name, p in files.items()}, files)


def _verify(tmp_path: Path, files: dict[str, str], pure: bool, canaries: tuple[str, ...] = ()) -> dict[str, dict]:
    """Run ``auditready verify`` on the given files (written in ``tmp_path``); per file and check, the findings'
    messages with their place (for other test files: this one verifies its cases together, ``verified``)."""
    paths = _write(tmp_path, files)
    why, out = _run(tmp_path, list(paths.values()), canaries, pure)
    assert not why and all(str(p) in out for p in paths.values()), why or out
    found = {name: out[str(p)] for name, p in paths.items()}
    for msgs in (m for f in found.values() for m in f.values()):  # nothing printed may hold a planted value
        assert not any(MARK in msg for msg in msgs)
    return found


@pytest.fixture(scope="module")
def verified(tmp_path_factory: pytest.TempPathFactory) -> Callable[[bool, str], Verified]:
    """``verified(pure, case id)``: what ``auditready verify`` found in the case's files (on the pure-Python path
    or with the C extension); every case of a path is verified at its first use in the module."""
    done: dict[bool, dict[str, Verified | str]] = {}

    def get(pure: bool, case_id: str) -> Verified:
        if pure not in done:
            done[pure] = dict(_verify_all(tmp_path_factory.mktemp("pure" if pure else "native"), pure))
        res = done[pure][case_id]
        assert isinstance(res, Verified), (case_id, res)
        for findings in res.found.values():  # nothing printed may hold a planted value
            for msgs in findings.values():
                for msg in msgs:
                    assert MARK not in msg
        return res

    return get


Verify = Callable[[bool, str], Verified]


@pytest.fixture(params=[False, True], ids=["native", "pure"])
def pure(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def _lines(msgs: list[str]) -> set[int]:
    """The lines the findings name: each one's first line, and those it is "also on"."""
    out: set[int] = set()
    for msg in msgs:
        m = re.match(r"\[[^\]:]+:(\d+)", msg)
        if m:
            out.add(int(m.group(1)))
        also = re.search(r"also on lines? ([\d, ]+)", msg)
        if also:
            out.update(int(n) for n in re.findall(r"\d+", also.group(1)))
    return out


# -- the correct logs: zero findings ---------------------------------------------------------------------------


case("clean")(lambda: {"clean.log": CLEAN.read_text()})


def test_real_openbao_public_material_digests_and_ids_are_no_findings(verified: Verify, pure: bool) -> None:
    """Certificates, a CSR, serial numbers, clear accessors, role ids, an ed25519 public key (transit, the base64 of
    32 bytes), a transit hash's "sum", a CI commit SHA in token metadata ("sha", "commit"): public, no finding.
    Before: the public key, the sum and the commit SHA were each a high-entropy secret."""
    found = verified(pure, "clean").found
    assert found["clean.log"] == {"no_secret_leak": [], "data_minimisation": []}


CLEAN_VALUES = {
    # Go's encoder escapes "&", "<", ">": a line of every Vault holds them, and they are no escape to look behind
    "go-escapes": "a \\u003cnil\\u003e error \\u0026 retry",
    # "+" between letters and digits that is no space of a form: a version's build metadata, an expression
    "plus-words": "v1.2.3+build.20261202 sum 12+34+56",
    # a grouped number of a card's shape that fails Luhn, with "+" for its spaces
    "bad-luhn-form": "4539+5787+6362+1487",
    # an IBAN's shape with a wrong check, URL-encoded spaces
    "bad-iban-form": "GB82%20WEST%201234%205698%207654%2033",
}


for _name in CLEAN_VALUES:
    case(f"clean-value/{_name}")(lambda name=_name: {"c.log": _planted(_in_query, CLEAN_VALUES[name])})


@pytest.mark.parametrize("name", sorted(CLEAN_VALUES))
def test_clean_values_in_a_query_are_no_findings(verified: Verify, pure: bool, name: str) -> None:
    found = verified(pure, f"clean-value/{name}").found
    assert found["c.log"] == {"no_secret_leak": [], "data_minimisation": []}


# -- secrets ---------------------------------------------------------------------------------------------------


case("approle-secret-id")(lambda: {"s.log": SECRET_ID.read_text()})


def test_an_approle_secret_id_in_clear_is_a_leak_and_its_digest_is_not(verified: Verify, pure: bool) -> None:
    """A mount tuned with audit_non_hmac_request_keys/_response_keys = secret_id writes the SecretID (a UUID) in
    clear: a credential by Vault's API, which the UUID filter passed. Before: no finding. The same key HMAC'd
    (the clean fixture's last login) is none."""
    found, paths = verified(pure, "approle-secret-id")
    msgs = found["s.log"]["no_secret_leak"]
    assert len(msgs) == 1 and "'secret_id'" in msgs[0] and "AppRole SecretID" in msgs[0], msgs
    assert _lines(msgs) == {2, 3, 4} and msgs[0].startswith(f"[{paths['s.log']}:2,")


def _escape_non_alnum(value: str) -> str:
    """Every ASCII character that is not a letter or digit as a \\u escape (an encoder such as .NET's escapes "+",
    others ":", "/", "@" or "-"), the rest raw."""
    return "".join(c if c.isalnum() else "\\u%04X" % ord(c) for c in value)


CREDENTIALS = {
    "url-password": "postgresql://app:Zq8vN3xLw2Rk9TbY@db.internal:5432/app",
    "basic": "Basic YXBwOlpxOHZOM3hMdzJSazlUYlk=",
    "private-key": "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAwJ8k2Xq9Lw\n-----END RSA PRIVATE KEY-----",
}


for _name in CREDENTIALS:
    case(f"credential/{_name}")(lambda name=_name: {
        "raw.log": _planted(_in_data, json.dumps(CREDENTIALS[name])[1:-1]),
        "escaped.log": _planted(_in_data, _escape_non_alnum(CREDENTIALS[name]))})


@pytest.mark.parametrize("name", sorted(CREDENTIALS))
def test_credentials_with_their_punctuation_json_escaped_are_found(verified: Verify, pure: bool, name: str) -> None:
    """The raw-text prefilters look for "://", "Basic ", "-----BEGIN": an encoder that writes those characters
    as \\u escapes hid them, though the decoded value is the same. Before: no finding."""
    found = verified(pure, f"credential/{name}").found
    assert set(found) == {"raw.log", "escaped.log"}
    for f in found:
        assert _lines(found[f]["no_secret_leak"]) == set(KV_READ), (f, found[f])


@case("escaped-query")
def _escaped_query() -> dict[str, str]:
    token = "hvs.CAESIKx7Qm2Vb9Lp3Nw8Rt5Yz1Fd6Gh4Jk0Sa"
    return {
        "token.log": _planted(_in_query, "".join("\\u%04x" % ord(c) for c in token)),
        "basic.log": _planted(_in_query, "Basic+YXBwOlpxOHZOM3hMdzJSazlUYlk%3D"),
        "bearer.log": _planted(_in_query, "Bearer+eK3pQ9vL2mX7nB4wR8tY5zA1cD6fG0hJ"),
    }


def test_credentials_json_escaped_in_a_query_and_url_encoded_http_credentials_are_found(verified: Verify,
                                                                                         pure: bool) -> None:
    """A token escaped in a path's query string, and "Basic"/"Bearer" credentials form-encoded in a query
    parameter (judged decoded). Before: neither found."""
    found = verified(pure, "escaped-query").found
    assert set(found) == {"token.log", "basic.log", "bearer.log"}
    for f in found:
        assert _lines(found[f]["no_secret_leak"]) == set(KV_READ), (f, found[f])


case("display-name")(lambda: {
    "vault.log": _planted(_in_display_name, "hvs.CAESIKx7Qm2Vb9Lp3Nw8Rt5Yz1Fd6Gh4Jk0Sa"),
    "github.log": _planted(_in_display_name, "ghp_" + "Zq8vN3xLw2Rk9TbYc4Hm7Pj1Ds6Fg0Ua5Ke2")})


def test_a_documented_credential_in_a_display_name_is_found(verified: Verify, pure: bool) -> None:
    """`bao token create -display-name=<a token>` is logged as display_name "token-<the token>": a structural key,
    whose value no entropy test judges, but a credential of a documented shape there is one. Before: no finding
    (the key was skipped, and the Vault token rule refused a dash before "hvs.")."""
    found = verified(pure, "display-name").found
    assert set(found) == {"vault.log", "github.log"}
    for f in found:
        msgs = found[f]["no_secret_leak"]
        assert _lines(msgs) == set(KV_READ) and "'display_name'" in msgs[0], (f, msgs)


case("random-display-name")(lambda: {"d.log": _planted(_in_display_name, "job-Xq7Lm2Vb9Zp3Nw8Rt5Yk1Fd6G")})


def test_a_random_display_name_is_no_finding(verified: Verify, pure: bool) -> None:
    """A run id in a display name reads as high-entropy base64: still no finding under a structural key."""
    found = verified(pure, "random-display-name").found
    assert found["d.log"]["no_secret_leak"] == []


CANARY = "Zq8vN3xLw2Rk9TbY-c4Hm7Pj1Ds6Fg0Ua5Ke2Xn8Wq3"


@case("url-encoded-twice", (CANARY,))
def _url_encoded_twice() -> dict[str, str]:
    once = "".join("%%%02X" % b for b in CANARY.encode())
    return {"twice.log": _planted(_in_query, once.replace("%", "%25")),
            "thrice.log": _planted(_in_query, once.replace("%", "%2525"))}


def test_a_canary_url_encoded_twice_is_found(verified: Verify, pure: bool) -> None:
    """A proxy that encodes an encoded path again writes "%" as "%25": "%2541" for "A". Before: not found."""
    canary = CANARY
    found = verified(pure, "url-encoded-twice").found
    assert set(found) == {"twice.log", "thrice.log"}
    for f in found:
        msgs = found[f]["no_secret_leak"]
        assert any("<canary:" in m and "url-encoded" in m for m in msgs) and _lines(msgs) == set(KV_READ), (f, msgs)
        assert all(canary not in m for m in msgs)


case("canary-in-clear", (CANARY,))(lambda: {"c.log": _planted(_in_data, CANARY)})


def test_a_canary_in_clear_is_reported_once_as_itself(verified: Verify, pure: bool) -> None:
    """A canary under a non-HMAC key (a live run against a mount tuned audit_non_hmac_request_keys = value) is one
    secret: reported as <canary:N>, not a second time as a high-entropy string. Before: two findings."""
    found = verified(pure, "canary-in-clear").found
    msgs = [m for m in found["c.log"]["no_secret_leak"] if _lines([m]) & set(KV_READ)]
    assert len(msgs) == 1 and "<canary:1> appears in the log (raw) under key 'note'" in msgs[0], msgs
    assert _lines(msgs) == set(KV_READ)


def _wrapped(width: int) -> dict[str, str]:
    import base64
    import textwrap

    files = {}
    for pad in range(0, 9, 2):
        blob = base64.b64encode(b"x" * (pad * 7) + b'{"key":"' + CANARY.encode() + b'","note":"kept"}').decode()
        files[f"wrapped{pad}.log"] = _planted(_in_data, "\\n".join(textwrap.wrap(blob, width)))
    clean = base64.b64encode(bytes(range(256)) * 3).decode()
    files["clean.log"] = _planted(_in_data, "-----BEGIN CERTIFICATE-----\\n" + "\\n".join(textwrap.wrap(clean, width))
                                  + "\\n-----END CERTIFICATE-----")
    return files


for _width in (64, 76):
    case(f"wrapped/{_width}", (CANARY,))(lambda width=_width: _wrapped(width))


@pytest.mark.parametrize("width", [64, 76])
def test_a_canary_in_base64_wrapped_into_lines_is_found(verified: Verify, pure: bool, width: int) -> None:
    """A blob holding a canary, base64-encoded and wrapped into lines as `base64`, OpenSSL and MIME (76) or PEM
    (64) write it, logged in a value (its line breaks JSON-escaped): a break may cut the canary's base64 anywhere.
    Found at its lines at every offset tried; a wrapped blob without it (a certificate's body) is no finding.
    Before: the same blob unwrapped was found, wrapped it passed."""
    found = verified(pure, f"wrapped/{width}").found
    assert set(found) == {"clean.log", *(f"wrapped{pad}.log" for pad in range(0, 9, 2))}
    cut = 0
    for f, checks in found.items():
        msgs = checks["no_secret_leak"]
        if f == "clean.log":
            assert msgs == [], msgs
            continue
        assert any("<canary:1> appears in the log (base64" in m for m in msgs) and _lines(msgs) == set(KV_READ), (f, msgs)
        cut += any("line-wrapped" in m for m in msgs)
    assert cut >= 2  # offsets where a line break cuts the canary's base64


# -- personal data ---------------------------------------------------------------------------------------------

PERSONAL = {
    # URL-encoded as a client writes a query string (urllib.parse.quote_plus): "+" for a space, "%2B" for a "+"
    "phone-intl-query": (_in_query, "%2B4915112345678", "phone number"),
    "phone-nanp-query": (_in_query, "%28415%29+555-0132", "phone number"),
    "card-grouped-query": (_in_query, "4539+5787+6362+1486", "Visa card number"),
    "iban-grouped-query": (_in_query, "GB82+WEST+1234+5698+7654+32", "IBAN"),
    "nino-query": (_in_query, "AB%20123456%20C", "National Insurance"),
    # an international phone number that also passes a Visa number's Luhn check: a phone number, not a card too
    "phone-intl-plain": (_in_data, "+4915112345678", "phone number"),
    # JSON-escaped by an encoder other than Go's
    "email-escaped": (_in_data, "jane.doe\\u0040example.com", "e-mail address"),
    "phone-escaped": (_in_data, "\\u002B4915112345678", "phone number"),
    "card-escaped": (_in_data, "".join("\\u%04x" % ord(c) for c in "4539578763621486"), "Visa card number"),
}


def _in_metadata(e: dict, mark: str) -> None:
    e["auth"]["metadata"] = {"phone": mark}


case("phone-as-identity")(lambda: {"m.log": _planted(_in_metadata, "+4915112345678")})


def test_a_phone_number_as_an_identity_is_no_card_number(verified: Verify, pure: bool) -> None:
    """An international phone number that passes a Visa number's Luhn check, as a token's metadata (who acted, in
    clear by design, where a phone number is evidence): no finding. Before: "a Visa card number"."""
    found = verified(pure, "phone-as-identity").found
    assert found["m.log"]["data_minimisation"] == []


for _name in PERSONAL:
    case(f"personal/{_name}")(lambda name=_name: {"p.log": _planted(PERSONAL[name][0], PERSONAL[name][1])})


@pytest.mark.parametrize("name", sorted(PERSONAL))
def test_personal_data_url_encoded_or_json_escaped_is_found(verified: Verify, pure: bool, name: str) -> None:
    """The prefilters read the raw line: a "+" written %2B, a space written "+" or %20, an "@" written \\u0040
    hid each value from them, though the check reads URL-encoded text decoded and JSON values parsed. Before: no
    finding."""
    _, _, what = PERSONAL[name]
    found = verified(pure, f"personal/{name}").found
    msgs = found["p.log"]["data_minimisation"]
    assert len(msgs) == 1 and what in msgs[0] and _lines(msgs) == set(KV_READ), msgs


def _b32_lower(data: bytes) -> str:
    import base64

    return base64.b32encode(data).decode().rstrip("=").lower()


def _b64_utf16be(data: bytes) -> str:
    import base64

    return base64.b64encode(data.decode().encode("utf-16-be")).decode()


# Encodings a tool or a client writes a value in that are no JSON, URL or HTML escape of it: each of a canary
# planted in a KV read's data is found there, named by its encoding. Before: each passed.
MORE_ENCODINGS = {
    "html-decimal": (lambda v: "".join(f"&#{b};" for b in v), "html-escaped"),
    "html-hex": (lambda v: "".join(f"&#x{b:02X};" for b in v), "html-escaped"),
    "html-json-escaped-amp": (lambda v: "".join(f"\\u0026#{b};" for b in v), "json-escaped+html-escaped"),
    "base32-lower": (_b32_lower, "base32 (lower case)"),
    "base64-utf16be": (_b64_utf16be, "base64 of UTF-16"),
    "hex-colons": (lambda v: v.hex(":"), "hex with separators"),
    "hex-upper-spaces": (lambda v: v.hex(" ").upper(), "HEX with separators"),
    "hex-dashes": (lambda v: v.hex("-"), "hex with separators"),
}


CANARY_PLAIN = "Zq8vN3xLw2Rk9TbYc4Hm7Pj1Ds6Fg0Ua5Ke2Xn8Wq3"


@case("more-encodings", (CANARY_PLAIN,))
def _more_encodings() -> dict[str, str]:
    files = {f"{name}.log": _planted(_in_data, spell(CANARY_PLAIN.encode()))
             for name, (spell, _) in MORE_ENCODINGS.items()}
    files["clean.log"] = _planted(_in_data, "&#72;&#105; 53:75:70:65:72 5a-71-38 " + _b32_lower(b"not the canary"))
    return files


def test_a_canary_in_more_encodings_is_found_and_a_clean_log_stays_clean(verified: Verify, pure: bool) -> None:
    found = verified(pure, "more-encodings").found
    assert found["clean.log"]["no_secret_leak"] == []
    for name, (_, label) in MORE_ENCODINGS.items():
        msgs = found[f"{name}.log"]["no_secret_leak"]
        assert any(f"<canary:1> appears in the log ({label}" in m for m in msgs), (name, msgs)
        assert _lines(msgs) == set(KV_READ), (name, msgs)


# A credential in a query parameter that is one by its protocol, not by a keyword detect-secrets knows: an Azure SAS
# signature, a presigned URL's signature, an OAuth authorization code, an auth parameter holding base64
# user:password. Before: each passed (too short, or of too little entropy, for the entropy detectors).
QUERY_CREDENTIALS = {
    "sas-sig": "sv=2022-11-02&sr=b&sp=r&sig=Qm9hcmQxMjM0NTY3ODkw%2BdGVzdA%3D%3D",
    "amz-signature": "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=3f1a9c0e7b2d4a6f8e1c3b5d7f9a0c2e",
    "oauth-code": "code=4%2F0AfJohXn8Kq2&state=af0ifjsldkj",
    "auth-basic": "auth=dXNlcjpwYXNz",
}
QUERY_CLEAN = {
    "word-code": "code=pending&state=open",
    "short-sig": "sig=abc123",
    "status": "auth=required&code=404",
}


case("query-credentials")(lambda: {f"{name}.log": _planted(_in_query, "1&" + query)  # after ?note=1
                                   for name, query in {**QUERY_CREDENTIALS, **QUERY_CLEAN}.items()})


def test_a_credential_by_its_query_parameter_is_found(verified: Verify, pure: bool) -> None:
    found = verified(pure, "query-credentials").found
    for name in QUERY_CREDENTIALS:
        msgs = found[f"{name}.log"]["no_secret_leak"]
        assert _lines(msgs) == set(KV_READ), (name, msgs)
    for name in QUERY_CLEAN:
        assert found[f"{name}.log"]["no_secret_leak"] == [], name
