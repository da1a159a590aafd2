"""Methods that fit a transformer's statistics, and what to call instead on evaluation data."""

REFITTING = frozenset(("fit", "fit_transform", "fit_on_texts", "adapt"))
# Label encoders are harmless to fit once on all labels (TL303 ignores them), but refitting
# one on the test labels renumbers the classes.
LABEL_ENCODERS = frozenset(("LabelEncoder", "LabelBinarizer", "MultiLabelBinarizer", "OrdinalEncoder"))
TRANSFORM_FOR = {"fit": "transform", "fit_transform": "transform",
                 "fit_on_texts": "texts_to_sequences", "adapt": "the layer itself"}
