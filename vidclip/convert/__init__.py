"""Weights published in other layouts, to and from vidclip's (open_clip's keys, plain JSON + tensors).

hf: Hugging Face CLIPModel folders, in and out.  clip4clip: CLIP4Clip's meanP / seqTransf checkpoints, in.
"""
