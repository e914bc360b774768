"""``python -m onerep`` is the same as the ``onerep`` console script."""

import sys

from .cli import main

sys.exit(main())
