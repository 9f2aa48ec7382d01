"""Outputs of a run: the record schema, GeoPackage and CSV writers, credible regions,
offline place names and layer styles.
"""
