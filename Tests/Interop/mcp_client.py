#!/usr/bin/env python3
"""Drives Orchion's MCP server with the reference Python MCP SDK (pip `mcp`), over Streamable
HTTP (`--http URL`) or stdio (`--stdio PROGRAM ARG...`), and prints one JSON object saying what
it saw. The Swift tests start the cluster and check the summary against the CLI's own answers.

Scenarios:
  fanout   initialize, list the tools, run_task with count 10, wait_tasks (all) until every copy
           finished, page one copy's log through get_logs, read and subscribe to a task
           resource, cancel a sleeping task, and make one bad call.
  planner  run inside a task with the task's own token: fan out 2 children, wait for them, and
           try to read a task it did not start (--foreign).
"""

import argparse
import asyncio
import json
import sys
from datetime import timedelta

from mcp import ClientSession, StdioServerParameters, types
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamablehttp_client
from pydantic import AnyUrl

EXPECTED_TOOLS = {
    "list_nodes", "run_task", "wait_tasks", "get_task", "get_logs", "cancel_task",
    "send_message", "receive_messages", "get_result",
}


async def call(session, name, arguments, progress=None):
    result = await session.call_tool(
        name, arguments, read_timeout_seconds=timedelta(seconds=70), progress_callback=progress
    )
    text = result.content[0].text if result.content else ""
    if result.isError:
        return None, text
    return result.structuredContent, text


async def wait_all(session, ids, progress_seen):
    async def progress(done, total, message):
        progress_seen.append({"progress": done, "total": total, "message": message})

    rounds = 0
    while True:
        rounds += 1
        out, error = await call(
            session, "wait_tasks", {"task_ids": ids, "until": "all", "timeout_s": 50}, progress
        )
        if out is None:
            raise SystemExit(f"wait_tasks failed: {error}")
        if not out["timed_out"]:
            return out, rounds
        if rounds > 6:
            raise SystemExit(f"wait_tasks still waiting after {rounds} rounds: {out}")


async def fanout(session, args, updates):
    summary = {}
    listed = await session.list_tools()
    summary["tools"] = sorted(tool.name for tool in listed.tools)
    summary["schemas"] = {
        tool.name: {
            "input": tool.inputSchema.get("type"),
            "output": (tool.outputSchema or {}).get("type"),
            "read_only": tool.annotations.readOnlyHint if tool.annotations else None,
            "destructive": tool.annotations.destructiveHint if tool.annotations else None,
        }
        for tool in listed.tools
    }
    nodes, error = await call(session, "list_nodes", {})
    summary["nodes"] = sorted(node["node_id"] for node in nodes["nodes"]) if nodes else error

    # Ten copies, each printing enough that get_logs needs several pages.
    command = ["sh", "-c", 'echo "copy $ORCHION_INDEX of $ORCHION_COUNT"; sleep 1; seq 1 400; echo héllo wörld']
    run, error = await call(session, "run_task", {"command": command, "count": 10, "name": "mcp-fanout"})
    if run is None:
        raise SystemExit(f"run_task failed: {error}")
    ids = run["task_ids"]
    summary["task_ids"] = ids
    summary["group_id"] = run.get("group_id")
    progress_seen = []
    done, rounds = await wait_all(session, ids, progress_seen)
    summary["wait_rounds"] = rounds
    summary["finished"] = done["finished"]
    summary["states"] = [task["state"] for task in done["tasks"]]
    summary["exit_codes"] = [task["exit_code"] for task in done["tasks"]]
    summary["progress"] = progress_seen

    # One copy's log, in pages small enough to cut lines and a multibyte character.
    log_task = ids[3]
    pages, cursor, text = 0, "", ""
    while True:
        page, error = await call(
            session, "get_logs", {"task_id": log_task, "cursor": cursor, "max_bytes": 333}
        )
        if page is None:
            raise SystemExit(f"get_logs failed: {error}")
        pages += 1
        text += page["text"]
        cursor = page["next_cursor"]
        if cursor == "":
            break
        if pages > 1000:
            raise SystemExit("get_logs never ended")
    summary["log_task"] = log_task
    summary["log_text"] = text
    summary["log_pages"] = pages

    result, error = await call(session, "get_result", {"task_id": log_task})
    summary["result_state"] = result["task"]["state"] if result else error

    # A task resource, read and subscribed to while a sleeper is cancelled.
    sleeper, error = await call(session, "run_task", {"command": ["sleep", "300"], "name": "mcp-sleeper"})
    sleeper_id = sleeper["task_ids"][0]
    uri = f"orchion://tasks/{sleeper_id}"
    await session.subscribe_resource(AnyUrl(uri))
    short, _ = await call(session, "wait_tasks", {"task_ids": [sleeper_id], "timeout_s": 1})
    summary["short_wait"] = {"timed_out": short["timed_out"], "state": short["tasks"][0]["state"]}
    cancelled, error = await call(session, "cancel_task", {"task_id": sleeper_id})
    summary["cancel_error"] = error if cancelled is None else None
    ended, _ = await call(session, "wait_tasks", {"task_ids": [sleeper_id], "timeout_s": 50})
    summary["cancelled_state"] = ended["tasks"][0]["state"]
    read = await session.read_resource(AnyUrl(uri))
    summary["resource_state"] = json.loads(read.contents[0].text)["state"]
    for _ in range(50):
        if uri in updates:
            break
        await asyncio.sleep(0.1)
    summary["updated"] = uri in updates
    templates = await session.list_resource_templates()
    summary["templates"] = sorted(t.uriTemplate for t in templates.resourceTemplates)

    # Messages through a queue: sent, received once, acknowledged.
    sent = []
    for text in ["one", "two", "drei"]:
        out, error = await call(session, "send_message", {"to": "queue/mcp-test", "payload": text})
        sent.append(out["message_id"] if out else error)
    summary["sent"] = sent
    got, error = await call(session, "receive_messages", {"address": "queue/mcp-test", "max_messages": 10, "timeout_s": 10})
    summary["received"] = [m["payload"] for m in got["messages"]] if got else error
    summary["received_ids"] = [m["id"] for m in got["messages"]] if got else []
    again, error = await call(session, "receive_messages", {"address": "queue/mcp-test", "timeout_s": 1})
    summary["received_again"] = [m["payload"] for m in again["messages"]] if again else error

    # Bad calls: a tool error naming the argument, and the API's own refusal.
    _, summary["bad_count_error"] = await call(session, "run_task", {"command": ["true"], "count": 0})
    _, summary["bad_command_error"] = await call(session, "run_task", {"command": "echo hi"})
    _, summary["unknown_task_error"] = await call(session, "get_task", {"task_id": "no-such-task"})
    return summary


