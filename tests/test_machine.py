"""Every figure names the machine it was measured on (helpers/machine.py): the INT8 instruction sets
found, the card's machine line, and a leaderboard that says when its rows come from different kinds
of machine."""

from __future__ import annotations

from pathlib import Path

from grading.autograde import Course
from grading.leaderboard import build_leaderboard, leaderboard_markdown
from grading.records import GradeRecord, write_record
from grading.verify import Check, Verdict
from helpers.machine import int8_instructions, machine_description, machine_kind

XEON_FLAGS = {"fpu", "sse4_2", "avx2", "avx512f", "avx512_vnni", "avx_vnni"}


def test_the_int8_instruction_sets_are_read_from_the_cpu_flags():
    assert int8_instructions(XEON_FLAGS) == ["AVX2", "AVX-512", "AVX-512 VNNI", "AVX-VNNI"]
    assert int8_instructions({"fpu", "avx2"}) == ["AVX2"]
    assert int8_instructions({"fp", "asimd", "asimddp"}) == ["Arm dot product"]


def test_this_machine_is_described_with_what_int8_speed_depends_on():
    machine = machine_description()
    assert machine["processor"] and machine["cores"] >= 1 and machine["torch_threads"] >= 1
    assert isinstance(machine["int8_instructions"], list)
    assert machine["torch_capability"]  # the vector instructions PyTorch's kernels chose, e.g. AVX512
    assert machine["processor"] in machine_kind(machine)
    assert machine_kind({"processor": "Old CPU"}) == "Old CPU"  # a record from before the instruction sets


def _record(workspace: Path, learner: str, processor: str, flags: set[str], speedup: float) -> None:
    machine = {"processor": processor, "cores": 2, "int8_instructions": int8_instructions(flags)}
    figures = {
        "optimized.onnx": {"size_bytes": 400_000, "accuracy": 0.97, "latency_ms": 0.3, "speedup": speedup},
        "reference": {"size_bytes": 4_950_000, "accuracy": 0.975, "latency_ms": 4.0},
    }
    checks = [Check("optimized.onnx", "speed", f"{speedup}x faster", ">= 8x", True)]
    verdict = Verdict(str(workspace / learner), "images", checks, figures=figures)
    write_record(
        workspace / "records" / f"{learner}.json", GradeRecord(learner, "graded", verdict=verdict, machine=machine)
    )


def test_the_leaderboard_says_when_rows_come_from_different_kinds_of_machine(tmp_path):
    course = Course(tmp_path, tmp_path / "course")
    _record(course.workspace, "ada", "Intel(R) Xeon(R) Processor", XEON_FLAGS, 13.0)
    _record(course.workspace, "bo", "Intel(R) Xeon(R) Processor", XEON_FLAGS, 12.0)
    one_kind = leaderboard_markdown(*build_leaderboard(course))
    assert "Measured on one kind of machine: Intel(R) Xeon(R) Processor (AVX2, AVX-512, AVX-512 VNNI" in one_kind
    assert "| machine |" not in one_kind

    _record(course.workspace, "cy", "AMD EPYC", {"avx2"}, 9.0)
    two_kinds = leaderboard_markdown(*build_leaderboard(course))
    assert "Measured on 2 kinds of machine" in two_kinds and "| machine |" in two_kinds
    assert "| AMD EPYC (AVX2) |" in two_kinds
