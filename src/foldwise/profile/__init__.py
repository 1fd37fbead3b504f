"""What a bundle records about its training data: the input contract and the reference profile.

``contract`` is the JSON Schema of one input row (types, ranges, categories seen in training);
``reference`` is the profile that monitoring compares live traffic with. Both are built by the
train stage and read by production checks, serving and monitoring, so they sit below all three.
"""
