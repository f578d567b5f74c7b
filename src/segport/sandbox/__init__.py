"""Local emulators of the platforms' APIs (``segport sandbox``): ASGI apps on loopback.

- ``iterable.create_app``, ``sendgrid.create_app``, ``autopilot.create_app``: one Starlette app
  each; ``app.state.emulator`` is the in-memory service (accounts keyed by API key).
- ``server.Sandbox``: all three under uvicorn in one event loop, in a background thread
  (``start``/``stop``, tests) or ``await serve_forever()`` (the CLI).
- ``config``: every limit and fault as dataclasses, defaults as in docs/destinations.md.

Every emulator also serves, outside the API (never rate-limited, never faulted):

- ``GET /_sandbox/state``: ``{"lists": [{"id", "name", "members": [{"email", "fields"}]}],
  "requests": {"<METHOD> <path template> <status|reset|timeout>": n}}``. Lists are the demo
  account's unless ``?account=<defaults.account_id(key)>`` or the platform's own auth header
  picks another; ``requests`` counts every account's traffic unless an account is picked.
  Iterable adds ``channelUnsubscribed`` (emails unsubscribed with ``channelUnsubscribe: true``).
- ``POST /_sandbox/reset``: forget lists, contacts, jobs, counters and rate buckets; keys stay
  valid; limits and faults return to the start-up config unless ``?keep_config=1``.
- ``GET|POST /_sandbox/config``: the config (keys shown as account ids), or a JSON patch of it,
  applied all-or-nothing (400 naming the bad setting); rate buckets restart full, and patching
  ``faults`` reseeds them and starts a storm when ``storm_seconds`` is set.
- SendGrid only: ``GET /_sandbox/files/<token>.csv``, the import jobs' ``errors_url``.

Heavy imports (Starlette, uvicorn) happen only when those modules are imported.
"""
