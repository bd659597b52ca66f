"""``python -m bankcti``: the same command line as the ``bankcti`` script."""

import sys

from bankcti.cli.main import main

sys.exit(main())
