"""MLflow's ``runs:/`` and ``models:/`` URIs, parsed as MLflow parses them.

* ``runs:/<run id>/<path>``: a path below a run's artifact root;
* ``models:/<name>/<version>``, ``models:/<name>/<stage>``, ``models:/<name>/latest``,
  ``models:/<name>@<alias>``, ``models:/<logged model id>``.
"""

from __future__ import annotations

import posixpath
import re
from urllib.parse import urlsplit

from attrs import frozen

from genesis_flow.core.errors import InvalidParameterValue

_VERSION = re.compile(r"^\d+$")


@frozen
class ModelUri:
    """A parsed ``models:/`` URI: exactly one of version, stage (``latest`` included), alias."""

    name: str | None
    version: int | None = None
    stage: str | None = None
    alias: str | None = None
    model_id: str | None = None  # models:/<logged model id> (MLflow 3)


def _improper(uri: str, kind: str) -> InvalidParameterValue:
    if kind == "runs":
        return InvalidParameterValue(
            f"Not a proper runs:/ URI: {uri}. Runs URIs must be of the form"
            " 'runs:/<run_id>/run-relative/path/to/artifact'"
        )
    return InvalidParameterValue(
        f"Not a proper models:/ URI: {uri}. Models URIs must be of the form"
        " 'models:/model_name/suffix' or 'models:/model_name@alias' where suffix is a model"
        " version, stage, or the string 'latest' and where alias is a registered model alias."
        " Only one of suffix or alias can be defined at a time."
    )


def parse_runs_uri(uri: str) -> tuple[str, str]:
    """(run id, artifact path below the run's root; "" for the root). Raises
    InvalidParameterValue for anything else."""
    parts = urlsplit(uri)
    if parts.scheme != "runs":
        raise _improper(uri, "runs")
    path = posixpath.normpath(parts.path)
    segments = [s for s in path.split("/") if s and s != "."]
    if not segments:
        raise _improper(uri, "runs")
    return segments[0], "/".join(segments[1:])


def parse_models_uri(uri: str) -> ModelUri:
    """Parse a ``models:/`` URI. Raises InvalidParameterValue for an improper one."""
    parts = urlsplit(uri)
    if parts.scheme != "models" or parts.netloc:
        raise _improper(uri, "models")
    path = parts.path.lstrip("/")
    if "@" in path and "/" not in path.split("@", 1)[1]:
        name, alias = path.split("@", 1)
        if not name or not alias or "/" in name:
            raise _improper(uri, "models")
        return ModelUri(name, alias=alias)
    segments = path.split("/")
    if len(segments) == 1 and segments[0]:
        return ModelUri(None, model_id=segments[0])
    if len(segments) != 2 or not segments[0] or not segments[1]:
        raise _improper(uri, "models")
    name, suffix = segments
    if _VERSION.match(suffix):
        return ModelUri(name, version=int(suffix))
    return ModelUri(name, stage=suffix)
