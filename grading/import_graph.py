"""Print the import graph of the workbook's two packages: ``python -m grading.import_graph``.

One line per module with the project modules it imports, then the direction between the
packages. The learner package (``helpers``) must import nothing of the instructor's (``grading``);
the last line says whether that holds, and the exit status is 1 when it does not.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGES = ("helpers", "grading")
ROOT = Path(__file__).resolve().parent.parent


def project_imports(path: Path) -> list[str]:
    """The modules of ``helpers`` and ``grading`` that the file at ``path`` imports (sorted, once each)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] if node.module not in PACKAGES else [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        found |= {name for name in names if name.split(".")[0] in PACKAGES}
    return sorted(found)


def import_graph(root: Path = ROOT) -> dict[str, list[str]]:
    """Module name -> the project modules it imports, for every module of both packages."""
    graph = {}
    for package in PACKAGES:
        for path in sorted((root / package).glob("*.py")):
            graph[f"{package}.{path.stem}"] = project_imports(path)
    return graph


def main() -> int:
    graph = import_graph()
    for module, imported in graph.items():
        print(f"{module:<24} -> {', '.join(imported) or '(nothing of the project)'}")
    upward = [(module, name) for module, names in graph.items() for name in names
              if module.startswith("helpers.") and name.startswith("grading")]  # fmt: skip
    downward = sum(name.startswith("helpers") for module, names in graph.items() if module.startswith("grading.")
                   for name in names)  # fmt: skip
    print(f"\ngrading -> helpers: {downward} imports; helpers -> grading: {len(upward)} imports")
    for module, name in upward:
        print(f"  WRONG WAY: {module} imports {name}")
    print("direction: one way (the learner package stands alone)" if not upward else "direction: BROKEN")
    return 1 if upward else 0


if __name__ == "__main__":
    sys.exit(main())
