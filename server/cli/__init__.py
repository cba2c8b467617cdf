"""The `postmortem` command line: the typer app (app.py) and its command modules, the output layer that prints stored
text as text (output.py), exit codes and error mapping (common.py) and the human views (view.py). Heavy modules are
imported inside the commands, so that `--help` loads none of them."""


def main() -> None:
    """The `postmortem` console script (the app is imported here, so that importing this package stays cheap)."""
    from agent_postmortem.cli.app import main as run

    run()
