"""How the MCP layer takes what real clients send (server/mcp/common.py): null for an optional argument, an argument a
tool does not take, a blank query; through the SDK's client in memory."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from mcp import Client
from sqlalchemy.exc import OperationalError

from agent_postmortem.errors import shown_on, storage_failure
from agent_postmortem.mcp.server import create_server
from agent_postmortem.store.models import utcnow
from tests.factories import CAPTURE, make_service, tool_arguments

pytestmark = pytest.mark.anyio


async def test_null_for_any_optional_argument_of_any_tool_means_absent(tmp_path: Path) -> None:
    """Clients that fill every argument (OpenAI's strict function calling sends null for each one not meant) got
    "limit must be an integer", "offset must be ...", "user_facing must be true or false": null was absent only for
    text and the nullable choices. Each optional argument is sent as null, alone, with the required ones."""
    service = make_service(tmp_path, llm=None)
    async with Client(create_server(lambda: service)) as client:
        valid = await tool_arguments(client)
        refused = []
        for tool in (await client.list_tools()).tools:
            required = {name: valid[name] for name in tool.input_schema.get("required", [])}
            for name in set(tool.input_schema["properties"]) - set(required):
                result = await client.call_tool(tool.name, {**required, name: None})
                said = result.content[0].text if result.is_error else ""  # type: ignore[union-attr]
                if "Invalid argument" in said:
                    refused.append((tool.name, name, said))
        listed = await client.call_tool("list_incidents", {"limit": None, "offset": None, "severity": None})
    assert refused == []
    assert len(listed.structured_content["incidents"]) == min(20, service.store.count())  # type: ignore[index]


async def test_empty_text_for_any_optional_choice_of_any_tool_means_absent(tmp_path: Path) -> None:
    """Clients that fill every argument with empty text for those not meant got "category must be one of ...",
    "severity must be one of ..." on every list and search: empty text was absent only for free text. Each optional
    choice is sent as "", alone, with the required ones; a required choice left empty is still refused."""
    service = make_service(tmp_path, llm=None)
    async with Client(create_server(lambda: service)) as client:
        await client.call_tool("capture_incident", CAPTURE)
        valid = await tool_arguments(client)
        refused = []
        for tool in (await client.list_tools()).tools:
            schema = tool.input_schema
            required = {name: valid[name] for name in schema.get("required", [])}
            for name, prop in schema["properties"].items():
                choice = any("enum" in s for s in (prop, *prop.get("anyOf", [])))
                if choice and name not in required:
                    result = await client.call_tool(tool.name, {**required, name: ""})
                    if result.is_error and "Invalid argument" in result.content[0].text:  # type: ignore[union-attr]
                        refused.append((tool.name, name))
        listed = await client.call_tool("list_incidents", {"category": "", "severity": " ", "status": ""})
        undecided = await client.call_tool("review_analysis", {"incident_id": "INC-1", "decision": ""})
    assert refused == []
    assert len(listed.structured_content["incidents"]) == service.store.count()  # type: ignore[index]
    assert "decision must be one of accept, reject" in undecided.content[0].text  # type: ignore[union-attr]


async def test_true_or_false_is_refused_for_every_argument_that_is_not_a_flag(tmp_path: Path) -> None:
    """pydantic reads true as 1, so `list_incidents(limit=true)` listed one incident and `offset=true` skipped one:
    a flag sent where a number or text is wanted is a client's mistake, and is told as one, naming what it takes."""
    service = make_service(tmp_path, llm=None)
    async with Client(create_server(lambda: service)) as client:
        await client.call_tool("capture_incident", CAPTURE)
        valid = await tool_arguments(client)
        taken = []
        for tool in (await client.list_tools()).tools:
            required = {name: valid[name] for name in tool.input_schema.get("required", [])}
            for name, prop in tool.input_schema["properties"].items():
                flag = any(b.get("type") == "boolean" for b in (prop, *prop.get("anyOf", [])))
                result = await client.call_tool(tool.name, {**required, name: True})
                if not flag and not (result.is_error and f"{name} must be" in result.content[0].text):  # type: ignore[union-attr]
                    taken.append((tool.name, name))
        limited = await client.call_tool("list_incidents", {"limit": True})
        flagged = await client.call_tool("capture_incident", {**CAPTURE, "user_facing": True})
    assert taken == []
    assert "limit must be an integer" in limited.content[0].text  # type: ignore[union-attr]
    assert not flagged.is_error


async def test_a_blank_query_is_refused_with_what_to_give(tmp_path: Path) -> None:
    """A query of spaces passed the tool's own check and ranked every incident by its relevance to nothing; so did
    one of only punctuation ("?!.,;:--", what an IDE sends from a selection of symbols), answering hits at cosine
    0.15 as similar incidents."""
    service = make_service(tmp_path, llm=None)
    async with Client(create_server(lambda: service)) as client:
        await client.call_tool("capture_incident", CAPTURE)
        found = await client.call_tool("search_incidents", {"query": "429 レート制限"})
        assert not found.is_error, found.content
        for arguments in ({}, {"query": ""}, {"query": "  \n "}, {"query": "?!.,;:--"}, {"query": "()[]{} -- ..."}):
            result = await client.call_tool("search_incidents", arguments)
            assert result.is_error and "query" in result.content[0].text, result.content  # type: ignore[union-attr]


async def test_a_search_with_since_after_until_is_refused_naming_the_parsed_dates(tmp_path: Path) -> None:
    """since after until answered no hits, as if nothing matched. The dates are named as parsed, not as sent."""
    service = make_service(tmp_path, llm=None)
    async with Client(create_server(lambda: service)) as client:
        await client.call_tool("capture_incident", CAPTURE)
        times = {"since": "2026-12-01T00:00:00.000+00:00", "until": "2026-11-01"}
        result = await client.call_tool("search_incidents", {"query": "timeout", **times})
        same_day = await client.call_tool(
            "search_incidents", {"query": "timeout", "since": "2026-11-01", "until": "2026-11-01"}
        )
    text = result.content[0].text  # type: ignore[union-attr]
    parsed = "since (2026-12-01T00:00:00+00:00) is after until (2026-11-01T23:59:59.999999+00:00)"  # all of Nov 1
    assert result.is_error and parsed in text
    assert ".000+" not in text and not same_day.is_error, same_day.content


async def test_until_a_day_includes_that_day_and_a_number_is_not_a_time(tmp_path: Path) -> None:
    service = make_service(tmp_path, llm=None)
    async with Client(create_server(lambda: service)) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        today = utcnow().date()
        through = await client.call_tool("search_incidents", {"query": "timeout", "until": today.isoformat()})
        number = await client.call_tool("search_incidents", {"query": "timeout", "since": "1765000000"})
    assert [h["id"] for h in through.structured_content["hits"]] == [incident_id]  # type: ignore[index]
    assert number.is_error and "1765000000" not in number.content[0].text  # type: ignore[union-attr]


async def test_since_and_until_take_a_month_or_a_year_as_the_whole_of_it(tmp_path: Path) -> None:
    """`until: "2026-12"` was refused ("input is too short"): a month or a year is how people bound a period."""
    service = make_service(tmp_path, llm=None, clock=lambda: datetime(2026, 12, 31, 23, 30, tzinfo=UTC))
    async with Client(create_server(lambda: service)) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]

        async def hits(**times: str) -> list[str]:
            found = await client.call_tool("search_incidents", {"query": "timeout", **times})
            assert not found.is_error, found.content
            return [h["id"] for h in found.structured_content["hits"]]  # type: ignore[index]

        assert await hits(until="2026-12") == [incident_id]  # the whole of December, to its last instant
        assert await hits(since="2026-12") == [incident_id] == await hits(since="2026", until="2026")
        assert await hits(until="2026-11") == [] == await hits(since="2027-01") == await hits(since="2027")
        for junk, told in {
            "2026-13": "a month is 01 to 12",
            "2026-00": "a month is 01 to 12",
            "Dec 2026": "a month (2026-12)",
            "12/2026": "a month (2026-12)",
        }.items():
            refused = await client.call_tool("search_incidents", {"query": "timeout", "until": junk})
            said = refused.content[0].text  # type: ignore[union-attr]
            assert refused.is_error and told in said and junk not in said, (junk, said)


