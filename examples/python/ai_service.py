"""Pattern 3, a service that uses a model: `Assistant.Ask` answers a question with the model
that MICRO_AI_PROVIDER, MICRO_AI_MODEL, MICRO_AI_API_KEY and MICRO_AI_BASE_URL name.

    MICRO_AI_PROVIDER=anthropic MICRO_AI_API_KEY=... python examples/python/ai_service.py
    micro call assistant Assistant.Ask '{"question": "What is a service mesh?"}'
"""

from __future__ import annotations

from dataclasses import dataclass

import go_micro

service = go_micro.Service("assistant")
model = go_micro.Model()


@dataclass
class Question:
    """What to ask."""

    question: str


@dataclass
class Answer:
    """The model's answer."""

    answer: str


@service.handle("Assistant.Ask")
async def ask(req: Question) -> Answer:
    """Answers a question in a sentence or two.

    @example {"question": "What is a service mesh?"}
    """
    response = await model.agenerate(req.question, system="Answer in a sentence or two.")
    return Answer(answer=response["text"])


if __name__ == "__main__":
    service.run()
