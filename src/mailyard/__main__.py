"""`python -m mailyard` is the `mailyard` command."""

import sys

from mailyard.cli import main

sys.exit(main())
