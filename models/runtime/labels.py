"""The stance labels, declared once: the data readers, the bundle, the messages and the API all read these."""

from __future__ import annotations

from typing import Literal, get_args

Label = Literal["FAVOR", "AGAINST", "NONE"]
LABELS: tuple[Label, ...] = get_args(Label)
