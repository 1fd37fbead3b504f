"""Score Spark DataFrames with a foldwise bundle: ``foldwise.spark.predict(df, "models/model")``.

See :func:`foldwise.production.spark.predict`. pyspark is needed only when this is called
(``pip install 'foldwise[spark]'``).
"""

from foldwise.production.spark import ShippedBundle, predict, ship_bundle

__all__ = ["ShippedBundle", "predict", "ship_bundle"]
