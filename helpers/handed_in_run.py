"""What the autograder takes from the run you handed in, instead of fine-tuning again.

Fine-tuning is the longest step of the day: minutes for a full-size CNN on 2 cores, and on another
CPU a time budget fits a different number of epochs. Its result is already in your hand-in, as
``artifacts/optimized.onnx`` and ``artifacts/optimized_fp32.onnx``. So while nbgrader's autograder
runs notebook 05, your code still prunes your model (quick, and it decides the structure), and then
takes your fine-tuned files instead of fine-tuning again, when all of these hold:

- ``results.json`` records that you chose this recipe (notebook 05, when you ran it);
- both files are there, and ``optimized.onnx`` has the size your run measured;
- ``optimized_fp32.onnx`` holds as many weights as the model your pruning code makes now (within
  :data:`PARAMETER_TOLERANCE`: the exporter folds or adds a few, see notebook 04).

Otherwise the recipe is fine-tuned again, and the line says why. Either way, the grader's verifier then
measures ``optimized.onnx`` itself, on its own hidden samples.

Notebook 03's pass of fine-tuning with the masks on is taken the same way, from ``artifacts/pruned.pth``
(:func:`fine_tuned_pruning_in_hand_in`); the notebook's hidden test then measures it on the validation
split as it measures a model fine-tuned here.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from helpers import contract
from helpers.artifacts import load_state_dict_file
from helpers.errors import Day26Error
from helpers.measure import count_onnx_parameters, count_parameters, size_on_disk
from helpers.report import records_by_variant

PARAMETER_TOLERANCE = 0.02  # a fraction of the pruned model's parameters; two recipes differ far more
FP32_FILE = "optimized_fp32.onnx"  # the FP32 export notebook 05 keeps beside optimized.onnx


@dataclass(frozen=True)
class HandedInFineTuning:
    """Whether the fine-tuned files of one recipe are taken from the hand-in, and why (or why not).

    ``int8_path`` and ``fp32_path`` are the copies in the experiments folder, where the recipe's own
    export would have written them; None when the recipe is to be fine-tuned again.
    """

    recipe: str
    int8_path: Path | None
    fp32_path: Path | None
    reason: str

    @property
    def used(self) -> bool:
        return self.int8_path is not None

    def __str__(self) -> str:
        return f"{self.recipe}: {self.reason}"


def is_autograded() -> bool:
    """True while nbgrader's autograder runs the notebook."""
    return os.environ.get("NBGRADER_EXECUTION") == "autograde"


def fine_tuned_in_hand_in(
    recipe: str,
    pruned: nn.Module,
    work: Path,
    artifacts: Path = contract.ARTIFACTS_DIR,
    autograded: bool | None = None,
) -> HandedInFineTuning:
    """The hand-in's fine-tuned files of ``recipe``, copied to ``work/<recipe>.onnx`` and
    ``work/<recipe>_fp32.onnx``, when the notebook is autograded and the files fit ``pruned`` (the model
    your pruning code made for this recipe just now); otherwise no paths and the reason.

    ``autograded`` None means: read it from the environment (:func:`is_autograded`).
    """
    if not (is_autograded() if autograded is None else autograded):
        return HandedInFineTuning(recipe, None, None, "fine-tuned here (you are running the notebook yourself)")
    int8_file, fp32_file = contract.COMBINED.path(artifacts), artifacts / FP32_FILE
    record = records_by_variant(contract.RESULTS.path(artifacts)).get(contract.COMBINED.variant)
    chosen = record.extra.get("recipe") if record is not None else None
    if chosen != recipe:
        why = "no combined model recorded" if record is None else f"the recorded choice is {chosen!r}"
        return HandedInFineTuning(recipe, None, None, f"fine-tuned again: {why}")
    missing = [path.name for path in (int8_file, fp32_file) if not path.is_file()]
    if missing:
        return HandedInFineTuning(recipe, None, None, f"fine-tuned again: no {' or '.join(missing)} in the hand-in")
    try:
        int8_bytes, handed_in = size_on_disk(int8_file), count_onnx_parameters(fp32_file)
    except Day26Error as error:  # names the file and what is wrong with it
        return HandedInFineTuning(recipe, None, None, f"fine-tuned again: {error}")
    if int8_bytes != record.size_bytes:
        return HandedInFineTuning(
            recipe, None, None,
            f"fine-tuned again: {int8_file.name} is {int8_bytes:,} bytes, "
            f"not the {record.size_bytes:,} your run measured",
        )  # fmt: skip
    made_now = count_parameters(pruned)
    if abs(handed_in - made_now) > PARAMETER_TOLERANCE * made_now:
        return HandedInFineTuning(
            recipe, None, None,
            f"fine-tuned again: {fp32_file.name} holds {handed_in:,} weights, your pruning makes {made_now:,} now",
        )  # fmt: skip
    work.mkdir(parents=True, exist_ok=True)
    int8_copy, fp32_copy = work / f"{recipe}.onnx", work / f"{recipe}_fp32.onnx"
    shutil.copyfile(int8_file, int8_copy)
    shutil.copyfile(fp32_file, fp32_copy)
    return HandedInFineTuning(
        recipe, int8_copy, fp32_copy,
        f"your fine-tuned {int8_file.name} from the run you handed in ({handed_in:,} weights, as your pruning "
        "makes them); not fine-tuned again",
    )  # fmt: skip


