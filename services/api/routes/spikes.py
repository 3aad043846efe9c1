from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter

from services.api import spikes as rule
from services.api.deps import Now, Reader
from services.api.errors import error_responses
from services.api.schemas import Spikes
from services.api.store import PulseReader
from services.common.windows import plan_history

router = APIRouter(prefix="/v1/spikes", tags=["pulse"])
RULE = (f"the latest 5-minute point against the {rule.BASELINE_POINTS} before it: volume robust z-score ≥ {rule.Z} "
        f"with ≥ {rule.MIN_VOLUME} posts, or net stance moved ≥ {rule.NET_SHIFT} with ≥ {rule.MIN_VOLUME} "
        "stance-taking posts")


async def current(reader: PulseReader, now: float) -> dict[str, Any]:
    """The spikes now (a `Spikes` body): what the route answers and the websocket pushes."""
    plan = plan_history(now, (rule.BASELINE_POINTS + 1) * rule.STEP_S, rule.STEP_S)
    found = []
    for target, party in sorted((await reader.targets()).items()):
        points = await reader.history("target", target, plan)
        for spike in rule.detect(target, party, points):
            found.append({**spike.as_dict(), "tweets": f"/v1/tweets/recent?target={quote(target)}"})
    return {"at": round(now, 3), "rule": RULE, "spikes": found}


@router.get("", response_model=Spikes, responses=error_responses(503))
async def spikes(reader: Reader, now: Now) -> dict[str, Any]:
    """Targets whose latest 5 minutes depart from their own last 2 hours (the rule is in `rule`), each with a link
    to the posts behind it. The websocket pushes the same body (`type: spikes`) when it changes."""
    return await current(reader, now)
