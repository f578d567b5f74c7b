"""``python -m segport``."""

from segport.cli import main

main()
