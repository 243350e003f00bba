"""MLflow's ``runs:/`` and ``models:/`` URIs, parsed as MLflow parses them.

* ``runs:/<run id>/<path>``: a path below a run's artifact root;
* ``models:/<name>/<version>``, ``models:/<name>/<stage>``, ``models:/<name>/latest``,
  ``models:/<name>@<alias>``, ``models:/<logged model id>``.
"""

from __future__ import annotations

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
    path: str = ""  # below the model's root


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
    # Not normalised: "runs:/a/../b" must not turn into run "b"; the artifact path itself is
    # checked (and ".." refused) where it is used.
    segments = [s for s in parts.path.split("/") if s and s != "."]
    if not segments:
        raise _improper(uri, "runs")
    return segments[0], "/".join(segments[1:])


def parse_models_uri(uri: str) -> ModelUri:
    """Parse a ``models:/`` URI, with an optional path below the model after the version,
    stage or alias. Raises InvalidParameterValue for an improper one."""
    parts = urlsplit(uri)
    if parts.scheme != "models" or parts.netloc:
        raise _improper(uri, "models")
    segments = parts.path.lstrip("/").split("/")
    head, rest = segments[0], "/".join(s for s in segments[1:] if s)
    if "@" in head:
        name, alias = head.split("@", 1)
        if not name or not alias:
            raise _improper(uri, "models")
        return ModelUri(name, alias=alias, path=rest)
    if not head:
        raise _improper(uri, "models")
    if len(segments) == 1:
        return ModelUri(None, model_id=head)
    suffix = segments[1]
    if not suffix:
        raise _improper(uri, "models")
    below = "/".join(s for s in segments[2:] if s)
    if _VERSION.match(suffix):
        return ModelUri(head, version=int(suffix), path=below)
    return ModelUri(head, stage=suffix, path=below)
