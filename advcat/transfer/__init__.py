"""Transfer learning: fine-tune a pretrained backbone into a pixel-space classifier for new data.

`finetune` is the front door; the metrics score any model on held-out data.
"""

from advcat.transfer.api import finetune
from advcat.transfer.config import STRATEGIES, TrainConfig
from advcat.transfer.freeze import backbone_blocks
from advcat.transfer.metrics import (
    classification_report,
    confusion_matrix,
    per_class_accuracy,
    predict,
    report,
    topk_accuracy,
)
from advcat.transfer.result import FineTuned

__all__ = [
    "STRATEGIES", "FineTuned", "TrainConfig", "backbone_blocks", "classification_report",
    "confusion_matrix", "finetune", "per_class_accuracy", "predict", "report", "topk_accuracy",
]
