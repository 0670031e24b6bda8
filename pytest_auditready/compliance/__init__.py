"""Framework mappings (data in mappings.json): requirement -> check ids, and the inverse."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class Control:
    framework: str
    requirement: str
    title: str

    @property
    def label(self) -> str:
        return f"{self.framework} {self.requirement}"


@lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("mappings.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def frameworks() -> dict[str, Any]:
    return dict(_data()["frameworks"])


@lru_cache(maxsize=None)
def controls_for(check_id: str) -> tuple[Control, ...]:
    out = []
    for fw, body in frameworks().items():
        for req, spec in body["requirements"].items():
            if check_id in spec["checks"]:
                out.append(Control(fw, req, spec["title"]))
    return tuple(out)


def mapped_check_ids() -> set[str]:
    return {c for body in frameworks().values() for spec in body["requirements"].values() for c in spec["checks"]}


def summary(check_id: str) -> str:
    """'SOC 2 CC6.1, CC7.2; ISO/IEC 27001:2022 A.8.15; ...' for one check, or 'unmapped'."""
    by_fw: dict[str, list[str]] = {}
    for c in controls_for(check_id):
        by_fw.setdefault(c.framework, []).append(c.requirement)
    return "; ".join(f"{fw} {', '.join(reqs)}" for fw, reqs in by_fw.items()) or "unmapped"


# -- severities (data in severities.json): what the fail_on setting and the reports rank checks by -------------
@lru_cache(maxsize=1)
def _severity_data() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("severities.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def severity_levels() -> tuple[str, ...]:
    """The severity levels, lowest first: ('low', 'medium', 'high', 'critical')."""
    return tuple(_severity_data()["levels"])


def severity(check_id: str) -> str:
    """The severity of a check; a check not listed (a plugin's own) has the default, 'high'."""
    data = _severity_data()
    return str(data["checks"].get(check_id, data["default"]))


def severity_rank(level: str) -> int:
    return severity_levels().index(level)
