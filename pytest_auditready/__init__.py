"""pytest-auditready: prove a secrets vault's audit trail is audit-ready.

PYTEST_DONT_REWRITE: pytest marks a plugin's package for assertion rewriting; this package's own code does not need
it, and without the marker a session started after the package was imported (``pytest.main`` in a process that
imported it, an in-process inner run) warns "already imported", an internal error under ``-W error``."""

from __future__ import annotations

from typing import Optional


def __getattr__(name: str) -> str:
    """``__version__``: the version of the code that runs, read on first use (importing the plugin costs
    nothing). The installed distribution's version (set from the git tag it was built from) only when every file of
    this package is the one that distribution's RECORD lists (a wheel install, untouched); else "0+unknown": an
    editable install keeps its install-time version after a git pull, and a PYTHONPATH or vendored copy is not the
    installed one. Either way a PEP 440 local label ``src`` + the first 12 hex digits of the SHA-256 over the
    package's own files (``source_digest``) names the code exactly: "1.2.0+src3f9a2c1b4d5e"."""
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    base = _installed_version()
    digest = source_digest()[:12]
    found = f"{base}{'.' if '+' in base else '+'}src{digest}"
    globals()["__version__"] = found
    return found


def _package_files() -> list[tuple[str, str]]:
    """(path relative to the folder holding the package, with "/", absolute path) of every file of this package,
    sorted: bytecode caches left out."""
    import os

    here = os.path.dirname(os.path.abspath(__file__))
    top = os.path.dirname(here)
    out = []
    for folder, dirs, names in os.walk(here):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for n in names:
            if n.endswith((".pyc", ".pyo")):
                continue
            full = os.path.join(folder, n)
            out.append((os.path.relpath(full, top).replace(os.sep, "/"), full))
    return sorted(out)


_DIGESTS: dict[str, str] = {}  # relative path -> urlsafe-base64 SHA-256, as a wheel's RECORD writes it


def source_digest() -> str:
    """The SHA-256 (hex) over this package's files, each as its relative path, a NUL, its own SHA-256 and a
    newline, in path order; computed once per process."""
    import base64
    import hashlib

    if "" not in _DIGESTS:
        whole = hashlib.sha256()
        for rel, full in _package_files():
            with open(full, "rb") as f:
                h = hashlib.sha256(f.read()).digest()
            _DIGESTS[rel] = base64.urlsafe_b64encode(h).rstrip(b"=").decode("ascii")
            whole.update(rel.encode("utf-8", "surrogateescape") + b"\0" + h + b"\n")
        _DIGESTS[""] = whole.hexdigest()
    return _DIGESTS[""]


def _installed_version() -> str:
    """The installed distribution's version when this package's files are the ones it installed (each listed in
    its RECORD with that hash, at that place), else "0+unknown"."""
    import os
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        dist = distribution("pytest-auditready")
    except PackageNotFoundError:  # imported from a source tree that was never installed
        return "0+unknown"
    source_digest()
    listed: dict[str, Optional[str]] = {}
    for f in dist.files or ():
        rel = str(f).replace(os.sep, "/")
        if rel.startswith(__name__ + "/") and "/__pycache__/" not in rel:
            if os.path.realpath(str(dist.locate_file(f))) != os.path.realpath(os.path.join(
                    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), rel)):
                return "0+unknown"  # installed elsewhere: this copy is not the one it installed
            listed[rel] = f.hash.value if f.hash is not None and f.hash.mode == "sha256" else None
    mine = {rel: d for rel, d in _DIGESTS.items() if rel}
    if not listed or listed != mine:  # an editable install lists none; a changed, added or removed file differs
        return "0+unknown"
    return dist.version
