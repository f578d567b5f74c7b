"""The TUI's screens: home, first run, the wizards and the modal dialogs."""
