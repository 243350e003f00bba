"""Mutation check of the contract suite: break one rule of the memory oracle at a time and require
that at least one contract test fails.

    python scripts/mutation_check.py            # every mutation
    python scripts/mutation_check.py -k param   # mutations whose name contains "param"

Each mutation is an exact text replacement in one source file of a copy of the package, made in a
temporary directory and put first on the suite's import path: src/ is never edited, so an
interrupted run leaves no mutated tree. Exit status 1 when a mutation survives (no test failed) or
no longer applies (the code changed: update the mutation).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib  # type: ignore[import-not-found]

ROOT = Path(__file__).resolve().parents[1]
TRACKING = "src/adapters/memory/tracking.py"
REGISTRY = "src/adapters/memory/registry.py"
TRACING = "src/adapters/memory/tracing.py"
# The batch rules every adapter shares live in the domain; breaking them there must be noticed too.
VALIDATION = "src/genesis_core/validation.py"
COMMANDS = "src/genesis_core/commands.py"

# (name, file, original text, mutated text)
MUTATIONS: list[tuple[str, str, str, str]] = [
    (
        "param overwrite allowed",
        COMMANDS,
        "conflicts = [p for p in self.params if p.key in stored and stored[p.key] != p.value]",
        "conflicts: list[Param] = []",
    ),
    (
        "search_runs ignores order",
        TRACKING,
        "page = search.page.slice(sort(kind, found, order_by))",
        "page = search.page.slice(found)",
    ),
    (
        "identical metric point stored twice",
        TRACKING,
        "        if metric.identity in points:\n            return\n        points[metric.identity] = metric",
        "        points[(metric.identity, len(points))] = metric",
    ),
    (
        "last write wins instead of the latest-metric rule",
        TRACKING,
        "if current is None or is_newer_metric(metric, current):",
        "if True:",
    ),
    (
        "log_batch limits unchecked",
        VALIDATION,
        "    validate_batch_limits(len(metrics), len(params), len(tags))\n",
        "    pass\n",
    ),
    (
        "log_batch not atomic (params written before metrics are checked)",
        TRACKING,
        "        batch = LogBatch.prepare(metrics, params, tags)\n",
        "        if params and run_id in self._runs:\n"
        "            self._runs[run_id].params.update({p.key: p.value for p in params"
        " if p.key not in self._runs[run_id].params})\n"
        "        batch = LogBatch.prepare(metrics, params, tags)\n",
    ),
    (
        "writes to deleted runs allowed",
        TRACKING,
        "        if state.info.lifecycle_stage is not LifecycleStage.ACTIVE:\n            raise run_not_active(",
        "        if False:\n            raise run_not_active(",
    ),
    (
        "duplicate experiment names allowed",
        TRACKING,
        "        if any(e.name == name for e in self._experiments.values()):",
        "        if False:",
    ),
    (
        "deleting an experiment leaves its runs active",
        TRACKING,
        "            if state.info.experiment_id == experiment.experiment_id:",
        "            if False:",
    ),
    (
        "search_runs ignores the view type",
        TRACKING,
        "if s.info.experiment_id in wanted and run_view_type.admits(s.info.lifecycle_stage)",
        "if s.info.experiment_id in wanted",
    ),
    (
        "search_runs ignores the filter",
        TRACKING,
        "found = [r for r in runs if keep(r)]",
        "found = list(runs)",
    ),
    (
        "page token not bound to its query",
        COMMANDS,
        "kind, max_results, page_token, run_view_type, filter, tuple(order_by), experiment_ids=wanted",
        "kind, max_results, page_token, experiment_ids=wanted",
    ),
    (
        "dataset inputs not deduplicated",
        TRACKING,
        "        state.dataset_inputs.setdefault(key, evolve(item, dataset=stored))",
        "        state.dataset_inputs[(key, len(state.dataset_inputs))] = evolve(item, dataset=stored)",
    ),
    (
        "deleting a missing run tag succeeds",
        TRACKING,
        "            if key not in state.tags:\n                raise run_tag_not_found(run_id, key)",
        "            if key not in state.tags:\n                return\n                raise run_tag_not_found(run_id, key)",
    ),
    (
        "renaming through the mlflow.runName tag does not rename the run",
        TRACKING,
        "                if key == RUN_NAME_TAG:\n                    state.info = evolve(state.info, run_name=value)",
        "                pass",
    ),
    (
        "the default experiment silently survives its deletion",
        TRACKING,
        "            self._set_experiment_stage(experiment, LifecycleStage.DELETED)",
        "            if experiment_id != '0':\n                self._set_experiment_stage(experiment, LifecycleStage.DELETED)",
    ),
    (
        "metric history unordered",
        TRACKING,
        "points = sorted(self._run(run_id).history.get(metric_key, {}).values(), key=metric_history_key)",
        "points = list(reversed(self._run(run_id).history.get(metric_key, {}).values()))",
    ),
    (
        "version numbers reused after deleting the highest",
        REGISTRY,
        "number = state.highest_version + 1",
        "number = max(state.versions, default=0) + 1",
    ),
    (
        "aliases survive deleting their version",
        REGISTRY,
        "            state.aliases = {a: n for a, n in state.aliases.items() if n != number}\n",
        "",
    ),
    (
        "archive_existing_versions archives every stage",
        REGISTRY,
        "if other.version != number and other.current_stage is target:",
        "if other.version != number:",
    ),
    (
        "duplicate registered model names allowed",
        REGISTRY,
        "            if name in self._models:\n                raise name_taken(name, self._models[name].tags, tag_values)\n            now",
        "            now",
    ),
    (
        "search_registered_models ignores the filter",
        REGISTRY,
        "found = [model for model in candidates if matches(kind, model, effective)]",
        "found = list(candidates)",
    ),
    (
        "log_spans rewrites the info of a known trace",
        TRACING,
        "self._traces[trace_id] = update_info_from_spans(stored, group, earlier)",
        "self._traces[trace_id] = info_from_spans(trace_id, str(experiment_id), group)",
    ),
    (
        "log_spans leaves an open trace's info alone",
        TRACING,
        "self._traces[trace_id] = update_info_from_spans(stored, group, earlier)",
        "pass",
    ),
    (
        "start_trace replaces instead of merging",
        TRACING,
        "merged = info if stored is None else merge_trace_info(stored, info)",
        "merged = info",
    ),
    (
        "delete_traces crosses experiments",
        TRACING,
        "if t in self._traces and self._traces[t].experiment_id == experiment_id",
        "if t in self._traces",
    ),
    (
        "search_traces ignores order",
        TRACING,
        "return search.page.slice(sort(kind, found, order_by))",
        "return search.page.slice(found)",
    ),
]


def copy_package(target: Path) -> dict[str, Path]:
    """Copy every source folder to where the wheel installs it (package-dir in pyproject.toml),
    under ``target``; returns source folder -> its copy."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    # Longest package first: genesis_flow.core lives in src/genesis_core, not in src/genesis_flow.
    folders: dict[str, Path] = {}
    for package, folder in sorted(config["package-dir"].items(), key=lambda item: item[0].count(".")):
        copy = target.joinpath(*package.split("."))
        shutil.copytree(ROOT / folder, copy, ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
        folders[folder] = copy
    return folders


def copied(relative: str, folders: dict[str, Path]) -> Path:
    folder = max((f for f in folders if relative.startswith(f + "/")), key=len)
    return folders[folder] / relative.removeprefix(folder + "/")


def run_contract_suite(import_root: Path) -> int:
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-x",
        "-q",
        "-p",
        "no:cacheprovider",
        "tests/contract",
        "-k",
        "memory",
    ]
    # PYTHONPATH comes before the editable install's path entry: the copy is what the suite imports.
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(import_root), os.environ.get("PYTHONPATH")])),
    }
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True).returncode


