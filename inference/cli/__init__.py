"""The command line (``python -m inference``): argument parsing and the verbs.
"""
