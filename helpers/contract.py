"""The artifacts contract: every file the day produces, named once.

Each notebook saves what it makes under ``artifacts/`` with a fixed name, records its figures in
``artifacts/results.json`` under a fixed *variant* name, and is checked against the targets of a
fixed *target* table (``helpers/targets.toml``). The grader reads the same names. Everything else
imports them from here: a name typed anywhere else is a bug.

``ARTIFACT_ORDER`` is the day's sequence; tables, plots and cards list the variants in that order
whatever order the notebooks were run in.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ARTIFACTS_DIR = Path("artifacts")  # relative to the folder that holds the notebooks
EXPERIMENTS_DIR = Path("experiments")  # the sweeps' and scans' own files: never graded


@dataclass(frozen=True)
class Artifact:
    """One file of the contract.

    - ``file``: its name under ``artifacts/``;
    - ``notebook``: the notebook that makes it (``""``: only ``day26 optimize`` makes it);
    - ``variant``: its record's name in results.json (``""``: not a measured model);
    - ``target``: its table in ``helpers/targets.toml`` (``""``: no targets).
    """

    file: str
    notebook: str
    variant: str = ""
    target: str = ""

    def path(self, folder: str | Path = ARTIFACTS_DIR) -> Path:
        """Where the artifact lives in ``folder`` (default: ``artifacts/``)."""
        return Path(folder) / self.file


TRACK_CHOICE = Artifact("track.json", "00_start")
RESULTS = Artifact("results.json", "01_baseline")  # every notebook adds its record
BASELINE = Artifact("baseline.pth", "01_baseline", variant="baseline", target="baseline")
QUANTIZED_DYNAMIC = Artifact("quantized_dynamic.pth", "02_quantization", "quantized_dynamic", "quantized_dynamic")
QUANTIZED_STATIC = Artifact("quantized_static.onnx", "02_quantization", "quantized_static", "quantized_static")
ONNX_DYNAMIC_INT8 = Artifact("onnx_int8.onnx", "", variant="onnx_int8")  # day26 optimize, models without convs
PRUNED = Artifact("pruned.pth", "03_pruning", variant="pruned", target="pruned")
ONNX_FP32 = Artifact("model.onnx", "04_onnx", variant="onnx", target="onnx")
COMBINED = Artifact("optimized.onnx", "05_combined", variant="combined", target="optimized")
COMPARISON_PLOT = Artifact("comparison.png", "05_combined")

ARTIFACT_ORDER = (
    TRACK_CHOICE,
    RESULTS,
    BASELINE,
    QUANTIZED_DYNAMIC,
    QUANTIZED_STATIC,
    PRUNED,
    ONNX_FP32,
    ONNX_DYNAMIC_INT8,
    COMBINED,
    COMPARISON_PLOT,
)
VARIANT_ORDER = tuple(artifact.variant for artifact in ARTIFACT_ORDER if artifact.variant)


def artifact_of_variant(variant: str) -> Artifact:
    """The artifact whose results record is called ``variant``."""
    for artifact in ARTIFACT_ORDER:
        if artifact.variant == variant:
            return artifact
    raise KeyError(f"no artifact records the variant '{variant}'")


def day_order(variant: str) -> int:
    """Position of ``variant`` in the day's sequence (unknown variants come last)."""
    return VARIANT_ORDER.index(variant) if variant in VARIANT_ORDER else len(VARIANT_ORDER)
