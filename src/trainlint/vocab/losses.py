"""Loss vocabulary: PyTorch losses and where they take a weight (semantic/criteria.py and the
gate's `weighted_loss` anchor read it)."""

from __future__ import annotations

from typing import Dict, Optional, Tuple

WEIGHT = "weight"
POS_WEIGHT = "pos_weight"
LABEL_SMOOTHING = "label_smoothing"
SAMPLE_WEIGHT = "sample_weight"  # an unreduced loss multiplied by per-sample weights

# torch.nn loss class → (functional family, positional index of `weight` or None)
LOSS_CLASSES: Dict[str, Tuple[str, Optional[int]]] = {
    "CrossEntropyLoss": ("cross_entropy", 0),
    "NLLLoss": ("nll_loss", 0),
    "BCELoss": ("binary_cross_entropy", 0),
    "BCEWithLogitsLoss": ("binary_cross_entropy_with_logits", 0),
    "MultiLabelSoftMarginLoss": ("multilabel_soft_margin_loss", 0),
    "MultiMarginLoss": ("multi_margin_loss", 2),
    "MSELoss": ("mse_loss", None),
    "L1Loss": ("l1_loss", None),
    "SmoothL1Loss": ("smooth_l1_loss", None),
    "HuberLoss": ("huber_loss", None),
    "KLDivLoss": ("kl_div", None),
    "PoissonNLLLoss": ("poisson_nll_loss", None),
    "GaussianNLLLoss": ("gaussian_nll_loss", None),
    "SoftMarginLoss": ("soft_margin_loss", None),
    "HingeEmbeddingLoss": ("hinge_embedding_loss", None),
    "CosineEmbeddingLoss": ("cosine_embedding_loss", None),
    "MarginRankingLoss": ("margin_ranking_loss", None),
    "TripletMarginLoss": ("triplet_margin_loss", None),
    "CTCLoss": ("ctc_loss", None),
}
# torch.nn.functional loss → positional index of `weight` (None: no weight argument)
FUNCTIONAL_LOSSES: Dict[str, Optional[int]] = {
    "cross_entropy": 2,
    "nll_loss": 2,
    "binary_cross_entropy": 2,
    "binary_cross_entropy_with_logits": 2,
    "multilabel_soft_margin_loss": 2,
    "multi_margin_loss": 4,
    **{family: None for family, index in LOSS_CLASSES.values() if index is None},
}
# Classification losses whose `weight` holds class weights (not per-element weights).
CLASS_WEIGHTED = {"cross_entropy", "nll_loss", "multi_margin_loss"}
