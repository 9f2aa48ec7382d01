"""GeoCLIP (Vivanco et al., NeurIPS 2023, MIT licence) behind the engine's run path.

A photo -> CLIP ViT-L/14 image features -> GeoCLIP's image MLP -> cosine similarity to
the embeddings of 100,000 gallery locations -> a probability over those locations, which
is summed into S2 cells so that every output of a GeoDecoder run (cells, surface,
credible regions, clues, case report, exports) works unchanged.  Nothing here imports
``transformers``, ``pandas`` or ``torchvision``: the vision tower
(``inference/modeling/clip_tower.py``, shared with the GeoDecoder's ``clip-vit-l14``
backbone) and GeoCLIP's heads (heads.py) are small re-implementations that load the
published weights (why: docs/METHOD_NOTES.md, "GeoCLIP").

files.py finds the files, modeling's clip_tower.py and heads.py are the networks,
gallery.py the cached gallery embeddings and cells, model.py the loaded model,
predictor.py the photos-in, records-out loop.
"""
