"""What authors write because their classes are imbalanced (semantic/imbalance.py)."""

WEIGHT_FUNCTIONS = frozenset(("compute_class_weight", "compute_sample_weight"))
RESAMPLERS = frozenset((
    "SMOTE", "ADASYN", "BorderlineSMOTE", "SVMSMOTE", "KMeansSMOTE", "SMOTENC", "SMOTEN",
    "RandomOverSampler", "RandomUnderSampler", "NearMiss", "TomekLinks", "ClusterCentroids",
    "EditedNearestNeighbours", "SMOTEENN", "SMOTETomek", "OneSidedSelection",
))
IMBALANCE_KEYWORDS = frozenset(("class_weight", "scale_pos_weight", "auto_class_weights", "class_weights"))

# Weighted sampling or class weights by resolved import: the narrow evidence that a labelled
# torch dataset is imbalanced (ImbalanceFacts.weighting_by_import).
WEIGHTING_CALLS = {
    "torch.utils.data.WeightedRandomSampler": "WeightedRandomSampler",
    "torch.utils.data.sampler.WeightedRandomSampler": "WeightedRandomSampler",
    "sklearn.utils.class_weight.compute_class_weight": "compute_class_weight",
    "sklearn.utils.compute_class_weight": "compute_class_weight",
}
# Torch losses that take per-class `weight=` / `pos_weight=`.
WEIGHTED_TORCH_LOSSES = frozenset((
    "CrossEntropyLoss", "NLLLoss", "BCEWithLogitsLoss", "BCELoss", "cross_entropy", "nll_loss",
    "binary_cross_entropy_with_logits",
))
