"""The `pulse` command: one entry point for every service, the local stack, training and benchmarks."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

COMMANDS = {
    "up": ("services.dev.up", "start broker, Redis, all four services and a replay"),
    "ingest": ("services.ingest.__main__", "replay a file/stdin into Kafka, or serve POST /v1/tweets"),
    "infer": ("services.infer.__main__", "score raw tweets with the ONNX model in micro-batches"),
    "aggregate": ("services.aggregate.__main__", "count scored tweets into Redis (faust worker)"),
    "api": ("services.api.__main__", "serve REST, websocket and the live page"),
    "train": ("models.training.cli", "train a model bundle (needs the 'train' extra: torch)"),
    "eval": ("models.evaluation.cli", "evaluate a bundle on a labelled CSV (Tweet,Target,Stance): JSON figures"),
    "bench": ("services.dev.bench", "inference throughput per batch size, as a Markdown table"),
    "labels": ("services.api.labels_export", "export the reviewers' labels as training data (pulse labels export)"),
    "gpu-check": ("services.dev.gpu_check", "the served graph on a GPU (CUDA): parity with the CPU, pairs/s per batch"),
    "soak": ("services.dev.soak", "a long replay through pulse up with every process's memory watched"),
}


def installed(module: str) -> bool:
    """Whether a command's module is here: the serving image leaves out the dev tooling and training."""
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # its package is absent
        return False


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="pulse", description="Stance Pulse: live stance toward parties")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        if not installed(module):
            continue
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(module=module)
        if argv and argv[0] == name:  # import only the chosen command (faust, torch… load only when used)
            importlib.import_module(module).add_arguments(p)
    args = parser.parse_args(argv)
    from services.common.command import guarded  # after parsing: `--help` stays light

    return int(guarded(f"pulse {args.command}", importlib.import_module(args.module).run, args))


if __name__ == "__main__":
    sys.exit(main())
