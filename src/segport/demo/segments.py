"""The demo workspace's segments: plain SQL filters over the demo profiles, named for a marketer.

The names double as list names on the platforms. Dates are literals relative to
``profiles.REFERENCE_DATE`` (never ``current_date``), so segment sizes never drift.
"""

from __future__ import annotations

from datetime import timedelta

from segport.demo.profiles import REFERENCE_DATE
from segport.demo.vocab import EU_COUNTRIES

_EU = ", ".join(f"'{c}'" for c in EU_COUNTRIES)
_YEAR_AGO = (REFERENCE_DATE - timedelta(days=365)).isoformat()
_90_DAYS_AGO = (REFERENCE_DATE - timedelta(days=90)).isoformat()

#: Segment name → SQL boolean filter. Sizes with the default 150,000 profiles (seed 7) are in
#: the comments; the newsletter segment passes SendGrid's and Autopilot's 100,000 cap on purpose.
DEMO_SEGMENTS: dict[str, str] = {
    # ~108,000: shows the 100k cap warning.
    "Newsletter subscribers": "newsletter_consent = TRUE",
    # ~10,000
    "High-value customers": "lifetime_value >= 500",
    # ~64,000
    "Lapsed buyers": f"last_purchase_date < DATE '{_YEAR_AGO}'",
    # ~550: small enough to export in seconds anywhere.
    "VIP Europe": f"country IN ({_EU}) AND lifetime_value >= 1000",
    # ~25,000
    "US West Coast": "country = 'US' AND state IN ('CA', 'OR', 'WA')",
    # ~6,000
    "Recent app shoppers": (
        f"signup_channel = 'mobile_app' AND last_purchase_date >= DATE '{_90_DAYS_AGO}'"
    ),
}