async def planner(session, args, updates):
    summary = {}
    run, error = await call(
        session, "run_task", {"command": ["sh", "-c", "echo child $ORCHION_INDEX"], "count": 2, "name": "child"}
    )
    if run is None:
        raise SystemExit(f"run_task failed: {error}")
    summary["children"] = run["task_ids"]
    done, _ = await wait_all(session, run["task_ids"], [])
    summary["states"] = [task["state"] for task in done["tasks"]]
    summary["parents"] = [task["parent_task_id"] for task in done["tasks"]]
    _, summary["foreign_error"] = await call(session, "get_task", {"task_id": args.foreign})
    _, summary["foreign_cancel_error"] = await call(session, "cancel_task", {"task_id": args.foreign})
    nodes, error = await call(session, "list_nodes", {})
    summary["list_nodes_error"] = None if nodes else error
    # It may pass on the secret it was given, and no other.
    _, summary["secret_denied_error"] = await call(
        session, "run_task", {"command": ["true"], "secret_env": {"S": "other"}}
    )
    passed, error = await call(
        session,
        "run_task",
        {"command": ["sh", "-c", 'test -n "$S" && echo has-the-secret'], "secret_env": {"S": "mine"}},
    )
    if passed is None:
        raise SystemExit(f"run_task with the parent's secret failed: {error}")
    await wait_all(session, passed["task_ids"], [])
    log, _ = await call(session, "get_logs", {"task_id": passed["task_ids"][0]})
    summary["secret_child_output"] = log["text"] if log else None
    return summary


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--http")
    parser.add_argument("--stdio", nargs=argparse.REMAINDER)
    parser.add_argument("--token", default="")
    parser.add_argument("--scenario", default="fanout", choices=["fanout", "planner"])
    parser.add_argument("--foreign", default="")
    args = parser.parse_args()
    updates = set()

    async def on_message(message):
        if isinstance(message, types.ServerNotification) and isinstance(
            message.root, types.ResourceUpdatedNotification
        ):
            updates.add(str(message.root.params.uri))

    scenario = fanout if args.scenario == "fanout" else planner

    async def run(read, write):
        async with ClientSession(read, write, message_handler=on_message) as session:
            init = await session.initialize()
            summary = {
                "protocol": init.protocolVersion,
                "server": init.serverInfo.name,
                "subscribe": bool(init.capabilities.resources and init.capabilities.resources.subscribe),
            }
            summary.update(await scenario(session, args, updates))
            return summary

    if args.http:
        headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
        async with streamablehttp_client(args.http, headers=headers) as (read, write, _):
            summary = await run(read, write)
    else:
        program, *rest = args.stdio
        params = StdioServerParameters(command=program, args=rest, env=None)
        async with stdio_client(params) as (read, write):
            summary = await run(read, write)
    print(json.dumps(summary))


if __name__ == "__main__":
    asyncio.run(main())
