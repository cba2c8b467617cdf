"""How the CLI prints (server/cli/output.py), driven as a user runs it: stored text stays text in every view (no Rich
markup, no control sequence reaches the terminal), every command has a human view and `--json`, and a closed pipe
ends a command quietly."""

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from agent_postmortem.cli.app import app
from agent_postmortem.store.invisible import strip_invisible
from tests.processes import POSTMORTEM, environment, postmortem

pytestmark = pytest.mark.slow

# What a hostile title, description, root cause or action item may hold: Rich markup, an OSC 52 clipboard write,
# "clear screen", an OSC 8 hyperlink, a bell, an 8-bit CSI and a right-to-left override.
MARKUP_TITLE = "Agent crashed [/bold] after [link=https://evil.example]retry[/link] [reference removed]"
CONTROL_TITLE = "Clipboard \x1b]52;c;aGk=\x07 then \x1b[2J screen \x9b31m red \u202eevil"
PAYLOADS = [b"\x1b]52", b"\x1b[2J", b"\x1b]8;", b"\x07", "\x9b".encode(), "\u202e".encode()]
FILLER = 300  # enough JSONL to overflow a pipe's buffer


def _row(title: str, n: int, **extra: Any) -> dict[str, Any]:
    created = f"2025-{n % 12 + 1:02d}-01T00:00:00Z"
    return {"title": title, "description": f"Case {n}: the agent failed.", "created_at": created, **extra}


@pytest.fixture(scope="module")
def hostile_home(tmp_path_factory: pytest.TempPathFactory, model_cache: Path) -> Path:
    """A home holding stored text written to attack a terminal, and enough other incidents to fill a pipe."""
    folder = tmp_path_factory.mktemp("hostile")
    rows = [_row(f"Filler incident {n}: the flight search timed out after {n} retries", n) for n in range(FILLER)]
    analysis = {
        "whys": [{"question": "Why [bold]?", "answer": "Because \x1b[2J [/] it did"}],
        "root_cause": "Root [red]cause[/red] \x1b]8;;https://evil.example\x07click\x1b]8;;\x07 here",
    }
    rows.append(_row(MARKUP_TITLE, 100, created_at="2026-01-02T00:00:00Z", analysis=analysis))
    rows.append(
        _row(
            CONTROL_TITLE,
            101,
            created_at="2026-01-03T00:00:00Z",
            description="Line one \x1b[31mred\x1b[0m and \x1b]52;c;aGk=\x07",
            action_items=[{"title": "Guard [/red] \x1b]8;;https://evil.example\x07link", "owner": "x[/b]"}],
        )
    )
    source = folder / "hostile.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    imported = postmortem("import", str(source), home=folder / "home", env={"POSTMORTEM_MODEL_CACHE": str(model_cache)})
    assert imported.returncode == 0, imported.stderr.decode()
    return folder / "home"


@pytest.mark.parametrize(
    "args",
    [
        ["list"],
        ["search", "agent crashed after retry"],
        ["show", "INC-301"],
        ["show", "INC-302"],
        ["actions"],
        ["actions", "--item", "AI-1"],
        ["report", "INC-301"],
        ["report", "INC-302"],
    ],
)
@pytest.mark.parametrize("colour", [False, True], ids=["pipe", "terminal"])
def test_stored_markup_and_control_characters_are_printed_as_visible_text(
    hostile_home: Path, model_cache: Path, args: list[str], colour: bool
) -> None:
    env = {"POSTMORTEM_MODEL_CACHE": str(model_cache)} | ({"FORCE_COLOR": "1"} if colour else {})
    shown = postmortem(*args, home=hostile_home, env=env)
    assert shown.returncode == 0 and b"Traceback" not in shown.stderr, shown.stderr.decode()
    for payload in PAYLOADS:
        assert payload not in shown.stdout, payload
    if not colour:
        assert b"\x1b" not in shown.stdout  # Rich adds no styling of its own on a pipe, and nothing stored gets out
    text = shown.stdout.decode()
    if args[0] != "report" and (args[-1] in ("INC-301", "agent crashed after retry") or args == ["list"]):
        assert "[/bold]" in text and "[reference removed]" in text and "[link=https://evil.example]" in text
    if args[-1] == "INC-302":
        assert "Clipboard" in text and "screen" in text  # the text around the controls stays


def test_controls_that_reach_a_view_are_shown_escaped_not_sent() -> None:
    """Capture already drops control characters (store/invisible.py); a row stored before that, or by another
    writer, still reaches the terminal only as visible escapes."""
    from agent_postmortem.cli.output import cell, line

    for shown in (cell(CONTROL_TITLE).plain, line("x ", CONTROL_TITLE).plain):
        assert "\\x1b" in shown and "\\x07" in shown and "\x1b" not in shown and "\x07" not in shown


def test_json_escapes_the_controls_json_allows_raw(hostile_home: Path) -> None:
    shown = postmortem("show", "INC-302", "--json", home=hostile_home)
    assert shown.returncode == 0 and "\x9b".encode() not in shown.stdout and "\u202e".encode() not in shown.stdout
    stored, _ = strip_invisible(CONTROL_TITLE)  # what capture keeps: controls and bidi overrides dropped
    assert json.loads(shown.stdout)["title"] == stored  # the same JSON: escaped, not changed


