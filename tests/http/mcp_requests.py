"""The raw /mcp requests the HTTP tests send: the bearer token the test servers take, an initialize request, and
the headers a Streamable HTTP client sends."""

TOKEN = "s3cret-bearer-token-for-tests-0123456789"
INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
AUTH = {"Authorization": f"Bearer {TOKEN}"}
