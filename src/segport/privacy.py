"""The data privacy and compliance statement every connection's creator agrees to (product.md §1.1).

Change the text → change :data:`PRIVACY_STATEMENT_VERSION`: each connection records which version
its creator agreed to.
"""

from __future__ import annotations

PRIVACY_STATEMENT_VERSION = "2026-01"

PRIVACY_STATEMENT = (
    "Exports on this connection send customer profile data (email addresses, names, places and "
    "whatever other fields you map) from this machine to a third-party platform. This is "
    "personal data, and it may be sensitive. You are responsible for making sure that the "
    "platform, and your use of it, meet your organisation's privacy, security and consent "
    "obligations (for example GDPR or CCPA) before you send anything. An administrator can "
    "remove this connection at any time to stop all exports on it."
)
