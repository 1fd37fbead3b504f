"""Steps 4, 5 and 7: fit with early stopping, cross-validate on fixed folds, compare to baselines.

One module per concern:

- :mod:`foldwise.training.data`: the training run a stage starts from (params, schema,
  training data, fixed folds) and the seeds derived from the run's seed;
- :mod:`foldwise.training.fitting`: building a model from params.yaml and fitting it (early
  stopping, a tuning fold, the final fit on all rows);
- :mod:`foldwise.training.crossval`: cross-validation on the fixed folds, per-fold metrics,
  rounds and learning curves, margins over the baselines;
- :mod:`foldwise.training.fold_models`: writing and reading each fold's fitted model.

Import each name from the module that defines it.
"""
