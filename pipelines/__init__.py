"""credit-pipeline's Dagster code location and command line.

OpenMP threads (XGBoost, scikit-learn) sleep while they wait instead of spinning: on a batch
server whose cores other jobs share, spinning threads take turns burning the cores the working
ones need -- an XGBoost fit with two threads ran 15x slower than with one on this project's
2-core machine under load, and as fast as one thread with waiting threads asleep. Set here,
before any OpenMP runtime is loaded; an ``OMP_WAIT_POLICY`` already set wins.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
