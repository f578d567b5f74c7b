"""What each platform accepts: mappable fields (with their API names) and documented caps.

The destination clients declare the same facts; this table is what the workspace and the
wizards need before any client exists (product.md §1.2, §1.4).
"""

from __future__ import annotations

from dataclasses import dataclass

from segport.model import DestinationType

FIELD_LABELS: dict[str, str] = {
    "email": "Email address",
    "first_name": "First name",
    "last_name": "Last name",
    "country": "Country/Region",
    "state": "State",
    "city": "City",
    "postal_code": "Zip/Postal code",
}


@dataclass(frozen=True)
class Catalogue:
    """One platform's mappable fields (segport name → API name) and its documented cap."""

    fields: dict[str, str]
    cap: int
    cap_scope: str  # "per export" or "in total"

    def optional_fields(self) -> list[str]:
        """Every mappable field except the required email."""
        return [f for f in self.fields if f != "email"]


CATALOGUES: dict[DestinationType, Catalogue] = {
    "iterable": Catalogue(
        fields={"email": "email", "first_name": "firstName", "last_name": "lastName"},
        cap=1_000_000,
        cap_scope="per export",
    ),
    "sendgrid": Catalogue(
        fields={
            "email": "email",
            "first_name": "first_name",
            "last_name": "last_name",
            "country": "country",
            "state": "state_province_region",
            "city": "city",
            "postal_code": "postal_code",
        },
        cap=100_000,
        cap_scope="in total",
    ),
    "autopilot": Catalogue(
        fields={"email": "Email", "first_name": "FirstName", "last_name": "LastName"},
        cap=100_000,
        cap_scope="in total",
    ),
}


#: Every field the clients can send (segport name → API name), a superset of ``CATALOGUES``:
#: Iterable's names go under ``dataFields``; SendGrid's are reserved fields; Autopilot's
#: Mailing* fields are accepted by its API although the export wizard offers only names.
API_FIELDS: dict[DestinationType, dict[str, str]] = {
    "iterable": {"email": "email", "first_name": "firstName", "last_name": "lastName"},
    "sendgrid": dict(CATALOGUES["sendgrid"].fields),
    "autopilot": {
        "email": "Email",
        "first_name": "FirstName",
        "last_name": "LastName",
        "country": "MailingCountry",
        "state": "MailingState",
        "city": "MailingCity",
        "postal_code": "MailingPostalCode",
    },
}
