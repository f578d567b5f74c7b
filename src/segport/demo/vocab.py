"""The fixed vocabularies the demo profiles are drawn from: names, domains, countries, places.

Everything here is plain data plus a few pure functions; the generator turns it into small
DuckDB tables. Changing anything here changes the generated data: bump
``profiles.GENERATOR_VERSION`` so existing demo workspaces regenerate.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass

FIRST_NAMES: tuple[str, ...] = (
    "James", "Mary", "John", "Patricia", "Robert", "Jennifer", "Michael", "Linda", "William",
    "Elizabeth", "David", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Charles", "Karen", "Daniel", "Nancy", "Matthew", "Lisa", "Anthony", "Betty", "Mark",
    "Margaret", "Steven", "Sandra", "Paul", "Ashley", "Andrew", "Emily", "Joshua", "Michelle",
    "Kevin", "Amanda", "Brian", "Melissa", "George", "Stephanie", "Emma", "Olivia", "Liam",
    "Noah", "Sophia", "Lucas", "Mia", "Ethan", "Ava", "Oliver", "Isabella", "Harper", "Jack",
    "Amelia", "Henry", "Grace", "Leo", "Chloe", "Hannah", "Samuel", "Laura", "Max", "Anna",
    "Ben", "Julia", "Felix", "Nina", "Omar", "Priya", "Arjun", "Wei", "Mei", "Hiroshi", "Yuki",
    "Carlos", "Lucia", "Diego", "Sofia", "Marco", "Giulia", "Pieter", "Sanne", "Erik", "Ingrid",
    "Anders", "Freya", "Aisling", "Ciaran",
    # Non-ASCII letters: every layer must carry them unharmed.
    "José", "Zoë", "Łukasz", "Søren", "François", "Renée", "Jürgen", "Björn", "Agnès", "Mónica",
    "João", "Inês", "Małgorzata", "Hélène", "Anaïs", "Siobhán", "Ólafur", "Çağla", "Ömer",
    "Andrés", "Noémie", "Håkon", "Åsa", "Gaëlle", "Jérôme", "Chloé", "Zoé", "Léa", "Maël",
    "Jiří", "Dóra", "Sebastián", "Núria", "Tomáš", "Bartłomiej", "Æbbe",
)

LAST_NAMES: tuple[str, ...] = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Wilson", "Anderson", "Taylor", "Thomas", "Moore", "Martin", "Lee", "Thompson",
    "White", "Harris", "Clark", "Lewis", "Walker", "Young", "King", "Wright", "Scott", "Green",
    "Baker", "Adams", "Nelson", "Hill", "Campbell", "Mitchell", "Roberts", "Carter", "Phillips",
    "Evans", "Turner", "Torres", "Parker", "Collins", "Edwards", "Stewart", "Morris", "Murphy",
    "Cook", "Rogers", "Morgan", "Cooper", "Reed", "Bailey", "Bell", "Kelly", "Howard", "Ward",
    "Cox", "Richardson", "Wood", "Watson", "Brooks", "Bennett", "Gray", "Hughes", "Price",
    "Sanders", "Patel", "Shah", "Chen", "Wang", "Tanaka", "Sato", "Suzuki", "Kim", "Park",
    "Rossi", "Bianchi", "Russo", "de Jong", "van Dijk", "Jansen", "Nielsen", "Larsen",
    "Kowalski", "Silva", "Santos", "Dubois", "Moreau", "Schmidt", "Schneider", "Fischer",
    "Weber", "O'Brien", "Byrne", "MacDonald",
    # Non-ASCII letters.
    "Müller", "Schröder", "Ångström", "Nguyễn", "Çelik", "Ørsted", "Łukasiewicz", "Wójcik",
    "Gonçalves", "Peña", "Núñez", "Fernández", "Björk", "Sørensen", "Dvořák", "Kovačević",
    "Öztürk", "Lefèvre", "Bélanger", "Gómez", "Jørgensen", "Häkkinen", "Zieliński", "Lévesque",
    "Íñiguez", "Ó Súilleabháin", "Strauß", "Đorđević",
)

#: How many times more often a name spelled in plain ASCII is drawn than one with other letters
#: (about one profile in five then has a non-ASCII first or last name).
ASCII_NAME_WEIGHT = 3


def name_slots(names: tuple[str, ...]) -> tuple[str, ...]:
    """``names`` repeated by weight, so a uniform pick favours plain-ASCII spellings."""
    return tuple(n for n in names for _ in range(ASCII_NAME_WEIGHT if n.isascii() else 1))


#: Letters that Unicode decomposition does not reduce to ASCII.
_ASCII_FOLD = str.maketrans({
    "Ł": "L", "ł": "l", "Ø": "O", "ø": "o", "ß": "ss", "Æ": "Ae", "æ": "ae", "Đ": "D",
    "đ": "d", "ı": "i",
})


def slug(name: str) -> str:
    """The lower-case ASCII letters (and hyphens) a person would use in an email address."""
    folded = unicodedata.normalize("NFKD", name.translate(_ASCII_FOLD))
    ascii_only = folded.encode("ascii", "ignore").decode("ascii").lower()
    return "".join(ch for ch in ascii_only if ch.isalnum() or ch == "-")


#: Email domains, repeated by weight. All are reserved for documentation (RFC 2606, the
#: ``example.*`` zones), so a demo export that reaches a real platform can never mail a person.
DOMAIN_SLOTS: tuple[str, ...] = (
    ("example.com",) * 8 + ("example.net",) * 4 + ("example.org",) * 3
    + ("mail.example.com",) * 2 + ("inbox.example.net",) * 2 + ("post.example.org",)
)

#: Countries (ISO 3166-1 alpha-2) by share of profiles, in thousandths (sums to 1000).
COUNTRY_WEIGHTS: tuple[tuple[str, int], ...] = (
    ("US", 540), ("GB", 90), ("DE", 70), ("FR", 60), ("CA", 50), ("AU", 40), ("BR", 30),
    ("JP", 25), ("ES", 20), ("MX", 17), ("IT", 15), ("NL", 12), ("SE", 10), ("PL", 8),
    ("DK", 7), ("IE", 6),
)

#: Countries of the European Union among the above.
EU_COUNTRIES: tuple[str, ...] = ("DE", "FR", "ES", "IT", "NL", "SE", "PL", "DK", "IE")


@dataclass(frozen=True)
class City:
    """A city, its state/region, a relative weight, and its postal-code patterns.

    In a pattern ``#`` is a digit and ``@`` a capital letter; other characters stay.
    """

    state: str
    city: str
    weight: int
    patterns: tuple[str, ...]


def _c(state: str, city: str, weight: int, *patterns: str) -> City:
    return City(state, city, weight, patterns)


CITIES: dict[str, tuple[City, ...]] = {
    "US": (
        _c("NY", "New York", 10, "100##"), _c("NY", "Brooklyn", 4, "112##"),
        _c("CA", "Los Angeles", 8, "900##"), _c("CA", "San Francisco", 5, "941##"),
        _c("CA", "San Diego", 4, "921##"), _c("CA", "San Jose", 3, "951##"),
        _c("CA", "Sacramento", 2, "958##"), _c("OR", "Portland", 3, "972##"),
        _c("OR", "Eugene", 1, "974##"), _c("WA", "Seattle", 5, "981##"),
        _c("WA", "Spokane", 1, "992##"), _c("IL", "Chicago", 7, "606##"),
        _c("TX", "Houston", 6, "770##"), _c("TX", "Austin", 4, "787##"),
        _c("TX", "Dallas", 5, "752##"), _c("AZ", "Phoenix", 4, "850##"),
        _c("FL", "Miami", 4, "331##"), _c("FL", "Orlando", 2, "328##"),
        _c("GA", "Atlanta", 4, "303##"), _c("MA", "Boston", 4, "021##"),
        _c("CO", "Denver", 3, "802##"), _c("PA", "Philadelphia", 4, "191##"),
        _c("MN", "Minneapolis", 2, "554##"), _c("MI", "Detroit", 2, "482##"),
        _c("TN", "Nashville", 2, "372##"), _c("NC", "Charlotte", 2, "282##"),
    ),
    "GB": (
        _c("England", "London", 10, "E# #@@", "SW# #@@", "N# #@@", "W# #@@"),
        _c("England", "Manchester", 3, "M# #@@"), _c("England", "Birmingham", 3, "B# #@@"),
        _c("England", "Leeds", 2, "LS# #@@"), _c("England", "Bristol", 2, "BS# #@@"),
        _c("Scotland", "Edinburgh", 2, "EH# #@@"), _c("Scotland", "Glasgow", 2, "G# #@@"),
        _c("Wales", "Cardiff", 1, "CF## #@@"), _c("Northern Ireland", "Belfast", 1, "BT# #@@"),
    ),
    "DE": (
        _c("Berlin", "Berlin", 6, "10###"), _c("Hamburg", "Hamburg", 3, "20###"),
        _c("Bayern", "München", 4, "80###"), _c("Nordrhein-Westfalen", "Köln", 3, "50###"),
        _c("Hessen", "Frankfurt am Main", 2, "60###"),
        _c("Baden-Württemberg", "Stuttgart", 2, "70###"),
        _c("Nordrhein-Westfalen", "Düsseldorf", 2, "40###"), _c("Sachsen", "Leipzig", 1, "04###"),
    ),
    "FR": (
        _c("Île-de-France", "Paris", 8, "7500#", "7501#"),
        _c("Auvergne-Rhône-Alpes", "Lyon", 3, "6900#"),
        _c("Provence-Alpes-Côte d'Azur", "Marseille", 3, "130##"),
        _c("Occitanie", "Toulouse", 2, "310##"),
        _c("Provence-Alpes-Côte d'Azur", "Nice", 1, "060##"),
        _c("Pays de la Loire", "Nantes", 1, "440##"),
        _c("Nouvelle-Aquitaine", "Bordeaux", 2, "330##"),
        _c("Hauts-de-France", "Lille", 1, "590##"),
    ),
    "CA": (
        _c("ON", "Toronto", 8, "M#@ #@#"), _c("ON", "Ottawa", 2, "K#@ #@#"),
        _c("QC", "Montréal", 5, "H#@ #@#"), _c("BC", "Vancouver", 4, "V#@ #@#"),
        _c("AB", "Calgary", 2, "T#@ #@#"), _c("AB", "Edmonton", 2, "T#@ #@#"),
    ),
    "AU": (
        _c("NSW", "Sydney", 6, "2###"), _c("VIC", "Melbourne", 5, "3###"),
        _c("QLD", "Brisbane", 3, "4###"), _c("WA", "Perth", 2, "6###"),
        _c("SA", "Adelaide", 1, "5###"),
    ),
    "BR": (
        _c("SP", "São Paulo", 8, "0####-###"), _c("RJ", "Rio de Janeiro", 5, "2####-###"),
        _c("MG", "Belo Horizonte", 2, "3####-###"), _c("PR", "Curitiba", 2, "8####-###"),
        _c("BA", "Salvador", 1, "4####-###"),
    ),
    "JP": (
        _c("Tokyo", "Tokyo", 8, "1##-####"), _c("Osaka", "Osaka", 3, "5##-####"),
        _c("Kanagawa", "Yokohama", 3, "2##-####"), _c("Aichi", "Nagoya", 2, "4##-####"),
        _c("Hokkaido", "Sapporo", 1, "0##-####"), _c("Kyoto", "Kyoto", 1, "6##-####"),
    ),
    "ES": (
        _c("Comunidad de Madrid", "Madrid", 5, "280##"), _c("Cataluña", "Barcelona", 4, "080##"),
        _c("Comunidad Valenciana", "Valencia", 2, "460##"), _c("Andalucía", "Sevilla", 1, "410##"),
        _c("Andalucía", "Málaga", 1, "290##"),
    ),
    "MX": (
        _c("Ciudad de México", "Ciudad de México", 5, "0####"),
        _c("Jalisco", "Guadalajara", 2, "44###"),
        _c("Nuevo León", "Monterrey", 2, "64###"),
    ),
    "IT": (
        _c("Lazio", "Roma", 4, "001##"), _c("Lombardia", "Milano", 4, "201##"),
        _c("Campania", "Napoli", 2, "801##"), _c("Piemonte", "Torino", 2, "101##"),
        _c("Toscana", "Firenze", 1, "501##"),
    ),
    "NL": (
        _c("Noord-Holland", "Amsterdam", 4, "10## @@"),
        _c("Zuid-Holland", "Rotterdam", 3, "30## @@"),
        _c("Utrecht", "Utrecht", 2, "35## @@"), _c("Zuid-Holland", "Den Haag", 2, "25## @@"),
    ),
    "SE": (
        _c("Stockholms län", "Stockholm", 4, "1## ##"),
        _c("Västra Götalands län", "Göteborg", 2, "4## ##"), _c("Skåne län", "Malmö", 2, "2## ##"),
    ),
    "PL": (
        _c("Mazowieckie", "Warszawa", 4, "0#-###"), _c("Małopolskie", "Kraków", 2, "3#-###"),
        _c("Łódzkie", "Łódź", 2, "9#-###"), _c("Dolnośląskie", "Wrocław", 2, "5#-###"),
        _c("Pomorskie", "Gdańsk", 1, "8#-###"),
    ),
    "DK": (
        _c("Hovedstaden", "København", 4, "1###", "2###"), _c("Midtjylland", "Aarhus", 2, "8###"),
        _c("Syddanmark", "Odense", 1, "5###"),
    ),
    "IE": (
        _c("Leinster", "Dublin", 5, "D0# @#@#", "D1# @#@#"), _c("Munster", "Cork", 2, "T12 @#@#"),
        _c("Connacht", "Galway", 1, "H91 @#@#"),
    ),
}

#: Postal codes drawn per unit of city weight.
POSTCODES_PER_WEIGHT = 8

#: Geography slots per thousandth of country weight (see :func:`geo_slots`).
GEO_SLOTS_PER_WEIGHT = 64

SIGNUP_CHANNELS: tuple[tuple[str, int], ...] = (
    ("web", 45), ("mobile_app", 25), ("store", 15), ("referral", 8), ("social", 7),
)

_LETTERS = "ABCDEFGHJKLMNPRSTUVWXY"  # no I, O, Q, Z: as in GB and CA postcodes


def mix32(x: int) -> int:
    """A 32-bit integer mixer (bijective); the SQL side uses the same arithmetic."""
    x &= 0xFFFFFFFF
    x = ((x >> 16) ^ x) * 0x45D9F3B & 0xFFFFFFFF
    x = ((x >> 16) ^ x) * 0x45D9F3B & 0xFFFFFFFF
    return (x >> 16) ^ x


def fill_pattern(pattern: str, key: int) -> str:
    """A postal code from ``pattern``, its digits and letters chosen by ``key``."""
    out = []
    for pos, ch in enumerate(pattern):
        r = mix32(key * 131 + pos)
        if ch == "#":
            out.append(str(r % 10))
        elif ch == "@":
            out.append(_LETTERS[r % len(_LETTERS)])
        else:
            out.append(ch)
    return "".join(out)


def places(country: str) -> list[tuple[str, str, str]]:
    """``(state, city, postal_code)`` rows for ``country``, each city repeated by its weight."""
    rows: list[tuple[str, str, str]] = []
    for ci, city in enumerate(CITIES[country]):
        for k in range(city.weight * POSTCODES_PER_WEIGHT):
            pattern = city.patterns[k % len(city.patterns)]
            key = mix32(sum(map(ord, country)) * 7919 + ci * 104729 + k)
            rows.append((city.state, city.city, fill_pattern(pattern, key)))
    return rows


@functools.cache
def geo_slots() -> tuple[tuple[str, str, str, str], ...]:
    """``(country, state, city, postal_code)`` slots: each country fills slots in proportion to
    its weight, cycling through its places, so one uniform pick chooses country and place."""
    slots: list[tuple[str, str, str, str]] = []
    for country, weight in COUNTRY_WEIGHTS:
        rows = places(country)
        n = weight * GEO_SLOTS_PER_WEIGHT
        if n < len(rows):
            raise ValueError(f"{country}: {len(rows)} places do not fit in {n} slots")
        slots.extend((country, *rows[j % len(rows)]) for j in range(n))
    return tuple(slots)
