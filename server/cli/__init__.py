"""The `postmortem` command line: the typer app (app.py) and its command modules, the output layer that prints stored
text as text (output.py), exit codes and error mapping (common.py) and the human views (view.py). Heavy modules are
imported inside the commands, so that `--help` loads none of them; `postmortem serve` as MCP clients start it does
not even load the CLI framework (quick.py)."""

import contextlib
import logging
import os
import signal
import sys
from types import FrameType
from typing import NoReturn

INTERRUPTED = 130  # the exit status a shell gives a command ended by Ctrl-C


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def configure_process() -> None:
    """Logging to stderr (stdout may be the MCP wire) and no Hugging Face downloads or progress bars. A log level
    that is not one of LOG_LEVELS is said in one line (logging raised, with a traceback, in every command), and so is
    each variable that looks like a misspelt setting."""
    level = os.environ.get("POSTMORTEM_LOG_LEVEL", "WARNING").strip().upper() or "WARNING"
    first = not logging.getLogger().handlers  # the console script and the app both call this: say it once
    logging.basicConfig(
        level=level if level in LOG_LEVELS else "WARNING",
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )
    for handler in logging.getLogger().handlers:
        if first and not isinstance(handler.formatter, RedactingFormatter):
            handler.setFormatter(RedactingFormatter("%(levelname)s %(name)s: %(message)s"))
    if first and level not in LOG_LEVELS:
        logging.getLogger("postmortem").warning(
            "POSTMORTEM_LOG_LEVEL must be one of %s: logging at WARNING", ", ".join(LOG_LEVELS)
        )
    if first:
        from agent_postmortem.setting_values import misspelt

        for sentence in misspelt(os.environ):
            logging.getLogger("postmortem").warning("%s", sentence)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


class RedactingFormatter(logging.Formatter):
    """Log lines with secrets and PII replaced, as stored text is: a library's message can quote what a client sent
    (the MCP SDK logs an unknown resource URI whole at INFO; a traceback can hold an argument), and logs travel
    further than the store. The rules load on the first line logged, never at start-up."""

    _busy = False

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if RedactingFormatter._busy:  # a line logged while redacting: kept as it is, no recursion
            return text
        RedactingFormatter._busy = True
        try:
            from agent_postmortem.store.redact import redact

            return redact(text)
        except Exception:  # noqa: BLE001 - a log line must never fail; said without the text
            return f"{record.levelname} {record.name}: (a line that could not be redacted was left out)"
        finally:
            RedactingFormatter._busy = False


class _Interrupt:
    seen = False


def _on_interrupt(signum: int, frame: FrameType | None) -> None:
    """Python's own Ctrl-C handler, remembering that it ran: libraries turn the KeyboardInterrupt into other errors
    on its way up (an ImportError from an interrupted import, pydantic-core's PanicException)."""
    _Interrupt.seen = True
    raise KeyboardInterrupt


def interrupted() -> bool:
    """Whether Ctrl-C was pressed during this command, whatever the error it became."""
    return _Interrupt.seen


def end_interrupted() -> NoReturn:
    """Say "interrupted" and end the process now, not through the interpreter's exit: a Ctrl-C that lands between a
    thread pool starting a worker and registering it (CPython's ThreadPoolExecutor; the search's BM25 ranking has one)
    leaves that idle, non-daemon worker unstopped, and the exit would wait for it for ever."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe or stream
            stream.flush()
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.write("interrupted\n")
        sys.stderr.flush()
    os._exit(INTERRUPTED)


def end_served() -> NoReturn:
    """End a server's process once it has stopped serving (the client closed stdin, or Ctrl-C stopped the
    HTTP server), without the interpreter's finalization. The knowledge base warms up in a daemon thread; when the
    server stopped while it was still creating the embedder's ONNX session, that thread came back to Python during
    finalization and was ended inside onnxruntime's C++ frames: the process aborted ("terminate called without an
    active exception", SIGABRT, a core file where core dumps are on). Everything acknowledged is committed by then,
    as for SIGKILL (docs/reliability.md), so nothing is lost by skipping finalization."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe or stream
            stream.flush()
    logging.shutdown()
    os._exit(0)


def main() -> None:
    """The `postmortem` console script (the app is imported here, so that importing this package stays cheap)."""
    configure_process()
    if sys.argv[1:] == ["serve"]:  # asyncio's own Ctrl-C handling (it cancels the server) is left in place
        from agent_postmortem.cli.quick import serve_stdio

        if serve_stdio():
            return
    signal.signal(signal.SIGINT, _on_interrupt)
    try:
        from agent_postmortem.cli.app import main as run

        run()
    except BaseException as e:
        if isinstance(e, SystemExit) or not interrupted():
            raise
        end_interrupted()
