"""PBT against fixed hyperparameters on the Hugging Face Transformers example, at equal compute.

    python benchmarks/transformers_pbt.py              # 3 seeds, the example's settings
    python benchmarks/transformers_pbt.py --quick      # 1 seed, a tiny budget (CI)

Both arms train ``examples/transformers_digits.py`` from the same initial population for the
same number of optimizer steps (see ``_pbt_vs_fixed.py``) and write
``benchmarks/results/transformers.json``.
"""

from __future__ import annotations

from _pbt_vs_fixed import main

if __name__ == "__main__":
    main("transformers_digits", "transformers", (__doc__ or "").splitlines()[0], None)
