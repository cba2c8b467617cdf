"""The HTTP server: the ASGI app (`/mcp`, `/v1/traces`, `/healthz`), its security (bearer tokens, Host/Origin
allow-lists, body and rate limits) and the live OTLP/HTTP trace receiver."""
