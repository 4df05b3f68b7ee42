"""Inputs that used to pass silently or crash inside torch are refused up front, naming the argument.

A model returning a tuple, a model returning probabilities, images of the wrong dtype or channel
count, NaN synthesis weights, NaN or zero normalization, a float sample index and a text seed.
"""

from __future__ import annotations

import warnings

import pytest
import torch
from torch import Tensor, nn

import advcat
from advcat import objectives as O
from advcat import steps as S
from advcat import threats as T


def _x(n: int = 2, channels: int = 3) -> Tensor:
    return torch.rand(n, channels, 16, 16, generator=torch.Generator().manual_seed(0))


def _optimize(model: nn.Module, x: Tensor, **options: object) -> advcat.Result:
    goal = O.CrossEntropy(torch.zeros(x.shape[0], dtype=torch.long))
    return advcat.optimize(model, x, goal, threat=T.Linf(4 / 255), step=S.Sign(1 / 255), steps=1,
                           **options)  # type: ignore[arg-type]


class _WithAux(nn.Module):
    """A network whose forward returns (logits, aux), as many detection-style nets do."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        logits = self.net(x)
        return logits, logits.detach()


class _Softmax(nn.Module):
    """A network that ends in a softmax: probabilities, not logits."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x).softmax(1)


def test_tuple_output_without_labels_is_a_type_error(tiny_cnn: advcat.PixelModel) -> None:
    with pytest.raises(TypeError, match=r"model returned a tuple.*logits tensor \(N, K\)"):
        advcat.attack(_WithAux(tiny_cnn), _x(), method="pgd", steps=1)


def test_tuple_output_with_labels_is_a_type_error_from_the_engine(tiny_cnn: advcat.PixelModel) -> None:
    with pytest.raises(TypeError, match=r"model returned a tuple.*net\(x\)\[0\]"):
        advcat.attack(_WithAux(tiny_cnn), _x(), torch.tensor([0, 1]), method="pgd", steps=1)
    with pytest.raises(TypeError, match=r"model returned a tuple"):
        _optimize(_WithAux(tiny_cnn), _x())


def test_probabilities_warn_that_they_mask_gradients(tiny_cnn: advcat.PixelModel) -> None:
    with pytest.warns(UserWarning, match=r"probabilities \(softmax\).*mask gradients.*pass logits"):
        _optimize(_Softmax(tiny_cnn), _x())
    with pytest.warns(UserWarning, match=r"probabilities"):
        advcat.attack(_Softmax(tiny_cnn), _x(), method="pgd", steps=1)


def test_logits_give_no_probability_warning(tiny_cnn: advcat.PixelModel) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _optimize(tiny_cnn, _x())
    assert not [w for w in caught if "probabilities" in str(w.message)]


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16])
def test_images_in_another_dtype_than_the_model_are_refused(
    tiny_cnn: advcat.PixelModel, dtype: torch.dtype
) -> None:
    name = str(dtype).removeprefix("torch.")
    x = _x().to(dtype)
    with pytest.raises(TypeError, match=rf"x must be float32 .*\(got {name}\); use x\.float\(\)"):
        _optimize(tiny_cnn, x)
    with pytest.raises(TypeError, match=rf"x must be float32 .*\(got {name}\)"):
        advcat.attack(tiny_cnn, x, method="pgd", steps=1)


def test_a_float64_model_takes_float64_images(tiny_cnn: advcat.PixelModel) -> None:
    result = _optimize(tiny_cnn.double(), _x().double())
    assert result.x.dtype == torch.float64


@pytest.mark.parametrize("channels", [1, 4])
def test_wrong_channel_count_is_refused(tiny_cnn: advcat.PixelModel, channels: int) -> None:
    x = _x(channels=channels)
    with pytest.raises(ValueError, match=rf"x has {channels} channels but the model takes 3"):
        _optimize(tiny_cnn, x)
    with pytest.raises(ValueError, match=rf"x has {channels} channels but the model takes 3"):
        advcat.attack(tiny_cnn, x, method="pgd", steps=1)


@pytest.mark.parametrize(("name", "value"), [("tv", float("nan")), ("tv", float("inf")),
                                             ("lr", float("nan")), ("lr", float("inf"))])
