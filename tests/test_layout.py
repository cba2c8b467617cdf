"""The layout holds: every package is installed under the one import name `agent_postmortem` (nothing generic such
as `server` or `store` lands in site-packages), and dependencies point one way (docs/architecture.md):
adapters (mcp, http, cli, sdk, web) → ingest → service → analysis, render, llm → store, prompts; the product never
imports its benchmarks, the benchmarks never import the tests."""

import ast
import functools
import pickle
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories import ROOT

FOLDERS = {"server": "agent_postmortem", "store": "agent_postmortem.store", "prompts": "agent_postmortem.prompts"}
FOLDERS["evals"] = "agent_postmortem.evals"
FLAT = ("server", "store", "prompts", "evals")


def modules() -> Iterator[tuple[str, Path]]:
    """(installed module name, file) for every module of the four folders' packages."""
    for folder, package in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            if not all((d / "__init__.py").is_file() for d in [path.parent, *path.parent.parents][: _depth(path)]):
                continue
            parts = [p for p in path.relative_to(ROOT / folder).with_suffix("").parts if p != "__init__"]
            yield ".".join([package, *parts]), path


def _depth(path: Path) -> int:
    return len(path.relative_to(ROOT).parts) - 1


# Every file's syntax tree, parsed once in a process of its own and handed over pickled: CPython 3.11.7's AST
# constructor checks a recursion depth that other code in a long test worker can leave off, and then raises
# "SystemError: AST constructor recursion depth mismatch" for a sound file (seen twice under xdist, once on a thread
# of its own, never alone).
_PARSE_ALL = """
import ast, pickle, sys
trees = {}
for name in sys.stdin.read().split("\\n"):
    if name:
        with open(name, encoding="utf-8") as source:
            trees[name] = ast.parse(source.read())
sys.stdout.buffer.write(pickle.dumps(trees))
"""


@functools.cache
def _trees() -> dict[str, ast.Module]:
    folders = ("server", "store", "prompts", "evals", "tests")
    files = "\n".join(sorted(str(p) for folder in folders for p in (ROOT / folder).rglob("*.py")))
    done = subprocess.run([sys.executable, "-c", _PARSE_ALL], input=files.encode(), capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    trees: dict[str, ast.Module] = pickle.loads(done.stdout)  # noqa: S301 - our own child's output
    return trees


def _parse(path: Path) -> ast.Module:
    tree = _trees().get(str(path))
    return tree if tree is not None else ast.parse(path.read_text(encoding="utf-8"))


def imports(module: str, path: Path) -> set[str]:
    """Every module a file imports (top-level, inside functions and under TYPE_CHECKING), absolute."""
    found: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(_parse(path)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, *([base] if base else [])])
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


GRAPH = {module: imports(module, path) for module, path in modules()}


