"""Images and classes: file loading with each model's preprocessing, sample photos, class names.

Data sets: ImageFolder trees, PetImages cats vs dogs, Oxford-IIIT Pet, Fashion-MNIST, splits.
"""

from advcat.data.classes import class_index, class_name, imagenet_classes
from advcat.data.fashion import fashion_mnist
from advcat.data.files import ImageFiles
from advcat.data.folders import cats_vs_dogs, image_folder
from advcat.data.images import (
    image_path,
    imagenet_samples,
    load_image,
    read_image,
    save_image,
    to_uint8,
)
from advcat.data.pets import oxford_pets
from advcat.data.photos import Sample, samples
from advcat.data.split import Subset, stratified_split
from advcat.data.tensors import TensorImages

__all__ = [
    "Sample", "class_index", "class_name", "image_path", "imagenet_classes", "imagenet_samples",
    "load_image", "read_image", "samples", "save_image", "to_uint8",
    "ImageFiles", "Subset", "TensorImages", "cats_vs_dogs", "fashion_mnist", "image_folder",
    "oxford_pets", "stratified_split",
]
