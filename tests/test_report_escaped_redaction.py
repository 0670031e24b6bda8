"""Every report is redacted whole as a second line of defence, once serialised (red team rt84 F2, F3). A finding
that quotes a log value (an entry's `time` that is no time) carried a credential the terminal masked into the
JUnit XML, `--json` and evidence.json in clear: the rules saw `&quot;`, `\\"` or `\\u017f` where they need the
quote or the letter. A multi-line value, quoted with repr, reached every output, terminal included: the rules saw
the two characters `\\n`, not a line break. Each credential is now found in what the text's escapes stand for and
masked in every form it is written in."""

from __future__ import annotations

import json
import xml.dom.minidom
from pathlib import Path

import pytest

from pytest_auditready.cli import main
from pytest_auditready.report.common import masked_tokens

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CLEAN = FIXTURES / "openbao" / "clean.log"

# log values (each an entry's `time`, which findings quote) -> the credential in them
VALUES = {
    "xml attribute": ('<add key="ApiKey" value="Ik9olPmn8Xyz"/>', "Ik9olPmn8Xyz"),
    "quoted password": ('password="Qw3rtyUiop9A"', "Qw3rtyUiop9A"),
    "xml element": ("<password>Pl0kmijnUh6C</password>", "Pl0kmijnUh6C"),
    "long s": ("pa\u017f\u017fword=Rf5tgbYhn4D", "Rf5tgbYhn4D"),
    "yaml over lines": ('x\n  password: "Mj7unhYbg8F"\n', "Mj7unhYbg8F"),
    "single quotes": ("password='Zx8cvbnmLk7B'", "Zx8cvbnmLk7B"),
}


def _log(tmp_path: Path) -> Path:
    lines = CLEAN.read_text().splitlines()
    request = next(json.loads(line) for line in lines if '"type":"request"' in line)
    planted = []
    for n, (value, _) in enumerate(VALUES.values()):
        entry = json.loads(json.dumps(request))
        entry["time"] = value
        entry["request"]["id"] = f"00000000-0000-4000-8000-{n:012d}"
        planted.append(json.dumps(entry, separators=(",", ":"), ensure_ascii=False))
    log = tmp_path / "audit.log"
    log.write_text("\n".join(lines[:4] + planted + lines[4:]) + "\n")
    return log


def test_no_output_carries_a_credential_a_quoted_value_holds(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    log = _log(tmp_path)
    summary = tmp_path / "step-summary.md"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    out = tmp_path / "out"
    cfg = tmp_path / "auditready.toml"
    cfg.write_text("require_tamper_evidence = false\nretention_days = 0\n")
    rc = main(["verify", str(log), "--config", str(cfg), "--junit", str(out / "r.xml"),
               "--json", str(out / "r.json"), "--sarif", str(out / "r.sarif"), "--evidence", str(out / "ev")])
    cap = capsys.readouterr()
    assert rc == 1 and "timestamp_precision" in cap.out + cap.err
    texts = {"terminal": cap.out + cap.err, "step summary": summary.read_text()}
    texts.update({str(p.relative_to(out)): p.read_text() for p in sorted(out.rglob("*")) if p.is_file()})
    assert {"r.xml", "r.json", "r.sarif", "ev/evidence.json", "ev/report.html", "ev/summary.md"} <= set(texts)
    leaks = {(name, case) for case, (_, secret) in VALUES.items() for name, text in texts.items() if secret in text}
    assert not leaks, sorted(leaks)
    for name in ("r.json", "r.sarif", "ev/evidence.json"):
        json.loads(texts[name])  # still JSON once masked
    xml.dom.minidom.parseString(texts["r.xml"])  # still XML
    assert "Secret Keyword sha256" in texts["r.xml"] and "Secret Keyword sha256" in texts["r.json"]


@pytest.mark.parametrize("markup", [False, True], ids=["text", "markup"])
@pytest.mark.parametrize("case", sorted(VALUES))
def test_a_credential_is_masked_in_each_form_a_report_writes_it(case: str, markup: bool) -> None:
    """The value quoted with repr, then written as a JSON string or as XML, as each report writes it."""
    import html

    value, secret = VALUES[case]
    quoted = f"The entry's time {value!r} is not an RFC 3339 time."
    written = {"terminal": quoted, "json": json.dumps({"message": quoted}), "ascii json": json.dumps(quoted),
               "xml": html.escape(quoted), "json of xml": json.dumps(html.escape(quoted))}
    for how, text in written.items():
        if markup != (how == "xml"):
            continue
        masked = masked_tokens(text, markup)
        assert secret not in masked and "sha256" in masked, (how, masked)


def test_text_without_a_credential_is_left_as_it_is() -> None:
    """Escapes alone change nothing: a Windows path, a JSON string with quotes and line breaks, entities."""
    for text in ['C:\\\\Users\\\\vault\\\\audit.log', json.dumps({"m": 'say "hello"\nand go'}),
                 "a &lt;b&gt; &amp; c", "\\u00e9t\\u00e9 \\ud83d\\ude00"]:
        assert masked_tokens(text) == text
