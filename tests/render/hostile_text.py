"""Stored text for the Markdown tests: runs of the hostile values (Markdown and HTML constructs, links, control
characters) and arbitrary text, never blank."""

from hypothesis import strategies as st

from tests.factories import HOSTILE

VALUE = (
    st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=12)), min_size=1, max_size=8)
    .map("".join)
    .filter(lambda text: bool(text.strip()))
)
