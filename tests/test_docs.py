"""The README stays short and every link in it and in docs/ resolves.

`mkdocs build --strict` (in `make test`) checks the links between docs pages, but it never reads the README,
which lives outside docs_dir and is what a visitor sees first. These tests read the Markdown as CommonMark
(markdown-it) and check every relative link of the README and the pages: the file exists, and a `#fragment`
into a Markdown file names one of its headings, slugged as MkDocs slugs them."""

import os
import re
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from markdown.extensions.toc import slugify
from markdown_it import MarkdownIt
from markdown_it.token import Token

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
README_BUDGET = 12 * 1024  # bytes


def tokens(path: Path) -> list[Token]:
    return MarkdownIt("commonmark").enable("table").parse(path.read_text(encoding="utf-8"))


def links(path: Path) -> Iterator[str]:
    """Every link and image target of a Markdown file."""
    for block in tokens(path):
        for token in block.children or []:
            if token.type == "link_open":
                yield str(token.attrGet("href"))
            elif token.type == "image":
                yield str(token.attrGet("src"))


def anchors(path: Path) -> set[str]:
    """The ids MkDocs gives the headings of a page (the toc extension's slugify, duplicates numbered)."""
    found: set[str] = set()
    blocks = tokens(path)
    for index, block in enumerate(blocks):
        if block.type != "heading_open":
            continue
        inline = blocks[index + 1].children or []
        text = "".join(child.content for child in inline if child.type in ("text", "code_inline"))
        slug, number = slugify(text, "-"), 1
        while (slug if number == 1 else f"{slug}_{number - 1}") in found:
            number += 1
        found.add(slug if number == 1 else f"{slug}_{number - 1}")
    return found


def broken(path: Path) -> list[str]:
    """The relative links of a file whose target file or heading does not exist."""
    problems = []
    for target in links(path):
        parts = urlsplit(target)
        if parts.scheme or parts.netloc or target.startswith("mailto:"):
            continue
        file = (path.parent / unquote(parts.path)).resolve() if parts.path else path
        if not file.exists():
            problems.append(f"{target}: no such file")
        elif parts.fragment and file.suffix == ".md" and parts.fragment not in anchors(file):
            problems.append(f"{target}: no such heading")
    return problems


def test_the_readme_fits_its_budget() -> None:
    assert len(README.read_bytes()) <= README_BUDGET


