"""Pattern 4, a model with a tool of your own: the agent offers the model `get_weather`, runs
each call the model makes with a Python function, and streams the answer as it comes.

    MICRO_AI_PROVIDER=openai MICRO_AI_API_KEY=... python examples/python/ai_tools.py "Is it warm in Rome?"
"""

from __future__ import annotations

import sys
from typing import Any

import go_micro

WEATHER: go_micro.ToolSpec = {
    "name": "get_weather",
    "description": "The weather now in a city: sky and temperature in degrees Celsius.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


def get_weather(call: go_micro.ToolCall) -> dict[str, Any]:
    """Runs the model's `get_weather` calls (a real one would ask a weather service)."""
    return {"city": call["arguments"]["city"], "sky": "sunny", "celsius": 21}


def main() -> None:
    agent = go_micro.Agent(go_micro.Model(), [WEATHER], handler=get_weather)
    prompt = sys.argv[1] if len(sys.argv) > 1 else "What is the weather in Paris?"
    for event in agent.stream(prompt):
        if event["type"] == "text":
            print(event["text"], end="", flush=True)
        elif event["type"] == "tool_result":
            call = event["call"]
            print(f"[{call['name']}({call['arguments']}) -> {call.get('result', call.get('error'))}]")
    print()


if __name__ == "__main__":
    main()
