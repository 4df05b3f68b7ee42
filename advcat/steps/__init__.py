"""Step rules: "transform the gradient" then "apply" it (sign, normalized Lp, Adam, MI, APGD, FMN,
DDN, Square). The last four are named `...Step`, apart from the attacks of the same name."""

from advcat.steps.adam import Adam
from advcat.steps.apgd import APGDStep, apgd_checkpoints
from advcat.steps.base import State, Step, StepInfo, batch_view, lp_norm
from advcat.steps.ddn import DDNStep
from advcat.steps.directions import l1_direction, l1_unit, l2_direction, sign_direction
from advcat.steps.fmn import FMNStep
from advcat.steps.momentum import Momentum
from advcat.steps.normalized import Normalized
from advcat.steps.sign import Sign
from advcat.steps.square import SquareStep

__all__ = [
    "APGDStep", "Adam", "DDNStep", "FMNStep", "Momentum", "Normalized", "Sign", "SquareStep", "State", "Step",
    "StepInfo",
    "apgd_checkpoints", "batch_view", "l1_direction", "l1_unit", "l2_direction", "lp_norm",
    "sign_direction",
]
