"""Splitting contacts into batches that fit a platform's limits, by count AND serialized bytes."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice

from segport.destinations.values import Batch, Contact

#: Contacts handed to ``encode_many`` at a time.
ENCODE_RUN = 1_000

EncodeMany = Callable[[Sequence[Contact]], list[bytes]]


def split(contacts: Iterable[Contact], encode_many: EncodeMany, *, max_count: int, room: int,
          item_overhead: int) -> Iterator[Batch]:
    """Batches of at most ``max_count`` contacts whose items (JSON + ``item_overhead``) add up
    to at most ``room`` bytes, in order.

    Each contact is encoded once, a run at a time; the bytes travel with the batch. A contact
    that alone exceeds ``room`` comes out as a batch of one marked ``oversize`` (never sent).
    """
    batch, size = Batch(), 0
    pending = iter(contacts)
    while run := list(islice(pending, ENCODE_RUN)):
        encoded_run = encode_many(run)
        sizes = [len(e) + item_overhead for e in encoded_run]
        if (len(batch) + len(run) <= max_count and size + sum(sizes) <= room
                and max(sizes) <= room):
            batch.extend(run)  # the whole run fits: what the loop below would do, at once
            batch.encoded.extend(encoded_run)
            size += sum(sizes)
            continue
        for contact, encoded, item in zip(run, encoded_run, sizes, strict=True):
            if item > room:
                yield Batch([contact], [encoded], oversize=True)
                continue
            if batch and (len(batch) >= max_count or size + item > room):
                yield batch
                batch, size = Batch(), 0
            batch.append(contact)
            batch.encoded.append(encoded)
            size += item
    if batch:
        yield batch


def fits(batch: Batch, *, max_count: int, room: int, item_overhead: int) -> bool:
    """Whether a prepared batch is within these limits as it stands."""
    return (not batch.oversize and len(batch) == len(batch.encoded) and len(batch) <= max_count
            and sum(map(len, batch.encoded)) + item_overhead * len(batch) <= room)
