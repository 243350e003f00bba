"""Ports: the Protocols every adapter implements. Pure declarations (plus the stdlib clock/ids).

Imported as ``genesis_flow.ports``.
"""

from genesis_flow.ports.artifacts import ArtifactStore
from genesis_flow.ports.clock import Clock, IdGenerator, SystemClock, UuidIdGenerator
from genesis_flow.ports.diagnostics import Diagnosable
from genesis_flow.ports.registry import RegistryStore
from genesis_flow.ports.tracing import TraceStore, TracingTrackingStore
from genesis_flow.ports.tracking import DEFAULT_EXPERIMENT_ID, DEFAULT_EXPERIMENT_NAME, TrackingStore

__all__ = [
    "DEFAULT_EXPERIMENT_ID",
    "DEFAULT_EXPERIMENT_NAME",
    "ArtifactStore",
    "Clock",
    "Diagnosable",
    "IdGenerator",
    "RegistryStore",
    "SystemClock",
    "TraceStore",
    "TracingTrackingStore",
    "TrackingStore",
    "UuidIdGenerator",
]
