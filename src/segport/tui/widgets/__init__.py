"""Reusable widgets and screen parts: fields with validators and reasons, the wizard frame,
Home's tabs, and the parts of the run panel and the plan view."""
