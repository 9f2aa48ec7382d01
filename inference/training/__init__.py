"""Training and evaluation: data, cached features, the training loop and checkpoints,
the model card, the kNN baseline and the evaluation protocol.
"""
