"""Calls that evaluate a model on data, and the loaders that feed it (semantic/overlap.py)."""

DATALOADERS = frozenset(("torch.utils.data.DataLoader", "torch.utils.data.dataloader.DataLoader"))
# Methods that score a model on the data they receive (`model.evaluate(x, y)`).
EVALUATIONS = frozenset(("evaluate", "score"))
# Functions under this prefix compute a figure from labels and predictions.
METRIC_PREFIX = "sklearn.metrics."
# Trainers whose `eval_dataset=` is the validation data.
EVAL_DATASET_TRAINERS = frozenset(("Trainer", "SFTTrainer", "Seq2SeqTrainer"))
