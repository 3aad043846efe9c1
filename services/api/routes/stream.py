from __future__ import annotations

from fastapi import APIRouter, WebSocket, WebSocketDisconnect, status

from services.api.broadcast import snapshot_message
from services.common.windows import WINDOWS

router = APIRouter(tags=["pulse"])


@router.websocket("/v1/pulse/stream")
async def stream(ws: WebSocket, window: str = "15m") -> None:
    """A snapshot on connect, then one on each update (throttled) and at least every heartbeat; the spikes on
    connect and whenever they change."""
    await ws.accept()
    broadcaster = ws.app.state.broadcaster
    if window not in WINDOWS:
        await ws.send_json({"type": "error", "detail": f"window must be one of {', '.join(WINDOWS)}"})
        await ws.close(code=status.WS_1008_POLICY_VIOLATION)
        return
    if not broadcaster.admit():
        await ws.send_json({"type": "error", "detail": "too many subscribers on this replica; retry later"})
        await ws.close(code=status.WS_1013_TRY_AGAIN_LATER)
        return
    try:
        await ws.send_json(snapshot_message(await broadcaster.snapshots.get(window)))
        spikes = await broadcaster.spike_message()
        if spikes is not None:
            await ws.send_json(spikes)
        broadcaster.add(ws, window)
        while True:
            await ws.receive_text()  # clients need not send; this notices the disconnect
    except WebSocketDisconnect:
        pass
    finally:
        broadcaster.remove(ws)
        broadcaster.release()
