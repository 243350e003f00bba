"""Settings shared by every suite."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# CI budget (DESIGN.md section 6): five backends on two cores in well under 25 minutes.
settings.register_profile(
    "ci",
    max_examples=20,
    stateful_step_count=20,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    print_blob=True,
)
settings.register_profile(
    "dev",
    max_examples=60,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile(os.environ.get("GENESIS_HYPOTHESIS_PROFILE", "dev"))
