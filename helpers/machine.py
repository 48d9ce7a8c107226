"""The machine a figure was measured on.

INT8 speed depends on the processor's instructions: AVX2 multiplies 8-bit numbers in several steps,
AVX-512 VNNI (and AVX-VNNI, AMX) in one. Two learners' speed-ups are only comparable when they were
measured on the same kind of machine, so every result record, card and leaderboard row carries
:func:`machine_description`.
"""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

import torch

# CPU flags (as Linux's /proc/cpuinfo spells them) that INT8 kernels use, and how they are shown.
INT8_FLAGS = {
    "avx2": "AVX2",
    "avx512f": "AVX-512",
    "avx512_vnni": "AVX-512 VNNI",
    "avx_vnni": "AVX-VNNI",
    "amx_int8": "AMX-INT8",
    "asimddp": "Arm dot product",  # aarch64 Linux: the SDOT/UDOT instructions
}


def _cpuinfo() -> dict[str, str]:
    """The first value of each key of Linux's /proc/cpuinfo ({} elsewhere)."""
    fields: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return fields


def _macos_processor() -> str:
    try:
        found = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return ""
    return found.stdout.strip()


def _processor_and_flags() -> tuple[str, set[str]]:
    """The processor's model name and its CPU flags (flags only where Linux lists them)."""
    info = _cpuinfo()
    processor = info.get("model name") or info.get("Model") or ""
    if not processor and platform.system() == "Darwin":
        processor = _macos_processor()
    flags = set((info.get("flags") or info.get("Features") or "").split())
    return processor or platform.processor() or platform.machine(), flags


def int8_instructions(flags: set[str]) -> list[str]:
    """The INT8-relevant instruction sets among the CPU ``flags`` (see :data:`INT8_FLAGS`)."""
    return [shown for flag, shown in INT8_FLAGS.items() if flag in flags]


def machine_description() -> dict[str, str | int | list[str] | None]:
    """What figures are measured on: operating system, processor, logical cores, the threads PyTorch
    uses by default, the INT8-relevant instruction sets, and the vector instructions PyTorch's own
    kernels chose (``torch.backends.cpu.get_cpu_capability()``, e.g. ``AVX512``)."""
    processor, flags = _processor_and_flags()
    return {
        "system": platform.system(),
        "processor": processor,
        "cores": os.cpu_count() or 0,
        "torch_threads": torch.get_num_threads(),
        "int8_instructions": int8_instructions(flags) if flags else None,  # None: the flags cannot be read here
        "torch_capability": torch.backends.cpu.get_cpu_capability(),
    }


def machine_kind(machine: dict) -> str:
    """A short name of the kind of machine, the same for machines whose INT8 speed is comparable:
    the processor and its INT8 instruction sets, e.g. ``Intel(R) Xeon(R) Processor (AVX2, AVX-512)``.
    Where the CPU flags could not be read (macOS, Windows, an older record), PyTorch's kernel
    capability stands in for them."""
    processor = str(machine.get("processor", "unknown CPU"))
    instructions = machine.get("int8_instructions")
    if isinstance(instructions, list):
        return f"{processor} ({', '.join(instructions) or 'no INT8 instructions found'})"
    capability = machine.get("torch_capability")
    return f"{processor} (PyTorch kernels: {capability})" if capability else processor
