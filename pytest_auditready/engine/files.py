"""Exported logs: the paths of a run (files, folders, globs), and each file read once through the one driver.

No pytest here: ``auditready verify`` and ``pytest --auditready-offline`` both call ``expand`` and ``verify_file``.
Checks without a streaming form (``Check.visitor``) run once with no entries and ``ctx.log_path`` set to the file,
so a check that reads beside the log (a digest chain, the file's mode) works offline too.
"""

from __future__ import annotations

import collections
import functools
import lzma
import os
import re
import time
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping, Optional, Sequence, TypeVar, Union

from ..checks.base import (
    Check,
    CheckContext,
    Finding,
    Note,
    Outcome,
    Skip,
    Tally,
    Visitor,
    evaluate,
    stat_log,
    verdicts,
)
from ..config import UNORDERED, Settings
from ..errors import AuditReadyError
from ..offline.reader import FileStats, open_log
from ..safeio import same_file, stat_key
from .driver import drive, reader_for

if TYPE_CHECKING:
    from ..checks.access_policy import Rules
    from ..checks.completeness import Asked, Pairs

_MALLOC_TUNED = False


def _keep_freed_memory() -> None:
    """Ask glibc to keep freed memory for reuse instead of returning it to the system after every block: each
    block allocates and frees a few megabytes, and giving them back means faulting fresh zeroed pages in again
    (measured on 200 MB: 49,000 page faults without this, 17,000 with it, half the system time). Peak RSS stays
    about the same (+0.5 MB), as only what was freed is kept. A no-op where there is no glibc."""
    global _MALLOC_TUNED
    if _MALLOC_TUNED:
        return
    _MALLOC_TUNED = True
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError, ImportError):  # not glibc (musl, macOS, Windows)
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    mallopt(m_mmap_threshold, 4 << 20)  # blocks of 512 KiB come from the heap, not a fresh mapping each
    mallopt(m_trim_threshold, 64 << 20)


def expand(paths: Sequence[str], left_out: Optional[list[tuple[str, str]]] = None) -> list[str]:
    """Every log file named by ``paths``, each once: a file as given, a folder's log files (recursively; each log's
    rotated files oldest first, its live log last: ``rotation.rotation_sorted``; digest chains and keys left out), a
    glob's matches (in the same order, the same left out: ``audit.log*`` matches the chain ``audit.log.digests``
    too), an object-store URL's objects (``engine.objects``). A digest chain, rotated or not
    (``rotation.chain_name``), is never read as a log, even named on its own (the shell expands ``audit.log*``
    before the command sees it): tamper_evidence finds it beside its log. A path that names nothing is an
    AuditReadyError, as is a folder or glob holding no file, or a run naming only chains: an empty set of evidence
    is never a pass. A local file whose whole content is a checksum list (``checksum_list``: the SHA256SUMS a copy
    tool wrote beside the logs) is no log either: left out of a folder, a glob or the files named with others, and
    put in ``left_out`` as (path, what it is); named alone it is refused."""
    import glob
    import os

    from ..auditlog.rotation import chain_name, rotation_sorted
    from .objects import expand_url, is_url

    out: list[str] = []
    chains: list[str] = []
    sums: list[tuple[str, str]] = []
    for p in paths:
        if p == "-" and not os.path.lexists(p):
            raise AuditReadyError("'-' names standard input, which is not read: a verdict names the files it rests on",
                                  "save the stream to a file first (... > audit.log) and name that file")
        if is_url(p):  # object storage: an object, a prefix or a glob (engine.objects)
            out.extend(rotation_sorted(expand_url(p)))
        elif "://" in p and not os.path.lexists(p):
            _not_read_url(p)
        elif os.path.isdir(p):
            found = _no_sums(rotation_sorted(os.path.join(d, n) for d, names in _walk(p) for n in names
                                             if read_by_scan(os.path.join(d, n))), sums)
            if not found:
                raise AuditReadyError(f"the folder {p} holds no log file"
                                      + (f" ({sums[-1][0]} is {sums[-1][1]})" if sums else ""),
                                      "name the folder that holds the audit logs")
            out.extend(found)
        elif os.path.lexists(p) or not glob.has_magic(p):
            if chain_name(os.path.basename(p)) and os.path.isfile(p):
                chains.append(p)  # a chain named on its own, or by a glob the shell expanded
            elif _no_sums([p], sums):
                out.append(p)  # opening it says what is wrong, if anything
        else:
            out.extend(_globbed(p, sums))
    if chains and not out:
        raise AuditReadyError(f"{chains[0]} is a digest chain written by `auditready seal`, not an audit log",
                              "name the log it seals (or its folder): tamper_evidence finds the chain beside it")
    if sums and not out:
        raise AuditReadyError(f"{sums[0][0]} is {sums[0][1]}, not an audit log",
                              "name the logs it lists (or their folder)")
    if left_out is not None:
        left_out.extend(sums)
    # one file named twice (audit.log, ./audit.log, its absolute path; by a folder and by name; by way of a linked
    # folder) is read once, under the first name given; a link to a file is another name, kept: a rotated file
    # replaced by a link is completeness's to judge
    def key(p: str) -> tuple[str, str]:
        return (p, "") if is_url(p) else _name_key(p)

    seen: set[tuple[str, str]] = set()
    return [p for p in out if not (key(p) in seen or seen.add(key(p)))]  # type: ignore[func-returns-value]


def read_by_scan(path: str) -> bool:
    """Whether a folder scan (``expand`` of a folder that holds ``path``) reads the file at ``path`` as a log: every
    file but hidden ones, digest chains, keys and CloudTrail digest files (``objects.not_a_log``)."""
    from ..auditlog.rotation import chain_name
    from .objects import not_a_log

    return not not_a_log(path) and not chain_name(os.path.basename(path))


def _not_read_url(url: str) -> None:
    """Refuse a URL of a scheme no object store is read by (an https:// presigned or SAS URL, an ftp:// one) in one
    line that shows none of its credentials: it named no file (red team rt93 F2: it was globbed as a path, and the
    refusal, "no file matches", quoted its signature)."""
    from ..text import without_userinfo
    from .objects import credentials_in

    scheme = url.split("://", 1)[0].lower()
    why = credentials_in(url)
    raise AuditReadyError(f"{scheme}:// URLs are not read ({without_userinfo(url)})"
                          + (f", and this one carries {why}, which every report and log line would show" if why
                             else ""),
                          "name the object by its store's URL (s3://BUCKET/KEY, gs://..., az://...) with "
                          "credentials in the environment, or download it and name the file")


def scanned_folders(top: str) -> list[str]:
    """The real paths of the folders a scan of the folder ``top`` walks: ``top`` and every folder under it,
    linked folders included (``_walk``). A file written in any of them is read by the next scan of ``top``."""
    return [os.path.realpath(d) for d, _ in _walk(top)]


def _no_sums(paths: Iterable[str], sums: list[tuple[str, str]]) -> list[str]:
    """``paths`` without the checksum lists among them (``checksum_list``), each put in ``sums`` with what it is."""
    out = []
    for p in paths:
        what = checksum_list(p)
        if what:
            sums.append((p, what))
        else:
            out.append(p)
    return out


SUMS_MAX = 16 << 20  # a checksum list of more bytes is read as a log (and refused as today): 200,000 files listed
_HEX_DIGITS = {32: "md5sum", 40: "sha1sum", 56: "sha224sum", 64: "sha256sum", 96: "sha384sum", 128: "sha512sum"}
_SUM_START = re.compile(rb"#|\\?[0-9a-fA-F]{32}|\\?(?:MD5|SHA|BLAKE2|SM3)[\w/-]* \(")
_GNU_SUM = re.compile(rb"\\?([0-9a-fA-F]{32,128}) [ *].+")
_BSD_SUM = re.compile(rb"\\?(MD5|SHA1|SHA224|SHA256|SHA384|SHA512(?:/224|/256)?|SHA3-(?:224|256|384|512)|BLAKE2[bs]"
                      rb"(?:-\d+)?|SM3) \(.+\) = [0-9a-fA-F]{32,128}")


def checksum_list(path: str) -> str:
    """What ``path`` is when its whole content is a checksum list, told by content only (never by its name): lines
    of a hex digest, two characters (" " or " *") and a file name, as coreutils' sha256sum, sha1sum, md5sum, b2sum
    and Perl's shasum write them (SHA256SUMS, MD5SUMS, a copy tool's manifest), or BSD's tagged lines
    (``SHA256 (audit.log) = ...``, sha256sum --tag, macOS shasum); comment and blank lines may be among them. "" for
    anything else: an object, no regular file, an empty or larger file (each read as a log, which says what it is).
    Such a list is what a copy of the logs carries to check itself: evidence about the logs, not audit entries."""
    import stat

    from .objects import is_url

    if is_url(path):
        return ""
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode) or not 0 < st.st_size <= SUMS_MAX:
            return ""
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
                     | getattr(os, "O_NOCTTY", 0))
    except (OSError, ValueError):
        return ""  # reading it as a log says what is wrong with it
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return ""
        head = os.read(fd, 256)
        if not _SUM_START.match(head.removeprefix(b"\xef\xbb\xbf")):
            return ""  # it begins as no checksum list does: a log (nothing more is read)
        data = bytearray(head)
        while len(data) <= SUMS_MAX:
            more = os.read(fd, 1 << 20)
            if not more:
                break
            data += more
    except OSError:
        return ""
    finally:
        os.close(fd)
    if len(data) > SUMS_MAX:
        return ""
    kinds: set[str] = set()
    for line in bytes(data).removeprefix(b"\xef\xbb\xbf").split(b"\n"):
        line = line.rstrip(b"\r")
        if not line.strip() or line.startswith(b"#"):
            continue
        gnu = _GNU_SUM.fullmatch(line)
        if gnu is not None and len(gnu.group(1)) in _HEX_DIGITS:
            kinds.add(f"a checksum list ({_HEX_DIGITS[len(gnu.group(1))]}'s format)")
            continue
        bsd = _BSD_SUM.fullmatch(line)
        if bsd is None:
            return ""
        kinds.add(f"a checksum list (BSD's tagged format, {bsd.group(1).decode()})")
    if len(kinds) != 1:
        return "a checksum list" if kinds else ""
    return kinds.pop()


def _globbed(pattern: str, sums: Optional[list[tuple[str, str]]] = None) -> list[str]:
    """A glob's matches as the shell's expansion of it would be read (red team rt53 F1): a matched folder walked,
    a match that is no regular file (a dangling link, a FIFO) named, so that opening it says what it is; and every
    folder the pattern reaches into listed, or refused (``_unlisted``): Python's glob passes over a folder it
    cannot list without a word, and that folder's logs would be left out of the verdict. Digest chains and what
    ``objects.not_a_log`` names are left out, as from a folder. ``**`` reaches each real folder once (``_glob``),
    and a file reached under several names (by way of a linked folder) is read once (``_once``)."""
    import glob

    from ..auditlog.rotation import rotation_sorted

    head = os.path.dirname(pattern)  # the folders the pattern's last part is looked for in
    for folder in (_glob(head) if glob.has_magic(head) else [head]) if head else []:
        if os.path.isdir(folder):
            try:
                with os.scandir(folder):
                    pass
            except OSError as exc:
                _unlisted(exc)
    files: list[str] = []
    for m in _glob(pattern):
        if os.path.isdir(m):
            files.extend(os.path.join(d, n) for d, names in _walk(m) for n in names if read_by_scan(os.path.join(d, n)))
        elif read_by_scan(m):
            files.append(m)
    left: list[tuple[str, str]] = []
    found = _no_sums(rotation_sorted(_once(sorted(files, key=lambda p: (p.count(os.sep), p)))), left)
    if sums is not None:
        sums.extend(left)
    if not found:
        raise AuditReadyError(f"no file matches {pattern}" + (f" but {left[0][0]}, {left[0][1]}" if left else ""),
                              "check the pattern (quote it so the shell does not expand it first)")
    return found


def _glob(pattern: str) -> list[str]:
    """``glob.glob(pattern, recursive=True)``, but a ``**`` part reaches each real folder once, as a folder scan
    does (``_walk``): Python's own follows a link to a folder with no check for a loop, so two links back up made
    2^40 paths, read without end (red team rt73 F4), and one made the same file 41 names. As there, a ``**`` leaves
    out hidden folders and a folder it cannot list is refused."""
    import glob

    parts = (pattern.replace(os.altsep, os.sep) if os.altsep else pattern).split(os.sep)
    if "**" not in parts:
        return glob.glob(pattern)  # no part reaches down without bound
    at = parts.index("**")
    base, rest = os.sep.join(parts[:at]) or (os.sep if at else ""), parts[at + 1:]
    out: list[str] = []
    for top in (glob.glob(base) if glob.has_magic(base) else [base]) if base else [""]:
        if top and not os.path.isdir(top):
            continue
        for d, names in _walk(top or os.curdir, hidden=False):
            d = d if top else os.path.relpath(d)  # "**/x" names what it finds as glob does, without "./"
            if not rest or rest == [""]:  # "**" last: the folders and their files ("**/": the folders)
                out.append(os.path.join(d, "") if rest else d)
                out.extend(os.path.join(d, n) for n in names if not n.startswith(".") and not rest)
            else:
                out.extend(_glob(os.path.join("" if d == os.curdir else glob.escape(d), *rest)))
    return out


