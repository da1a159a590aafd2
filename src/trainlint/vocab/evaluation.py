"""Calls that evaluate a model on data, and the loaders that feed it (semantic/overlap.py)."""

DATALOADERS = frozenset(("torch.utils.data.DataLoader", "torch.utils.data.dataloader.DataLoader"))
# Methods that score a model on the data they receive (`model.evaluate(x, y)`).
EVALUATIONS = frozenset(("evaluate", "score"))
# A function whose name matches this runs evaluations (`evaluate`, `run_test`, `predict`): an
# evaluation loop over a loader there evaluates, whatever the loader is called.
EVAL_FUNCTION_PATTERN = r"eval|valid|test|predict|infer|score|inference"
# Functions under this prefix compute a figure from labels and predictions.
METRIC_PREFIX = "sklearn.metrics."
# Trainers whose `eval_dataset=` is the validation data.
EVAL_DATASET_TRAINERS = frozenset(("Trainer", "SFTTrainer", "Seq2SeqTrainer"))
# scikit-learn metrics of a classifier's predictions against the labels.
CLASSIFICATION_FIGURES = frozenset((
    "accuracy_score", "balanced_accuracy_score", "f1_score", "fbeta_score", "precision_score",
    "recall_score", "classification_report", "matthews_corrcoef", "cohen_kappa_score",
    "jaccard_score", "hamming_loss", "zero_one_loss",
))
# Words of a name or key that make it a figure (`val_acc`, `scores`, `df["test_f1"]`).
FIGURE_WORDS = frozenset((
    "acc", "accs", "accuracy", "accuracies", "loss", "losses", "score", "scores", "f1", "auc",
    "metric", "metrics", "result", "results", "perf", "performance", "error", "errors", "err",
    "mse", "rmse", "mae", "r2", "precision", "recall", "map", "iou", "dice", "bleu", "rouge",
    "corrects", "correct", "ppl", "perplexity", "wer", "mcc", "kappa", "top1", "top5",
))
# Calls that keep a model's state (a checkpoint of the best model).
STATE_SAVES = frozenset(("deepcopy", "state_dict", "save", "save_weights", "save_model", "save_pretrained",
                         "save_checkpoint", "dump", "clone", "copy"))
