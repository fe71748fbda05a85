"""`python -m tests.e2e.faults`: the fault run's first worker (see worker.py)."""

from tests.e2e.faults.worker import child_main

child_main()
