from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.api.store import PulseReader


def get_reader(request: Request) -> PulseReader:
    reader: PulseReader = request.app.state.reader
    return reader


def get_clock(request: Request) -> float:
    return float(request.app.state.clock())


Reader = Annotated[PulseReader, Depends(get_reader)]
Now = Annotated[float, Depends(get_clock)]

