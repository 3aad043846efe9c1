"""`pulse api`: serve REST, websocket and the live page."""

from __future__ import annotations

import argparse
import logging

import uvicorn

from services.api.main import create_app
from services.api.settings import ApiSettings
from services.common.command import run_command
from services.common.http_protocol import with_header_deadline
from services.common.logging import configure_logging
from services.common.metrics import serve_metrics
from services.common.routing import Router
from services.common.settings import RedisSettings, RoutingSettings

log = logging.getLogger("services.api")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", help="overrides PULSE_API_HOST")
    p.add_argument("--port", type=int, help="overrides PULSE_API_PORT")


def run(args: argparse.Namespace) -> int:
    configure_logging()
    settings, redis_settings = ApiSettings(), RedisSettings()
    known = Router.load(RoutingSettings().routing_config or None).targets
    app = create_app(settings, redis_settings, known)
    if settings.metrics_port:
        serve_metrics("0.0.0.0", settings.metrics_port)
    uvicorn.run(app, host=args.host or settings.host, port=args.port or settings.port, log_level="warning",
                ws_ping_interval=20, ws_ping_timeout=20, http=with_header_deadline(settings.header_timeout_s))
    return 0


if __name__ == "__main__":
    raise SystemExit(run_command("pulse api", add_arguments, run))
