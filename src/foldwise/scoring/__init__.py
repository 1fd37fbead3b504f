"""Scoring raw rows fast: the bundle's engine, exactly equal to the reference path.

:mod:`foldwise.scoring.fast` (:class:`~foldwise.scoring.fast.FastScorer`) turns raw rows into
the model's input column by column; :mod:`foldwise.scoring.rows` checks the forms rows
arrive in; :mod:`foldwise.scoring.columns` and
:mod:`foldwise.scoring.distinct` type and read one column; :mod:`foldwise.scoring.ensemble`
scores a stacked ensemble with one converted input for all members.
"""
