"""Batching a run of contacts at a time gives exactly the batches of the one-by-one rule."""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator

import pytest

from segport.destinations import Contact, make_destination
from segport.destinations.batching import ENCODE_RUN, split
from segport.destinations.values import Batch


def one_by_one(contacts: Iterable[Contact], encoded: dict[str, bytes], max_count: int,
               room: int, overhead: int) -> Iterator[Batch]:
    """The reference rule: add each contact unless count or bytes would overflow."""
    batch, size = Batch(), 0
    for contact in contacts:
        item = len(encoded[contact.email]) + overhead
        if item > room:
            yield Batch([contact], [encoded[contact.email]], oversize=True)
            continue
        if batch and (len(batch) >= max_count or size + item > room):
            yield batch
            batch, size = Batch(), 0
        batch.append(contact)
        batch.encoded.append(encoded[contact.email])
        size += item
    if batch:
        yield batch


@pytest.mark.parametrize(("max_count", "room"), [(30_000, 6_000_000), (2_500, 10**9),
                                                 (1_000, 10**9), (700, 40_000), (3, 400)])
def test_runs_give_the_same_batches_as_one_by_one(max_count: int, room: int) -> None:
    rnd = random.Random(max_count)
    contacts = [Contact(f"p{i}@x.io", "F" * rnd.choice([0, 5, 40, 300, 900]))
                for i in range(3 * ENCODE_RUN + 17)]
    dest = make_destination("sendgrid", "SG.x")
    encoded = {c.email: dest.encode(c) for c in contacts}
    got = list(split(contacts, dest.encode_many, max_count=max_count, room=room,
                     item_overhead=1))
    want = list(one_by_one(contacts, encoded, max_count, room, 1))
    assert [(list(b), b.encoded, b.oversize) for b in got] == [
        (list(b), b.encoded, b.oversize) for b in want]
    assert list(split([], dest.encode_many, max_count=3, room=400, item_overhead=1)) == []