def _once(paths: Iterable[str]) -> list[str]:
    """``paths`` without the later names of a file named before: one name in one real folder, reached by way of a
    linked folder (``logs/current/audit.log`` where ``current`` links to ``logs/2026-01``). A link to a file is a
    name of its own, kept: a rotated file replaced by a link is completeness's to judge."""
    seen: set[tuple[str, str]] = set()
    out = []
    for p in paths:
        key = _name_key(p)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def _name_key(path: str) -> tuple[str, str]:
    """What tells a local file's name from another's: its folder's real path (links resolved before "..", as the
    system resolves them) and its own name."""
    return os.path.realpath(os.path.dirname(path) or os.curdir), os.path.basename(path)


def _walk(top: str, hidden: bool = True) -> Iterator[tuple[str, list[str]]]:
    """Each folder under ``top`` with the names of the files in it: a linked folder is followed (an archive linked
    into the log folder holds files of the set), each real folder once (a link back up is no loop), and a folder
    that cannot be listed is refused (``_unlisted``). ``hidden``: whether hidden folders under ``top`` are walked
    (a glob's ``**`` leaves them out)."""
    seen: set[str] = set()
    for d, dirs, names in os.walk(top, onerror=_unlisted, followlinks=True):
        real = os.path.realpath(d)
        if real in seen:
            dirs[:] = []
            continue
        seen.add(real)
        dirs[:] = [x for x in dirs if (hidden or not x.startswith("."))
                   and os.path.realpath(os.path.join(d, x)) not in seen]
        yield d, names


def _unlisted(exc: OSError) -> None:
    """A folder under a named one that cannot be listed: refused, never walked past (its logs would be left out of
    the verdict without a word)."""
    where = getattr(exc, "filename", None) or "a folder"
    raise AuditReadyError(f"cannot list the folder {where}: {exc.strerror or exc}",
                          "give this user read and execute access to it, or name the folders to verify one by one")


def offline_checks(checks: Sequence[Check]) -> list[Check]:
    return [c for c in checks if not c.live_only]


def read_canaries(path: Optional[str]) -> dict[str, str]:
    """Known secret values, one a line (blank lines and lines starting with # ignored; spaces and tabs around a
    value dropped; a byte-order mark too), named canary:1, ... A file that lists none is refused."""
    if not path:
        return {}
    from ..safeio import MAX_LIST_BYTES, read_small

    try:
        # utf-8-sig: a byte-order mark (Notepad's, PowerShell's Out-File) is no part of the first value
        text = read_small(path, "canaries file", MAX_LIST_BYTES).decode("utf-8-sig")
        # one value a line, split at newlines only: a value may hold U+2028, \x0b, \x0c or \x85 itself
        lines = [ln.strip(" \t\r") for ln in text.split("\n")]
    except FileNotFoundError:
        raise AuditReadyError(f"no such canaries file: {path}", "check the path given to --canaries") from None
    except (OSError, UnicodeDecodeError) as exc:
        why = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise AuditReadyError(f"cannot read the canaries file {path}: {why}", "give one known value a line") from None
    values = [ln for ln in lines if ln and not ln.startswith("#")]
    if not values:  # a run that was asked to look for known values and looks for none would pass on nothing
        raise AuditReadyError(f"the canaries file {path} lists no value (it is empty, or holds only comments and "
                              "blank lines)", "list the known secret values, one a line, or leave --canaries out")
    short = [i for i, v in enumerate(values, 1) if len(v) < 8]
    if short:
        raise AuditReadyError(f"canary {short[0]} in {path} is shorter than 8 characters, which would match by "
                              "chance", "list only real secret values (at least 8 characters)")
    return {f"canary:{i}": v for i, v in enumerate(values, 1)}


def prepare(settings: Settings, paths: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """What every offline front end does before it reads a log: the paths expanded, the known values read, the key
    files checked. Each refusal is an AuditReadyError (exit 2), before any verdict."""
    secrets = read_canaries(settings.canaries_file)
    check_inputs(settings)
    _pieces.cache_clear()  # which files hold bytes: as they are for this run, not as an earlier run of the process saw
    _holding.cache_clear()
    _COUNTED[0] = None
    from ..checks.log_protection import _members

    _members.cache_clear()  # who is in a group: as the host says for this run
    left_out: list[tuple[str, str]] = []
    files = expand(paths, left_out)
    if left_out:
        import sys

        from ..text import visible

        for path, what in left_out:  # (said before any verdict: the files the verdict rests on are the others)
            print(f"auditready: {visible(path)} is left out: {visible(what)}, not a log", file=sys.stderr)
    return files, secrets


def check_inputs(settings: Settings) -> None:
    """Refuse, before any verdict, key files that are no regular file of sane size (a FIFO, a device, a folder) or
    hold no usable key (text that is no key, a private key, a list with no CloudTrail key): input that cannot be
    read is exit 2 in one line, never a tamper_evidence finding blamed on the log, and never left unread because
    the check is not required (``require_tamper_evidence = false`` still verifies a chain that is there)."""
    from pathlib import Path

    from ..safeio import MAX_KEY_BYTES, MAX_LIST_BYTES, read_small

    for path, what, cap, option in ((settings.public_key, "public key", MAX_KEY_BYTES, "--public-key"),
                                    (settings.cloudtrail_public_keys, "CloudTrail public keys file", MAX_LIST_BYTES,
                                     "--cloudtrail-public-keys")):
        if path:
            if option == "--public-key":  # cryptography is imported only where a key is given
                from ..seal.chain import load_public_key as load
            else:
                from ..seal.cloudtrail import load_public_keys as load  # type: ignore[assignment]
            try:
                read_small(path, what, cap)
            except FileNotFoundError:  # read_small leaves the wording of a missing file to its caller
                raise AuditReadyError(f"no such {what}: {path}", f"check the path given to {option} (or its key in "
                                      "[tool.auditready])") from None
            try:
                load(Path(path))
            except AuditReadyError as exc:
                key = option[2:].replace("-", "_")
                raise AuditReadyError(f"{exc.cause} (given as {key} in [tool.auditready] or {option}): it can verify "
                                      "no log", exc.fix) from None
    from .objects import credentials_in, is_url

    for folder in settings.seal_archive:
        if is_url(folder):  # never shown: it may carry a credential, and reports would repeat it
            why = credentials_in(folder)
            raise AuditReadyError("seal_archive names an object-store URL" + (f" (it carries {why})" if why else "")
                                  + ", but a seal chain's archived files are verified in a local folder only",
                                  "copy the archive with its chain (aws s3 sync s3://BUCKET/PREFIX/ DIR/) and name "
                                  "that folder in seal_archive (--seal-archive); give credentials in the environment")


@dataclass
class FileResult:
    """One file's verdicts and the accounting every report shows: its format, the lines read, the entries
    parsed, the lines that could not be read."""

    path: str
    outcomes: list[Outcome]
    stats: FileStats = field(default_factory=FileStats)
    seconds: float = 0.0
    format: str = ""
    entries: int = 0
    bad_lines: int = 0
    review: Optional[dict[str, Any]] = None  # the access review's state (review.Review.state), Vault/OpenBao only
    settles: tuple[tuple[str, str, str, int], ...] = ()  # the set's word on other files' tallies (``settle``)

    def accounting(self) -> dict[str, Any]:
        """What was read, judged and excused, as data (JSON, evidence, JUnit properties)."""
        return {
            "file": self.path,
            "format": self.format,
            "lines": self.stats.lines,
            "bytes": self.stats.bytes,
            "entries": self.entries,
            "unreadable_lines": self.bad_lines,
            **({"framing": self.stats.framing, "left_out": self.stats.left_out} if self.stats.framing else {}),
            **({"empty_lines": self.stats.blank} if self.stats.blank else {}),
            **({"eight_bit_undone": self.stats.eight_bit} if self.stats.eight_bit else {}),
            **({"stored": self.stats.stored} if self.stats.stored is not None else {}),
            "checks": {o.check_id: o.tally.to_json() for o in self.outcomes},
        }


def detect(path: str, settings: Settings, judged: bool = True) -> Settings:
    """The settings to read ``path`` with: its format (and device prefix) told from its content, checked against
    a format the user named. Content of no known format raises UnknownFormat (exit 2, one line). ``judged``: the
    entries' fields are judged (required_fields), so a field_map must name each (``check_format``)."""
    import dataclasses

    from ..auditlog.detect import SAMPLE_BYTES, check_format, read_sample, sniff

    f = open_log(path)
    try:
        try:
            sample, complete = read_sample(f)  # past a first line longer than the sample
        except (OSError, EOFError) as exc:
            from ..offline.reader import read_error

            raise read_error(path, exc) from None
    finally:
        f.close()
    found = sniff(path, sample if complete else sample[:SAMPLE_BYTES], complete, prefix=settings.log_prefix,
                  framing=settings.log_framing)
    if not found.format and sample.removeprefix(b"\xef\xbb\xbf"):  # blanks only (an empty file is judged empty)
        raise _blank(path, sample if complete else sample[:SAMPLE_BYTES], complete)
    fmt = check_format(path, found, settings.log_format, settings.field_map,
                       settings.required_fields if judged else ())
    told = dataclasses.replace(settings, log_format=fmt, log_framing=found.framing or "none")
    # what the user set, kept aside: another file of the set is read with it, never with this file's own
    object.__setattr__(told, _GIVEN, settings.__dict__.get(_GIVEN, (settings.log_format, settings.log_framing)))
    why = _unordered(found.framing, sample)
    if why:
        object.__setattr__(told, UNORDERED, why)
    return told


_SEARCH_HITS = ("an Elasticsearch export (a search's hits, elasticdump) keeps no time order unless it was sorted: "
                "hits come in shard and segment order, so file order is not checked")


def _unordered(framing: str, sample: bytes) -> str:
    """Why a file in ``framing`` whose head is ``sample`` keeps no time order beyond what its framing says
    (``config.unordered``): a shipper's records that are an Elasticsearch search's hits; else ""."""
    from ..auditlog import container

    if framing != "shipper":
        return ""
    import orjson

    for line in sample.split(b"\n", 8)[:8]:
        if line.strip():
            try:
                rec = orjson.loads(line.lstrip(b"\x1e"))
            except orjson.JSONDecodeError:
                return ""
            return _SEARCH_HITS if isinstance(rec, dict) and container.query_tool(rec) == "elasticsearch" else ""
    return ""


def _blank(path: str, sample: bytes, complete: bool) -> AuditReadyError:
    """The refusal of a file whose content (``complete``) or first SAMPLE_BYTES hold nothing but empty or blank lines:
    no format writes that, and read as a log each line would be an entry removed, at 2 µs a line (red team rt73 F1:
    16 million of them, exit 1 after 44 s)."""
    from ..auditlog.detect import UnknownFormat

    lines = sample.count(b"\n") + (not sample.endswith(b"\n"))
    what = f"holds nothing but {lines:,} empty line(s)" if complete else \
        f"holds nothing but empty lines in its first {len(sample):,} bytes ({lines:,} lines)"
    return UnknownFormat(f"{path} {what}: no audit log, of any format, is that (each entry is a line of text)",
                         "name the audit log itself; if its entries were blanked, restore it from its source or a "
                         "backup and keep this file as evidence")


_GIVEN = "_auditready_given"  # the attribute ``detect`` keeps the user's (log_format, log_framing) in


def given(settings: Settings) -> tuple[str, str]:
    """The log_format and log_framing the user set ("auto" where the content tells them), as opposed to those
    ``detect`` told from one file's content and put in their place. Settings no file was told from (``detect``
    keeps the user's aside on the settings it returns) are taken as the user's: this holds for every caller, which
    passes either ``detect``'s settings or the user's."""
    kept = settings.__dict__.get(_GIVEN)
    return kept if isinstance(kept, tuple) else (settings.log_format, settings.log_framing)


def stored_state(path: str) -> Optional[dict[str, int]]:
    """A local file's size, modification time and inode as they are now: what a reader records when it judges the
    file, for ``file_digest`` to tell whether the file changed since; None for no such regular file."""
    import os
    import stat

    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    # (the change time too: a write in place keeps size and inode, and utime() puts the modification time back, but
    # nothing sets the change time back; red team rt70 F2)
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "ctime_ns": st.st_ctime_ns, "inode": st.st_ino}


def judged_state(before: Optional[dict[str, int]], after: Optional[dict[str, int]]) -> Optional[dict[str, Any]]:
    """A file's state while it was judged, from ``stored_state`` before and after the read: that state when they
    agree, {"changed": True} when the file changed meanwhile, None for no local file."""
    if before is None:
        return None
    return before if before == after else {"changed": True}


