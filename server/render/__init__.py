"""Stored records as documents: the Markdown post-mortem, review and runbook (Jinja2 templates), the escaping of
every stored value for the place it lands, and the action-item exports (JSON, CSV, GitHub Markdown)."""
