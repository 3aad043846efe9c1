"""Where posts come from: files and stdin (files.py), and live streams (bluesky.py, mastodon.py, x.py) behind one
interface (base.py)."""

from services.ingest.sources.base import Incoming
from services.ingest.sources.files import open_source, read_csv, read_jsonl

__all__ = ["Incoming", "open_source", "read_csv", "read_jsonl"]
