"""``python -m populace.cli``: the same as the ``populace`` command."""

from populace.cli import main

if __name__ == "__main__":  # worker processes re-import this module as __mp_main__
    main()
