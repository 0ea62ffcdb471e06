"""The MPI launcher helper (``mpi_launch``) importable from the tests beside it."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
