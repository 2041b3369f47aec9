"""Pattern 5, a model run on events: for each message on `signups`, an agent with every
service in the registry as its tools decides how to welcome the new user, and does it.

    MICRO_AI_PROVIDER=openai MICRO_AI_API_KEY=... python examples/python/ai_events.py
    micro broker publish signups '{"name": "Ada", "email": "ada@example.com"}'
"""

from __future__ import annotations

import json

import go_micro

service = go_micro.Service("onboarding")
agent = go_micro.Agent(go_micro.Model(), go_micro.Tools(), max_steps=5)


@service.subscribe("signups")
async def welcome(message: go_micro.Message) -> None:
    answer = await agent.agenerate(
        f"A user signed up: {json.dumps(message.payload)}. Welcome them with the tools you have.",
        system="You run the onboarding of new users. Be brief.",
    )
    for call in answer["tool_calls"]:
        print(f"called {call['name']} {json.dumps(call['arguments'])}: {call.get('result', call.get('error'))}")
    print(f"{message.topic}: {answer['text']}", flush=True)


if __name__ == "__main__":
    service.run()
