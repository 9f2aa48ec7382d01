"""The model and what it carries: the GeoDecoder network, its backbones, the S2 cell
hierarchy, bundles on disk, and the parts that make its answers honest (calibration, the
decision rule, the retrieval gallery).
"""
