"""Images and classes: file loading with each model's preprocessing, sample photos, class names."""

from advcat.data.classes import class_index, class_name, imagenet_classes
from advcat.data.images import (
    image_path,
    imagenet_samples,
    load_image,
    read_image,
    save_image,
    to_uint8,
)
from advcat.data.photos import Sample, samples

__all__ = [
    "Sample", "class_index", "class_name", "image_path", "imagenet_classes", "imagenet_samples",
    "load_image", "read_image", "samples", "save_image", "to_uint8",
]