async def test_an_argument_a_tool_does_not_take_is_refused_with_the_ones_it_takes(tmp_path: Path) -> None:
    """Unknown arguments were dropped without a word: list_incidents(query=...) answered the newest incidents as if
    they matched, capture_incident(tags=[...]) stored the incident without them. The unknown name is not echoed (a
    model wrote it), the ones the tool takes are listed."""
    service = make_service(tmp_path, llm=None)
    async with Client(create_server(lambda: service)) as client:
        listed = await client.call_tool("list_incidents", {"query": "rate limit", "limit": 5})
        tagged = await client.call_tool("capture_incident", {**CAPTURE, "tags": ["fares", "sk-live-CANARY"]})
        plain = await client.call_tool("capture_incident", CAPTURE)
        stats = await client.call_tool("knowledge_stats", {"team": "payments"})
    said = listed.content[0].text  # type: ignore[union-attr]
    assert stats.content[0].text.startswith("knowledge_stats takes no arguments; 1 argument")  # type: ignore[union-attr]
    assert listed.is_error and "list_incidents takes only" in said and "category" in said and "query" not in said
    text = tagged.content[0].text  # type: ignore[union-attr]
    assert tagged.is_error and "title" in text and "tags" not in text and "CANARY" not in text
    assert not plain.is_error and service.store.count() == 1


