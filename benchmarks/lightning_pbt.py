"""PBT against fixed hyperparameters on the Lightning example, at equal compute.

    python benchmarks/lightning_pbt.py              # 3 seeds, the example's settings
    python benchmarks/lightning_pbt.py --quick      # 1 seed, a tiny budget (CI)

Both arms train ``examples/lightning_digits.py`` from the same initial population for the
same number of epochs (see ``_pbt_vs_fixed.py``) and write ``benchmarks/results/lightning.json``.
"""

from __future__ import annotations

from _pbt_vs_fixed import main

if __name__ == "__main__":
    main("lightning_digits", "lightning", (__doc__ or "").splitlines()[0], None)
