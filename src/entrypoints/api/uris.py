"""MLflow's ``runs:/`` and ``models:/`` URIs, parsed as MLflow parses them.

* ``runs:/<run id>/<path>``: a path below a run's artifact root;
* ``models:/<name>/<version>``, ``models:/<name>/<stage>``, ``models:/<name>/latest``,
  ``models:/<name>@<alias>``, ``models:/<logged model id>``.

The path below a run or a model comes out checked by the domain's artifact-path rule, so no caller
can hold one that names something outside its root (``..``, absolute, encoded, drive letters).
"""

from __future__ import annotations

import posixpath
import re
from typing import Any
from urllib.parse import urlsplit

from attrs import field, frozen

from genesis_flow.core.artifacts import artifact_path
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
    # Below the model's root; checked on construction, so a ModelUri never holds a traversal.
    path: str = field(default="", converter=artifact_path)


@frozen
class ArtifactLocation:
    """Where a URI points in artifact storage: the root a store is built on, and the checked paths
    below it of what the URI names and of the named thing's own root (a model registered from
    ``runs:/<id>/<folder>`` has its root at ``<folder>`` of the run's root; a run's is ``""``).
    A store is only ever built on ``root``, so every path is checked against the real root."""

    root: str
    path: str = field(default="", converter=artifact_path)
    base: str = field(default="", converter=artifact_path)
    version: Any = None  # the model version a models:/ URI named

    def __attrs_post_init__(self) -> None:
        if self.base and self.path != self.base and not self.path.startswith(self.base + "/"):
            raise InvalidParameterValue(f"{self.path!r} is not below {self.base!r}")

    @property
    def uri(self) -> str:
        """The location as one URI (what ``resolve_artifact_uri`` returns)."""
        return posixpath.join(self.root, self.path) if self.path else self.root

    def below_base(self, path: str) -> str:
        """``path`` (below the root) relative to the named thing's own root."""
        return path[len(self.base) :].lstrip("/") if self.base else path


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
    """(run id, checked artifact path below the run's root; "" for the root). Raises
    InvalidParameterValue for anything else, a path the artifact-path rule refuses included."""
    parts = urlsplit(uri)
    if parts.scheme != "runs":
        raise _improper(uri, "runs")
    # Not normalised: "runs:/a/../b" must not turn into run "b", and "runs:/a/../../x" must not
    # name a file beside the run's root: the path is checked here, not where it is used.
    segments = [s for s in parts.path.split("/") if s and s != "."]
    if not segments:
        raise _improper(uri, "runs")
    return segments[0], artifact_path("/".join(segments[1:]))


def parse_models_uri(uri: str) -> ModelUri:
    """Parse a ``models:/`` URI, with an optional path below the model after the version,
    stage or alias (checked as an artifact path). Raises InvalidParameterValue for an improper
    one."""
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
