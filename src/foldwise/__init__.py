"""foldwise: a declarative, DVC-driven experiment system for honest tabular machine learning."""

import os

# OpenMP threads (scikit-learn's histogram gradient boosting, LightGBM) spin while they wait by
# default. On a busy 2-core machine the spinning threads take the cores from the ones with
# work: one HGB fit on 1,600 rows took 12-15 s instead of about 1 s at load 8. Passive waiting
# costs nothing measurable on an idle machine. Set before any OpenMP runtime is loaded; a value
# the user exported wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
