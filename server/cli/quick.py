"""`postmortem serve` as MCP clients start it (no options: one client over stdio), without the CLI framework.

typer, click, rich and the command modules are a tenth of a second of a server's start before it can answer
`initialize` (`bench perf` compares that with a bare MCPServer started the same way), and a stdio server needs none
of them. Anything else, and a start that fails before the server runs (a bad setting), goes through the full CLI,
which reports it as every command does."""

import logging
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent_postmortem.config import Settings

logger = logging.getLogger("postmortem")
INTERRUPTED = 130  # as server/cli/common.py


def serve_stdio() -> bool:
    """Serve one client over stdio; False (nothing started) when the settings cannot be read."""
    from agent_postmortem.config import Settings

    try:
        configured = Settings.from_env()
    except Exception:  # noqa: BLE001 - the full CLI reads them again and reports the problem properly
        return False
    try:
        run_stdio_server(configured)
    except KeyboardInterrupt:
        sys.exit(INTERRUPTED)
    except Exception as e:  # noqa: BLE001 - one line, never a traceback (as the CLI's Root.invoke)
        logger.debug("unexpected error", exc_info=True)
        sys.stderr.write(f"error: unexpected {type(e).__name__}; set POSTMORTEM_LOG_LEVEL=DEBUG for details\n")
        sys.exit(1)
    return True


def run_stdio_server(configured: "Settings") -> None:
    """The MCP server on stdin/stdout; the knowledge base loads once the handshake is answered. The process ends
    when the client closes stdin (`end_served`: no interpreter finalization beside a warming daemon thread)."""
    from agent_postmortem.cli import end_served
    from agent_postmortem.mcp.server import create_server
    from agent_postmortem.mcp.stdio import run_stdio
    from agent_postmortem.service.runtime import LazyService, build_service

    lazy = LazyService(lambda: build_service(configured))
    sampling = configured.llm_backend in ("auto", "sampling")
    server = create_server(lazy.get, sampling=sampling, sampling_timeout=configured.llm_timeout)
    run_stdio(server, on_handshake=lazy.start)
    end_served()
