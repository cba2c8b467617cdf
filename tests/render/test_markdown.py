"""Stored text in Markdown: each escaping function renders its value as itself (inline text, a code span, block
text, a fence) and nothing else, checked with markdown-it, HTML on, and its escapes stay readable."""

from hypothesis import given, settings
from markdown_it.token import Token

from agent_postmortem.render.markdown import BLANK, block, code, fence, inline, link
from tests.documents import MD, live
from tests.render.hostile_text import VALUE


def _only_inline(text: str) -> list[Token]:
    [p_open, run, p_close] = MD.parse(text)
    assert (p_open.type, run.type, p_close.type) == ("paragraph_open", "inline", "paragraph_close")
    return run.children or []


@settings(max_examples=400, deadline=None, derandomize=True)
@given(VALUE)
def test_inline_text_renders_as_itself_and_nothing_else(value: str) -> None:
    for place in ("{}", "- {}", "# {}", "1. **{}** x", "| a |\n|---|\n| {} |"):
        assert live(place.format(inline(value))) == []
    children = _only_inline(f"x {inline(value)}")
    assert {c.type for c in children} <= {"text"}
    assert "".join(c.content for c in children) == "x " + " ".join(value.replace("\x00", "\ufffd").split())


@settings(max_examples=300, deadline=None, derandomize=True)
@given(VALUE)
def test_a_code_span_holds_the_value_verbatim_on_one_line(value: str) -> None:
    children = _only_inline(f"**Error:** {code(value)} after")
    spans = [c for c in children if c.type == "code_inline"]
    assert len(spans) == 1 and spans[0].content == " ".join(value.replace("\x00", "\ufffd").split())


@settings(max_examples=300, deadline=None, derandomize=True)
@given(VALUE)
def test_block_text_is_one_paragraph_whose_lines_are_hard_breaks(value: str) -> None:
    children = _only_inline(str(block(value)))
    assert {c.type for c in children} <= {"text", "hardbreak"}
    lines = [" ".join(line.split()) for line in value.replace("\x00", "\ufffd").splitlines()]
    shown = "".join("\n" if c.type == "hardbreak" else c.content for c in children)
    paragraphs = "\n".join(lines).split("\n\n")  # a run of blank lines between lines of text: one line of BLANK
    assert shown == f"\n{BLANK}\n".join(p.strip("\n") for p in paragraphs if p.strip("\n"))


def test_blank_lines_in_block_text_stay_one_blank_line_inside_a_list_item() -> None:
    typed = "Rolled back.\r\n\r\n\r\nQueue drained.\n\n"
    text = f"- **00:40** (note) {block(typed)}\n- **00:41** (note) next"
    assert MD.render(text) == (
        "<ul>\n<li><strong>00:40</strong> (note) Rolled back.<br />\n\u00a0<br />\nQueue drained.</li>\n"
        "<li><strong>00:41</strong> (note) next</li>\n</ul>\n"
    )


@settings(max_examples=300, deadline=None, derandomize=True)
@given(VALUE)
def test_a_fence_holds_the_last_lines_verbatim_and_cannot_end_early(value: str) -> None:
    tokens = MD.parse(f"**Stack trace:**\n\n{fence(value, last=5)}\n\nafter")
    assert [t.type for t in tokens].count("fence") == 1 and tokens[-2].content == "after", value
    [block_] = [t for t in tokens if t.type == "fence"]
    lines = [line.rstrip() for line in value.replace("\x00", "\ufffd").splitlines() if line.strip()]
    left_out = [f"… {len(lines) - 5} earlier line(s) left out"] if len(lines) > 5 else []
    assert block_.info == "text" and block_.content == "\n".join([*left_out, *lines[-5:]]) + "\n"


def test_the_escapes_stay_readable() -> None:
    assert inline("a & b < c") == "a & b &lt; c" and inline("AT&T &lt;") == "AT&amp;T &amp;lt;"
    assert inline("campaign_q4_emea __init__ C:\\Users\\x") == "campaign_q4_emea \\_\\_init\\_\\_ C:\\Users\\x"
    assert inline("1. first") == "1\\. first" and inline("- item") == "\\- item" and inline("title #") == "title \\#"
    assert code("a `b` c") == "``a `b` c``" and code("`x`") == "`` `x` ``" and code("&lt;N days") == "`&lt;N days`"
    assert link("INC-4", "report://INC-4") == "[INC-4](report://INC-4)"
    assert link("x]", "javascript:alert(1)") == "x\\]"


def test_a_mention_in_a_stored_value_pings_no_one_in_a_report() -> None:
    """A report or runbook pasted into a GitHub issue paged whoever a hostile title named ("@octocat", "@org/team");
    an email address and a code span are no mentions and stay as they are."""
    assert inline("ask @octocat and @org/team") == "ask @&#8203;octocat and @&#8203;org/team"
    assert block("first\n@octocat") == "first  \n@&#8203;octocat"
    assert inline("mail ops@example.com") == "mail ops@example.com"
    assert code("@octocat") == "`@octocat`"
