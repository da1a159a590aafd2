"""Calls that split data into training and evaluation parts, and calls that copy rows.

semantic/splits.py recognises splits by these names, semantic/stratification.py asks
whether a split keeps the class mix, semantic/resampling.py whether rows are copied before
one. Qualified names resolve through the file's imports.
"""

TRAIN_TEST_SPLIT = frozenset(("sklearn.model_selection.train_test_split",))
RANDOM_SPLIT = frozenset(("torch.utils.data.random_split", "torch.utils.data.dataset.random_split"))
SUBSET = frozenset(("torch.utils.data.Subset", "torch.utils.data.dataset.Subset"))
# Cross-validation functions and searches split their data internally.
CV_FUNCTIONS = frozenset((
    "cross_val_score", "cross_validate", "cross_val_predict", "learning_curve",
    "validation_curve", "permutation_test_score",
))
SEARCHES = frozenset((
    "GridSearchCV", "RandomizedSearchCV", "HalvingGridSearchCV", "HalvingRandomSearchCV",
    "BayesSearchCV", "RFECV",
))
# Calls whose row arguments show that slices of one array are training / evaluation parts.
SPLIT_CONSUMERS = frozenset((
    "fit", "fit_transform", "partial_fit", "train_on_batch", "evaluate", "score", "predict",
    "predict_proba", "test_on_batch", "DataLoader", "TensorDataset", "Dataset", "DMatrix",
))

# Splitters that ignore the class mix, and the stratified splitter to use instead.
UNSTRATIFIED_SPLITTERS = frozenset((
    "sklearn.model_selection.KFold", "sklearn.model_selection.ShuffleSplit",
    "sklearn.model_selection.RepeatedKFold",
))
STRATIFIED = {
    "KFold": "StratifiedKFold", "ShuffleSplit": "StratifiedShuffleSplit",
    "RepeatedKFold": "RepeatedStratifiedKFold",
}
# scikit-learn's own searches, whose `cv=` splitter is used like a cross-validation call's.
SKLEARN_SEARCHES = frozenset(("GridSearchCV", "RandomizedSearchCV", "HalvingGridSearchCV", "HalvingRandomSearchCV"))

# Copies of rows: resampling with replacement, and stacking arrays along the rows.
RESAMPLE_FUNCTIONS = frozenset(("sklearn.utils.resample",))
ROW_CONCATENATIONS = frozenset((
    "numpy.concatenate", "numpy.vstack", "numpy.append", "numpy.row_stack", "pandas.concat",
    "torch.cat", "torch.concat", "tensorflow.concat",
))