async def test_a_choice_in_another_case_is_read_as_the_schemas_value(tmp_path: Path) -> None:
    """'Accept', 'HTML', 'sev3' and 'Rate_Limit' were refused with "decision must be one of accept, reject": a
    model that capitalises a word it was given got a refusal for a value it had right."""
    service = make_service(tmp_path, llm=None)
    async with Client(create_server(lambda: service)) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        listed = await client.call_tool("list_incidents", {"severity": " sev3 ", "category": "Rate_Limit"})
        spaced = await client.call_tool("list_incidents", {"severity": "SEV 3", "category": "RateLimit"})
        hyphen = await client.call_tool("search_incidents", {"query": "429", "severity": "sev-3", "status": "Open"})
        html = await client.call_tool("render_report", {"incident_id": incident_id, "format": "HTML", "kind": "Full"})
        wrong = await client.call_tool("render_report", {"incident_id": incident_id, "format": "pdf"})
    assert not listed.is_error and not html.is_error, (listed.content, html.content)
    assert [i["id"] for i in listed.structured_content["incidents"]] == [incident_id]  # type: ignore[index]
    assert html.structured_content["format"] == "html"  # type: ignore[index]
    assert spaced.structured_content == listed.structured_content, spaced.content  # "SEV 3" was refused
    assert [h["id"] for h in hyphen.structured_content["hits"]] == [incident_id], hyphen.content  # type: ignore[index]
    assert wrong.is_error and "format must be one of markdown, html" in wrong.content[0].text  # type: ignore[union-attr]


TRACEBACK = "\n".join(
    ["Traceback (most recent call last):"]
    + [f'  File "/app/lib/mod{n}.py", line {n * 7}, in handler{n}\n    return await call(url)' for n in range(40)]
    + ["RateLimitError: 429 Too Many Requests: quota exceeded"]
)


