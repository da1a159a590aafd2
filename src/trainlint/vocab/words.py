"""Word lists shared by several rules' prefilter groups (see gate/prefilter.py).

Each list names, as they appear in source text, the things a fact builder recognises: a
rule whose check needs one of them lists the words in its `triggers` or `requires`.
"""


class Caseless(tuple):
    """A `requires` group whose words match in any case (`Loss`, `loss`, `LOSS`)."""


def caseless(*words: str) -> Caseless:
    return Caseless(words)


# analysis/leakage.py `classify`: data-dependent transformers of scikit-learn and Keras
TRANSFORMER_WORDS = (
    "StandardScaler", "MinMaxScaler", "RobustScaler", "MaxAbsScaler", "QuantileTransformer",
    "PowerTransformer", "KBinsDiscretizer", "SplineTransformer", "SimpleImputer", "KNNImputer",
    "IterativeImputer", "OneHotEncoder", "OrdinalEncoder", "TargetEncoder", "PCA", "TruncatedSVD",
    "NMF", "FastICA", "FactorAnalysis", "SelectKBest", "SelectPercentile", "SelectFpr",
    "SelectFdr", "SelectFwe", "GenericUnivariateSelect", "VarianceThreshold", "RFE",
    "SelectFromModel", "SequentialFeatureSelector", "TfidfVectorizer", "CountVectorizer",
    "TfidfTransformer", "DictVectorizer", "Tokenizer", "TextVectorization", "Normalization",
    "StringLookup", "IntegerLookup", "Discretization", "CategoryEncoding", "ColumnTransformer",
    "make_column_transformer", "FeatureUnion", "make_union",
)
# analysis/targets.py: evidence that a target is categorical
CLASSIFICATION_METRIC_WORDS = (
    "accuracy_score", "f1_score", "fbeta_score", "precision_score", "recall_score",
    "roc_auc_score", "classification_report", "confusion_matrix", "log_loss", "matthews_corrcoef",
    "cohen_kappa_score", "precision_recall_curve", "roc_curve", "precision_recall_fscore_support",
    "hamming_loss", "jaccard_score", "ConfusionMatrixDisplay",
)
CLASSIFIER_WORDS = (
    "LogisticRegression", "SVC", "NB", "Perceptron", "DiscriminantAnalysis", "NearestCentroid",
    "Classifier",
)
CATEGORICAL_WORDS = (
    "weight", "bincount", "Counter", "to_categorical", "factorize", "get_dummies", "value_counts",
    "LabelEncoder", "LabelBinarizer", "OrdinalEncoder", "category", "crossentropy", "Crossentropy",
    "hinge",
) + CLASSIFICATION_METRIC_WORDS + CLASSIFIER_WORDS
# libraries whose transformers analysis/leakage.py knows
TRANSFORMER_LIBRARY_WORDS = (
    "sklearn", "keras", "tensorflow", "category_encoders", "feature_engine", "tf", "imblearn",
)
# analysis/selection.py: what every kind of model selection is written with — a best-so-far
# comparison (`<`, `>`, `max(a, b)`), a pick (`max`, `argmin`, `idxmax`), HF's
# load_best_model_at_end, a plateau schedule, a Keras / Lightning callback, a search. Loose on
# purpose (`<` and `>` are nearly everywhere): the `selection` anchor does the narrowing, and
# these words only have to be necessary.
SELECTION_WORDS = ("<", ">", "max", "min", "best", "Best", "ReduceLROnPlateau", "EarlyStopping",
                   "ModelCheckpoint", "SearchCV")