def verify_file(path: str, settings: Settings, checks: Sequence[Check], secrets: Mapping[str, str],
                log_set: Sequence[str] = (), *, detected: bool = False) -> FileResult:
    """Run ``checks`` (the offline ones) over one file, reading it once through the one driver. Raises
    AuditReadyError when the file cannot be read at all, or holds no format the checks can read; bad lines are
    findings. A check fed no entry to judge fails (``judged_something``)."""
    started = time.monotonic()
    _keep_freed_memory()
    name = str(path)
    if not detected:  # ``settings`` came from ``detect(path, ...)`` already when ``detected``
        settings = detect(name, settings)
    before = stored_state(name)  # the file as it was judged: the evidence hashes it only if it is so still
    f = open_log(name)
    ctx = CheckContext(settings=settings, ledger=None, entries=[], bad_lines=[], secrets=dict(secrets),
                       log_file=stat_log(name), source=name, log_path=name, log_set=tuple(log_set) or (name,))
    streaming = [(c, c.visitor(ctx)) for c in checks if c.visitor is not None]
    from ..review import Review, reviewable

    review = Review(settings) if reviewable(settings) else None  # fed by the same pass as the checks
    read_blocks, parse, whole_block = reader_for(settings, name)
    stats = FileStats()
    try:
        counts = drive([v for _, v in streaming] + ([review] if review is not None else []),
                       read_blocks(f, name, stats), name, parse, whole_block)
        stats.blank = counts.blank
    finally:
        f.close()
    stats.stored = judged_state(before, stored_state(name))
    if stats.export:  # a query tool's export ends where the query did, not where the log does: told to the visitors
        for _, judge in streaming:  # that judge the log's end (completeness: nothing there is in flight)
            told = getattr(judge, "query_export", None)
            if callable(told):
                told(stats.export)
    finished = {check.id: visitor for check, visitor in streaming}
    empty = empty_member(name, log_set, stats)
    member = set_member(name, log_set, stats)
    outcomes: list[Outcome] = []
    for check in checks:
        visitor = finished.get(check.id)
        if visitor is not None:
            said = with_set(check, visitor, name, log_set, settings, counts.entries)  # before the tally: it may judge
            tally = Tally(counts.entries, tuple(sorted(visitor.excused.items())))
            outcomes.extend(verdicts(check, said, [""], tally, name, empty, member, fmt=settings.log_format,
                                     unreadable=counts.bad_lines).values())
        else:
            outcomes.extend(evaluate(check, ctx, [""]).values())
    from ..checks.no_secret_leak import mask_quoted

    outcomes = mask_quoted(outcomes)
    return FileResult(name, outcomes, stats, time.monotonic() - started, settings.log_format, counts.entries,
                      counts.bad_lines, review.state() if review is not None else None, settles_of(finished.values()))


def settles_of(visitors: Iterable[Visitor]) -> tuple[Settle, ...]:
    """The set's word on other files' tallies, left by the completeness visitor of the file that judged the set."""
    for v in visitors:
        said: tuple[Settle, ...] = getattr(v, "settles", ())
        if said:
            return tuple(said)
    return ()


def _holds_bytes(path: str) -> bool:
    from .objects import is_url

    if is_url(path):  # its size as the store lists it (the listing of the run's prefix, not a request each)
        from .objects import _fs

        try:
            fs, key = _fs(path)
            return int(fs.size(key) or 0) > 0
        except Exception:  # the store's client raises its own types: its own verdict says what is wrong
            return True
    try:
        return os.path.getsize(path) > 0
    except OSError:
        return False


def last_holding(log_set: Sequence[str]) -> str:
    """The last file of the set that holds bytes (the last one when none does): where a verdict on the whole set is
    given, never on a log just rotated and still empty."""
    for p in reversed(log_set):
        if _holds_bytes(p):
            return p
    return log_set[-1]


def empty_member(name: str, log_set: Sequence[str], stats: FileStats) -> str:
    """Why ``name``, a file from which nothing was read, has no entry to judge when other files of its set hold
    bytes: a log just rotated (logrotate's create, the vault reopening its file on SIGHUP) or rotated while idle
    (ifempty); "" otherwise. A check that judged nothing in it is then skipped with this reason instead of failing
    (``checks.base.judged_something``); checks of the set (retention, tamper_evidence) and of the file (its mode)
    keep their verdicts. A file alone, or a set of nothing but empty files, still fails: no evidence is never a
    pass. A file no writer leaves empty (``hollow``) is skipped with that reason, and completeness fails on it."""
    if stats.bytes or stats.lines:
        return ""
    why = hollow(name, log_set)
    if why:  # no log just rotated: completeness fails on it (``with_set``); the other checks say why they skip
        return f"{why[:-1]}; completeness reports it"
    # its own log's files: an empty file of another name is no log just rotated
    files, holding = _count_of(name, log_set)
    if not holding:
        return ""
    return (f"{name} is empty (a log just rotated, or rotated while idle): no entry in it to judge; the other "
            f"{files - 1} file(s) of the set hold the entries")


def set_member(name: str, log_set: Sequence[str], stats: FileStats) -> str:
    """Why a check that judged none of ``name``'s entries (each excused) does not fail it: other files of its log
    in the set hold entries (``checks.base.judged_something``); "" for a file alone, an empty one (``empty_member``)
    or one whose log has no other file with bytes."""
    if not stats.bytes:
        return ""
    others = _count_of(name, log_set)[1]
    return (f"{name} is one of the files of its log in the set, and the other {others} hold the entries this "
            "check judges") if others else ""


def _count_of(name: str, log_set: Sequence[str]) -> tuple[int, int]:
    """How many files of ``name``'s rotation the set holds (``_pieces``), itself too, and how many of the others
    hold bytes: counted once a run for each log (counted for each file, a set of 6,000 files cost 36 million
    looks)."""
    if _COUNTED[0] is not log_set:  # (the same tuple for every file of a run: not hashed again for each)
        files = tuple(log_set)
        _COUNTED[:] = [log_set, log_names(files), _pieces(files), *_holding(files)]
    _, names, pieces, counts, holds = _COUNTED
    if name not in names:  # a file alone: no other file of its log
        return 1, 0
    log = _rotation_of(name, names[name])
    return len(pieces.get(log, ())), counts.get(log, 0) - holds.get(name, False)


_COUNTED: list[Any] = [None, {}, {}, {}, {}]  # ``_count_of``'s last set: it, its log names, pieces, counts, holds


def _rotation_of(path: str, log: str) -> str:
    """The rotation ``path`` is a piece of within its log ``log`` (``log_names``): for a local file, its log and the
    name of its live file (audit.log for audit.log, audit.log.1, audit.log-20260101.gz and
    audit-2026-01-05T08-00-00.000.log), so that only a log's own rotated files speak for an empty or wholly excused
    one, never another file of its folder whose name shares its stem (audit-k8s.json beside audit.log, vault-2.log
    beside vault-0.log, one numbered chunk beside another: red team rt102 F1); for an object, its log (an empty
    object is ``hollow``)."""
    from ..auditlog.rotation import rotation_slot, uncompressed_name
    from .objects import is_url

    if is_url(path):
        return log
    base = _base(path)
    slot = rotation_slot(base)
    return f"{log}\0{slot[0] if slot is not None else uncompressed_name(base)}"


@functools.lru_cache(maxsize=8)
def _holding(log_set: tuple[str, ...]) -> tuple[dict[str, int], dict[str, bool]]:
    """How many files of each rotation of the set (``_pieces``) hold bytes, and whether each file does."""
    pieces = _pieces(log_set)
    return ({log: sum(holds for _p, holds in files) for log, files in pieces.items()},
            {p: holds for files in pieces.values() for p, holds in files})


@functools.lru_cache(maxsize=8)
def _pieces(log_set: tuple[str, ...]) -> dict[str, tuple[tuple[str, bool], ...]]:
    """The files of a run's set by the rotation each is a piece of (``_rotation_of``), each with whether it holds bytes:
    told once a run (``prepare`` forgets them) for the set, which every one of its files asks about (told for each
    file, a set of 2,000 files cost 8 million looks: 22 ms a file instead of 4)."""
    pieces: dict[str, list[tuple[str, bool]]] = {}
    names = log_names(log_set)
    for p in log_set:
        pieces.setdefault(_rotation_of(p, names[p]), []).append((p, _holds_bytes(p)))
    return {log: tuple(files) for log, files in pieces.items()}


SEQUENCE_FIX = ("find the hop that dropped them (a UDP transport, a relay's rate limit or full queue) and make "
                "it reliable: TCP or RELP with a disk-assisted queue, rate limiting off for the vault's messages; "
                "restore the lost entries from the vault's own file device if one is kept")
_SEQ_BLOCK = 1 << 20


def numbers_lost(name: str) -> list[Finding]:
    """Messages a syslog hop lost, by the numbers their sender gave them (RFC 5424 ``[meta sequenceId]``,
    ``auditlog.syslog.sequence_gaps``): a finding at the line after each gap. Only a file whose first lines carry
    such numbers is read again for them (line by line, each cut at MAX_LINE_BYTES); a file that cannot be read
    gives none here (its own pass says why)."""
    from ..auditlog.lines import MAX_LINE_BYTES
    from ..auditlog.syslog import numbered, sequence_gaps
    from ..checks.completeness import ID

    def lines(f: Any, head: bytes) -> Iterator[bytes]:
        rest = head
        while True:
            block = f.read(_SEQ_BLOCK)
            rest += block
            parts = rest.split(b"\n")
            rest = parts.pop()
            for ln in parts:
                yield ln[:MAX_LINE_BYTES].rstrip(b"\r")
            if len(rest) > MAX_LINE_BYTES:
                rest = rest[:MAX_LINE_BYTES]  # a line past the limit: its start is all a header needs
            if not block:
                if rest:
                    yield rest.rstrip(b"\r")
                return

    out: list[Finding] = []
    try:
        f = open_log(name)
    except AuditReadyError:
        return out
    try:
        head = f.read(1 << 16)
        if not numbered(head):
            return out
        for n, prev, first, last in sequence_gaps(lines(f, head)):
            if len(out) == _SHOW_BROKEN:
                out.append(Finding(ID, "", f"more messages numbered by their sender are missing from {name}.",
                                   SEQUENCE_FIX))
                break
            count = last - first + 1
            out.append(Finding(ID, "", f"{count} message(s) its sender numbered between line {prev} and this line "
                               f"are missing (RFC 5424 sequenceId {first} to {last}): the syslog hop lost them, and "
                               "with them the audit entries they carried.", SEQUENCE_FIX, where=f"{name}:{n}"))
    except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError):  # damaged data: its own pass says so
        return out
    finally:
        f.close()
    return out


HOLLOW_FIX = ("restore the file from a trusted copy (backup or log store) and find out what emptied it (a failed "
              "compression or upload, a full disk, someone who could write the log folder or bucket)")


def hollow(name: str, log_set: Sequence[str] = ()) -> str:
    """Why ``name`` holds 0 bytes though no writer leaves it so, or "": a compressed file (a compressor writes its
    header and trailer even for no input: gzip 20 bytes) or an object of a store (a shipper uploads a chunk whole,
    and never an empty one). Such a file was emptied, or its compression or upload failed: the entries it held are
    lost, which an empty live log just rotated (``empty_member``) never means. An object named as the live log of
    rotated objects beside it in ``log_set`` is a log folder copied whole to the store (aws s3 sync), which may hold
    its live log just rotated."""
    from pathlib import Path

    from ..auditlog.rotation import rotated_name, rotation_slot, uncompressed_name
    from .objects import is_url

    base = _base(name)
    compressed = uncompressed_name(base) != base
    if not (compressed or is_url(name)) or _holds_bytes(name):
        return ""
    folder = name[: len(name) - len(base)]
    if is_url(name) and not compressed and rotation_slot(base) is None and any(
            p.startswith(folder) and "/" not in p[len(folder):] and rotated_name(Path(base), _base(p))
            for p in log_set):
        return ""
    if is_url(name) and not compressed:
        try:
            from .objects import _fs

            fs, key = _fs(name)
            if fs.size(key) is None:
                return ""
        except Exception:  # the store's client raises its own types: reading the object says what is wrong
            return ""
    if not is_url(name) and not os.path.isfile(name):
        return ""  # gone, or no regular file: reading it says so
    what = "a compressed file of 0 bytes: a compressor writes its header and trailer even for no input" if \
        compressed else "an object of 0 bytes: a shipper uploads its chunks whole, and never an empty one"
    return (f"{name} is {what}, so it was emptied, or its compression or upload failed: the entries it held are "
            "lost.")


