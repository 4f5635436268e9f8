"""AG-UI: the real ``HttpAgent`` (``@ag-ui/client``, in Node) against the React example app.

The app runs on the real stack (``ss.from_openai`` against the replay server speaking the
Responses API); the agent rebuilds the state from our STATE_SNAPSHOT / STATE_DELTA events
and must end with the validated value. The replay server holds the model's output at gates
which the test opens only after the agent showed the partial state (causality, not timing).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from schemastream.patch import apply_patch

from .helpers import ReplayBackend, ServerThread, load_module, make_ideas, wait_for
from .npm import REACT_EXAMPLE, NodeLines, requires_npm

pytestmark = [requires_npm]


def load_react_example() -> Any:
    return load_module(REACT_EXAMPLE / "app.py", "schemastream_example_react_app")


REACT_APP = load_react_example()


@pytest.fixture
def site(backend: ReplayBackend) -> Iterator[str]:
    with ServerThread(REACT_APP.create_app(client=backend.client, model="gpt-4o-mini")) as s:
        yield s.url


def run_agent(url: str, count: int, *extra: str) -> NodeLines:
    return NodeLines("agui-client.mjs", url + "/api/agui", json.dumps({"count": count}), *extra)


def test_http_agent_rebuilds_the_validated_value_from_our_events(
    backend: ReplayBackend, site: str
) -> None:
    ideas = make_ideas(3)
    gates = backend.prepare(ideas, [(0, "blurb", 0.5), (2, "title", 0.5)])
    events: list[str] = []
    states: list[Any] = []
    done: dict[str, Any] = {}
    with run_agent(site, 3) as agent:
        for line in agent:
            if "event" in line:
                events.append(line["event"])
            elif "state" in line:
                s = line["state"]
                states.append(s)
                # held with idea 0's blurb half written: the agent has that partial state
                if len(s) == 1 and s[0].get("blurb") and not gates[0].is_set():
                    assert ideas[0]["blurb"].startswith(s[0]["blurb"])
                    assert s[0]["blurb"] != ideas[0]["blurb"]
                    gates[0].set()
                if len(s) == 3 and s[2].get("title") and not gates[1].is_set():
                    assert s[:2] == ideas[:2] and ideas[2]["title"].startswith(s[2]["title"])
                    assert s[2]["title"] != ideas[2]["title"]
                    gates[1].set()
            else:
                done = line["done"]
    assert all(g.is_set() for g in gates), states  # both partial states were observed
    assert done["error"] is None and done["runError"] is None
    assert done["result"] == ideas and done["finalState"] == ideas
    assert states[-1] == ideas
    assert len({json.dumps(s) for s in states[:-1]}) >= 2  # intermediate states
    assert events[:2] == ["RUN_STARTED", "STATE_SNAPSHOT"] and events[-1] == "RUN_FINISHED"
    assert set(events[2:-1]) == {"STATE_DELTA"}
    # HttpAgent's ids are echoed
    ids = {"threadId": "thread-from-node", "runId": "run-from-node"}
    assert done["ids"] == {"RUN_STARTED": ids, "RUN_FINISHED": ids}


def test_wire_format_is_strict_ag_ui(backend: ReplayBackend, site: str) -> None:
    from ag_ui.core import RunAgentInput

    ideas = make_ideas(3)
    backend.prepare(ideas, [])
    body = {
        "threadId": "t-1",
        "runId": "r-1",
        "state": {},
        "messages": [],
        "tools": [],
        "context": [],
        "forwardedProps": {"count": 3},
    }
    RunAgentInput.model_validate(body)  # what HttpAgent sends
    r = httpx.post(
        site + "/api/agui", json=body, headers={"accept": "text/event-stream"}, timeout=20
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = [json.loads(f[len("data: ") :]) for f in r.text.split("\n\n") if f]
    assert events[0] == {"type": "RUN_STARTED", "threadId": "t-1", "runId": "r-1"}
    assert events[1]["type"] == "STATE_SNAPSHOT" and set(events[1]) == {"type", "snapshot"}
    state = events[1]["snapshot"]
    for ev in events[2:-1]:
        assert ev["type"] == "STATE_DELTA" and set(ev) == {"type", "delta"}
        assert {op["op"] for op in ev["delta"]} <= {"add", "replace", "remove"}  # no "append"
        state = apply_patch(state, ev["delta"])
    assert events[-1] == {
        "type": "RUN_FINISHED",
        "threadId": "t-1",
        "runId": "r-1",
        "result": ideas,
        "outcome": {"type": "success"},
    }
    assert state == ideas


def test_validation_failure_is_a_run_error_with_our_code(backend: ReplayBackend, site: str) -> None:
    ideas = make_ideas(3)
    backend.prepare(ideas, [], fail=True)
    events: list[str] = []
    done: dict[str, Any] = {}
    with run_agent(site, 3) as agent:
        for line in agent:
            if "event" in line:
                events.append(line["event"])
            elif "done" in line:
                done = line["done"]
    assert events[0] == "RUN_STARTED" and events[-1] == "RUN_ERROR"
    err = done["runError"]
    assert set(err) == {"type", "message", "code"}  # the event has message and code only
    assert err["code"] == "validation"
    assert "validation" in err["message"] and "blurb" in err["message"]
    assert done["result"] is None
    assert done["finalState"][0] == ideas[0]  # what was valid stays
    # on the wire: exactly {type, message, code}
    backend.prepare(ideas, [], fail=True)
    r = httpx.post(site + "/api/agui", json={"threadId": "t", "runId": "r"}, timeout=20)
    last = json.loads(r.text.split("\n\n")[-2][len("data: ") :])
    assert last == {"type": "RUN_ERROR", "message": err["message"], "code": "validation"}


def test_abort_run_cuts_the_upstream_request(backend: ReplayBackend, site: str) -> None:
    ideas = make_ideas(4)
    backend.prepare(ideas, [(1, "blurb", 0.5)])  # never opened: only the abort ends it
    with run_agent(site, 4, "2") as agent:
        lines = list(agent)
    done = lines[-1]["done"]
    # HttpAgent reports its own abort as a client-side RUN_ERROR
    assert done["result"] is None and done["runError"]["code"] == "abort"
    wait_for(backend.upstream_cut, 5, "upstream stream cut after abortRun")
    assert "RUN_FINISHED" not in [line.get("event") for line in lines]


def test_reasoning_messages_become_ag_ui_reasoning_events() -> None:
    # The core sends no reasoning yet (another change adds it); the mapping is checked on wire
    # messages, through ag-ui-protocol's models (which reject a wrong shape).
    from schemastream.web import AGUIResponse
    from schemastream.web.encoder import WireEncoder, WireMessage

    resp = AGUIResponse(iter(()), thread_id="t", run_id="r")
    batch = [
        WireMessage(1, "reasoning", {"delta": "Think"}),
        WireMessage(2, "reasoning", {"delta": "ing."}),
        WireMessage(3, "patch", {"ops": [{"op": "replace", "path": "", "value": []}]}),
        WireMessage(4, "final", {"ops": [{"op": "add", "path": "/0", "value": 1}]}),
    ]
    body = resp.render_batch(batch, WireEncoder(rfc6902=True)).decode()
    events = [json.loads(f[len("data: ") :]) for f in body.split("\n\n") if f]
    mid = events[1]["messageId"]
    assert events == [
        {"type": "RUN_STARTED", "threadId": "t", "runId": "r"},
        {"type": "REASONING_START", "messageId": mid},
        {"type": "REASONING_MESSAGE_START", "messageId": mid, "role": "reasoning"},
        {"type": "REASONING_MESSAGE_CONTENT", "messageId": mid, "delta": "Think"},
        {"type": "REASONING_MESSAGE_CONTENT", "messageId": mid, "delta": "ing."},
        {"type": "REASONING_MESSAGE_END", "messageId": mid},
        {"type": "REASONING_END", "messageId": mid},
        {"type": "STATE_SNAPSHOT", "snapshot": []},
        {"type": "STATE_DELTA", "delta": [{"op": "add", "path": "/0", "value": 1}]},
        {
            "type": "RUN_FINISHED",
            "threadId": "t",
            "runId": "r",
            "result": [1],
            "outcome": {"type": "success"},
        },
    ]


def test_http_agent_accepts_our_reasoning_and_text_events() -> None:
    # The real app, client and stream; the provider plays reasoning, a sentence and the ideas
    # (tests/core/scripted.py). HttpAgent verifies the event sequence (start/content/end per
    # message id) and fails the run on a violation.
    import schemastream as ss
    from schemastream.contract import Delta

    from ..core.scripted import ScriptProvider, finish, json_deltas

    ideas = make_ideas(2)
    script = [
        Delta(reasoning="Two ideas,"),
        Delta(reasoning=" short ones."),
        Delta(prose="Here they are."),
        *json_deltas({"items": ideas}, size=7),
        finish(),
    ]
    app = REACT_APP.create_app(client=ss.Client(ScriptProvider(script)))
    events: list[str] = []
    done: dict[str, Any] = {}
    with ServerThread(app) as s, run_agent(s.url, 2) as agent:
        for line in agent:
            if "event" in line:
                events.append(line["event"])
            elif "done" in line:
                done = line["done"]
    assert done["error"] is None and done["runError"] is None
    assert done["result"] == ideas and done["finalState"] == ideas
    runs = [e for i, e in enumerate(events) if i == 0 or events[i - 1] != e]
    assert runs[:9] == [
        "RUN_STARTED",
        "REASONING_START",
        "REASONING_MESSAGE_START",
        "REASONING_MESSAGE_CONTENT",
        "REASONING_MESSAGE_END",
        "REASONING_END",
        "TEXT_MESSAGE_START",
        "TEXT_MESSAGE_CONTENT",
        "TEXT_MESSAGE_END",
    ]
    assert runs[-1] == "RUN_FINISHED"