def within(name: str, *packages: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def offending(
    source: tuple[str, ...], forbidden: tuple[str, ...], *, skip: tuple[str, ...] = (), allowed: tuple[str, ...] = ()
) -> list[str]:
    """`module imports name` for each module in `source` (but not in `skip`) that imports a module in `forbidden`
    (but not in `allowed`)."""
    return sorted(
        f"{module} imports {name}"
        for module, names in GRAPH.items()
        if within(module, *source) and not within(module, *skip)
        for name in names
        if within(name, *forbidden) and not within(name, *allowed)
    )


P = "agent_postmortem."
ADAPTERS = (P + "mcp", P + "http", P + "cli", P + "sdk", P + "web")


def test_every_package_folder_is_listed_in_pyproject() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"])
    packages = {module for module, path in modules() if path.name == "__init__.py"}
    assert packages == listed


# folders whose modules are held to the size budget
BUDGETED = ("store/records", "server/web", "server/http", "server/sdk")


def test_the_record_web_http_and_sdk_modules_keep_within_the_size_budget() -> None:
    """A module holds ~300 lines at most: one that grows past it is split along a seam of its own."""
    over = {
        str(path.relative_to(ROOT)): lines
        for folder in BUDGETED
        for path in sorted((ROOT / folder).rglob("*.py"))
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > 300
    }
    assert over == {}


def test_no_module_imports_the_folder_names() -> None:
    """`server`, `store`, `prompts`, `evals` are folders of this repository, not importable names once installed."""
    assert offending((P[:-1],), FLAT) == []


def test_the_product_never_imports_its_benchmarks_or_the_tests() -> None:
    assert offending((P[:-1],), (P + "evals", "tests"), skip=(P + "evals",)) == []
    assert offending((P + "evals",), ("tests",)) == []


def test_store_and_prompts_import_nothing_of_the_application() -> None:
    assert offending((P + "store",), (P[:-1],), allowed=(P + "store",)) == []
    assert offending((P + "prompts",), (P[:-1],), allowed=(P + "prompts", P + "store")) == []


def test_the_service_layer_imports_no_adapter_and_no_mcp() -> None:
    assert offending((P + "service",), (*ADAPTERS, P + "ingest", "mcp")) == []


def test_judgement_rendering_and_llms_import_no_use_case_or_adapter() -> None:
    lower = (P + "analysis", P + "render", P + "llm")
    assert offending(lower, (P + "service", P + "ingest", *ADAPTERS)) == []
    assert offending((P + "ingest",), ADAPTERS) == []


def test_the_benchmarks_use_the_service_not_the_mcp_tools() -> None:
    assert offending((P + "evals",), (P + "mcp",)) == []


def test_the_public_api_is_at_the_package_root_and_importing_it_loads_nothing_heavy() -> None:
    probe = (
        "import sys, agent_postmortem\n"
        "print(*[m for m in ('pydantic', 'sqlalchemy', 'mcp', 'numpy', 'openai') if m in sys.modules])\n"
        "from agent_postmortem import Recorder, build_service, IncidentCreate, Settings\n"
        "print(*[n for n in agent_postmortem.__all__ if getattr(agent_postmortem, n, None) is None])\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd="/")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == ["", ""]


def test_the_benchmarks_register_their_commands_through_the_entry_point() -> None:
    from importlib.metadata import entry_points

    assert [e.value for e in entry_points(group="agent_postmortem.cli")] == ["agent_postmortem.evals.cli:register"]


@pytest.mark.slow
def test_the_wheel_installs_one_package_and_its_data(tmp_path: Path) -> None:
    """Built from a copy of the sources, as `pip install .` builds it: every file lands under `agent_postmortem/`
    (or its dist-info), with the templates, prompts, migrations, seed data and embedding model the package reads at
    run time."""
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    for folder in FLAT:
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__"))
    build = "import setuptools.build_meta as b; print(b.build_wheel('dist'))"
    done = subprocess.run([sys.executable, "-c", build], cwd=source, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    wheel = source / "dist" / done.stdout.strip().splitlines()[-1]
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names}
    assert tops == {"agent_postmortem", "agent_postmortem-0.1.0.dist-info"}, tops
    for data in (
        "agent_postmortem/store/seed/incidents.jsonl",
        "agent_postmortem/store/records/migrations/env.py",
        "agent_postmortem/render/templates/report.md.j2",
        "agent_postmortem/prompts/draft_analysis.md.j2",
        "agent_postmortem/analysis/category_model.json",
        "agent_postmortem/py.typed",
        "agent_postmortem/render/templates/report.html.j2",
        "agent_postmortem/render/templates/report.css",
        "agent_postmortem/web/templates/incident.html.j2",
        "agent_postmortem/web/static/app.css",
        "agent_postmortem/store/search/model/all-MiniLM-L6-v2.int8.onnx",  # the default embedder, with its licence
        "agent_postmortem/store/search/model/tokenizer.json",
        "agent_postmortem/store/search/model/model.json",
        "agent_postmortem/store/search/model/LICENSE",
        "agent_postmortem/store/search/model/NOTICE",
    ):
        assert data in names, data
    entry_points = zipfile.ZipFile(wheel).read("agent_postmortem-0.1.0.dist-info/entry_points.txt").decode()
    assert "postmortem = agent_postmortem.cli:main" in entry_points
    assert "[agent_postmortem.cli]\nevals = agent_postmortem.evals.cli:register" in entry_points


def test_test_modules_share_helpers_through_factories_not_through_each_other() -> None:
    for path in sorted((ROOT / "tests").rglob("*.py")):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        borrowed = [i for i in imports(name, path) if i == "tests.conftest" or i.split(".")[-1].startswith("test_")]
        assert borrowed == [], (name, borrowed)
