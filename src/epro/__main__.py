"""`python -m epro` runs the `epro` command."""

import sys

from epro.cli import main

sys.exit(main())
