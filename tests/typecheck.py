"""`mypy --strict` over the code as it is installed: `python -m tests.typecheck` (what `make test` runs).

The repository keeps top-level folders that are installed as one package (pyproject's package-dir): server/ is
`agent_postmortem`, store/, prompts/ and evals/ are its subpackages. Plain `mypy` names a module after its folders,
so it would check server/cli/app.py as `server.cli.app` and never find the `agent_postmortem.cli.app` that the code
imports. This hands mypy every module of those folders under its installed name; the options are pyproject's
[tool.mypy]. Folders without an `__init__.py` (the migrations, data) are not packages and are not checked."""

import os
import sys
from pathlib import Path

from mypy import build
from mypy.errors import CompileError
from mypy.fscache import FileSystemCache
from mypy.main import process_options
from mypy.modulefinder import BuildSource

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {
    "server": "agent_postmortem",
    "store": "agent_postmortem.store",
    "prompts": "agent_postmortem.prompts",
    "evals": "agent_postmortem.evals",
}


def sources() -> list[BuildSource]:
    """Every module of the installed package, named as it is imported."""
    found = []
    for folder, package in PACKAGES.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            packaged = path.parent
            while packaged != ROOT / folder and (packaged / "__init__.py").is_file():
                packaged = packaged.parent
            if packaged != ROOT / folder or not (path.parent / "__init__.py").is_file():
                continue  # inside a folder that is not a package
            parts = [p for p in path.relative_to(ROOT / folder).with_suffix("").parts if p != "__init__"]
            found.append(BuildSource(str(path.relative_to(ROOT)), ".".join([package, *parts])))
    return found


def main() -> int:
    os.chdir(ROOT)
    _, options = process_options(["--config-file", "pyproject.toml", "server/__init__.py"])
    modules = sources()
    try:
        result = build.build(modules, options, fscache=FileSystemCache())
        messages = result.errors
    except CompileError as e:
        messages = e.messages
    for message in messages:
        sys.stdout.write(message + "\n")
    if any(": error:" in m for m in messages):
        files = len({m.split(":", 1)[0] for m in messages if ": error:" in m})
        sys.stdout.write(f"Found errors in {files} files (checked {len(modules)} source files)\n")
        return 1
    sys.stdout.write(f"Success: no issues found in {len(modules)} source files\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
