"""The peer benchmark, as a script: the same as ``daskcollab bench`` (see daskcollab/bench.py).

Run ``python benchmarks/peers.py`` (``--quick`` for a smoke run, ``--repeats N``, ``--out DIR``).
"""

import sys

from daskcollab.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
