"""Each stage's code dependencies: its script and the closure of bloomtune modules it imports.

The Snakefile takes its rule inputs from here and dvc.yaml is generated with the same lists
(bloomtune/dvc_yaml.py), so editing any module a stage imports (at the top or inside a function)
reruns that stage and those after it, in both orchestrators. `python -m bloomtune.codedeps`
prints the lists.

One module is not followed: the params check (bloomtune/checks.py), which every stage runs on
the whole params before any work. A check accepts or refuses; it never changes what a stage
writes, so what only the check imports (the search space, the model vocabulary, the frameworks'
option checks) is code of just the stages that import it themselves."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "bloomtune"
# Data files a module reads that change what its stage writes.
MODULE_DATA = {"bloomtune.reporting.live_page": ["blog_reference.yaml"]}
CHECK_ONLY = {"bloomtune.checks"}  # accepts or refuses params; changes no output


def loaded_by_name() -> dict[str, list[str]]:
    """Modules a module loads by name, not by an import statement: the framework adapters
    (tuning/frameworks.py) the tune and replay stages run."""
    from bloomtune.tuning.frameworks import FRAMEWORKS

    adapters = [f.adapter_module for f in FRAMEWORKS.values()]
    return {"bloomtune.tuning.tune": adapters, "bloomtune.replay.search": adapters}


def module_path(name: str) -> Path | None:
    """The file of bloomtune module `name` (a package's __init__.py), or None if none exists."""
    base = ROOT.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def imported_modules(path: Path) -> set[str]:
    """The bloomtune modules a file imports anywhere in it (`from a import b` counts a.b when b
    is a module, else a)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            names += [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            if name.split(".")[0] == PACKAGE and module_path(name) is not None:
                found.add(name)
    return found - CHECK_ONLY


def closure(script: Path) -> list[str]:
    """The script and every bloomtune file it reaches by imports, as sorted repo paths.

    Empty package __init__.py files are left out: they run no code."""
    seen: set[str] = set()
    todo = list(imported_modules(script))
    by_name = loaded_by_name()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo += imported_modules(module_path(name)) | set(by_name.get(name, []))
        parts = name.split(".")  # importing a.b.c runs a/__init__.py and a/b/__init__.py too
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]
    files = set()
    for name in seen:
        path = module_path(name)
        if path.name != "__init__.py" or path.read_text().strip():
            files.add(path)
        files.update(path.parent / data for data in MODULE_DATA.get(name, []))
    return [str(script.relative_to(ROOT))] + sorted(str(p.relative_to(ROOT)) for p in files)


def stage_code(stage: str) -> list[str]:
    """Code dependencies of a stage: its script (bloomtune/stages.py) and the script's closure."""
    from bloomtune.stages import STAGES

    return closure(ROOT / STAGES[stage].script)


def main() -> None:
    from bloomtune.stages import STAGES

    for stage in STAGES:
        print(f"{stage}:")
        for path in stage_code(stage):
            print(f"  - {path}")


if __name__ == "__main__":
    main()
