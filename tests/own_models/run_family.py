"""Push one of the test Week-5 models through every solution notebook, as a learner with their own
model would, and print each notebook's outcome and the recorded figures against the own baseline.

    DAY26_HOME=$PWD/.day26 .venv/bin/python tests/own_models/run_family.py StackedGRU 4

(the class, then the epochs of its brief training on the track's data). The folder it works in is
printed; nothing in the repository is written.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import torch  # noqa: E402
from nbgrader.validator import Validator  # noqa: E402
from test_own_model import FAMILIES, declare  # noqa: E402

from grading.course import course_config  # noqa: E402
from helpers.measure import accuracy  # noqa: E402
from helpers.report import read_results  # noqa: E402
from helpers.tracks import get_track  # noqa: E402
from helpers.train import TrainingRecipe, train  # noqa: E402


def trained_learner_folder(class_name: str, epochs: int, folder: Path) -> Path:
    """A learner's folder with the solution notebooks and the model declared and briefly trained."""
    track = get_track(FAMILIES[class_name])
    declare(folder, class_name, track.name)
    spec = importlib.util.spec_from_file_location("learner_models", folder / "week5" / "models.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = getattr(module, class_name)()
    recipe = TrainingRecipe(epochs, track.training.batch_size, track.training.learning_rate)
    train(model, track.train_data(), recipe, seed=0)
    print(f"{class_name} ({track.name}): {epochs} epochs, val accuracy {accuracy(model.eval(), track.val_data()):.1%}")
    torch.save(model.state_dict(), folder / "week5" / "weights.pth")
    for notebook in sorted((ROOT / "solutions" / "day26").glob("*.ipynb")):
        shutil.copy(notebook, folder / notebook.name)
    return folder


def main() -> None:
    class_name, epochs = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 3
    folder = trained_learner_folder(class_name, epochs, Path(tempfile.mkdtemp(prefix=f"day26-{class_name}-")))
    os.environ["DAY26_TRACK"] = FAMILIES[class_name]
    validator = Validator(config=course_config(ROOT, folder / "course"))
    for notebook in sorted(folder.glob("0*.ipynb")):
        started = time.perf_counter()
        result = validator.validate(str(notebook))
        failed = [cell["source"].splitlines()[-1][:100] for cell in result.get("failed", [])]
        print(
            f"  {notebook.name:<22} {'passes' if not result else 'FAILS'} in {time.perf_counter() - started:.0f} s"
            + (f": {json.dumps(failed)}" if failed else "")
        )
    records = read_results(folder / "artifacts" / "results.json")
    base = records[0]
    for record in records:
        print(
            f"  {record.variant:<18} {base.size_bytes / record.size_bytes:5.2f}x smaller "
            f"{record.speedup_vs_baseline:6.2f}x faster {100 * (record.accuracy - base.accuracy):+6.2f} pts"
        )
    print(f"(in {folder})")


if __name__ == "__main__":
    main()
