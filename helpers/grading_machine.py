"""The machine the grader times your artifacts on, as the course names it, beside the one you work on.

INT8 speed depends on the processor. With one-step 8-bit dot products (AVX-512 VNNI, AVX-VNNI, AMX,
Arm's dot product) static INT8 ran the images model several times faster than FP32 in ONNX Runtime;
with AVX2 only, at FP32's speed: INT8 then buys size, not speed. Structured pruning's speed-up holds on
every CPU. So a speed target you meet at home with INT8 may be missed on a grading machine without
those instructions, and the other way round.

Your instructor names the grading machine in the learner bundle: ``grading_machine.json`` beside the
notebooks, written by ``day26 release`` from ``day26 machine --json`` run on the grading machine.
Notebook 02 and ``day26 check`` print it beside yours, and say when their INT8 speed differs.
"""

from __future__ import annotations

import json
from pathlib import Path

from helpers.errors import Day26Error
from helpers.machine import machine_kind

GRADING_MACHINE_FILE = "grading_machine.json"  # beside the notebooks, in the learner bundle
ONE_STEP_INT8 = ("AVX-512 VNNI", "AVX-VNNI", "AMX-INT8", "Arm dot product")  # as helpers.machine shows them


def machine_in(path: Path, fix: str) -> dict:
    """The machine description (``day26 machine --json``) in ``path``; a one-line error naming the file
    and ``fix`` (what to do) when it is unreadable or not one."""
    try:
        machine = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise Day26Error(f"{path}: unreadable ({type(error).__name__}). {fix}") from None
    if not isinstance(machine, dict) or "processor" not in machine:
        raise Day26Error(f"{path}: not a machine description. {fix}")
    return machine


def read_grading_machine(notebooks: Path) -> dict | None:
    """The grading machine named in ``notebooks/grading_machine.json``; None when the course named none."""
    path = notebooks / GRADING_MACHINE_FILE
    if not path.is_file():
        return None
    return machine_in(path, "Ask your instructor for the bundle's file again.")


def one_step_int8(machine: dict) -> bool | None:
    """Whether the machine multiplies 8-bit numbers in one step (VNNI-class instructions); None when
    its instruction sets could not be read (macOS, Windows)."""
    instructions = machine.get("int8_instructions")
    if not isinstance(instructions, list):
        return None
    return any(name in instructions for name in ONE_STEP_INT8)


def int8_on(machine: dict) -> str:
    """What INT8 buys on ``machine``, in words."""
    fast = one_step_int8(machine)
    if fast is None:
        return "its INT8 instructions are unknown: measure whether INT8 is faster there"
    if fast:
        return "it multiplies 8-bit numbers in one step, so INT8 (static for convolutions) runs faster than FP32"
    return "it has no one-step 8-bit products, so INT8 buys size there, not speed: prune for speed"


def grading_machine_lines(mine: dict, grader: dict | None) -> list[str]:
    """Lines that name the grading machine beside ``mine`` and say whether INT8 speed-ups carry over
    from one to the other; no lines when the course named no grading machine."""
    if grader is None:
        return []
    lines = [f"graded on: {machine_kind(grader)}: {int8_on(grader)}", f"measured on: {machine_kind(mine)}"]
    fast_here, fast_there = one_step_int8(mine), one_step_int8(grader)
    if fast_here is None or fast_there is None:
        lines.append("whether INT8 speed-ups carry over to the grading machine is unknown: the grader measures again")
    elif fast_here != fast_there:
        lines.append(
            "INT8 speed-ups measured here will differ on the grading machine (one-step 8-bit products on one CPU, "
            "not the other): a speed verdict that rests on INT8 is for this machine only"
        )
    else:
        lines.append("INT8 speed-ups carry over: both CPUs multiply 8-bit numbers the same way")
    return lines
