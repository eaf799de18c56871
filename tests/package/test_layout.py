"""The package's shape: no import cycles, every module importable on its own."""

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def package_modules() -> dict[str, Path]:
    """module name -> file, for vidclip/ and kernels/ (installed as vidclip.kernels) and configs/."""
    out = {}
    for folder, prefix in ((ROOT / "vidclip", "vidclip"), (ROOT / "kernels", "vidclip.kernels"),
                           (ROOT / "configs", "vidclip.configs")):
        for file in folder.rglob("*.py"):
            parts = list(file.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join([prefix, *parts])] = file
    return out


def imports_of(name: str, file: Path, modules: dict) -> set[str]:
    """vidclip modules `file` imports anywhere (also inside functions: a cycle there is a cycle too)."""
    package = name if file.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(file.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
    return {m for m in found if m in modules and m != name}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, out, counter = {}, {}, [], set(), [], [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return out


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    modules = package_modules()
    graph = {name: imports_of(name, file, modules) for name, file in modules.items()}
    assert len(graph) > 50 and graph["vidclip.factory"] >= {"vidclip.checkpoint", "vidclip.model"}
    assert cycles(graph) == []


@pytest.mark.parametrize("name", sorted(set(package_modules()) - {"vidclip.__main__"}))  # __main__ runs the CLI
def test_every_module_imports_on_its_own(name):
    if name.startswith(("vidclip.kernels.temporal_attention.triton", "vidclip.kernels.frame_pool.triton")):
        pytest.importorskip("triton")
    importlib.import_module(name)


def test_loose_modules_at_the_package_root_are_few():
    loose = sorted(p.stem for p in (ROOT / "vidclip").glob("*.py") if p.stem not in ("__init__", "__main__"))
    assert loose == ["api", "atomic", "checkpoint", "errors", "factory", "locking", "losses", "model",
                     "pipeline", "registry", "towers"]


def test_every_deliberate_error_is_a_vidclip_error_and_input_errors_are_value_errors():
    from vidclip import errors

    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, Exception)]
    assert len(classes) >= 9
    for cls in classes:
        assert issubclass(cls, errors.VidclipError)
        if cls not in (errors.VidclipError, errors.TrainingStopped, errors.BusyError):  # not the input's fault
            assert issubclass(cls, ValueError), cls
