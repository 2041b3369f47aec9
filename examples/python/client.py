"""Calls helloworld (the Rust or the Python one) every way the client offers: a blocking
call, an awaited call, a stream, an error, and a published message.

    python examples/python/client.py
"""

from __future__ import annotations

import asyncio

import go_micro


def main() -> None:
    client = go_micro.Client()
    print(client.call("helloworld", "Helloworld.Call", {"name": "Alice"}, timeout=5))

    try:
        client.call("helloworld", "Helloworld.Missing", {})
    except go_micro.MicroError as err:
        print(f"as expected, {type(err).__name__} {err.code}: {err.detail}")

    try:
        with client.stream("helloworld", "Helloworld.Stream", {"name": "Bob", "count": 3}) as stream:
            for reply in stream:
                print(reply)
    except go_micro.MicroError as err:
        print(f"no stream here ({err.code}): {err.detail}")

    async def concurrently() -> None:
        replies = await asyncio.gather(
            *(client.acall("helloworld", "Helloworld.Call", {"name": f"caller {i}"}) for i in range(3))
        )
        print(replies)
        await client.apublish("greetings", {"from": "client.py"})

    asyncio.run(concurrently())


if __name__ == "__main__":
    main()
