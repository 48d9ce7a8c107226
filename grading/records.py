"""The grade record: how one learner's submission was graded, one JSON file per learner.

Autograding writes it last, in one step (``<workspace>/records/<learner>.json``); the grades CSV,
the feedback pages, the leaderboard, the throughput benchmark and a restarted run read it. All of
them go through :class:`GradeRecord`, so the file's keys are named in this module only.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from grading.score import CellScore
from grading.verify import Verdict
from helpers.files import write_text_atomically

RECORD_SCHEMA = "day26-grade/1"
GRADED, REVIEW, REFUSED = "graded", "needs review", "refused"


@dataclass
class GradeRecord:
    """One learner's grading. Times in seconds; ``cells`` are the autograded test cells' scores.

    ``status`` is ``graded`` (points in the gradebook), ``needs review`` (an instructor must look:
    ``reasons`` say why) or ``refused`` (intake refused it; nothing of it ran).
    """

    learner: str
    status: str = REVIEW
    source: str = ""
    submission_sha256: str = ""
    reasons: list[str] = field(default_factory=list)
    cells: list[CellScore] = field(default_factory=list)
    verdict: Verdict | None = None  # the verifier's, both parts merged
    seconds: float = 0.0  # intake + execution + verification + scoring
    started: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    machine: dict = field(default_factory=dict)
    limits: dict = field(default_factory=dict)
    isolation: str = ""
    files: dict[str, str] = field(default_factory=dict)  # relative path -> sha256, as intake took them
    execution: dict = field(default_factory=dict)  # the sandboxed execution's report, per notebook
    stage_seconds: dict[str, float] = field(default_factory=dict)
    lane_window: list[float] = field(default_factory=list)  # when it held the benchmark lane (epoch seconds)
    lane_paused_processes: int = 0  # grading processes the lane paused while it measured (grading.lane)
    unfinished: bool = False  # grading itself failed: the next run grades it again
    copy_reasons: list[str] = field(default_factory=list)  # the class's copy check (grading.copies), also in reasons
    status_before_copies: str = ""  # the status the copy check replaced with needs review
    submitted: str = ""  # when the LMS says it was uploaded (ISO, local time), for a hand-in from a bulk download
    late: bool = False  # after the deadline, or marked late by the LMS (graded all the same, and flagged)
    lms_files: list[str] = field(default_factory=list)  # the bulk download's entries this hand-in came from
    schema: str = RECORD_SCHEMA

    @property
    def points(self) -> float:
        """The verified points of the autograded cells (a cell left to an instructor counts 0 here)."""
        return sum(cell.verifier_points or 0.0 for cell in self.cells)

    @property
    def max_points(self) -> float:
        return sum(cell.max_points for cell in self.cells)

    @property
    def disagreements(self) -> list[str]:
        """The test cells where the notebook's own test said otherwise than the verifier."""
        return [cell.grade_id for cell in self.cells if cell.disagrees]

    def as_dict(self) -> dict:
        """The record as it is stored: plain JSON values; each cell also says whether it disagrees."""
        content = {item.name: getattr(self, item.name) for item in fields(self)}
        content["cells"] = [asdict(cell) | {"disagrees": cell.disagrees} for cell in self.cells]
        content["verdict"] = self.verdict.as_dict() if self.verdict is not None else None
        return content

    @classmethod
    def from_dict(cls, content: dict) -> GradeRecord:
        known = {item.name for item in fields(cls)}
        values = {key: value for key, value in content.items() if key in known}
        cell_fields = {item.name for item in fields(CellScore)}
        cells = values.get("cells", [])
        values["cells"] = [CellScore(**{k: v for k, v in cell.items() if k in cell_fields}) for cell in cells]
        values["verdict"] = Verdict.from_dict(values["verdict"]) if values.get("verdict") else None
        return cls(**values)


def write_record(path: Path, record: GradeRecord) -> Path:
    """Write ``record`` to ``path`` in one step (a reader never sees half of it)."""
    return write_text_atomically(path, json.dumps(record.as_dict(), indent=1))


def read_record(path: Path) -> GradeRecord | None:
    """The record at ``path``, or None when there is none (or it cannot be read: grade it again)."""
    try:
        return GradeRecord.from_dict(json.loads(path.read_text()))
    except (OSError, ValueError, TypeError, KeyError):
        return None


def read_records(folder: Path) -> list[GradeRecord]:
    """Every record in ``folder``, in learner-name order; a damaged one is an error naming the file."""
    records = []
    for path in sorted(folder.glob("*.json")):
        try:
            records.append(GradeRecord.from_dict(json.loads(path.read_text())))
        except (ValueError, TypeError, KeyError):
            raise ValueError(f"{path}: not a readable grading record; run day26 autograde again") from None
    return records
