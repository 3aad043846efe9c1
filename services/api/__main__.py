"""`pulse api`: serve REST, websocket and the live page."""

from __future__ import annotations

import argparse
import logging

import uvicorn

from models.runtime.bundle import BundleError, resolve_bundle
from models.runtime.calibration import Calibration
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


def served_model(configured: str) -> tuple[Calibration | None, set[str] | None]:
    """The served bundle's measured error rates and the targets it scores (its meta.json only: the API runs no
    model); (None, None) without a bundle."""
    try:
        bundle = resolve_bundle(configured)
    except BundleError as exc:
        log.warning("no model bundle to read error rates from (%s): corrected shares are off", exc)
        return None, None
    calibration = Calibration.from_meta(bundle.meta.calibration, bundle.meta.labels)
    if calibration is None:
        log.warning("bundle %s has no calibration: corrected shares are off", bundle.meta.version)
    return calibration, set(bundle.meta.targets)


def run(args: argparse.Namespace) -> int:
    configure_logging()
    settings, redis_settings = ApiSettings(), RedisSettings()
    known = Router.load(RoutingSettings().routing_config or None).targets
    calibration, model_targets = served_model(settings.bundle)
    app = create_app(settings, redis_settings, known, calibration=calibration, model_targets=model_targets)
    if settings.metrics_port:
        serve_metrics("0.0.0.0", settings.metrics_port)
    uvicorn.run(app, host=args.host or settings.host, port=args.port or settings.port, log_level="warning",
                ws_ping_interval=20, ws_ping_timeout=20, http=with_header_deadline(settings.header_timeout_s))
    return 0


if __name__ == "__main__":
    raise SystemExit(run_command("pulse api", add_arguments, run))
