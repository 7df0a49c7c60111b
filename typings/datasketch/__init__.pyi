from collections.abc import Callable, Iterable
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

class MinHash:
    hashvalues: NDArray[np.uint64]
    permutations: Any
    def __init__(
        self,
        num_perm: int = 128,
        seed: int = 1,
        gpu_mode: Literal["disable", "detect", "always"] = "disable",
        hashfunc: Callable[[bytes], int] | None = None,
        hashobj: object | None = None,
        hashvalues: Any = None,
        permutations: Any = None,
        scheme: Literal["affine32", "affine64", "legacy"] | None = None,
    ) -> None: ...
    def update_batch(self, b: Iterable[bytes]) -> None: ...
