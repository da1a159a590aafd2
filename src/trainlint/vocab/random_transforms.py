"""Transforms that change from call to call, and the words that mark evaluation data in paths.

semantic/augmentation.py recognises a random transform by these names once its import
resolves into the library (torchvision, albumentations, Keras `Random*` layers,
`tf.image.random_*`).
"""

RANDOM_TORCHVISION = frozenset((
    "ColorJitter", "RandAugment", "AutoAugment", "TrivialAugmentWide", "AugMix", "GaussianBlur",
    "ElasticTransform", "ScaleJitter", "MixUp", "CutMix",
))
RANDOM_ALBUMENTATIONS = frozenset((
    "HorizontalFlip", "VerticalFlip", "Flip", "Transpose", "Rotate", "ShiftScaleRotate", "Affine",
    "ColorJitter", "HueSaturationValue", "RGBShift", "GaussNoise", "GaussianBlur", "MotionBlur",
    "Blur", "MedianBlur", "CoarseDropout", "Cutout", "GridDropout", "Perspective",
    "ElasticTransform", "GridDistortion", "OpticalDistortion", "CLAHE", "ChannelShuffle",
    "OneOf", "SomeOf", "ISONoise", "ImageCompression", "Sharpen", "Emboss", "Downscale",
    "Posterize", "Solarize", "InvertImg", "PiecewiseAffine", "ToGray", "ChannelDropout",
))
# Keras ImageDataGenerator arguments that make it augment.
AUGMENTING_GENERATOR_ARGS = frozenset((
    "rotation_range", "width_shift_range", "height_shift_range", "shear_range", "zoom_range",
    "horizontal_flip", "vertical_flip", "brightness_range", "channel_shift_range",
))
FLOW_METHODS = frozenset(("flow", "flow_from_directory", "flow_from_dataframe"))
# A path component naming evaluation or training data: `data/val`, `test_images`.
EVAL_PATH_PATTERN = r"(^|[/\\_\-.])(val|valid|validation|test|testing|eval|holdout|dev)($|[/\\_\-.])"
TRAIN_PATH_PATTERN = r"(^|[/\\_\-.])(train|training)($|[/\\_\-.])"
