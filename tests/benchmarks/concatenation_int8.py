"""Which operators static INT8 may quantize in a concatenating CNN: the zoo's DenseCNN
(tests/own_models/week5_models.py) trained as the zoo trains it, exported as notebook 02 exports it
(one file, the exporter's notes stripped), then quantized with notebook 02's settings (QDQ,
per-channel, the first convolution left FP32) and a different set of operators each time. Prints the
validation accuracy and how many times smaller than the FP32 state_dict each INT8 file is.

    DAY26_HOME=$PWD/.day26 .venv/bin/python tests/benchmarks/concatenation_int8.py

About three minutes on 2 cores (most of it the training). The figures behind the Concat rule of
notebooks 02 and 05 (docs/design.md). Nothing in the repository is written; the folder it works in
is printed.
"""

from __future__ import annotations

import sys
import tempfile
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import torch  # noqa: E402
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static  # noqa: E402
from onnxruntime.quantization.shape_inference import quant_pre_process  # noqa: E402
from own_models.week5_models import DenseCNN  # noqa: E402
from own_models.zoo_members import BY_NAME  # noqa: E402

from helpers.captured import library_output  # noqa: E402
from helpers.data import Dataset  # noqa: E402
from helpers.effects import WEIGHT_OPERATORS, quantized_concatenations  # noqa: E402
from helpers.runtime import open_session, run_session  # noqa: E402
from helpers.tracks import get_track  # noqa: E402
from helpers.train import TrainingRecipe, train  # noqa: E402


class _Calibration(CalibrationDataReader):
    def __init__(self, input_name: str, dataset: Dataset) -> None:
        self.feeds = ({input_name: np.ascontiguousarray(x.numpy())} for x, _ in dataset.batches(16))

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self.feeds, None)


def _accuracy(path: Path, val: Dataset) -> float:
    session = open_session(path)
    correct = 0
    for inputs, labels in val.batches(100):
        correct += int((run_session(session, inputs).argmax(1) == labels.numpy()).sum())
    return correct / len(val)


def main() -> None:
    track, member = get_track("images"), BY_NAME["DenseCNN"]
    work = Path(tempfile.mkdtemp(prefix="day26-concatenation-"))
    print(f"working in {work}")
    torch.manual_seed(zlib.crc32(member.class_name.encode()))  # as tests/own_models/zoo.py seeds it
    model = DenseCNN()
    recipe = TrainingRecipe(member.epochs, track.training.batch_size, track.training.learning_rate)
    train(model, track.train_data(), recipe, seed=0)
    model.eval()
    torch.save(model.state_dict(), work / "weights.pth")
    fp32, prepared = work / "fp32.onnx", work / "prepared.onnx"
    with library_output(), torch.no_grad():
        torch.onnx.export(model, (track.example_batch(),), str(fp32), external_data=False,
                          dynamic_shapes={"pixels": {0: torch.export.Dim("batch")}})  # fmt: skip
    exported = onnx.load(str(fp32))
    for node in exported.graph.node:
        del node.metadata_props[:]
    onnx.save(exported, str(fp32))
    quant_pre_process(str(fp32), str(prepared))
    nodes = onnx.load(str(prepared)).graph.node
    input_name = onnx.load(str(prepared)).graph.input[0].name
    first_layer = [node.name for node in nodes if input_name in node.input and node.op_type == "Conv"]

    def named(op_type: str) -> list[str]:
        return [node.name for node in nodes if node.op_type == op_type]

    weights = list(WEIGHT_OPERATORS)
    variants: dict[str, dict] = {
        "every operator (the old hint)": {},
        "every operator, BatchNormalization left FP32": {"nodes_to_exclude": named("BatchNormalization")},
        "every operator, Concat left FP32": {"nodes_to_exclude": named("Concat")},
        "every operator, Relu left FP32": {"nodes_to_exclude": named("Relu")},
        "Conv, Gemm, MatMul only (the rule now)": {"op_types_to_quantize": weights},
        **{f"Conv, Gemm, MatMul and {extra}": {"op_types_to_quantize": [*weights, extra]}
           for extra in ("AveragePool", "ReduceMean", "Relu", "Concat", "BatchNormalization")},
    }  # fmt: skip
    val, calibration = track.val_data(), track.train_data().subset(256)
    baseline_bytes = (work / "weights.pth").stat().st_size
    print(f"DenseCNN, {len(val)} validation images; FP32 ONNX: {_accuracy(prepared, val):.1%}")
    print(f"{'operators quantized':<48} {'accuracy':>8} {'smaller':>8}  concatenations in 8 bits")
    for index, (label, settings) in enumerate(variants.items()):
        target = work / f"int8_{index}.onnx"
        excluded = first_layer + settings.pop("nodes_to_exclude", [])
        with library_output():
            quantize_static(str(prepared), str(target), _Calibration(input_name, calibration),
                            quant_format=QuantFormat.QDQ, per_channel=True, activation_type=QuantType.QUInt8,
                            weight_type=QuantType.QInt8, nodes_to_exclude=excluded, **settings)  # fmt: skip
        reduction = baseline_bytes / target.stat().st_size
        print(f"{label:<48} {_accuracy(target, val):>8.1%} {reduction:>7.2f}x  {len(quantized_concatenations(target))}")


if __name__ == "__main__":
    main()
