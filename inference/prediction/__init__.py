"""Photos and prediction: decoding photos safely, the Predictor, and the one run that
streams records to writers.
"""
