"""Per-sample randomness keyed on (seed, sample id, stream).

A sample's random start does not depend on batch size, compaction or the shard it lands in: each
sample draws from its own generator, seeded from a hash of (seed, id, stream). The ids are passed
explicitly, from the caller's `index=` (default 0..N-1) down through the engine to every step,
threat, parameterization and transform that draws, so an attack on a subset or shard of a data
set draws what the same samples draw in a run over the whole set.
"""

from __future__ import annotations

import hashlib
import secrets

import torch
from torch import Tensor


def sample_ids(index: Tensor | None, n: int) -> Tensor:
    """The (n,) CPU ids that key each row's randomness: the caller's `index`, else 0..n-1."""
    return torch.arange(n) if index is None else index.detach().to("cpu", torch.long).reshape(-1).clone()


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
    ids: Tensor,
    seed: int,
    stream: int = 0,
    *,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """Random tensor (n, *shape): row i drawn from the generator of sample id `ids[i]`.

    `kind` is "rand" (uniform [0, 1)) or "randn" (standard normal). Drawn on the CPU, so the values
    are the same on every device.
    """
    if kind not in ("rand", "randn"):
        raise ValueError(f"kind must be 'rand' or 'randn', got {kind!r}")
    draw = torch.rand if kind == "rand" else torch.randn
    rows = []
    generator = torch.Generator()
    for i in ids.detach().to("cpu", torch.long).reshape(-1).tolist():
        generator.manual_seed(derive_seed(seed, i, stream))
        rows.append(draw(shape, generator=generator))
    out = torch.stack(rows) if rows else torch.empty((0, *shape))
    return out.to(device=device, dtype=dtype)
