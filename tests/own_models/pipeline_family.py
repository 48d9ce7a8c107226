"""Push one of the test Week-5 models through the instructor's reference pipeline (``run_pipeline``,
what ``day26 optimize`` runs) after a brief training, and print its table against its own baseline.

    DAY26_HOME=$PWD/.day26 .venv/bin/python tests/own_models/pipeline_family.py StackedGRU 4

(the class, then the epochs of its brief training). Nothing in the repository is written; the
folder it works in is printed.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from own_models.run_family import trained_learner_folder  # noqa: E402
from test_own_model import FAMILIES  # noqa: E402

from grading.pipeline import run_pipeline  # noqa: E402
from helpers.tracks import get_track, with_own_model  # noqa: E402
from helpers.week5 import read_declaration  # noqa: E402


def main() -> None:
    class_name, epochs = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 3
    folder = trained_learner_folder(class_name, epochs, Path(tempfile.mkdtemp(prefix=f"day26-{class_name}-")))
    track = with_own_model(get_track(FAMILIES[class_name]), read_declaration(folder / "week5_model.toml"))
    started = time.perf_counter()
    result = run_pipeline(track, folder / "pipeline")
    print(result.summary())
    print(f"{class_name}: run_pipeline took {time.perf_counter() - started:.0f} s; files in {folder / 'pipeline'}")


if __name__ == "__main__":
    main()
