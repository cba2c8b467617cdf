"""agent-postmortem: the application (service, MCP server, CLI, LLM adapters, report rendering)."""

__version__ = "0.1.0"
