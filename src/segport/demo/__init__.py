"""The demo: deterministic sample profiles, marketer-friendly segments, sandbox connections."""

from segport.demo.profiles import (
    DEFAULT_PROFILES,
    DEMO_SEED,
    PROFILE_COLUMNS,
    REFERENCE_DATE,
    generate_profiles,
)
from segport.demo.segments import DEMO_SEGMENTS
from segport.demo.workspace import (
    DEMO_CONNECTIONS,
    PROFILES_FILE,
    DemoResult,
    setup_demo,
)

__all__ = [
    "DEFAULT_PROFILES",
    "DEMO_CONNECTIONS",
    "DEMO_SEED",
    "DEMO_SEGMENTS",
    "PROFILES_FILE",
    "PROFILE_COLUMNS",
    "REFERENCE_DATE",
    "DemoResult",
    "generate_profiles",
    "setup_demo",
]