async def test_a_pasted_stack_trace_is_searched_as_the_cli_searches_it(tmp_path: Path) -> None:
    """search_incidents refused a query over 2,000 characters, so an assistant could not search the stack trace it
    was shown (3 KB here), which `postmortem search` takes; a query is now bounded as the other long texts are."""
    service = make_service(tmp_path, llm=None)
    async with Client(create_server(lambda: service)) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        found = await client.call_tool("search_incidents", {"query": TRACEBACK})
        too_long = await client.call_tool("search_incidents", {"query": "x " * 10_001})
    assert len(TRACEBACK) > 2_500 and not found.is_error, found.content
    assert [h["id"] for h in found.structured_content["hits"]] == [incident_id]  # type: ignore[index]
    assert too_long.is_error and "at most 20000 characters" in too_long.content[0].text  # type: ignore[union-attr]


async def test_a_category_written_with_a_hyphen_or_a_space_is_that_category(tmp_path: Path) -> None:
    """runbook://rate-limit, category "rate limit" and status "in progress" were refused: the model wrote the words
    the schema spells with an underscore."""
    service = make_service(tmp_path, llm=None)
    async with Client(create_server(lambda: service)) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        listed = await client.call_tool("list_incidents", {"category": "Rate limit"})
        spelled = (await client.read_resource("runbook://rate_limit")).contents[0].text  # type: ignore[union-attr]
        hyphen = (await client.read_resource("runbook://rate-limit")).contents[0].text  # type: ignore[union-attr]
    assert [i["id"] for i in listed.structured_content["incidents"]] == [incident_id]  # type: ignore[index]
    assert hyphen == spelled


async def test_a_query_that_is_only_an_id_with_a_typographic_dash_searches_that_incidents_neighbours(
    tmp_path: Path,
) -> None:
    """ "INC‑1" (a non-breaking hyphen, as some models write it) was searched as the words "inc" and "1", while the
    same id as incident_id, or with an ASCII dash, searches that incident's neighbours."""
    service = make_service(tmp_path, llm=None)
    async with Client(create_server(lambda: service)) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        ascii_dash = await client.call_tool("search_incidents", {"query": incident_id})
        written = " " + incident_id.replace("-", "\u2011") + "\u200b"
        typographic = await client.call_tool("search_incidents", {"query": written})
    assert typographic.structured_content == ascii_dash.structured_content
    assert ascii_dash.structured_content["query"] == CAPTURE["title"]  # type: ignore[index]


async def test_an_incident_named_as_a_model_writes_it_in_prose_is_found_by_every_tool_and_resource(
    tmp_path: Path,
) -> None:
    """An assistant writes the id it read in a sentence: "incident 1", "#1", "INC 1", "`INC-1`". get_incident and
    incident:// refused each as "not a valid incident id", and a search for "incident 1" looked for the words."""
    service = make_service(tmp_path, llm=None)
    async with Client(create_server(lambda: service)) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        number = incident_id.removeprefix("INC-")
        found = [
            (await client.call_tool("get_incident", {"incident_id": written})).structured_content["id"]  # type: ignore[index]
            for written in (f"incident {number}", f"#{number}", f"INC {number}", f"`{incident_id}`", f"INC{number}.")
        ]
        read = (await client.read_resource(f"incident://INC{number}")).contents[0].text  # type: ignore[union-attr]
        by_id = await client.call_tool("search_incidents", {"query": incident_id})
        in_prose = await client.call_tool("search_incidents", {"query": f"Incident #{number}"})
        hashed = await client.call_tool("search_incidents", {"query": f"#{number}"})
    assert found == [incident_id] * 5
    assert json.loads(read)["id"] == incident_id
    assert in_prose.structured_content == by_id.structured_content
    assert hashed.structured_content == by_id.structured_content  # "#1" was the words "1": any incident with a 1


