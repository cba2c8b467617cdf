"""The MCP surface: `create_server` builds the server (tools, resources and prompts over the service); the tool
argument types and the one place domain errors become tool errors (common.py); drafting through the client's model by
sampling (draft.py); the follow-through tools (loop.py); and the reader in front of the stdio transport (stdio.py)."""
