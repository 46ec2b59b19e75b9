"""``python -m populace``: the same as the ``populace`` command."""

from populace.cli import main

# Guarded like any main module: a spawned worker process that imports it (as __mp_main__) must
# not run the command again. (Under ``-m``, multiprocessing leaves a package's __main__ alone.)
if __name__ == "__main__":
    main()
