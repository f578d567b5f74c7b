"""Reusable widgets: fields with validators and reasons, the wizard frame."""
