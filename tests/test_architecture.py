"""The layering of STYLE.md, held by parsing imports: imports point down, one owner per library."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "agentsync"

# Higher layers may import lower ones (and their own), never the other way round.
LAYERS: dict[str, int] = {
    **dict.fromkeys(
        [
            *("errors", "ids", "urls", "_fs", "versions", "presets", "patch", "textsafe"),
            *("requests", "js", "yaml12", "tomlpos", "state", "fastpath", "lazy"),
            *("fast_status", "gitenv", "fast_outdated"),
        ],
        0,
    ),
    **dict.fromkeys(
        [
            *("agenttools", "hookrules", "diagnostics", "frontmatter", "textscan"),
            *("manifest", "lockfile", "project", "vcs", "trees", "mirror_reader", "store"),
            "marketplace",
        ],
        1,
    ),
    **dict.fromkeys(
        [
            *("fieldchecks", "compat", "fixer", "catalog", "grants", "journal", "resolve"),
            *("installer", "plugins", "scopes"),
        ],
        2,
    ),
    **dict.fromkeys(["session"], 3),
    **dict.fromkeys(["sync"], 4),
    **dict.fromkeys(["operations", "checker", "updater", "render", "gate"], 5),
    **dict.fromkeys(["cli", "__main__"], 6),
}
# Third-party libraries with exactly one owning module.
OWNERS = {
    "typer": "cli",
    "yaml": "yaml12",
    "tomli_w": "lockfile",
    "git": "vcs",
    "tomlkit": "manifest",
}


def imports_of(module: str) -> set[str]:
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "agentsync":
                found.update(f"agentsync.{alias.name}" for alias in node.names)
            else:
                found.add(node.module)
    return found


def test_every_module_has_a_layer() -> None:
    modules = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__"}
    assert modules == set(LAYERS)


@pytest.mark.parametrize("module", sorted(LAYERS))
def test_imports_point_down(module: str) -> None:
    for name in imports_of(module):
        if name.startswith("agentsync."):
            target = name.split(".")[1]
            if target in LAYERS:
                assert LAYERS[target] <= LAYERS[module], f"{module} imports {target}"


@pytest.mark.parametrize("module", sorted(LAYERS))
def test_each_library_has_one_owner(module: str) -> None:
    for name in imports_of(module):
        root = name.split(".")[0]
        if root in OWNERS:
            assert OWNERS[root] == module, f"{module} imports {root}"


@pytest.mark.parametrize("module", sorted(m for m in LAYERS if LAYERS[m] < LAYERS["cli"]))
def test_core_never_prints_or_exits(module: str) -> None:
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in {"print", "exit", "quit"}, f"{module}:{node.lineno}"
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            assert (node.value.id, node.attr) != ("sys", "exit"), f"{module}:{node.lineno}"


def test_every_module_says_what_it_owns() -> None:
    for path in PACKAGE.glob("*.py"):
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        assert doc and len(doc.splitlines()[0]) > 10, path.name


def _graph() -> dict[str, set[str]]:
    return {
        module: {
            name.split(".")[1]
            for name in imports_of(module)
            if name.startswith("agentsync.") and name.split(".")[1] in LAYERS
        }
        - {module}
        for module in LAYERS
    }


def test_modules_of_one_layer_import_each_other_without_cycles() -> None:
    """Within a layer imports may go sideways, but in one order: no module depends on
    itself through others."""
    graph = _graph()
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, " -> ".join((*path, module))
        if module in done:
            return
        for target in sorted(graph[module]):
            visit(target, (*path, module))
        done.add(module)

    for module in sorted(graph):
        visit(module, ())


USE_CASES = ("operations", "updater", "checker")


@pytest.mark.parametrize("module", USE_CASES)
def test_use_cases_share_the_pipeline_not_each_other(module: str) -> None:
    assert not _graph()[module] & set(USE_CASES), module
