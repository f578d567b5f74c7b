"""SendGrid's contact lookup by email (``POST /v3/marketing/contacts/search/emails``).

Used to find contact ids before removing them from a list, and to learn which emails a list
already holds before segport first adds them (their ``list_ids``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from segport.destinations.base import bad_rows, refused
from segport.destinations.http import ApiSession, RequestRecord
from segport.destinations.pacing import TokenBucket

PATH = "/v3/marketing/contacts/search/emails"
#: Emails per search request (the API's maximum).
SEARCH_BATCH = 100


async def _search_one(session: ApiSession, bucket: TokenBucket, emails: list[str],
                      records: list[RequestRecord]) -> dict[str, dict[str, Any]]:
    """One request's worth; addresses the API calls invalid are dropped and the rest asked."""
    while emails:
        response = await session.request("POST", PATH, json_body={"emails": emails},
                                         bucket=bucket, records=records)
        if response.status == 400 and (named := bad_rows(response.body, len(emails))):
            emails = [e for i, e in enumerate(emails) if i not in named]
            continue
        if response.status == 404:  # none of them is a contact
            return {}
        if not response.ok:
            raise refused(session.name, "search contacts", response)
        found = response.body.get("result") if isinstance(response.body, dict) else None
        lower = {k.lower(): v for k, v in (found or {}).items() if isinstance(v, dict)}
        contacts = {e: (lower.get(e.lower()) or {}).get("contact") for e in emails}
        return {e: c for e, c in contacts.items() if isinstance(c, dict) and c.get("id")}
    return {}


async def search_contacts(session: ApiSession, bucket: TokenBucket, emails: Sequence[str],
                          records: list[RequestRecord]) -> dict[str, dict[str, Any]]:
    """email → the contact SendGrid holds for it (those it holds; invalid ones skipped).

    Asks ``SEARCH_BATCH`` emails per request, the requests paced by ``bucket`` and run
    concurrently within the session's in-flight limit.
    """
    wanted = [e for e in emails if e]
    chunks = [wanted[i:i + SEARCH_BATCH] for i in range(0, len(wanted), SEARCH_BATCH)]
    async with asyncio.TaskGroup() as group:  # one refused search stops the others
        parts = [group.create_task(_search_one(session, bucket, c, records)) for c in chunks]
    found: dict[str, dict[str, Any]] = {}
    for part in parts:
        found.update(part.result())
    return found
