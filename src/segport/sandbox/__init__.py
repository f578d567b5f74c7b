"""Local emulators of the platforms' APIs (``segport sandbox``): ASGI apps on loopback."""
