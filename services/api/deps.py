from __future__ import annotations

import time
from typing import Annotated

from fastapi import Depends, Request

from services.api.broadcast import Broadcaster
from services.api.store import PulseReader


def get_reader(request: Request) -> PulseReader:
    return request.app.state.reader  # type: ignore[no-any-return]


def get_clock(request: Request) -> float:
    return float(request.app.state.clock())


Reader = Annotated[PulseReader, Depends(get_reader)]
Now = Annotated[float, Depends(get_clock)]


def broadcaster(app_state: object) -> Broadcaster:
    return app_state.broadcaster  # type: ignore[attr-defined,no-any-return]


def wall_clock() -> float:
    return time.time()
