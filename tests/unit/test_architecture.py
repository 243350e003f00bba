"""Architecture rules that hold the hexagon together, checked in the test run."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:
    # The dev extra installs tomli on 3.10 only, so a type check aimed at 3.10 from a newer
    # interpreter does not find it.
    import tomli as tomllib  # type: ignore[import-not-found]

from genesis_flow.entrypoints.extras import DISTRIBUTION

ROOT = Path(__file__).resolve().parents[2]
DRIVERS = ("sqlalchemy", "psycopg", "psycopg2", "pymongo", "bson", "azure", "mlflow")


def _modules_loaded_by(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return set(out.split())


def test_import_linter_contracts_hold() -> None:
    lint_imports = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    result = subprocess.run([lint_imports, "--no-cache"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" not in result.stdout.lower().replace("0 broken", "")


@pytest.mark.parametrize(
    "statement",
    [
        "import genesis_flow",
        "import genesis_flow.entrypoints.bootstrap",
        "import genesis_flow.entrypoints.cli",
    ],
)
def test_importing_the_package_loads_no_driver_and_no_adapter(statement: str) -> None:
    loaded = _modules_loaded_by(statement)
    drivers = sorted(m for m in loaded if m.split(".")[0] in DRIVERS)
    adapters = sorted(m for m in loaded if m.startswith("genesis_flow.adapters"))
    assert drivers == [], f"{statement!r} loaded database drivers: {drivers}"
    assert adapters == [], f"{statement!r} loaded adapters eagerly: {adapters}"


@pytest.mark.parametrize(
    "statement",
    [
        "import genesis_flow",
        "import genesis_flow.entrypoints.api",
        "import genesis_flow.entrypoints.bootstrap",
        "import genesis_flow.entrypoints.cli",
        "from genesis_flow.adapters.memory import InMemoryTrackingStore",
    ],
)
def test_only_the_contract_kit_loads_pytest_or_hypothesis(statement: str) -> None:
    # The kit (genesis_flow.testing) needs the `testing` extra; nothing else may.
    loaded = _modules_loaded_by(statement)
    test_tools = sorted(m for m in loaded if m.split(".")[0] in ("pytest", "_pytest", "hypothesis"))
    kit = sorted(m for m in loaded if m.startswith("genesis_flow.testing"))
    assert test_tools == [], f"{statement!r} loaded test tools: {test_tools}"
    assert kit == [], f"{statement!r} loaded the contract kit: {kit}"


def test_the_domain_loads_nothing_but_stdlib_and_attrs() -> None:
    loaded = _modules_loaded_by("import genesis_flow.core.entities, genesis_flow.core.search")
    ours = {m for m in loaded if m.startswith("genesis_flow.") and not m.startswith("genesis_flow.core")}
    assert ours <= {"genesis_flow"}, f"the domain pulled in {sorted(ours)}"


@pytest.mark.parametrize("name", ["adapters", "entrypoints", "ports", "genesis_core"])
def test_no_generic_top_level_package_is_installed(name: str) -> None:
    # `adapters` and `entrypoints` are popular PyPI distributions: shadowing them would break
    # users' environments, so everything lives under genesis_flow.
    dist = importlib.metadata.distribution(DISTRIBUTION)
    top_level = (dist.read_text("top_level.txt") or "").split()
    assert name not in top_level
    spec = importlib.util.find_spec(name)
    assert spec is None or "genesis" not in str(spec.origin or spec.submodule_search_locations)


def test_every_source_package_is_declared_and_installed() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {Path(path): name for name, path in config["package-dir"].items()}
    declared = set(config["packages"])
    for init in sorted((ROOT / "src").rglob("__init__.py")):
        folder = init.parent.relative_to(ROOT)
        base = next(f for f in folders if folder == f or f in folder.parents)
        package = ".".join([folders[base], *folder.relative_to(base).parts])
        assert package in declared, f"{folder} is not listed in pyproject.toml [tool.setuptools] packages"
        for source in sorted(init.parent.glob("*.py")):
            module = package if source.name == "__init__.py" else f"{package}.{source.stem}"
            assert importlib.util.find_spec(module) is not None, (
                f"{source.relative_to(ROOT)} is missing from the installed tree: re-run"
                " `pip install -e '.[dev]' --config-settings editable_mode=strict`"
            )
