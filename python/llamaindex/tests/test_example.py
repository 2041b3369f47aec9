"""examples/python/llamaindex_agent.py runs its agent loop against the live gateway."""

from go_micro_toolkit.testing import run_example


def test_the_example_agent_calls_helloworld(gateway):
    printed = run_example("llamaindex_agent.py", gateway)
    assert "tool helloworld_Helloworld_Call({'name': 'Alice'}) -> {\"msg\": \"Hello Alice\"}" in printed
