"""The use cases behind every interface (MCP, CLI, SDK, evals): capture, search, drafting, follow-through and
lessons, composed by the facade `PostmortemService`; `build_service` (runtime.py), the one place real clients are
built; the result models; teams (a knowledge base per team) and the health check of a home."""