async def test_an_agent_or_tool_named_as_in_prose_filters_a_search_and_an_unknown_one_says_what_there_is(
    tmp_path: Path,
) -> None:
    """A model filters on the agent as it reads in a title ("HelpDesk Assistant", "CRM.Lookup_Order") and got no hits,
    without a word: the names matched only as stored, byte for byte. They match ignoring case and how words are
    joined; a name no incident has, a page past the end and filters that match nothing say so in empty_because."""
    service = make_service(tmp_path, llm=None)
    async with Client(create_server(lambda: service)) as client:
        captured = await client.call_tool(
            "capture_incident", {**CAPTURE, "agent": "helpdesk-assistant", "tool": "crm.lookup_order"}
        )
        incident_id = captured.structured_content["id"]  # type: ignore[index]
        by_name = await client.call_tool(
            "search_incidents", {"query": "429", "agent": "HelpDesk Assistant", "tool": "CRM.Lookup_Order"}
        )
        unknown = await client.call_tool("search_incidents", {"query": "429", "agent": "help desk bot"})
        past_end = await client.call_tool("search_incidents", {"query": "429", "offset": 5})
        too_late = await client.call_tool("search_incidents", {"query": "429", "since": "2099"})
    assert [h["id"] for h in by_name.structured_content["hits"]] == [incident_id]  # type: ignore[index]
    assert by_name.structured_content["empty_because"] is None  # type: ignore[index]
    said = unknown.structured_content["empty_because"]  # type: ignore[index]
    assert unknown.structured_content["hits"] == [] and "no incident has the agent 'help desk bot'" in said, said  # type: ignore[index]
    assert "'helpdesk-assistant' (1)" in said, said
    assert past_end.structured_content["empty_because"] == "offset 5 is past the end: 1 hit(s) (offsets 0 to 0)"  # type: ignore[index]
    assert too_late.structured_content["empty_because"].startswith("no incident matches these filters")  # type: ignore[index]


async def test_a_search_hit_shows_what_was_done_about_the_incident_unfinished_first(tmp_path: Path) -> None:
    """Every hit answered `action_items: []`, so an assistant asked "have we seen this, and what did we do?" said
    nothing had been done, of an incident whose fix was tracked and partly still open."""
    service = make_service(tmp_path, llm=None)
    async with Client(create_server(lambda: service)) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        made = []
        for title in ("Add jittered backoff", "Cap retries per worker", "Share one token bucket", "Alert on 429s"):
            added = await client.call_tool("add_action_item", {"incident_id": incident_id, "title": title})
            made.append(added.structured_content["id"])  # type: ignore[index]
        for done in made[:2]:
            await client.call_tool("update_action_item", {"action_id": done, "status": "completed"})
        found = await client.call_tool("search_incidents", {"query": "429 from the fares API"})
    (hit,) = found.structured_content["hits"]  # type: ignore[index]
    shown = [(item["title"], item["status"]) for item in hit["action_items"]]
    assert shown == [
        ("Share one token bucket", "open"), ("Alert on 429s", "open"), ("Add jittered backoff", "completed")
    ]  # fmt: skip


async def test_a_choice_sent_as_several_values_is_told_to_take_one_and_a_list_of_one_is_that_value(
    tmp_path: Path,
) -> None:
    """A model filters on two categories at once, as a list, its JSON text or "rate_limit, timeout", and was told
    "category must be one of ..., timeout, rate_limit, ...": the values it sent were in that list, so it could not
    tell what to change. A list of one value is that value."""
    service = make_service(tmp_path, llm=None)
    async with Client(create_server(lambda: service)) as client:
        await client.call_tool("capture_incident", CAPTURE)
        refused = [
            await client.call_tool("search_incidents", {"query": "429", "category": several})
            for several in (
                ["rate_limit", "timeout"],
                '["rate_limit", "timeout"]',
                "rate_limit, timeout",
                "Rate Limit or timeout",
            )
        ]
        one = await client.call_tool("search_incidents", {"query": "429", "category": ["rate_limit"]})
        one_as_text = await client.call_tool("list_incidents", {"category": '["Rate Limit"]'})
        wrong = await client.call_tool("search_incidents", {"query": "429", "category": "rate_limit, bogus"})
    for result in refused:
        said = result.content[0].text  # type: ignore[union-attr]
        assert result.is_error and said.startswith("Invalid argument: category takes one value, one of "), said
        assert said.endswith("Call once for each value wanted."), said
    assert len(one.structured_content["hits"]) == 1 and len(one_as_text.structured_content["incidents"]) == 1  # type: ignore[index]
    assert wrong.is_error and "category must be one of" in wrong.content[0].text  # type: ignore[union-attr]


