"""Measuring a bundle: labelled data, metrics, the calibration and share-correction checks fitted on held-out
labels, and `pulse eval`. Training and research use it; serving (models/runtime) does not."""
