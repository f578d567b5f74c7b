"""The export engine, knowing nothing of Textual or click: plan (and, next, apply) + ledger.

- :mod:`~segport.engine.events` — the progress stream both faces consume;
- :mod:`~segport.engine.emails`, :mod:`~segport.engine.canon` — normalising and validating
  emails, canonical field values and fingerprints, in Python and identically in SQL;
- :mod:`~segport.engine.ledger` (+ ``runlog``, ``store``, ``ledger_schema``, ``records``) —
  what was delivered, runs, API calls, in ``segport.db``;
- :mod:`~segport.engine.plan` (+ ``reader``, ``work``, ``spool``) — what a run would do, with
  the work spooled for apply.

Import the submodules you need: this package imports nothing heavy itself.
"""
