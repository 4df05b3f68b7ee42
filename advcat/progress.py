"""Progress bars: tqdm when it is installed, a silent stand-in otherwise (the GPU core needs torch alone)."""

from __future__ import annotations

from typing import Any


class _Silent:
    """Accepts tqdm's calls and shows nothing."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, *args: Any, **kwargs: Any) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> _Silent:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def progress_bar(*, total: int, desc: str, enabled: bool) -> Any:
    """A tqdm bar over `total` steps (disabled or absent tqdm gives a silent one)."""
    if not enabled:
        return _Silent()
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _Silent()
    return tqdm(total=total, desc=desc, leave=False)
