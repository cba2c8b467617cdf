"""The postmortem and five_whys prompts take an incident id as clients send it: the JSON text of the arguments
(`{"incident_id": "INC-1"}`) or of the id (`"INC-1"`, quotes and all), as tools take it. A prompt asked so answered
"no incident", where get_incident read the same value."""

import json

import pytest
from mcp import Client

from agent_postmortem.service.facade import PostmortemService
from tests.factories import CAPTURE, server_for

pytestmark = pytest.mark.anyio


async def test_prompts_and_tools_read_an_incident_id_wrapped_in_json(service: PostmortemService) -> None:
    async with Client(server_for(service)) as client:
        incident_id = (await client.call_tool("capture_incident", CAPTURE)).structured_content["id"]  # type: ignore[index]
        for sent in (json.dumps({"incident_id": incident_id}), json.dumps(incident_id), f' {{"id": "{incident_id}"}}'):
            tool = await client.call_tool("get_incident", {"incident_id": sent})
            assert not tool.is_error and tool.structured_content["id"] == incident_id, sent  # type: ignore[index]
            for name in ("postmortem", "five_whys"):
                prompt = await client.get_prompt(name, {"incident_id": sent})
                assert CAPTURE["title"] in prompt.messages[-1].content.text or any(  # type: ignore[union-attr]
                    CAPTURE["title"] in m.content.text  # type: ignore[union-attr]
                    for m in prompt.messages
                ), (name, sent)
