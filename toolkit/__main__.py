"""`python -m toolkit` (and `accelerate launch -m toolkit`) run the same CLI as `ftk`."""

import sys

from toolkit.cli import main

sys.exit(main())