def test_a_closed_pipe_ends_the_command_quietly(hostile_home: Path) -> None:
    """`postmortem export | head -1`: the reader goes away; no message, the exit status a shell gives `cat`."""
    for args in (["export"], ["check-blameless", "The operator forgot the timeout. " * 3000]):
        command = [str(POSTMORTEM), *args]
        with subprocess.Popen(
            command, env=environment(hostile_home), stdout=subprocess.PIPE, stderr=subprocess.PIPE
        ) as p:
            assert p.stdout is not None and p.stderr is not None
            assert p.stdout.readline()
            p.stdout.close()
            stderr = p.stderr.read()
            assert p.wait(timeout=300) == 141 and stderr == b"", (args[0], stderr.decode())


HUMAN_AND_JSON = [
    ["capture", "--title", "Fares API returned 429 Too Many Requests", "--error-type", "RateLimitError"],
    ["classify", "CRM sync corrupted 3,000 contact records"],
    ["search", "rate limited by the fares provider"],
    ["list"],
    ["show", "INC-1"],
    ["report", "INC-1"],
    ["stats"],
    ["patterns", "--min-size", "2"],
    ["effectiveness"],
    ["actions", "--incident", "INC-1", "--add", "Add jittered backoff to fare searches"],
    ["actions", "--item", "AI-1", "--set-status", "in_progress"],
    ["actions", "--item", "AI-1"],
    ["actions", "--stats"],
    ["actions"],
    ["check-blameless", "The retry loop had no backoff."],
    ["verify-fix", "12", "200", "0", "200"],
    ["check"],
    ["reindex"],
    ["bench", "blameless"],
]


def test_every_command_prints_a_human_view_and_json_only_with_json(cli: Callable[..., Any], embedder: object) -> None:
    cli("capture", "--title", "Fares API returned 429 Too Many Requests", "--json")
    cli("actions", "--incident", "INC-1", "--add", "Retry fare searches with jittered backoff", "--json")
    wrong = []
    for args in HUMAN_AND_JSON:
        human, machine = cli(*args), cli(*args, "--json")
        assert human.exit_code == machine.exit_code, (args, human.stderr, machine.stderr)
        assert human.exit_code == 0 or args == ["check"], (args, human.stderr)  # check: 1 on an unbuilt index
        json.loads(machine.stdout)
        try:
            json.loads(human.stdout)
            wrong.append(" ".join(args))  # the human view is JSON: there is no human view
        except json.JSONDecodeError:
            pass
    assert not wrong


def test_help_shows_no_value_after_a_flag(tmp_path: Path) -> None:
    """`--json <bool>` and `--dry-run <bool>` read as flags that take a value; `--json true` is then refused as an
    unexpected extra argument. A flag shows no type; an option with a value keeps its own."""
    for command in (["--help"], ["capture", "--help"], ["import", "--help"], ["init", "--help"]):
        shown = postmortem(*command, home=tmp_path).stdout.decode()
        assert "--help" in shown and "<bool>" not in shown, shown
    capture = postmortem("capture", "--help", home=tmp_path).stdout.decode()
    assert "--title" in capture and "<str>" in capture and "<path>" in capture


def test_the_command_list_gives_each_command_one_sentence_on_its_own_row(tmp_path: Path) -> None:
    """The list showed each command's first paragraph with its docstring's line breaks: `draft` stopped at "with the
    configured model (docs/drafting.md): an" and went on in pieces on the rows under it. On a wide terminal every row
    of the list now names a command, and a command's line is its first sentence."""
    shown = postmortem("--help", home=tmp_path).stdout.decode()
    panel = shown.split("Commands")[1].splitlines()[1:-1]
    names = [row.strip("│ ").split(" ")[0] for row in panel]
    assert all(names) and {"draft", "actions", "import-traces", "serve"} <= set(names), panel
    draft = next(row for row in panel if row.startswith("│ draft "))
    assert draft.rstrip("│ ").endswith("or a GGUF on the embedded llama.cpp server."), draft


@pytest.mark.parametrize("name", ["capture", "classify"])
def test_every_option_of_capture_says_what_it_is_for(name: str) -> None:
    """`capture --help` listed --description, --error-type, --agent, --tool, --model, --user-facing and
    --customer-reported with nothing beside them: a newcomer could not tell what --user-facing changes."""
    group = typer.main.get_command(app)
    command = group.get_command(typer.Context(group), name)  # type: ignore[attr-defined]
    options = [p for p in command.params if p.param_type_name == "option"]
    assert len(options) >= 12 and [p.name for p in options if not getattr(p, "help", None)] == []


def _commands(group: Any, context: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        if hasattr(command, "list_commands"):
            yield from _commands(command, typer.Context(command), (*path, name))
        else:
            yield " ".join((*path, name)), command


def test_every_option_of_every_command_says_what_it_is_for() -> None:
    """`verify-fix --help` listed --target, --confidence and --deterministic with nothing beside them; `--help`
    (click's own) is the one option left out, as it says itself."""
    group = typer.main.get_command(app)
    bare = [
        f"{name} {option.opts[0]}"
        for name, command in _commands(group, typer.Context(group))
        for option in command.params
        if option.param_type_name == "option" and not getattr(option, "help", None)
    ]
    assert bare == []
