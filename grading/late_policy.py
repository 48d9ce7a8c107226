"""The course's late policy: what a hand-in submitted after the due date loses.

A late hand-in is always graded in full and flagged; the policy decides only the points it then
loses, the way an LMS's own late policy does (Canvas: "deduct X % per day late, lowest possible
grade Y %"). It is one line of text, set with ``day26 late-policy`` and kept in
``course/late-policy.json``:

- ``none``: flagged, nothing deducted (the default);
- ``zero``: a late hand-in scores 0;
- ``10%/day`` or ``2%/hour``: that share of the points per started day (hour) late;
- ``10%/day, floor 50%``: ... but never below half of the points.

How late a hand-in is comes from its submission time (nbgrader's exchange timestamp, or the LMS's upload
time) and the due date in the gradebook (``--deadline``, or the formgrader). When a copy is marked late
by the LMS but no due date is known, the time late is unknown: under a policy that deducts, its grade
is then left empty (see :func:`late_deduction`) rather than guessed.
"""

from __future__ import annotations

import datetime
import json
import math
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from helpers.errors import Day26Error
from helpers.files import write_text_atomically

POLICY_FILE = "late-policy.json"
SECONDS_PER = {"day": 86_400, "hour": 3_600}
_NUMBER = r"\d+(?:\.\d+)?"
_RATE = re.compile(rf"(?P<percent>{_NUMBER})\s*%\s*/\s*(?P<per>day|hour)(?:\s*,\s*floor\s+(?P<floor>{_NUMBER})\s*%)?")


@dataclass(frozen=True)
class LatePolicy:
    """``percent`` of the points lost per started ``per`` ("day" or "hour") late, never below
    ``floor_percent`` of the points; ``percent`` 0 deducts nothing."""

    percent: float = 0.0
    per: str = "day"
    floor_percent: float = 0.0

    @property
    def deducts(self) -> bool:
        return self.percent > 0

    def deduction(self, points: float, seconds_late: float) -> float:
        """Points lost by a hand-in worth ``points`` that came ``seconds_late`` seconds after the due date."""
        if seconds_late <= 0 or not self.deducts:
            return 0.0
        started = math.ceil(seconds_late / SECONDS_PER[self.per])
        kept_share = max(1 - started * self.percent / 100, self.floor_percent / 100)
        return round(points * (1 - kept_share), 2)

    def __str__(self) -> str:
        if not self.deducts:
            return "none"
        if self.percent >= 100 and self.floor_percent == 0:
            return "zero"
        floor = f", floor {self.floor_percent:g}%" if self.floor_percent else ""
        return f"{self.percent:g}%/{self.per}{floor}"

    def explained(self) -> str:
        """The policy in words, for the feedback page and the command's output."""
        if not self.deducts:
            return "a late hand-in is graded in full and flagged"
        if str(self) == "zero":
            return "a late hand-in is graded and flagged, and scores 0"
        floor = f", never below {self.floor_percent:g} % of them" if self.floor_percent else ""
        return f"a late hand-in loses {self.percent:g} % of its points per started {self.per} late{floor}"


def parse_late_policy(text: str) -> LatePolicy:
    """``none``, ``zero``, ``10%/day``, ``2%/hour`` or ``10%/day, floor 50%``; a Day26Error otherwise."""
    cleaned = " ".join(text.strip().lower().split())
    if cleaned == "none":
        return LatePolicy()
    if cleaned == "zero":
        return LatePolicy(100.0, "day", 0.0)
    match = _RATE.fullmatch(cleaned)
    if match is None:
        raise Day26Error(
            f"late policy {text!r}: write none, zero, a rate such as 10%/day or 2%/hour, "
            "or a rate with a floor such as '10%/day, floor 50%'."
        )
    percent, floor = float(match["percent"]), float(match["floor"] or 0)
    if not 0 < percent <= 100 or floor >= 100:
        raise Day26Error(f"late policy {text!r}: the rate must be above 0 and at most 100 %, the floor below 100 %.")
    return LatePolicy(percent, match["per"], floor)


def read_late_policy(workspace: Path) -> LatePolicy:
    """The policy kept in ``workspace`` (the course/ folder); ``none`` when none was set."""
    path = Path(workspace) / POLICY_FILE
    if not path.is_file():
        return LatePolicy()
    try:
        return LatePolicy(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError) as error:
        raise Day26Error(f"{path}: not a late policy ({error}). Set it again with day26 late-policy.") from None


def write_late_policy(workspace: Path, policy: LatePolicy) -> Path:
    """Keep ``policy`` in ``workspace``; return the file."""
    return write_text_atomically(Path(workspace) / POLICY_FILE, json.dumps(asdict(policy), indent=1) + "\n")


def seconds_late(submitted: str, due: datetime.datetime | None) -> float | None:
    """Seconds from the due date to ``submitted`` (ISO with its UTC offset), 0 when on time; None when
    either is unknown."""
    if not submitted or due is None:
        return None
    return max((datetime.datetime.fromisoformat(submitted) - due).total_seconds(), 0.0)


@dataclass(frozen=True)
class LateDeduction:
    """What the policy takes from one hand-in: ``points`` lost, or ``unknown`` when it cannot be told."""

    points: float
    unknown: bool
    note: str


def late_deduction(
    policy: LatePolicy, late: bool, submitted: str, due: datetime.datetime | None, points: float
) -> LateDeduction:
    """The deduction from a hand-in worth ``points``: nothing when on time or under a policy that deducts
    nothing; ``unknown`` when it is late but the time late cannot be measured (no due date or no
    submission time)."""
    if not late or not policy.deducts:
        return LateDeduction(0.0, False, "")
    late_by = seconds_late(submitted, due)
    if late_by is None:
        return LateDeduction(
            0.0, True, f"late, by a time unknown (no due date in the gradebook), under the policy {policy}: "
            "give day26 autograde --deadline, or set the due date in the formgrader",
        )  # fmt: skip
    lost = policy.deduction(points, late_by)
    return LateDeduction(lost, False, f"late by {late_by / 3600:.1f} h: {lost:g} points deducted ({policy})")
