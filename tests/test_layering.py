"""The package's layers (docs/design.md, "Layers"): every import in src/dastsiam points down or sideways within its
floor, only ``cli`` imports ``cli``, and there is no import cycle, between modules or between packages.

Imports are read with ``ast`` from the source, all of them: module level, inside functions (the lazy imports that
keep start-up fast are still dependencies) and under ``TYPE_CHECKING``. A lazily exported name
(``from dastsiam import load_tracker``, resolved through a package's ``_EXPORTS`` table) counts as an import
of the module that defines it.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "dastsiam"

# Floors, bottom first. A module belongs to the entry naming the longest prefix of its dotted name.
LAYERS: list[tuple[str, list[str]]] = [
    ("foundation", ["dastsiam", "dastsiam.errors", "dastsiam.boxes", "dastsiam.config", "dastsiam.sequence",
                    "dastsiam.runtime", "dastsiam._deps", "dastsiam.files"]),
    ("models and data", ["dastsiam.models", "dastsiam.datasets"]),
    ("algorithms", ["dastsiam.tracking", "dastsiam.evaluation", "dastsiam.training", "dastsiam.onnx_format",
                    "dastsiam.export", "dastsiam.onnx_backend"]),
    ("public API", ["dastsiam.api"]),
    # adapters of the public API to outside toolkits sit on top with the user interfaces
    ("interfaces", ["dastsiam.cli", "dastsiam.app", "dastsiam.vot_toolkit",
                    "dastsiam.evaluation.got10k_adapter"]),
]
ONLY_IMPORTED_BY_ITSELF = ["dastsiam.cli"]  # nothing outside cli/ imports cli/


def _modules() -> dict[str, Path]:
    out = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _lazy_exports(modules: dict[str, Path]) -> dict[str, dict[str, str]]:
    """``{package: {name: defining module}}`` from the packages' ``_EXPORTS = {...}`` tables."""
    out = {}
    for name, path in modules.items():
        if path.name != "__init__.py":
            continue
        for node in ast.parse(path.read_text()).body:
            if (isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "_EXPORTS" for t in node.targets)
                    and isinstance(node.value, ast.Dict)):
                table = zip(node.value.keys, node.value.values)
                out[name] = {ast.literal_eval(k): ast.literal_eval(v) for k, v in table}
    return out


def import_graph() -> dict[str, set[str]]:
    """``{module: {modules of dastsiam it imports}}``."""
    modules = _modules()
    lazy = _lazy_exports(modules)

    def known(name: str) -> str | None:
        while name not in modules and "." in name:
            name = name.rsplit(".", 1)[0]
        return name if name in modules else None

    graph: dict[str, set[str]] = defaultdict(set)
    for module, path in modules.items():
        package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative import
                    anchor = package.split(".")
                    anchor = anchor[:len(anchor) - (node.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    if full in modules:
                        targets.append(full)  # a submodule
                    elif alias.name in lazy.get(base, {}):
                        targets.append(lazy[base][alias.name])  # a lazily exported name
                    else:
                        targets.append(base)
            for target in targets:
                if target.split(".")[0] != "dastsiam":
                    continue
                resolved = known(target)
                assert resolved is not None, f"{path}: imports {target}, which is not a module of src/dastsiam"
                if resolved != module:
                    graph[module].add(resolved)
    for module in modules:
        graph.setdefault(module, set())
    return dict(graph)


def owner(module: str) -> str:
    """The LAYERS entry a module belongs to (longest matching prefix)."""
    best = None
    for _, entries in LAYERS:
        for entry in entries:
            if (module == entry or module.startswith(entry + ".")) and (best is None or len(entry) > len(best)):
                best = entry
    assert best is not None, f"{module} is on no floor: add its package to LAYERS here and to docs/design.md"
    return best


def floor(module: str) -> int:
    entry = owner(module)
    return next(i for i, (_, entries) in enumerate(LAYERS) if entry in entries)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan, iterative)."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


@pytest.fixture(scope="module")
def graph():
    return import_graph()


def test_every_module_is_on_a_floor(graph):
    for module in graph:
        owner(module)


def test_no_import_points_upwards(graph):
    upward = [f"{a} (floor {LAYERS[floor(a)][0]!r}) imports {b} (floor {LAYERS[floor(b)][0]!r})"
              for a, targets in sorted(graph.items()) for b in sorted(targets) if floor(b) > floor(a)]
    assert not upward, "imports pointing up the layers:\n" + "\n".join(upward)


def test_nothing_outside_cli_imports_cli(graph):
    wrong = [f"{a} imports {b}" for a, targets in sorted(graph.items()) for b in sorted(targets)
             for closed in ONLY_IMPORTED_BY_ITSELF
             if owner(b) == closed and owner(a) != closed]
    assert not wrong, "\n".join(wrong)


def test_no_import_cycle_between_modules(graph):
    assert not cycles(graph), f"import cycles: {cycles(graph)}"


def test_no_import_cycle_between_packages(graph):
    packages: dict[str, set[str]] = defaultdict(set)
    for a, targets in graph.items():
        packages[owner(a)] |= {owner(b) for b in targets if owner(b) != owner(a)}
    for package in list(packages):
        packages.setdefault(package, set())
    assert not cycles(dict(packages)), f"import cycles between packages: {cycles(dict(packages))}"


def test_the_checks_see_what_they_must():
    """The checker itself: a lazy export resolves to its module, an upward arrow and a circle are found."""
    g = import_graph()
    assert "dastsiam.api" in g["dastsiam.evaluation.got10k_adapter"]  # `from dastsiam import load_tracker`
    assert "dastsiam.tracking.tracker" in g["dastsiam.api"]  # a function-level import counts
    assert floor("dastsiam.evaluation.got10k_adapter") > floor("dastsiam.evaluation.metrics")
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
