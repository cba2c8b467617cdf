"""The `postmortem` command line: the typer app (app.py) and its command modules, the output layer that prints stored
text as text (output.py), exit codes and error mapping (common.py) and the human views (view.py). Heavy modules are
imported inside the commands, so that `--help` loads none of them; `postmortem serve` as MCP clients start it does
not even load the CLI framework (quick.py)."""

import logging
import os
import sys


def configure_process() -> None:
    """Logging to stderr (stdout may be the MCP wire) and no Hugging Face downloads or progress bars."""
    logging.basicConfig(
        level=os.environ.get("POSTMORTEM_LOG_LEVEL", "WARNING").upper(),
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def main() -> None:
    """The `postmortem` console script (the app is imported here, so that importing this package stays cheap)."""
    configure_process()
    if sys.argv[1:] == ["serve"]:
        from agent_postmortem.cli.quick import serve_stdio

        if serve_stdio():
            return
    from agent_postmortem.cli.app import main as run

    run()
