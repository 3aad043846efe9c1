"""The ONNX Runtime stance model infer serves: the same predictor evaluation uses (models/predictor.py)."""

from models.predictor import StanceModel, choose_providers

__all__ = ["StanceModel", "choose_providers"]
