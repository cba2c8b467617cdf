"""A text as the language checks read it: redacted, without markup, offsets mapped back to the text as sent."""

from agent_postmortem.analysis.as_read import as_read, in_words, shown

GHP = "ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5b"


def test_the_read_text_has_no_secret_nor_markup_and_its_spans_map_back_to_the_text_as_sent() -> None:
    sent = f"[bold]Start[/bold]\r\n\u200bDana pushed \x1b[31m{GHP}\x1b[0m %%{{init: {{}}}}%% to prod."
    read = as_read(sent)
    assert read.text == "Start\nDana pushed REDACTED_github_token to prod."  # the markup goes with one space
    at = read.text.index("Dana")
    start, end = read.back(at, len(read.text) - 1)
    assert sent[start:end] == f"Dana pushed \x1b[31m{GHP}\x1b[0m %%{{init: {{}}}}%% to prod"
    assert shown(read.text[at:-1]) == "Dana pushed [REDACTED:github_token] to prod"
    assert read.back(0, 5) == (6, 11)  # "Start", after its tag
    value = read.text.index("REDACTED_")
    assert sent[slice(*read.back(value, value + len("REDACTED_github_token")))] == f"\x1b[31m{GHP}\x1b[0m"


def test_a_text_with_nothing_to_take_out_is_read_as_it_is() -> None:
    sent = "Bob forgot to run the migration.\n[1] A link [docs](x)."
    read = as_read(sent)
    assert read.text == read.redacted == sent and read.back(4, 10) == (4, 10)


def test_every_word_maps_back_to_itself_through_line_ends_invisible_characters_and_escapes() -> None:
    sent = "\r\n".join(
        f"Step {n}:\u200b Bob\x1b[1m ran\u2028it with ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z{n:03d}." for n in range(40)
    )
    read = as_read(sent)
    starts = [i for i in range(len(read.text)) if read.text.startswith("Bob", i)]
    assert len(starts) == 40
    assert all(sent[slice(*read.back(i, i + 3))] == "Bob" for i in starts)
    assert all(
        sent[slice(*read.back(i, i + 3))] == "ran" for i in range(len(read.text)) if read.text.startswith("ran", i)
    )


def test_the_reader_reads_a_placeholder_as_what_it_stands_for() -> None:
    token = "ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5"
    read = as_read(f"Dana [/bold] mailed dana@example.com and {token} to everyone.").text
    assert in_words(read) == "Dana mailed someone and a credential to everyone."
