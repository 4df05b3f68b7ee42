"""Per-sample randomness keyed on (seed, sample index, stream).

A sample's random start does not depend on batch size, compaction or the shard it lands in: each
sample draws from its own generator, seeded from a hash of (seed, index, stream). Inside
`sample_keys(ids)`, row i of a call draws as sample ids[i] does, so an attack on a subset or shard
of a data set draws what the same samples draw in a run over the whole set.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import torch
from torch import Tensor

_KEYS: ContextVar[Tensor | None] = ContextVar("advcat_sample_keys", default=None)


@contextmanager
def sample_keys(ids: Tensor | None) -> Iterator[None]:
    """Within the block, batch row i draws the randomness of sample `ids[i]` (None: row i itself)."""
    if ids is None:
        yield
        return
    token = _KEYS.set(torch.as_tensor(ids).detach().to("cpu", torch.long).reshape(-1))
    try:
        yield
    finally:
        _KEYS.reset(token)


def sample_ids(index: Tensor) -> Tensor:
    """The ids that key the randomness of batch rows `index` (on the CPU): see `sample_keys`."""
    rows = index.detach().to("cpu", torch.long)
    keys = _KEYS.get()
    return rows if keys is None else keys[rows]


def fresh_seed() -> int:
    """A new random seed, for `seed=None` (recorded in results so a run can be repeated)."""
    return secrets.randbelow(2**31)


def derive_seed(seed: int, *keys: int) -> int:
    """A 63-bit seed derived from `seed` and integer keys, stable across processes and platforms."""
    text = ",".join(str(int(k)) for k in (seed, *keys)).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little") >> 1


def per_sample(
    kind: str,
    shape: tuple[int, ...],
    index: Tensor,
    seed: int,
    stream: int = 0,
    *,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """Random tensor (n, *shape): row i drawn from the generator of sample index[i].

    `kind` is "rand" (uniform [0, 1)) or "randn" (standard normal). Drawn on the CPU, so the values
    are the same on every device.
    """
    if kind not in ("rand", "randn"):
        raise ValueError(f"kind must be 'rand' or 'randn', got {kind!r}")
    draw = torch.rand if kind == "rand" else torch.randn
    rows = []
    generator = torch.Generator()
    for i in sample_ids(index).tolist():
        generator.manual_seed(derive_seed(seed, i, stream))
        rows.append(draw(shape, generator=generator))
    out = torch.stack(rows) if rows else torch.empty((0, *shape))
    return out.to(device=device, dtype=dtype)