def imported_from(import_root: Path) -> str:
    code = "import genesis_flow.adapters.memory.tracking as m; print(m.__file__)"
    env = {**os.environ, "PYTHONPATH": str(import_root)}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    ).stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", default="", help="only mutations whose name contains this text")
    args = parser.parse_args()
    failures = 0
    with tempfile.TemporaryDirectory(prefix="genesis-mutants-") as scratch:
        import_root = Path(scratch)
        folders = copy_package(import_root)
        if not imported_from(import_root).startswith(str(import_root)):
            print("ERROR     the suite would not import the copy: mutations would not take effect")
            return 1
        for name, relative, original, mutated in MUTATIONS:
            if args.k not in name:
                continue
            path = copied(relative, folders)
            source = path.read_text()
            if source.count(original) != 1:
                print(f"STALE     {name}: the original text is not in {relative} exactly once")
                failures += 1
                continue
            try:
                path.write_text(source.replace(original, mutated))
                code = run_contract_suite(import_root)
            finally:
                path.write_text(source)
            verdict = "killed" if code == 1 else "SURVIVED" if code == 0 else f"ERROR({code})"
            failures += verdict != "killed"
            print(f"{verdict:<9} {name}")
    print("all mutations killed" if failures == 0 else f"{failures} mutation(s) not killed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