@dataclass(frozen=True)
class HandedInPruning:
    """Whether notebook 03's fine-tuned weights are taken from the hand-in's ``pruned.pth``, and why."""

    used: bool
    reason: str

    def __str__(self) -> str:
        return self.reason


def _masked_weights(pruned: nn.Module) -> dict[str, str]:
    """``{key of the weight as saved after prune.remove: key of its mask}`` for every masked weight."""
    return {key.removesuffix("_mask"): key for key, _ in pruned.named_buffers() if key.endswith("_mask")}


def fine_tuned_pruning_in_hand_in(
    pruned: nn.Module, artifacts: Path = contract.ARTIFACTS_DIR, autograded: bool | None = None
) -> HandedInPruning:
    """Notebook 03's fine-tuning pass, taken from the run you handed in, while the notebook is autograded.

    ``pruned`` is the model your pruning code made just now, masks attached (``weight_orig`` and
    ``weight_mask``). The hand-in's ``pruned.pth`` is loaded into it (its weights become the new
    ``weight_orig``; every bias, norm and running statistic is taken too) when all of these hold:

    - ``results.json`` records that your run fine-tuned the pruned model;
    - ``pruned.pth`` holds exactly the keys and shapes of your model;
    - every weight your pruning zeroed now is zero in ``pruned.pth`` (fine-tuning with the masks on
      keeps them zero, so the same code on the same baseline leaves the same zeros).

    Otherwise nothing is loaded and the reason says why: the notebook then fine-tunes again.
    """
    if not (is_autograded() if autograded is None else autograded):
        return HandedInPruning(False, "fine-tuned here (you are running the notebook yourself)")

    record = records_by_variant(contract.RESULTS.path(artifacts)).get(contract.PRUNED.variant)
    if record is None or record.extra.get("fine_tuned") is not True:
        return HandedInPruning(False, "fine-tuned again: your results.json records no fine-tuned pruned model")
    path = contract.PRUNED.path(artifacts)
    try:
        handed_in = load_state_dict_file(path)
    except Day26Error as error:  # names the file and what is wrong with it
        return HandedInPruning(False, f"fine-tuned again: {error}")
    masks = _masked_weights(pruned)
    expected = {key: tuple(value.shape) for key, value in pruned.state_dict().items() if not key.endswith("_mask")}
    expected = {key.removesuffix("_orig"): shape for key, shape in expected.items()}
    found = {key: tuple(value.shape) for key, value in handed_in.items() if hasattr(value, "shape")}
    if found != expected:
        different = sorted(set(found) ^ set(expected)) or [k for k in expected if found.get(k) != expected[k]]
        return HandedInPruning(
            False, f"fine-tuned again: {path.name} does not fit your model (first difference: {different[0]})"
        )
    buffers = dict(pruned.named_buffers())
    for weight, mask_key in masks.items():
        if bool((handed_in[weight][buffers[mask_key] == 0] != 0).any()):
            return HandedInPruning(
                False, f"fine-tuned again: {path.name} has weights in {weight} where your pruning zeroes them now"
            )
    state = {}
    for key in pruned.state_dict():
        if key.endswith("_mask"):
            state[key] = buffers[key]
        else:
            state[key] = handed_in[key.removesuffix("_orig")]
    pruned.load_state_dict(state, strict=True)
    for weight in masks:  # what the layer uses, as pruning's hook recomputes it before every call
        module_name, _, name = weight.rpartition(".")
        module = pruned.get_submodule(module_name)
        setattr(module, name, getattr(module, f"{name}_orig") * getattr(module, f"{name}_mask"))
    pruned.eval()
    zeros = sum(int((buffers[mask] == 0).sum()) for mask in masks.values())
    return HandedInPruning(
        True,
        f"your fine-tuned {path.name} from the run you handed in (its {zeros:,} zeros are where your pruning "
        "puts them now); not fine-tuned again",
    )
