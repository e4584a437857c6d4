"""S6 against the real server (`manage.py serve`, uvicorn as shipped): a page-like client that
sends a huge frame or floods the socket is closed, and the server goes on serving."""

from __future__ import annotations

import asyncio

import websockets

from tests.support.server import running_server


async def _connected(url: str):
    ws = await websockets.connect(
        url.replace("http://", "ws://") + "/ws/launches/whatsapp-saas/",
        origin=url,
        compression=None,
        max_size=None,
        open_timeout=10,
    )
    snapshot = await asyncio.wait_for(ws.recv(), 10)
    assert '"type":"snapshot"' in snapshot.replace(" ", "")
    return ws


async def _close_code(ws) -> int:
    try:
        while True:
            await asyncio.wait_for(ws.recv(), 5)
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else closed.sent.code


def test_a_huge_frame_or_a_flood_closes_the_socket_and_the_server_carries_on():
    with running_server() as server:

        async def scenario():
            big = await _connected(server.url)
            await big.send('{"type": "resync", "pad": "' + "x" * (1 << 20) + '"}')
            assert await _close_code(big) == 1009  # message too big, refused by the server

            flood = await _connected(server.url)
            for _ in range(50):
                await flood.send('{"type": "resync"}')
            assert await _close_code(flood) == 1008  # policy violation, by the consumer

            # several pages flooding at once, well past the limit: messages still arrive after
            # the consumer closed them (a second close used to be a traceback each)
            async def flooder():
                ws = await _connected(server.url)
                try:
                    for _ in range(200):
                        await ws.send('{"type": "resync"}')
                except websockets.ConnectionClosed:
                    pass
                return await _close_code(ws)

            assert set(await asyncio.gather(*[flooder() for _ in range(5)])) == {1008}

            calm = await _connected(server.url)  # everyone else is still served
            await calm.close()

        asyncio.run(asyncio.wait_for(scenario(), 60))
        log = server.log.read_text()
        # a client we closed is not an error of ours (issue 10 §8)
        assert "Traceback" not in log and "RuntimeError" not in log, log[-2000:]