def _iso(ns: int) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(ns // 10**9, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _base(path: str) -> str:
    """The last part of a local path or an object's key."""
    return path.replace("\\", "/").rpartition("/")[2]


def _one_file(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` are one file kept twice, as a correct set may hold it: compressed and not (audit.log.1
    and audit.log.1.gz), under one name in two folders (a rotated file and its archived copy), or a local file under
    two names (a link: rotatelogs -L, cronolog --symlink)."""
    from ..auditlog.rotation import uncompressed_name
    from .objects import is_url

    if uncompressed_name(_base(a)) == uncompressed_name(_base(b)):
        return True
    try:
        return not (is_url(a) or is_url(b)) and os.path.samefile(a, b)
    except OSError:
        return False


def stand_ins(twins: Sequence[tuple[str, str]], ordered: Sequence[Edges]) -> list[tuple[str, str]]:
    """The pairs of ``twins`` (twin, kept: ``in_time``) whose twin, holding the same entries as the file kept, is a
    copy no correct set holds. A twin of two places of one log's rotation (audit.log.3.gz and audit.log.7.gz) always
    is: one was replaced by a copy of the other, or a link to it. In a Vault/OpenBao log so is a twin that is not
    one file kept twice (``_one_file``) with another of its copies: one chunk shipped twice under two object keys,
    as a shipper's retry after a timeout writes it. CloudTrail and Kubernetes deliver records again
    (``completeness.REDELIVERED``), so a keyed log's other copies are excused."""
    keyed = {e.name: e.keyed for e in ordered}
    copies: dict[str, list[str]] = {}
    for twin, kept in twins:
        copies.setdefault(kept, [kept]).append(twin)
    # Each group of copies told once (a pair at a time took time square in the copies: 2,000 identical files,
    # 142 s; red team rt89 F4): per place of rotation its numbers, per name uncompressed and per local file its count.
    told = {kept: _copies(group) for kept, group in copies.items()}
    out = []
    for twin, kept in twins:
        slots, names, inodes, facts = told[kept]
        slot, name, inode = facts[twin]
        distinct = slot is not None and sum(slots[slot[1]].values()) > slots[slot[1]][slot[2]]
        one_file = names[name] > 1 or (inode is not None and inodes[inode] > 1)
        if distinct or not (keyed.get(kept, False) or one_file):
            out.append((twin, kept))
    return out


def _inode(path: str) -> Optional[tuple[int, int]]:
    """A local file's device and inode (what os.path.samefile compares), None for a URL or a file not there."""
    from .objects import is_url

    key = None if is_url(path) else stat_key(path)
    return None if key is None else (key[1], key[2])


_Slot = Optional[tuple[str, str, tuple[int, ...], bool]]  # (``rotation_slot``)


def _copies(group: Sequence[str]) -> tuple[dict[str, collections.Counter[tuple[int, ...]]], collections.Counter[str],
                                           collections.Counter[tuple[int, int]],
                                           dict[str, tuple[_Slot, str, Optional[tuple[int, int]]]]]:
    """For files that hold the same entries: per rotation pattern the numbers its files carry (``distinct_slots``),
    how many carry each name uncompressed, how many are each local file (``_one_file``), and each file's own
    (rotation slot, name uncompressed, device and inode), each file's name parsed and stat'ed once."""
    from ..auditlog.rotation import rotation_slot, uncompressed_name

    slots: dict[str, collections.Counter[tuple[int, ...]]] = collections.defaultdict(collections.Counter)
    names: collections.Counter[str] = collections.Counter()
    inodes: collections.Counter[tuple[int, int]] = collections.Counter()
    facts: dict[str, tuple[_Slot, str, Optional[tuple[int, int]]]] = {}
    for name in dict.fromkeys(group):
        slot = rotation_slot(_base(name))
        if slot is not None:
            slots[slot[1]][slot[2]] += 1
        uncompressed = uncompressed_name(_base(name))
        names[uncompressed] += 1
        inode = _inode(name)
        if inode is not None:
            inodes[inode] += 1
        facts[name] = (slot, uncompressed, inode)
    return slots, names, inodes, facts


def names_in_time(ordered: Sequence[Edges], twins: Sequence[tuple[str, str]], skew: int) -> Iterator[Finding]:
    """What the names of a set's files say against the time of their entries: a file that holds the same entries as
    another and is no copy a correct set holds (``stand_ins``: a rotated file replaced by a copy of another day's,
    or a link to it, whose own entries are lost; a chunk shipped twice under two names), and two rotated files of
    one log in one folder whose numbers or dates run against the time of their entries (logrotate numbers a newer
    file lower, a date grows with time, the live log is the newest): renamed out of order, or swapped; and a file
    of a rotation whose entries run on past the start of the next one by more than ``skew`` (ns, max_skew: as one
    file's entries may go back in time), or the next's reopen overlap (REOPEN_OVERLAP_NS): entries added to a
    rotated file (another file's appended, a compressed member concatenated) or re-timed at the start of the next,
    as the files of one rotation never overlap in time. Times order the files of a Vault/OpenBao log, and of a
    Kubernetes log by when its events were written (their stageTimestamp: an event's time is when its request
    began); CloudTrail delivers events late and out of order."""
    from ..auditlog.rotation import distinct_slots, rotation_slot
    from ..checks.completeness import ID

    for twin, kept in stand_ins(twins, ordered):
        if not distinct_slots(_base(twin), _base(kept)):
            yield Finding(ID, "", f"{twin} holds the same entries as {kept}, under another name: one chunk was "
                          "shipped twice (a shipper's retry after a timeout writes it again under a new object key), "
                          "or a file of the set was replaced by a copy of another, whose own entries are then lost; "
                          "each entry of it is written twice in the set.",
                          "find out which of the two the shipper or a person wrote, and keep one; make the shipper's "
                          "delivery idempotent (a fixed key per chunk), and keep audit logs where they cannot be "
                          "changed (an archive with object lock)", where=twin)
            continue
        yield Finding(ID, "", f"{twin} holds the same entries as {kept}, another rotated file of the same log: a "
                      "file of the set was replaced by a copy of another (or a link to it), so the entries of its "
                      "own place in the rotation are lost, or one chunk was shipped twice under two names.",
                      "restore the file from a trusted copy (backup or log store) and find out who replaced it; "
                      "keep rotated audit logs where they cannot be changed (an archive with object lock)",
                      where=twin)
    groups: dict[tuple[str, str, str, bool], list[tuple[Edges, tuple[int, ...]]]] = {}
    lives: dict[tuple[str, str], Edges] = {}
    for e in ordered:
        if e.keyed and e.fmt != "k8s":  # CloudTrail delivers late and out of order (a Kubernetes file's span is
            continue  # when its events were written: completeness.Pairs._seen)
        folder, _, base = e.name.replace("\\", "/").rpartition("/")
        slot = rotation_slot(base)
        if slot is None:
            lives[(folder, base)] = e
        else:
            live_name, pattern, numbers, counter = slot
            groups.setdefault((folder, live_name, pattern, counter), []).append((e, numbers))
    broken: list[tuple[Edges, Edges, str, str]] = []  # (older entries, newer entries, why, where)
    for (folder, live_name, _, counter), files in groups.items():
        how = "logrotate numbers a newer file lower" if counter else "a rotated file's date grows with time"
        for (a, na), (b, nb) in zip(files, files[1:]):  # a before b in time
            if a.first != b.first and not ((nb < na) if counter else (nb > na)):
                broken.append((a, b, how, b.name))
        live = lives.get((folder, live_name))
        if live is not None:
            broken += [(live, f, "the live log is the newest file of its rotation", live.name)
                       for f, _ in files if f.first > live.first]
    rotations: dict[tuple[str, str], list[Edges]] = {}
    for (folder, live_name, _, _), files in groups.items():
        rotations.setdefault((folder, live_name), []).extend(f for f, _ in files)
    for (folder, live_name), pieces in rotations.items():
        live = lives.get((folder, live_name))
        in_order = sorted([*pieces, *([live] if live is not None else [])], key=lambda e: (e.first, e.last, e.name))
        for a, b in zip(in_order, in_order[1:]):
            if a.last > b.first + max(skew, REOPEN_OVERLAP_NS):
                yield Finding(ID, "", f"{a.name} holds entries up to {_iso(a.last)}, after {b.name}, the next file of "
                              f"its rotation, begins ({_iso(b.first)}): the files of one log's rotation never "
                              f"overlap in time (by more than max_skew, as one file's entries may not go back), so "
                              f"entries were added to {a.name} after it was rotated (another file's entries "
                              f"appended, a compressed member concatenated) or those {b.name} begins with were "
                              "re-timed.",
                              "restore the file from a trusted copy (backup or log store) and find out who wrote to "
                              "it; keep rotated audit logs where they cannot be changed", where=a.name)
    for shown, (a, b, how, where) in enumerate(broken, 1):
        if shown > _SHOW_BROKEN:  # one finding that stands for the rest (``entries``: files), at the first of them
            yield Finding(ID, "", f"{len(broken) - _SHOW_BROKEN} more files of the set are named against the time of "
                          "their entries.", "restore each file under the name rotation gave it", where=where,
                          entries=len(broken) - _SHOW_BROKEN)
            break
        yield Finding(ID, "", f"{a.name} holds entries older than those of {b.name}, but their names say the "
                      f"opposite ({how}): files of the set were renamed out of order or swapped, so which period "
                      "each holds, and which one a rotation deletes next, is no longer what its name says.",
                      "restore each file under the name rotation gave it (the time of its first entry tells which), "
                      "and find out who renamed them", where=where)


# -- request/response pairs across the files of a set ---------------------------------------------------------
#
# completeness judges each file alone and excuses a pair broken at its edges: a request still in flight when the
# file ends, a response whose request was written before it begins. Those excuses say the partner is in the next
# (or previous) file of the set; where that file is in the run, it is looked for there, and the entry is counted
# judged in its own file's table, whichever file is read first. What rotation loses between two files (logrotate's
# copytruncate loses what the vault writes between the copy and the truncation; a shipper loses a chunk; a file
# between the two is deleted) then shows as a partner missing at the boundary; what a hop wrote twice (a chunk shipped
# again, a copytruncate run twice, a restored copy merged in) as an entry of one file's first window that repeats
# one of the last window of the file before it. Each file's edges are read once a process (``_EDGES``) and the set
# is told once a run (``_SETS``), in memory bounded by the windows' entries (and _HEAVY_MAX in all).


@dataclass(frozen=True)
class Edges:
    """What one file's completeness pass left open at its edges, and the span of its paired entries: its requests
    still in flight at its end and its responses without a request at its start; and, to find an entry of one
    file written again at the start of the next, the responses of its last window (``answered``, at most ANSWERED)
    and the requests and responses of its first window (``head``, ``head_answers``, at most HEAD): by request id
    -> (ns, file, line), and for ``answered`` the time of the response's request entry too (-1: none before it)."""

    name: str
    first: int
    last: int
    entries: int
    pending: Mapping[str, tuple[int, str, int]]
    orphans: Mapping[str, tuple[int, str, int]]
    answered: Mapping[str, tuple[int, str, int, int]] = field(default_factory=dict)
    head: Mapping[str, tuple[int, str, int]] = field(default_factory=dict)
    head_answers: Mapping[str, tuple[int, str, int]] = field(default_factory=dict)
    # Kubernetes and CloudTrail: the keys of its first and last SEEN records (``Pairs._seen``) -> (file, line,
    # digest of the record), to find a record of one file delivered again in the next; empty for Vault/OpenBao
    keys: Mapping[str, tuple[str, int, bytes]] = field(default_factory=dict)
    last_keys: Mapping[str, tuple[str, int, bytes]] = field(default_factory=dict)
    partial: bool = False  # its windows' ids were not kept (``light``)
    fmt: str = ""  # the format it was read in (a keyed record's findings name its key)
    # what its requests in flight asked, and its responses without request said, of their request (``Asked``), with
    # whether each records an error, by request id: a pair split between two files is compared as one pass would
    asked: Mapping[str, tuple[Asked, bool]] = field(default_factory=dict)
    said: Mapping[str, tuple[Asked, bool]] = field(default_factory=dict)
    # the longest a request of the file took and the bound that makes for an edge in flight (``Pairs.late``), ns;
    # the request ids of its edges the file's own pass reported lost (their connection shows it)
    longest: int = 0
    late: int = 0
    reported: frozenset[str] = frozenset()
    # Kubernetes (``pending`` its RequestReceived events in flight at its end, ``orphans`` its later stages whose
    # RequestReceived it does not hold near its start, by their receive time): the audit policy key of each
    # (``Pairs.received``, ``Pairs.keys``), the keys of its requests with both stages -> where one is
    # (``Pairs.k8s_both``), how many of its RequestReceived events with no later stage each key has, and the bound
    # of a request (``Pairs.bound``)
    policy: Mapping[str, bytes] = field(default_factory=dict)
    both: Mapping[bytes, str] = field(default_factory=dict)
    lone: Mapping[bytes, int] = field(default_factory=dict)
    bound: int = 0
    # Vault/OpenBao: the request ids of its edges that are long-running requests (``Pairs.long_edges``: a profile,
    # a log stream), excused at an edge the set cannot pair them at
    long_running: frozenset[str] = frozenset()

    @property
    def keyed(self) -> bool:
        """Whether it is a Kubernetes or CloudTrail log (records found again by their keys, no pairs)."""
        return bool(self.keys or self.last_keys)

    @property
    def heavy(self) -> int:
        """How many ids of its first and last windows it holds."""
        return len(self.answered) + len(self.head) + len(self.head_answers) + len(self.keys) + len(self.last_keys)

    def light(self) -> "Edges":
        """The same edges without the ids of its first and last windows (only its open pairs): what a set of many
        files keeps of each past _HEAVY_MAX."""
        import dataclasses

        return dataclasses.replace(self, answered={}, head={}, head_answers={}, keys={}, last_keys={}, partial=True)

    def same_content(self, other: "Edges") -> bool:
        """Whether ``other`` holds the same entries as far as can be told without a second read (a copy kept beside
        its compressed twin): the same span, count, open pairs, and the ids or keys of the first and last windows."""
        return (self.first, self.last, self.entries) == (other.first, other.last, other.entries) and \
            set(self.pending) == set(other.pending) and set(self.orphans) == set(other.orphans) and \
            (self.partial or other.partial or (set(self.keys) == set(other.keys) and set(self.head) == set(other.head)
                                               and set(self.answered) == set(other.answered)))


_EDGES: dict[tuple[object, ...], Optional[Edges]] = {}
_SHOW_BROKEN = 20
_EDGES_MAX = 4096
# a set's files in time, once told: (the run's files, the settings that read them) -> ``_Set``; told again when a
# file's own pass gives other edges than those remembered; dropped once the file carrying the set's verdicts is judged
_SETS: dict[tuple[object, ...], "_Set"] = {}
_SETS_MAX = 64


def _edges_key(path: str, settings: Settings) -> Optional[tuple[object, ...]]:
    from .objects import is_url

    if is_url(path):
        return ("url", path, settings.completeness_window, given(settings))  # dropped once its set is judged
    key = stat_key(path)
    return None if key is None else (*key, settings.completeness_window, settings.log_prefix, settings.field_map,
                                     given(settings))


def edges_of(visitor: "Pairs", name: str, entries: int) -> Optional[Edges]:
    """The edges a finished (fed) completeness visitor left open; None for a log with nothing to judge across files
    (JSON lines without a request id; no Vault/OpenBao entry with a request id and a time; no keyed Kubernetes,
    CloudTrail or JSON lines record)."""
    if visitor.skip:  # Kubernetes, CloudTrail, keyed JSON lines: the keys of its records, to find one delivered again
        if visitor.fmt not in ("k8s", "cloudtrail", "jsonl") or visitor.seen_first is None:
            return None
        if visitor.fmt == "k8s":
            return _k8s_edges(visitor, name, entries)
        return Edges(name, visitor.seen_first, visitor.seen_last, entries, {}, {},
                     keys=dict(visitor.seen_head), last_keys=dict(visitor.seen), fmt=visitor.fmt)
    if visitor.first_t is None:
        return None
    since = visitor.max_t - visitor.window
    lost_requests, lost_responses = visitor._lost()  # what the file's own pass reports (a member of a set: by
    # connection only; its late edges are the set's, ``late_edges``)
    reported = frozenset([*lost_requests, *(o[0] for o in visitor.orphans if (o[2], o[3]) in lost_responses)])
    return Edges(name, visitor.first_t, visitor.max_t, entries,
                 {rid: (p[0], p[1], p[2]) for rid, p in visitor.pending.items()},
                 {o[0]: (o[1], o[2], o[3]) for o in visitor.orphans},  # (id, ns, file, line, ...)
                 {rid: a for rid, a in visitor.answered.items() if a[0] >= since},
                 dict(visitor.head), dict(visitor.head_answers),
                 asked={rid: (p[3], p[4]) for rid, p in visitor.pending.items()},
                 said={o[0]: visitor.orphan_said[(o[2], o[3])] for o in visitor.orphans
                       if (o[2], o[3]) in visitor.orphan_said},
                 longest=visitor.longest, late=visitor.late(), reported=reported,
                 long_running=_long_ids(visitor))


def _long_ids(visitor: "Pairs") -> frozenset[str]:
    """The request ids of a file's long-running edges (``Pairs.long_edges``), requests and responses alike."""
    requests, responses = visitor.long_edges()
    return frozenset(requests | {o[0] for o in visitor.orphans if (o[2], o[3]) in responses})


def _k8s_edges(visitor: "Pairs", name: str, entries: int) -> Edges:
    """A Kubernetes file's edges: the keys of its first and last records (a record delivered again), and the
    requests split at its edges that it excuses: a RequestReceived event in flight at its end (``k8s_open``, not
    long-running, within the bound of its last event), a later stage opening it whose RequestReceived it does not
    hold (``k8s_headless`` within the bound of its first event), each (ns, file, line) with its policy key."""
    assert visitor.seen_first is not None
    bound, last, first = visitor.bound, visitor.k8s_last_w, visitor.k8s_first_w
    pending = {rid: (h.ns, h.file, h.line) for rid, h in visitor.k8s_open.items()
               if not h.long and h.ns + bound >= last}
    orphans = {rid: (ns, file, line) for rid, (ns, file, line, _key) in visitor.k8s_headless.items()
               if first is not None and ns - first <= bound}
    policy = {**{rid: visitor.k8s_open[rid].key for rid in pending},
              **{rid: visitor.k8s_headless[rid][3] for rid in orphans}}
    lone = collections.Counter(h.key for h in (*visitor.k8s_open.values(), *visitor.k8s_late.values(),
                                               *visitor.k8s_lost) if h.key)
    lone.update(visitor.k8s_lost_more)
    return Edges(name, visitor.seen_first, visitor.seen_last, entries, pending, orphans,
                 keys=dict(visitor.seen_head), last_keys=dict(visitor.seen), fmt="k8s", policy=policy,
                 both=dict(visitor.k8s_both), lone=dict(lone), bound=bound)


V = TypeVar("V", bound=Visitor)


def read_with(make: Callable[[CheckContext], V], path: str, settings: Settings) -> tuple[V, int]:
    """One visitor (``make``) fed the whole of ``path`` through the engine, and the entries read: a set's check
    that needs another file of the set (its pairs' edges, its days). ``settings`` are those told for the file that
    asks: the format and framing of ``path`` are told anew from its content, as its own pass tells them (a rotated
    file framed by a container runtime beside a plain one), except where the user set them (log_format,
    log_framing, --format: ``given``), which hold for every file of the set, and refuse a file that does not
    match them as they refuse the first."""
    import dataclasses

    fmt, framing = given(settings)
    s = detect(path, dataclasses.replace(settings, log_format=fmt, log_framing=framing))
    visitor = make(CheckContext(settings=s, ledger=None, entries=[], bad_lines=[], source=path, log_path=None))
    read_blocks, parse, whole = reader_for(s, path)
    f = open_log(path)
    try:
        counts = drive([visitor], read_blocks(f, path, FileStats()), path, parse, whole)
    finally:
        f.close()
    return visitor, counts.entries


def read_edges(path: str, settings: Settings) -> Optional[Edges]:
    """The edges of ``path``, remembered from its own pass in this process, else read once through the engine."""

    from ..checks.completeness import Pairs

    key = _edges_key(path, settings)
    if key is not None and key in _EDGES:
        known = _EDGES[key]
        if known is not None and known.name != path:  # the same file by another name (a link): its own name
            import dataclasses

            return dataclasses.replace(known, name=path)
        return known
    pairs, entries = read_with(Pairs, path, settings)
    pairs.in_set = True  # a member of the set asking, read for it: its edges as its own pass in the set leaves them
    return _remember_edges(key, edges_of(pairs, path, entries))


_HEAVY_MAX = 2_000_000  # ids of first and last windows (``Edges.heavy``) held for the files remembered, at most
_heavy = 0  # held now


def _remember_edges(key: Optional[tuple[object, ...]], edges: Optional[Edges]) -> Optional[Edges]:
    """``edges`` remembered under ``key``, and returned as remembered: past _HEAVY_MAX ids of first and last windows
    held in all, without them (``Edges.light``), so that a set of many files holds bounded memory; what they would
    have judged is then not looked for (``boundaries`` says so)."""
    global _heavy
    if key is None:
        return edges
    if len(_EDGES) >= _EDGES_MAX:
        _EDGES.clear()
    if not _EDGES:  # cleared (here, or by a caller that starts afresh)
        _heavy = 0
    old = _EDGES.get(key)
    _heavy -= old.heavy if old is not None else 0
    if edges is not None and edges.heavy and _heavy + edges.heavy > _HEAVY_MAX:
        edges = edges.light()
    _heavy += edges.heavy if edges is not None else 0
    _EDGES[key] = edges
    return edges


def with_set(check: Check, visitor: Visitor, name: str, log_set: Sequence[str], settings: Settings,
             entries: int) -> Iterable[Union[Finding, Skip, Note]]:
    """What ``visitor`` (the file ``name``'s, fed) says; for completeness, with the set around it. Called where a
    file's visitors are finished (``verify_file``, ``engine.parallel.finish_file``), before its tally is taken.

    What the set judges at a file's edges is taken out of what the file excuses (``_pair_off``): its requests in
    flight at its end when the next file in time is in the run and continues its log, its responses without
    request at its start when the one before is; each is paired there or a finding of the set (``boundaries``).
    The file that carries the set's verdicts (``last_holding``, read last, so that every other file's edges are
    known from its own pass and nothing is read twice) tells the set, adds what its boundaries say, and leaves the
    word on every other file's tally in ``visitor.settles`` (``settle`` applies it to the reports' accounting); a
    file every entry of which is half of a pair split at its edges (a small rotated file or shipper's chunk, which
    would otherwise have judged nothing) tells the set at once."""
    from ..checks.access_policy import Rules
    from ..checks.completeness import ID, Pairs

    if isinstance(visitor, Rules) and len(log_set) > 1:
        if visitor.held:
            _unwraps_across(visitor, name, log_set, settings)
        if visitor.chosen:  # (after the unwraps: an unwrap judged there may be let through by a chosen name)
            _makers_across(visitor, name, log_set, settings)
    if check.id != ID or not isinstance(visitor, Pairs):
        return visitor.finish()
    why = hollow(name, log_set)
    if why:  # nothing to pair; no member of a set, and no file alone, passes with it
        return _then(visitor.finish(), [Finding(ID, "", why, HOLLOW_FIX, where=name)])
    lost = numbers_lost(name)
    if lost:  # whole pairs a hop dropped: nothing else shows them
        return _then(_inner_set(visitor, name, log_set, settings, entries), lost)
    return _inner_set(visitor, name, log_set, settings, entries)


def _inner_set(visitor: "Pairs", name: str, log_set: Sequence[str], settings: Settings,
               entries: int) -> Iterable[Union[Finding, Skip, Note]]:
    """``with_set`` past the file's own defects: its edges with the set around it."""
    mine = edges_of(visitor, name, entries)
    _remember_edges(_edges_key(name, settings), mine)
    if mine is None or not log_set or (log_set[0] == log_set[-1] == name and log_set.count(name) == len(log_set)):
        # (no other file; told from the ends first: asked of every file of a set) but maybe its archived copy
        if mine is not None and (settings.retention_archive or settings.seal_archive):
            return _then(visitor.finish(), _copies_differ({name: mine}, settings))
        return visitor.finish()
    judge = last_holding(log_set) == name
    halves = bool(visitor.pending or visitor.orphans) and sum(visitor.excused.values()) >= entries
    if not (judge or halves):
        return visitor.finish()
    window = int(settings.completeness_window * 10**9)
    key = (tuple(log_set), settings.completeness_window, settings.log_prefix, settings.field_map, given(settings),
           settings.seal_archive, settings.retention_archive)
    told = _SETS.get(key)
    if told is None or told.members.get(name) != mine:  # told once a run; again where a file changed since
        others = [p for p in log_set if p != name]
        members, ordered, twins = _in_set(mine, others, settings, archived=False)
        if any(isinstance(x, Finding) for x in boundaries(ordered, twins, window)) and (settings.seal_archive
                                                                                        or settings.retention_archive):
            members, ordered, twins = _in_set(mine, others, settings, archived=True)  # a file between two archived
        if len(_SETS) >= _SETS_MAX:
            _SETS.clear()
        told = _SETS[key] = _Set.of(members, ordered, twins, window)
    if judge:
        for k in [k for k in _EDGES if k[0] == "url"]:
            del _EDGES[k]  # an object may be rewritten under the same key: never reused for another run's set
        _SETS.pop(key, None)
    at = told.at.get(name)
    if judge:
        visitor.settles = _settles(told, name, visitor, window, log_set)
    if visitor.skip:  # Kubernetes, CloudTrail: records delivered again across the files
        from ..checks.completeness import REDELIVERED

        again = sum(1 for _, _, same in _delivered_again(mine, told.ordered, at) if same)
        if again:
            visitor.excuse(REDELIVERED[visitor.fmt], again)
    elif at is not None:
        _pair_off(visitor, *told.sides[at])
    if not judge:
        return visitor.finish()
    # the judge says what the whole set says, whatever its own format: another producer's log may be read last
    bad = stand_ins(told.twins, told.ordered)
    twins = [t for t in told.twins if t not in bad]
    late = late_edges(told.ordered, window, log_set)
    return _then(visitor.finish(), _then(_then(_then(names_in_time(told.ordered, told.twins, settings.max_skew_ns),
                                                     _copies_differ(told.members, settings)),
                                               numbers_missing(log_set, settings)),
                                         _then(_conflicts(told.ordered, visitor.fmt),
                                               _then(_then(boundaries(told.ordered, twins, window),
                                                           _k8s_boundaries(told.ordered, window)),
                                                     _late_findings(late)))))


# What access_policy carries from a local file to the set's other files (by its edges key and the rules), read for a
# set: each file is read for it at most once a process, however many files of the set ask, and for the wraps and the
# token makers at once; up to _CARRIED_MAX items in all.
@dataclass(frozen=True)
class _Carried:
    """A file's covered wraps (``Rules.wraps``), the tokens it shows made without an entity by one (``Rules.minted``,
    each where naming the file) and the creations it could not place (``Rules.mints``)."""

    wraps: Mapping[str, tuple[str, str]]
    minted: Mapping[str, tuple[str, str]]
    mints: Sequence[tuple[tuple[str, ...], tuple[str, ...], str]]

    @property
    def size(self) -> int:
        return len(self.wraps) + len(self.minted) + len(self.mints)


_CARRIED: dict[tuple[object, ...], _Carried] = {}
_CARRIED_MAX = 1_000_000
_carried_held = 0


def _carried(path: str, settings: Settings) -> Optional[_Carried]:
    """What access_policy carries from the set's file ``path`` to its other files (``_Carried``), remembered once
    read; None for a file that cannot be read (its own pass says what is wrong with it)."""
    global _carried_held
    from ..checks.access_policy import Rules
    from .objects import is_url

    edges = None if is_url(path) else _edges_key(path, settings)  # (an object may be rewritten under its key)
    key = (*edges, repr(settings.access)) if edges is not None else None
    got = _CARRIED.get(key) if key is not None else None
    if got is None:
        try:
            other, _ = read_with(Rules, path, settings)
        except AuditReadyError:
            return None
        got = _Carried(dict(other.wraps), {k: (entity, f"{where} of {path}") for k, (entity, where) in
                                           other.minted.items()}, list(other.mints))
        if key is not None and _carried_held + got.size <= _CARRIED_MAX:
            _CARRIED[key] = got
            _carried_held += got.size
    return got


def _unwraps_across(visitor: "Rules", name: str, log_set: Sequence[str], settings: Settings) -> None:
    """access_policy: the unwraps of ``name`` whose wrapping token no covered response of the file wrapped, judged
    against the wraps of the set's other files (a wrapping token lives up to its TTL, so the wrap and the unwrap
    fall in different files of a rotation). Each other file is read for them once a process, only when such an
    unwrap is held."""
    # (and the old tokens of its rewraps held: a rewrap here of a token wrapped there, red team rt94 F1)
    wanted = {k for _, _, keys in visitor.held for k in keys} | {old for old, _ in visitor.rewraps}
    found: dict[str, tuple[str, str]] = {}
    for path in log_set:
        if path == name:
            continue
        got = _carried(path, settings)
        if got is not None:
            found.update((k, v) for k, v in got.wraps.items() if k in wanted)
    if found:
        visitor.resolve(found)


def _makers_across(visitor: "Rules", name: str, log_set: Sequence[str], settings: Settings) -> None:
    """access_policy: the requests of ``name`` let through only by a display name their token's creator chose, on a
    token without an entity that the file does not show made (``Rules.chosen``), judged again against the tokens the
    set's other files show made without an entity by one (an orphan: create-orphan, an orphan role, or down a chain
    from one), as one pass over the files would judge them: an orphan token lives up to its TTL (32 days by
    default), so its making and its use fall in different files of a rotation. Every other file is asked, the ones
    read after it too: files are read in time order, but a set's names may not be (a rotation renamed out of order,
    files named in another order, two nodes' logs), and the order of reading never turns a finding into a pass.
    Each other file is read for them once a process, only when such a request is held."""
    minted: dict[str, tuple[str, str]] = {}
    mints: list[tuple[tuple[str, ...], tuple[str, ...], str]] = []
    for path in log_set:
        if path == name:
            continue
        got = _carried(path, settings)
        if got is not None:
            for k, v in got.minted.items():
                minted.setdefault(k, v)
            mints.extend(got.mints)
    if minted:
        visitor.resolve_makers(minted, mints)


def numbers_missing(log_set: Sequence[str], settings: Settings) -> Iterator[Finding]:
    """A rotated file missing between two present ones of a numbered set (``retention.missing_numbers``: logrotate
    numbers without gaps), the files of the archive folders counted: its entries are lost whatever history the
    policy asks for. Said by retention when it is on; here, as a completeness finding, when retention_days = 0
    switches retention off (a set whose files each hold whole pairs shows the gap by nothing else)."""
    if settings.retention_days != 0:
        return
    from ..checks.completeness import ID
    from ..checks.retention import missing_numbers

    names = [*log_set, *(p for p in _archive(settings) if not any(same_file(p, q) for q in log_set))]
    for f in missing_numbers(names, f"the log set of {len(names)} files", settings.rotation_start):
        yield Finding(ID, "", f.message, f.fix, where=f.where)


Settle = tuple[str, str, str, int]  # (file, excuse rule, "=" set to or "+" add, entries)


def _settles(told: "_Set", judge: str, visitor: "Pairs", window: int, files: Sequence[str]) -> tuple[Settle, ...]:
    """The set's word on the tallies of its other files (their own passes ended before the set was told): the
    edges it judged are no longer excused (each file's in-flight and before-the-log excuses are its open edges,
    so a judged side's count is 0); a Kubernetes or CloudTrail record delivered again unchanged in the next file
    is excused there. An edge the set reports as late (``late_edges``) is no longer excused in its file, the
    judge's own included."""
    from ..checks.completeness import REDELIVERED, before_log, in_flight

    out: list[Settle] = []
    for _, kind, _rid, e in late_edges(told.ordered, window, files):
        out.append((e.name, in_flight(window) if kind == "request" else before_log(window), "+", -1))
    out += _k8s_settles(told.ordered, window)
    out += _long_settles(told.ordered, window)
    for name in sorted(told.at):
        at = told.at[name]
        if name == judge:
            continue
        member = told.ordered[at]
        if member.keyed or member.fmt == "k8s":
            again = sum(1 for _, _, same in _delivered_again(member, told.ordered, at) if same)
            fmt = member.fmt or visitor.fmt
            if again and fmt in REDELIVERED:
                out.append((name, REDELIVERED[fmt], "+", again))
            continue
        before, after = told.sides[at]
        if after:
            out.append((name, in_flight(window), "=", 0))
        if before:
            out.append((name, before_log(window), "=", 0))
    return tuple(out)


def settled(results: Sequence[FileResult]) -> list[FileResult]:
    """The results with the set's word (``_settles``, left on the result of the file that judged the set) on the
    completeness tallies of the files read before it: what every report (each outcome's tally, each file's
    accounting) says was judged and excused."""
    moves: dict[str, list[Settle]] = {}
    for r in results:
        for x in r.settles:
            moves.setdefault(x[0], []).append(x)
    if not moves:
        return list(results)
    import dataclasses

    return [dataclasses.replace(r, outcomes=settle(r.outcomes, moves.get(r.path, ()))) if r.path in moves else r
            for r in results]


def settle(outcomes: Sequence[Outcome], moves: Iterable[Settle]) -> list[Outcome]:
    """``outcomes`` of one file with the set's word (``_settles``: (file, rule, "=" or "+", entries)) applied to
    the tally of its completeness outcome."""
    import dataclasses

    moves = list(moves)
    out = []
    for o in outcomes:
        if o.check_id == "completeness" and o.tally.fed is not None and moves:
            excused = dict(o.tally.excused)
            for _, rule, how, n in moves:
                excused[rule] = n if how == "=" else excused.get(rule, 0) + n
            o = dataclasses.replace(o, tally=dataclasses.replace(o.tally, excused=tuple(sorted(
                (r, k) for r, k in excused.items() if k > 0))))
        out.append(o)
    return out


@dataclass
class _Set:
    """A set's files as told once for all its files: each file's edges by name, the files in time (``in_time``)
    and the twins left out, where each file (or its twin) is in that order, and whether the file before and the
    one after it continue its log (``_sides``)."""

    members: dict[str, Edges]
    ordered: list[Edges]
    twins: list[tuple[str, str]]
    at: dict[str, int]
    sides: list[tuple[bool, bool]]

    @classmethod
    def of(cls, members: Sequence[Edges], ordered: list[Edges], twins: list[tuple[str, str]], window: int
           ) -> "_Set":
        at = {e.name: i for i, e in enumerate(ordered)}
        at.update({twin: at[kept] for twin, kept in twins if kept in at})
        return cls({e.name: e for e in members}, ordered, twins, at, _sides(ordered, window))


def _sides(ordered: Sequence[Edges], window: int) -> list[tuple[bool, bool]]:
    """For each file in time, whether the set judges its opening responses (the file before it continues its log)
    and its requests in flight at its end (the file after it does): never where the files overlap in time."""
    sides = [(False, False)] * len(ordered)
    names = log_names(tuple(e.name for e in ordered))
    for log in _logs(ordered):
        if not _sequential([ordered[i] for i in log]):
            continue
        for a, b in zip(log, log[1:]):
            if _one_log(ordered[a], ordered[b], window, names):
                sides[a], sides[b] = (sides[a][0], True), (True, sides[b][1])
    return sides


def _logs(ordered: Sequence[Edges]) -> list[list[int]]:
    """The indexes in ``ordered`` of each log's files, in time: a set may hold several logs (another producer's log
    in the folder or prefix, a second cluster's), and only the files of one log follow one another. A log is told
    by its name (``log_names``) and its kind (pairs, or keyed records)."""
    names = log_names(tuple(e.name for e in ordered))
    logs: dict[tuple[str, bool], list[int]] = {}
    for i, e in enumerate(ordered):
        logs.setdefault((names[e.name], e.keyed), []).append(i)
    return list(logs.values())


def _before(ordered: Sequence[Edges], at: int) -> Optional[Edges]:
    """The file before ``ordered[at]`` in time among the files of its log (``_logs``), or None."""
    if _BEFORE[0] is not ordered:  # told for every file of the set in one pass, once for the set
        names = log_names(tuple(e.name for e in ordered))
        last: dict[tuple[str, bool], int] = {}
        before: list[Optional[int]] = []
        for i, e in enumerate(ordered):
            log = (names[e.name], e.keyed)
            before.append(last.get(log))
            last[log] = i
        _BEFORE[:] = [ordered, before]
    i = _BEFORE[1][at]
    return None if i is None else ordered[i]


_BEFORE: list[Any] = [None, []]  # (the set's files in time, the file before each): ``_before``'s last answer


def _delivered_again(mine: Edges, ordered: Sequence[Edges], at: Optional[int]
                     ) -> Iterator[tuple[str, tuple[str, int, bytes], bool]]:
    """Kubernetes and CloudTrail: the records among the first SEEN of ``mine`` (at ``at`` in ``ordered``) whose key
    one of the last (or first) SEEN records of the file before it in time holds: (the key, the first's (file,
    line, digest), whether the record is the same), as one pass over both files (``Pairs._seen``) would find
    them."""
    before = _before(ordered, at) if at and mine.keys else None
    if before is None:
        return
    for k, (_, _, digest) in mine.keys.items():
        first = before.last_keys.get(k) or before.keys.get(k)
        if first is not None:
            yield k, first, first[2] == digest


def _conflicts(ordered: Sequence[Edges], fmt: str) -> Iterator[Finding]:
    """Kubernetes and CloudTrail: a record of one file whose key a record of the file before it holds with other
    content, a finding at the later record naming the first (unchanged, it is a delivery repeated: excused in the
    later file's tally)."""
    from ..checks.completeness import _CONFLICT_FIX, ID, _conflict

    shown = 0
    past = ""  # the first record past those shown (file:line): their roll-up points there
    for i, b in enumerate(ordered[1:], 1):
        for k, first, same in _delivered_again(b, ordered, i):
            if same:
                continue
            shown += 1
            if shown > _SHOW_BROKEN and not past:
                file, line, _ = b.keys[k]
                past = f"{file}:{line}"
            if shown <= _SHOW_BROKEN:
                file, line, _ = b.keys[k]
                own = b.fmt if b.fmt in _CONFLICT_FIX else fmt
                yield Finding(ID, "", _conflict(own, f"{first[0]}:{first[1]}"), _CONFLICT_FIX[own],
                              where=f"{file}:{line}", request_id=k.split("\0", 1)[0])
    if shown > _SHOW_BROKEN:
        yield Finding(ID, "", f"{shown - _SHOW_BROKEN} more records repeat the key of a record of the file before "
                      "them in the set with other content.", _CONFLICT_FIX.get(fmt, _CONFLICT_FIX["k8s"]), where=past,
                      entries=shown - _SHOW_BROKEN)


def _in_set(mine: Edges, others: Sequence[str], settings: Settings, archived: bool
            ) -> tuple[list[Edges], list[Edges], list[tuple[str, str]]]:
    """The set's files with pairs to look at: ``mine``, the other files of the run and, when ``archived``, the files
    of the archive folders (seal_archive, retention_archive) not named in the run, where a file between two named
    ones may have been moved; with them, the same in time (``in_time``) and the twins left out."""
    members = [e for e in (read_edges(p, settings) for p in others) if e is not None]
    if archived:
        from .objects import is_url

        named = [mine.name, *others]
        for p in _archive(settings):
            if (is_url(p) or os.path.isfile(p)) and not any(same_file(p, q) for q in named):
                e = _archived_edges(p, settings)
                if e is not None:
                    members.append(e)
    members.append(mine)
    return (members, *in_time(members))


def _copies_differ(members: Mapping[str, Edges], settings: Settings) -> Iterator[Finding]:
    """Two copies of one rotated file (one name, uncompressed, in two folders: a rotated file and its archived copy,
    ``_one_file``) that hold other entries: one was changed (red team rt93 F3: a pair deleted from one of them
    passed, the copies never compared, where one folder's overlap was found). Copies are told from two logs' files
    of one name (two nodes' audit.log-20261206.gz) by what they share: their first entry (or the ids of their first
    window) and their last (or their last window's). The archive folders' files of a name in the set are read too."""
    from ..auditlog.rotation import uncompressed_name
    from ..checks.base import iso_ns
    from ..checks.completeness import ID

    by_name: dict[str, list[Edges]] = {}
    for e in members.values():
        by_name.setdefault(uncompressed_name(_base(e.name)), []).append(e)
    if settings.retention_archive or settings.seal_archive:
        for p in _archive(settings):
            group = by_name.get(uncompressed_name(_base(p)))
            if group is None or any(same_file(p, e.name) for e in group):
                continue
            copy = _archived_edges(p, settings)
            if copy is not None:
                group.append(copy)
    shown = 0
    for group in by_name.values():
        for i, a in enumerate(group):
            for b in group[i + 1:]:
                if os.path.dirname(a.name) == os.path.dirname(b.name) or a.same_content(b) or not _one_source(a, b) \
                        or not _same_lines(a.name, b.name):
                    continue
                shown += 1
                if shown <= _SHOW_BROKEN:
                    yield Finding(ID, "", f"{a.name} and {b.name} are copies of one rotated file (one name in two "
                                  f"folders, the same entries at both ends) that hold other entries ({a.entries:,} "
                                  f"and {b.entries:,}, from {iso_ns(a.first)} to {iso_ns(a.last)} and from "
                                  f"{iso_ns(b.first)} to {iso_ns(b.last)}): one of them was changed after it was "
                                  "copied.", "compare the two (zdiff) and find which one was changed and when; keep "
                                  "audit logs where they cannot be changed (an archive with object lock), and seal "
                                  "them (auditready seal) so that a change is proved", where=b.name)


def _same_lines(a: str, b: str) -> bool:
    """Whether nine in ten of the lines of the shorter of two files are in the other byte for byte, as a file and its
    copy have them (the first _LINES of each compared). Two audit devices of one vault log the same requests at the
    same times, but each hashes with its own salt, so their lines that carry a digest differ (red team rt52 F4: two
    devices' folders of one log name are two logs, not copies)."""
    import hashlib

    seen: list[set[bytes]] = []
    for path in (a, b):
        kept: set[bytes] = set()
        try:
            with open_log(path) as f:
                for _n, line in zip(range(_LINES), iter(lambda: f.readline(1 << 20), b"")):
                    kept.add(hashlib.blake2b(line.rstrip(b"\r\n"), digest_size=16).digest())
        except (AuditReadyError, OSError, EOFError, ValueError, zlib.error, lzma.LZMAError):
            return True  # (not read: taken as copies, the finding names both)
        seen.append(kept)
    shorter = min(len(seen[0]), len(seen[1]))
    return shorter > 0 and len(seen[0] & seen[1]) * 10 >= shorter * 9


_LINES = 200_000


def _one_source(a: Edges, b: Edges) -> bool:
    """Whether two files share their first entry (or ids of their first window) and their last (or ids of their last
    window): copies of one file, where two logs' files share neither."""
    head = a.first == b.first or bool(set(a.head) & set(b.head))
    tail = a.last == b.last or bool(set(a.answered) & set(b.answered))
    return head and tail


def _archived_edges(path: str, settings: Settings) -> Optional[Edges]:
    """``read_edges`` of a file of an archive folder; None where it cannot be read (tamper_evidence and retention say
    what is wrong with an archive)."""
    try:
        return read_edges(path, settings)
    except AuditReadyError:
        return None


def _archive(settings: Settings) -> list[str]:
    try:
        return expand([*settings.seal_archive, *settings.retention_archive])
    except AuditReadyError:
        return []


def _then(first: Iterable[Union[Finding, Skip, Note]],
          second: Iterable[Union[Finding, Skip, Note]]) -> Iterator[Union[Finding, Skip, Note]]:
    yield from first
    yield from second


def in_time(members: Sequence[Edges]) -> tuple[list[Edges], list[tuple[str, str]]]:
    """``members`` in the time order of their entries (not of their names: audit.log.10 is older than audit.log.9,
    an object store's keys carry random suffixes), each file holding the same entries as one before it (a copy
    beside its compressed twin) left out and named in the pairs (twin, kept) returned with them."""
    ordered: list[Edges] = []
    twins: list[tuple[str, str]] = []
    # (a twin has the same span and count: only those are compared, where each file was compared with every one
    # before it, 18 million comparisons for a year of hourly files)
    alike: dict[tuple[int, int, int], list[Edges]] = {}
    for e in sorted(members, key=lambda e: (e.first, e.last, e.name)):
        same = alike.setdefault((e.first, e.last, e.entries), [])
        twin = next((o for o in same if o.same_content(e)), None)
        if twin is not None:
            twins.append((e.name, twin.name))
        else:
            ordered.append(e)
            same.append(e)
    return ordered, twins


def _sequential(ordered: Sequence[Edges]) -> bool:
    """Whether each file of ``ordered`` follows the one before it (``_follows``): where files overlap in time (the
    logs of several writers in one set) no file is known to follow another. In doubt, no pair is looked for across
    files, as before."""
    return all(_follows(a, b) for a, b in zip(ordered, ordered[1:]))


# How far the first entry of a rotated log's next file may be timed before the last entry of the file before it: at
# most this, and a tenth of the shorter file's span. The vault times an entry before it writes it, so requests in
# flight at a reopen (SIGHUP after a rename) land in either file out of time order: a real OpenBao under four
# concurrent clients began the next file 0.5 ms before the last entry of the one before it (red team rt13, F1). The
# logs of several writers overlap by most of their span.
REOPEN_OVERLAP_NS = 1_000_000_000


def _follows(a: Edges, b: Edges) -> bool:
    """Whether ``b`` follows ``a`` in time: it begins where ``a`` ends (give or take a reopen's overlap,
    REOPEN_OVERLAP_NS), or a pair split between them shows it (written out of order by a few concurrent requests),
    or it begins with a copy of entries ``a`` ends with (the same request id at the same time as the first entry of
    its kind: a chunk shipped again, a rotated file copied twice), which are entries written again."""
    overlap = min(REOPEN_OVERLAP_NS, min(a.last - a.first, b.last - b.first) // 10)
    if b.first >= a.last - overlap or not a.pending.keys().isdisjoint(b.orphans):
        return True
    return any(a.pending.get(rid, (-1,))[0] == at[0] for rid, at in b.head.items()) or \
        any(a.answered.get(rid, (-1,))[0] == at[0] for rid, at in b.head_answers.items()) or \
        any(a.answered.get(rid, (-1, "", 0, -1))[3] == at[0] for rid, at in b.head.items())


def _one_log(a: Edges, b: Edges, window: int, names: Mapping[str, str]) -> bool:
    """Whether ``b`` may continue the log ``a`` is a piece of: it begins within the pairing window of ``a``'s end,
    or both are named as pieces of one log (``names``: ``log_names``). A log of another vault that begins long after
    one ends is none, so the requests in flight when the first ended are not looked for in it."""
    return b.first - a.last <= window or names[a.name] == names[b.name]


@functools.lru_cache(maxsize=8)
def log_names(paths: tuple[str, ...]) -> dict[str, str]:
    """Each of ``paths``' log, told for the set: a local file's log is its folder's files of its name's stem
    (``_log_name``: a live log, its rotated files, a shipper's chunks), a folder's date partitions taken as one
    folder (``_undated``: 2026/01/05, 2026-01-05, date=2026-01-05, as an object's URL is cut at its first).
    A folder of the stem's files is a log of its own where it holds a live file (one with no rotation number or
    date: ``rotation.rotation_slot``), in the run or beside it (as an empty one may be left out): two hosts', nodes'
    or devices' audit.log in folders of their own are two logs, never one log's rotation (red team rt52 F4, rt102
    F1/F4: an empty node's log was excused as "a log just rotated" by another node's, and a request in flight at
    one host's end was looked for in another's). A folder of nothing but the stem's rotated files (logrotate's
    olddir, an archive) is a piece of the log whose live file is in the folder above it, else of the one log of
    the stem in the run that has a live file; with none or several, the stem's rotated-only folders without a home
    are one log of their own. An object's log is told from its URL (``_log_name``). Told once a set (the dict is
    shared: not to be changed)."""
    from ..auditlog.rotation import rotation_slot
    from .objects import is_url

    names = {p: _log_name(p) for p in paths}
    folders: dict[str, tuple[str, str]] = {}  # a file's folder as named -> its absolute path, and that undated
    # (folder undated, stem) -> each file with its live log's name if it is a rotated one, and its folder
    groups: dict[tuple[str, str], list[tuple[str, Optional[str], str]]] = {}
    for p in paths:
        if is_url(p):
            continue
        named = os.path.dirname(p)
        if named not in folders:
            real = os.path.abspath(named or os.curdir)
            folders[named] = real, _undated(real)
        slot = rotation_slot(_base(p))
        real, undated = folders[named]
        groups.setdefault((undated, names[p]), []).append((p, slot[0] if slot is not None else None, real))
    present: dict[tuple[str, str], bool] = {}

    def holds(folder: str, live: str) -> bool:  # the live file of a rotated one is in ``folder``, in the run or not
        if (folder, live) not in present:
            present[folder, live] = os.path.isfile(os.path.join(folder, live))
        return present[folder, live]

    homes = {g for g, files in groups.items() if any(live is None or holds(real, live) for _, live, real in files)}
    by_stem: dict[str, list[str]] = {}
    for folder, stem in homes:
        by_stem.setdefault(stem, []).append(folder)
    for (folder, stem), files in groups.items():
        log = os.path.join(folder, stem)
        if (folder, stem) not in homes:
            above = [(os.path.dirname(real), live) for _, live, real in files if os.path.dirname(real) != real]
            up = next((_undated(d) for d, _ in above if (_undated(d), stem) in homes), None) or next(
                (_undated(d) for d, live in above if live is not None and holds(d, live)), None)
            if up is not None:
                log = os.path.join(up, stem)  # an olddir inside the live log's folder
            elif len(by_stem.get(stem, ())) == 1:
                log = os.path.join(by_stem[stem][0], stem)  # an olddir or archive elsewhere: the one live log's
            else:
                log = stem  # (no absolute path: never the name of a folder's log)
        for p, _, _ in files:
            names[p] = log
    return names


# A folder that partitions a log by date: a year (then its months, days, hours), a date, a Hive-style key=value.
_YEAR = re.compile(r"(?:19|20)\d\d")
_DATED = re.compile(r"(?:19|20)\d\d-?[01]\d(?:-?[0-3]\d)?(?:[T_ -]?[0-2]\d(?:[:-]?[0-5]\d){0,2})?Z?|"
                    r"(?i:dt|date|ds|year|month|day|hour|y|m|d|h)=[0-9TZ:._-]+")


@functools.lru_cache(maxsize=4096)
def _undated(folder: str) -> str:
    """``folder`` with each of its date partitions as "*" (logs/2026/01/05 and logs/2026/01/06 are logs/*/*/*; so are
    AWSLogs/ACCOUNT/CloudTrail/REGION/2026/01/05 and .../06, and Vector's logs/2026-01-05): one log's files in
    folders of their time. A folder of another name (a host's, a node's, an account's) keeps it."""
    parts = folder.split(os.sep)
    dated = False
    for i, part in enumerate(parts):
        if _YEAR.fullmatch(part) or _DATED.fullmatch(part) or (dated and part.isdigit() and len(part) <= 2):
            parts[i], dated = "*", True
        else:
            dated = False
    return os.sep.join(parts)


def _log_name(path: str) -> str:
    """What names the log a file is a piece of: for a local file the stem of its name (audit.log.1,
    audit.log-20261122.gz, audit-20261122.log: "audit", wherever logrotate's olddir put it); for an object, its
    URL up to the first date partition (Fluent Bit's and Vector's keys: .../TAG/2026/11/22/...), else its prefix
    and the stem of its name. A stem without a letter (numbered chunks) names no log of its own: ""."""
    from .objects import is_url

    stem = re.split(r"[-_.]", _base(path), maxsplit=1)[0]
    if not re.search(r"[A-Za-z]", stem):
        stem = ""  # numbered chunks (000000.gz, 000001.gz: a CloudWatch Logs export) are pieces of one log
    if is_url(path):
        parts = path.split("/")
        cut = next((i for i, p in enumerate(parts) if i > 2 and (p.isdigit() or p.startswith("date="))), None)
        return "/".join(parts[:cut]) if cut is not None else "/".join([*parts[:-1], stem])
    return stem


def _pair_off(visitor: "Pairs", before: bool, after: bool) -> None:
    """Take out of ``visitor``'s open edges what the set judges (``boundaries``: paired with the facing edge of the
    file before or after it in time, or a finding there): its requests in flight at its end when the file after it
    continues its log (``after``), its responses without request at its start when the file before it does
    (``before``). What is left is what truly could not be judged: the edges of the set's first and last file, or
    of a set whose files overlap."""
    if after:
        visitor.pending.clear()
    if before:
        del visitor.orphans[:]


def _across(a: Edges, b: Edges, window: int) -> list[tuple[tuple[int, str, int], str, str, str]]:
    """What the boundary between ``a`` and ``b`` (the file after it in time) judges: each entry as (its ns, file,
    line), the kind of finding (``lost_request``, ``lost_response``, or completeness's ``dup_*``, "=" added for the
    same time as the first's), its request id and, for an entry written again, the first's file:line. An entry
    of ``b``'s first window whose request id ``a`` holds in flight or answered within the window is written again
    (as one pass over both would judge it); a request in flight at ``a``'s end whose response does not open ``b``,
    or a response opening ``b`` whose request is not in flight at ``a``'s end, has lost its partner."""
    out: list[tuple[tuple[int, str, int], str, str, str]] = []
    again: set[str] = set()  # ids of ``a``'s requests in flight written again in ``b``: not lost, written twice
    for rid, at in b.head.items():
        pending, done = a.pending.get(rid), a.answered.get(rid)
        first = pending or done
        if first is not None and max(a.last, at[0]) <= first[0] + window:
            if pending is not None:
                kind, same = "dup_request", pending[0] == at[0]
            else:  # a copy: at its request entry's time, or with its response copied at the same time too
                assert done is not None
                kind, same = "dup_answered", at[0] == done[3] or done[0] == b.head_answers.get(rid, (-1,))[0]
            out.append((at, kind + ("=" if same else ""), rid, f"{first[1]}:{first[2]}"))
            again.add(rid)
    for rid, at in b.head_answers.items():
        done = a.answered.get(rid)
        if rid not in a.pending and done is not None and max(a.last, at[0]) <= done[0] + window:
            out.append((at, "dup_response" + ("=" if done[0] == at[0] else ""), rid, f"{done[1]}:{done[2]}"))
            again.add(rid)
    from ..checks.completeness import differs, differs_note

    # a pair split between the files, the response within the window of its request (one pass over both expires a
    # request by the response's time before it pairs: a response later than that pairs with none)
    late = {rid for rid, at in b.orphans.items() if rid in a.pending and at[0] - a.pending[rid][0] > window}
    for rid, at in b.orphans.items():  # the response repeats its request
        asked, said = a.asked.get(rid), b.said.get(rid)
        if rid in again or rid in late or asked is None or said is None:
            continue
        what = differs(*asked, *said)
        if what:
            first = a.pending[rid]
            out.append((at, "differs", rid, differs_note(first[1], first[2], what)))
    for rid in late - again:
        gap = f"{(b.orphans[rid][0] - a.pending[rid][0]) / 1e9:.0f}"
        out.append((a.pending[rid], "late_request", rid, gap))
        out.append((b.orphans[rid], "late_response", rid, gap))
    out += [(at, "lost_request", rid, "") for rid, at in a.pending.items()
            if rid not in b.orphans and rid not in again and rid not in a.long_running]
    out += [(at, "lost_response", rid, "") for rid, at in b.orphans.items()
            if rid not in a.pending and rid not in again and rid not in b.long_running]
    return out


def _joined(ordered: Sequence[Edges], window: int, k8s: bool) -> list[tuple[Edges, Edges]]:
    """The files of each log that follow each other in time, two by two: Kubernetes files (``k8s``), or
    Vault/OpenBao ones (no CloudTrail's: its records are keyed, not paired). None where the files overlap in time
    (``_sequential``) or are not known to be one log's (``_one_log``)."""
    names = log_names(tuple(e.name for e in ordered))
    joined = []
    for log in _logs(ordered):
        files = [ordered[i] for i in log]
        ours = files[0].fmt == "k8s" if k8s else not files[0].keyed and files[0].fmt != "k8s"
        if ours and _sequential(files):
            joined += [(a, b) for a, b in zip(files, files[1:]) if _one_log(a, b, window, names)]
    return joined


def _k8s_across(a: Edges, b: Edges) -> list[tuple[tuple[int, str, int], str, str, str]]:
    """What the boundary between two Kubernetes files judges, ``b`` the one after ``a`` in time (the log backend
    rotated between them): a RequestReceived event in flight at ``a``'s end is paired with a later stage of its
    auditID opening ``b`` ("paired", for the tallies); with none there while ``b`` runs on past the bound of a
    request, its later stage was dropped ("k8s_lost") where the audit policy keeps both stages for such a request
    (another request of its policy key has both: where, in the last field), or where no other request of its key is
    in either file to show what the policy keeps ("k8s_once"); where others of its key lack a later stage too, the
    policy may omit it ("unkept": excused so). A later stage opening ``b`` whose RequestReceived ``a`` does not end
    with, of a request received past the bound after ``a``'s first event, lost its RequestReceived
    ("k8s_headless") where its key shows both stages; else it stays excused as ``b`` says. As one file's pass
    judges them (``Pairs._k8s_verdict``)."""
    out: list[tuple[tuple[int, str, int], str, str, str]] = []
    bound = max(a.bound, b.bound)
    for rid, at in a.pending.items():
        if rid in b.orphans:
            out.append((at, "paired", rid, ""))
        elif b.last - at[0] > bound:
            key = a.policy.get(rid, b"")
            where = (a.both.get(key) or b.both.get(key)) if key else None
            if where:
                out.append((at, "k8s_lost", rid, where))
            elif key and a.lone.get(key, 0) + b.lone.get(key, 0) < 2:
                out.append((at, "k8s_once", rid, ""))
            else:
                out.append((at, "unkept", rid, ""))
    for rid, at in b.orphans.items():
        if rid not in a.pending and at[0] - a.first > bound:
            key = b.policy.get(rid, b"")
            where = (a.both.get(key) or b.both.get(key)) if key else None
            if where:
                out.append((at, "k8s_headless", rid, where))
    return out


def _long_settles(ordered: Sequence[Edges], window: int) -> list[Settle]:
    """The tallies' word of long-running requests split between two files the set joins: paired there, no longer
    excused as long-running in either (``completeness.long_running``)."""
    from ..checks.completeness import long_running

    out: list[Settle] = []
    rule = long_running(window)
    for a, b in _joined(ordered, window, k8s=False):
        out += [(a.name, rule, "+", -1) for rid in a.long_running if rid in a.pending and rid in b.orphans]
        out += [(b.name, rule, "+", -1) for rid in b.long_running if rid in b.orphans and rid in a.pending]
    return out


def _k8s_settles(ordered: Sequence[Edges], window: int) -> list[Settle]:
    """The tallies' word of the Kubernetes edges the set judges (``_k8s_across``): an edge paired or found lost is no
    longer excused in its file (a RequestReceived as in flight at its end, a later stage as without RequestReceived)."""
    from ..checks.completeness import K8S_ALONE, K8S_UNKEPT, k8s_in_flight

    out: list[Settle] = []
    for a, b in _joined(ordered, window, k8s=True):
        for _, kind, _rid, _where in _k8s_across(a, b):
            if kind in ("paired", "k8s_lost", "k8s_once", "unkept"):
                out.append((a.name, k8s_in_flight(a.bound), "+", -1))
            if kind == "unkept":
                out.append((a.name, K8S_UNKEPT, "+", 1))
            if kind in ("paired", "k8s_headless"):
                out.append((b.name, K8S_ALONE, "+", -1))
    return out


def _k8s_boundaries(ordered: Sequence[Edges], window: int) -> Iterator[Finding]:
    """The Kubernetes edges the set finds lost (``_k8s_across``), as a file holding both would say them."""
    from ..checks.completeness import (
        _SHOW,
        ID,
        K8S_DROP_FIX,
        K8S_ONCE_FIX,
        k8s_headless_text,
        k8s_lost_text,
        k8s_once_text,
    )

    found = []
    for a, b in _joined(ordered, window, k8s=True):
        for at, kind, rid, where in _k8s_across(a, b):
            if kind in ("k8s_lost", "k8s_once"):
                bound = max(a.bound, b.bound)
                said = k8s_lost_text(where, bound) if kind == "k8s_lost" else k8s_once_text(bound)
                text = (f"{said} The RequestReceived event ends {a.name}; {b.name}, the file after it in time, goes "
                        "on past that bound without a later stage of it.")
                found.append((at, Finding(ID, "", text, K8S_DROP_FIX if kind == "k8s_lost" else K8S_ONCE_FIX,
                                          where=f"{at[1]}:{at[2]}", request_id=rid)))
            elif kind == "k8s_headless":
                text = (f"{k8s_headless_text(where)} The event opens {b.name}; {a.name}, the file before it in time, "
                        "does not end with its RequestReceived event.")
                found.append((at, Finding(ID, "", text, K8S_DROP_FIX, where=f"{at[1]}:{at[2]}", request_id=rid)))
    found.sort(key=lambda x: x[0])
    for _, f in found[:_SHOW]:
        yield f
    if len(found) > _SHOW:  # one finding that stands for the rest (``entries``), at the first of them
        yield Finding(ID, "", f"{len(found) - _SHOW} more Kubernetes requests split at the set's rotations lost an "
                      "event at the files' edges.", K8S_DROP_FIX, where=found[_SHOW][1].where,
                      entries=len(found) - _SHOW)


def late_edges(ordered: Sequence[Edges], window: int, files: Sequence[str]
               ) -> list[tuple[tuple[int, str, int], str, str, Edges]]:
    """The edges of the run's ``files`` that the set does not pair (no file of the set continues the log there:
    ``_sides``) and that lie too far from that edge to be in flight there (``Pairs.late``; each file's own pass leaves
    them to the set, as a file after or before it may hold the partner), but those its own pass reported: each as
    ((ns, file, line), "request" or "response", its request id, the file's Edges), in time."""
    run = set(files)
    out = []
    for e, (before, after) in zip(ordered, _sides(ordered, window)):
        if e.name not in run or e.keyed or e.fmt == "k8s":
            continue
        if not after:
            out += [(at, "request", rid, e) for rid, at in e.pending.items()
                    if e.last - at[0] > e.late and rid not in e.reported and rid not in e.long_running]
        if not before:
            out += [(at, "response", rid, e) for rid, at in e.orphans.items()
                    if at[0] - e.first > e.late and rid not in e.reported and rid not in e.long_running]
    return sorted(out, key=lambda x: x[0])


def _late_findings(late: Sequence[tuple[tuple[int, str, int], str, str, Edges]]) -> Iterator[Finding]:
    """``late_edges`` as findings, as a file alone would have said them (``completeness.late_text``)."""
    from ..checks.completeness import _DROP_FIX, _LATE_FIX, _SHOW, ID, late_text

    for (_, file, line), kind, rid, e in late[:_SHOW]:
        yield Finding(ID, "", late_text(kind, e.longest, e.late), _DROP_FIX + _LATE_FIX, where=f"{file}:{line}",
                      request_id=rid)
    if len(late) > _SHOW:  # one finding that stands for the rest (``entries``), at the first of them
        (_, file, line), _kind, _rid, _e = late[_SHOW]
        yield Finding(ID, "", f"{len(late) - _SHOW} more entries at the edges of the set's files have no partner "
                      "entry.", _DROP_FIX + _LATE_FIX, where=f"{file}:{line}", entries=len(late) - _SHOW)


def boundaries(ordered: Sequence[Edges], twins: Sequence[tuple[str, str]], window: int
               ) -> Iterator[Union[Finding, Note]]:
    """Pairs broken between files that follow each other in time (``in_time``), and entries of one written again in
    the next (``_across``): a request in flight at the end of one file whose response does not open the next, a
    response opening a file whose request is not in flight at the end of the one before, an entry at the start of
    a file that repeats one of the end of the file before it. Nothing is said where the files overlap in time
    (``_sequential``), nor between the files of two logs of one set (``_logs``: another producer's log in the same
    folder or prefix), nor between two files not known to be pieces of one log (``_one_log``); a file holding the
    same entries as another (``in_time``'s twins) is judged once, and is no entry written again."""
    from ..checks.completeness import _DROP_FIX, _DUP_FIX, DIFFERS_FIX, ID, _again_text, differs_text

    fix = (_DROP_FIX + "; rotate the log with logrotate's create and have the vault reopen its file on SIGHUP "
           "(Vault and OpenBao do) instead of copytruncate, which loses what is written between the copy and the "
           "truncation; restore a rotated file that is missing from the set")
    shown = 0
    joined = _joined(ordered, window, k8s=False)
    past = ""  # the first entry past those shown (file:line): their roll-up points there
    for a, b in joined:
        for (_, file, line), kind, rid, first in sorted(_across(a, b, window)):
            shown += 1
            if shown > _SHOW_BROKEN:
                past = past or f"{file}:{line}"
                continue
            if kind.startswith("dup_"):
                yield Finding(ID, "", f"{_again_text(kind, first, window)} {b.name} repeats an entry of {a.name}, "
                              "the file before it in time (a chunk or a rotated file shipped twice, a copytruncate "
                              "run twice, a restored copy merged into the set).", _DUP_FIX, where=f"{file}:{line}",
                              request_id=rid)
                continue
            if kind == "differs":
                yield Finding(ID, "", f"{differs_text(first)} The request entry ends {a.name}, the "
                              f"response entry opens {b.name}.", DIFFERS_FIX, where=f"{file}:{line}", request_id=rid)
                continue
            if kind.startswith("late_"):
                what = (f"The {kind[5:]} entry has no {'response' if kind == 'late_request' else 'request'} entry "
                        f"within {window / 1e9:g} s (completeness_window): the request entry ends {a.name}, and the "
                        f"response entry with its request id opens {b.name} {first} s later")
            elif kind == "lost_request":
                what = (f"The request entry has no response entry: it was still in flight when {a.name} ends, and "
                        f"{b.name}, the next file of the set in time, does not hold its response")
            else:
                what = (f"The response entry has no request entry: it opens {b.name}, and {a.name}, the file of the "
                        "set before it in time, does not end with its request in flight")
            yield Finding(ID, "", f"{what}; the entries written between the two files are lost (logrotate's "
                          "copytruncate, a lost chunk, or a file of the set missing between them).", fix,
                          where=f"{file}:{line}", request_id=rid)
    if shown > _SHOW_BROKEN:
        yield Finding(ID, "", f"{shown - _SHOW_BROKEN} more entries have no partner entry or are written again across "
                      "the boundaries of the files of the set.", fix, where=past, entries=shown - _SHOW_BROKEN)
    partial = [e.name for e in ordered if e.partial]
    if partial and not shown:
        yield Note("", f"entries written again across files were not looked for at the edges of {len(partial)} "
                   f"file(s) of the set (the first: {partial[0]}): past the ids of first and last windows kept in "
                   "memory for a set of many files; pairs split between files were judged")
    if not shown and twins:
        said = "; ".join(f"{x} holds the same entries as {y}" for x, y in twins[:3])
        yield Note("", f"{said} (judged once); no request/response pair is broken between the files of the set")