async def test_an_empty_page_of_incidents_says_why(tmp_path: Path) -> None:
    """list_incidents answered `"incidents": []` alike for a page past the end, filters that match nothing and an
    empty knowledge base: a model paging on could not tell the end of the list from a failure."""
    service = make_service(tmp_path, llm=None)
    async with Client(create_server(lambda: service)) as client:
        empty = await client.call_tool("list_incidents", {})
        await client.call_tool("capture_incident", CAPTURE)
        past_end = await client.call_tool("list_incidents", {"offset": 20})
        none_match = await client.call_tool("list_incidents", {"status": "mitigated"})
        listed = await client.call_tool("list_incidents", {})
    assert empty.structured_content["empty_because"].startswith("there are no incidents yet")  # type: ignore[index]
    said = past_end.structured_content["empty_because"]  # type: ignore[index]
    assert said == "offset 20 is past the end: 1 incident(s) match (offsets 0 to 0)", said
    said = none_match.structured_content["empty_because"]  # type: ignore[index]
    assert said == "no incident matches these filters (1 in all); leave some out", said
    assert listed.structured_content["empty_because"] is None  # type: ignore[index]


async def test_several_ids_where_one_is_wanted_are_told_to_come_one_per_call(tmp_path: Path) -> None:
    """get_incident("INC-1, INC-2"), as a model asks for two incidents it compares, answered "That is not a valid
    incident id; ids look like INC-42.": each id it sent looked like that."""
    service = make_service(tmp_path, llm=None)
    async with Client(create_server(lambda: service)) as client:
        await client.call_tool("capture_incident", CAPTURE)
        both = [
            await client.call_tool("get_incident", {"incident_id": two})
            for two in ("INC-1, INC-2", "INC-1\nINC-2", "INC 1 and INC 2")
        ]
        item = await client.call_tool("get_action_item", {"action_id": "AI-1, AI-2"})
    for result in both:
        said = result.content[0].text  # type: ignore[union-attr]
        assert result.is_error and said.endswith(
            "That is more than one incident id; give one per call, such as INC-42."
        ), said
    assert item.content[0].text.endswith("That is more than one action item id; give one per call, such as AI-42.")  # type: ignore[union-attr]


async def test_a_database_that_cannot_be_reached_is_said_alike_by_every_tool_to_the_calling_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the database down, knowledge_stats answered the storage sentence alone while list_incidents put "Error
    executing tool list_incidents:" before it (the SDK adds it to a tool's own ToolError, and knowledge_stats raised
    none), and both told the model to "Check POSTMORTEM_DATABASE_URL", which only whoever runs the server can do."""
    refused = 'connection failed: connection to server at "127.0.0.1", port 5 failed: Connection refused'
    service = make_service(tmp_path, llm=None)

    def unreachable(*args: object, **kwargs: object) -> None:
        raise OperationalError("SELECT 1", {}, Exception(refused))

    for method in ("knowledge_stats", "list_incidents"):
        monkeypatch.setattr(service, method, unreachable)
    async with Client(create_server(lambda: service)) as client:
        said = {tool: await client.call_tool(tool, {}) for tool in ("knowledge_stats", "list_incidents")}
    for tool, result in said.items():
        text = result.content[0].text  # type: ignore[union-attr]
        assert result.is_error and text.startswith(f"Error executing tool {tool}: The server's knowledge"), text
        assert "Whoever runs the server should check its database setting" in text and "Connection refused" in text
        assert "Check POSTMORTEM_DATABASE_URL" not in text, text
    with shown_on("cli"):  # a command's user runs it: the advice stays theirs
        assert "Check POSTMORTEM_DATABASE_URL" in storage_failure(OperationalError("SELECT 1", {}, Exception(refused)))
