"""The agent SDK: `Recorder` captures failures where they happen, into the local store or, over MCP, a team server."""