@pytest.mark.parametrize("path", [README, *PAGES], ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(path: Path) -> None:
    assert broken(path) == []


def test_the_checker_finds_a_missing_file_and_a_missing_heading(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# A page\n\n## Two `code` words\n\n## Two `code` words\n", encoding="utf-8")
    page = tmp_path / "b.md"
    page.write_text(
        "[ok](a.md#two-code-words) [again](a.md#two-code-words_1) [gone](c.md) [bad](a.md#three-words)"
        " [web](https://example.org/c.md) ![img](img/x.png) [self](#b)\n\n# B\n",
        encoding="utf-8",
    )
    assert broken(page) == ["c.md: no such file", "a.md#three-words: no such heading", "img/x.png: no such file"]


# A path of this repository in a code span: source files are named this way rather than linked (MkDocs cannot link
# outside docs/), so this is what keeps those names from rotting when a module moves.
REPO_PATH = re.compile(r"`((?:server|store|prompts|evals|tests|examples|docs)/[^`\s*<{]*)`")


@pytest.mark.parametrize("path", [README, *PAGES], ids=lambda p: str(p.relative_to(ROOT)))
def test_every_repository_path_named_in_a_code_span_exists(path: Path) -> None:
    named = {match.group(1).split(":")[0] for match in REPO_PATH.finditer(path.read_text(encoding="utf-8"))}
    assert sorted(name for name in named if not (ROOT / name).exists()) == []


def requirement_names(specs: list[str]) -> set[str]:
    return {re.split(r"[\[<>=!~ ;]", spec, maxsplit=1)[0].lower() for spec in specs}


def test_every_dependency_says_why_it_is_there() -> None:
    """The project's rule: each direct dependency has a reason. The README's table names every run-time one;
    docs/dependencies.md every one, extras included."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = requirement_names(project["dependencies"])
    extras = requirement_names([spec for specs in project["optional-dependencies"].values() for spec in specs])
    readme = README.read_text(encoding="utf-8").lower()
    page = (DOCS / "dependencies.md").read_text(encoding="utf-8").lower()
    assert sorted(name for name in runtime if not named(name, readme)) == []
    assert sorted(name for name in runtime | extras if not named(name, page)) == []


def named(package: str, text: str) -> bool:
    """`package` or `package[extra]` as a code span."""
    return re.search(rf"`{re.escape(package)}(\[[^`]*\])?`", text) is not None


def test_no_merge_conflict_markers_are_committed() -> None:
    """A conflict left in a merge once reached main inside the README; any tracked text file is checked."""
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    marked = []
    for name in tracked.decode().split("\0"):
        path = ROOT / name
        if not name or not path.is_file() or path.stat().st_size > 5_000_000:
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        if any(line.startswith(("<<<<<<< ", ">>>>>>> ")) for line in text.splitlines()):
            marked.append(name)
    assert not marked, f"merge conflict markers in {marked}"


def test_no_symlink_is_committed() -> None:
    """A worktree's link to its tools folder was once committed; in a fresh clone it pointed nowhere."""
    staged = subprocess.run(["git", "ls-files", "-s"], cwd=ROOT, capture_output=True, check=True, text=True).stdout
    links = [line.split("\t", 1)[1] for line in staged.splitlines() if line.startswith("120000 ")]
    assert not links, f"symlinks committed: {links}"


def test_the_documented_environment_file_means_to_systemd_what_it_says() -> None:
    # systemd's EnvironmentFile= keeps everything after `=` (an inline `# comment` too) as the value: a comment
    # after a value made the documented replicas refuse to start (a tokens file and proxies that do not exist)
    from agent_postmortem.config import Settings

    page = (DOCS / "deploy.md").read_text(encoding="utf-8")
    block = page.split("`/etc/agent-postmortem/env`", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    env = dict(
        line.split("=", 1) for line in block.splitlines() if line.strip() and not line.lstrip().startswith(("#", ";"))
    )
    assert env["POSTMORTEM_TOKENS_FILE"] == "/etc/agent-postmortem/tokens.toml"
    assert not [name for name, value in env.items() if "#" in value]
    del env["POSTMORTEM_TOKENS_FILE"]  # a file on the deployed host
    settings = Settings.from_env(env)
    assert [str(p) for p in settings.trusted_proxies] == ["127.0.0.1"]


def test_the_documented_restore_test_never_writes_into_the_live_database(tmp_path: Path) -> None:
    """A team exports with POSTMORTEM_DATABASE_URL in its shell (the export reads the team's database): the documented
    restore test, run in that shell, set a new home but imported into the live database, which took the backup when
    the team it names held no incident yet."""
    from tests.processes import CLI, environment

    page = (DOCS / "deploy.md").read_text(encoding="utf-8")
    command = page.split("Test a restore: `", 1)[1].split("`", 1)[0]
    source = tmp_path / "source"
    captured = subprocess.run([CLI, "capture", "agent refunded twice"], env=environment(source), capture_output=True)
    exported = subprocess.run(
        [CLI, "export", "-o", str(tmp_path / "incidents.jsonl")], env=environment(source), capture_output=True
    )
    assert captured.returncode == 0 and exported.returncode == 0, exported.stderr
    live = tmp_path / "live" / "postmortem.db"
    live.parent.mkdir()
    env = {**environment(tmp_path / "unused"), "POSTMORTEM_DATABASE_URL": f"sqlite:///{live}", "TMPDIR": str(tmp_path)}
    env["PATH"] = f"{Path(CLI).parent}{os.pathsep}{env['PATH']}"
    done = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert re.search(r"^incidents\s+1\b", done.stdout, re.M), done.stdout
    assert not live.exists(), "the restore test wrote into the live database"


def test_the_documented_proxy_keeps_a_web_view_user_on_one_replica() -> None:
    """The web view's sign-in lives in one replica's memory. The documented nginx config balanced every path round
    robin, so behind it (tried with nginx and two replicas) every other page of a signed-in person led back to the
    sign-in page. The web view's paths now go to an `ip_hash` upstream; /mcp, /v1/traces and /readyz need none. The
    probe the proxy passes on was /healthz, which says ok while the database is down: it is /readyz (503 then)."""
    page = (DOCS / "deploy.md").read_text(encoding="utf-8")
    config = page.split("```nginx\n", 1)[1].split("```", 1)[0]
    upstreams = dict(re.findall(r"^upstream (\S+) \{([^}]*)\}", config, re.M))
    routes = dict(re.findall(r"location (.+?) \{\s*proxy_pass http://(\S+?);", config))
    assert "ip_hash" in upstreams[routes["/"]]
    mcp = next(upstream for where, upstream in routes.items() if where.startswith("~") and "mcp|" in where)
    assert "ip_hash" not in upstreams[mcp] and re.fullmatch(r"~ \^/\(mcp\|v1/traces\|readyz\)\$", next(iter(routes)))
    said = page.split("## docker compose", 1)[0]
    assert (
        "balances `/mcp`, `/v1/traces` and `/readyz`" in said
        and "balances `/mcp`, `/v1/traces` and `/healthz`" not in said
    )


ACTIVATE = "source .venv/bin/activate"
# a command that needs the venv on PATH: at a line's start or a code span's, after `export X=...;` or `X=...`
BARE_COMMAND = re.compile(r"(?:^|`)(?:export \S+; )?(?:[A-Z_]+=\S+ )*(?:postmortem|python) ", re.M)


@pytest.mark.parametrize(
    "path", [README, DOCS / "getting-started.md", DOCS / "cli.md", DOCS / "sdk.md"], ids=lambda p: p.name
)
def test_a_page_says_how_its_bare_commands_are_found_before_it_shows_them(path: Path) -> None:
    """`make install` puts `postmortem`, and the Python that imports `agent_postmortem`, in `.venv/bin`, on no PATH:
    a newcomer who typed the README's `postmortem init --seed` after `make demo` got "command not found", and the SDK
    page's `python examples/trip_agent.py` "No module named 'agent_postmortem'". Each page on that path says how to
    put them on PATH before its first such command."""
    text = path.read_text(encoding="utf-8")
    first = BARE_COMMAND.search(text)
    assert first is not None
    assert 0 <= text.find(ACTIVATE) < first.start(), f"{path.name} shows {first.group()!r} before `{ACTIVATE}`"