def test_synthesis_weights_must_be_finite(tiny_cnn: advcat.PixelModel, name: str, value: float) -> None:
    with pytest.raises(ValueError, match=rf"^{name} must be a finite"):
        advcat.synthesize(tiny_cnn, 0, steps=1, progress=False, **{name: value})  # type: ignore[arg-type]


@pytest.mark.parametrize(("options", "name"), [
    ({"mean": (float("nan"), 0.5, 0.5)}, "mean"),
    ({"std": (0.2, float("nan"), 0.2)}, "std"),
    ({"std": (0.2, 0.0, 0.2)}, "std"),
    ({"std": (0.2, float("inf"), 0.2)}, "std"),
    ({"input_size": 0}, "input_size"),
    ({"resize": 0}, "resize"),
    ({"mean": (), "std": ()}, "mean"),
])
def test_wrap_refuses_bad_normalization_and_sizes(options: dict[str, object], name: str) -> None:
    net = nn.Sequential(nn.Flatten(), nn.LazyLinear(10))
    kwargs: dict[str, object] = {"mean": (0.5, 0.5, 0.5), "std": (0.2, 0.2, 0.2), **options}
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        advcat.wrap(net, **kwargs)  # type: ignore[arg-type]


def test_wrap_refuses_text_mean_by_name() -> None:
    with pytest.raises(TypeError, match=r"^mean must be a sequence of numbers"):
        advcat.wrap(nn.Identity(), mean=("a", "b", "c"))  # type: ignore[arg-type]


@pytest.mark.parametrize("index", [torch.tensor([0.5, 1.5]), torch.tensor([True, False]), [0, 1]])
def test_non_integer_index_is_a_type_error(tiny_cnn: advcat.PixelModel, index: object) -> None:
    with pytest.raises(TypeError, match=r"^index must"):
        _optimize(tiny_cnn, _x(), index=index)
    with pytest.raises(TypeError, match=r"^index must"):
        advcat.attack(tiny_cnn, _x(), method="pgd", steps=1, index=index)  # type: ignore[arg-type]


def test_integer_index_still_works(tiny_cnn: advcat.PixelModel) -> None:
    _optimize(tiny_cnn, _x(), index=torch.tensor([7, 3]))


@pytest.mark.parametrize("seed", ["a", 1.5, True])
def test_non_integer_seed_is_a_type_error_everywhere(tiny_cnn: advcat.PixelModel, seed: object) -> None:
    message = rf"^seed must be an integer or None, got {seed!r}$"
    with pytest.raises(TypeError, match=message.replace(".", r"\.")):
        advcat.attack(tiny_cnn, _x(), method="pgd", steps=1, seed=seed)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=message.replace(".", r"\.")):
        _optimize(tiny_cnn, _x(), seed=seed)
    with pytest.raises(TypeError, match=message.replace(".", r"\.")):
        advcat.synthesize(tiny_cnn, 0, steps=1, progress=False, seed=seed)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=message.replace(".", r"\.")):
        advcat.evaluate(tiny_cnn, (_x(), torch.tensor([0, 1])), attacks="fast", eps=[1 / 255],
                        sanity=False, progress=False, seed=seed)  # type: ignore[arg-type]


def test_numpy_integer_seed_is_accepted(tiny_cnn: advcat.PixelModel) -> None:
    np = pytest.importorskip("numpy")
    assert _optimize(tiny_cnn, _x(), seed=np.int64(5)).seed == 5


def test_evaluate_and_attribute_name_a_tuple_output_and_a_wrong_dtype(tiny_cnn) -> None:  # noqa: ANN001
    class Pair(torch.nn.Module):
        def __init__(self, net: torch.nn.Module) -> None:
            super().__init__()
            self.net = net

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            out = self.net(x)
            return out, out

    x = torch.rand(2, 3, 16, 16)
    for call in (lambda m, v: advcat.evaluate(m, (v, torch.tensor([1, 2])), eps=[2 / 255], sanity=False,
                                              progress=False, attacks="fast"),
                 lambda m, v: advcat.attribute(m, v, method="saliency")):
        with pytest.raises(TypeError, match="tuple"):
            call(Pair(tiny_cnn), x)
        with pytest.raises(TypeError, match="float32"):
            call(tiny_cnn, x.double())
