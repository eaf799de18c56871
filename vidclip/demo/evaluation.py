"""The demo's metrics, computed from the cached frames with the model's own heads.

- twin accuracy: for a clip whose twin holds the same frames reversed, how often one of its own
  captions scores higher on it than one of its twin's captions (every own x twin caption pair;
  ties count half). A model blind to frame order scores both the same way on both clips, so it
  gets 50% by construction;
- retrieval: every caption of a split queries that split's clips (`vidclip.eval.metrics.retrieval_metrics`),
  also after dual-softmax re-ranking (`vidclip.eval.rerank.dual_softmax`: it uses all test captions at once);
- zero-shot classification: clips against prompts built from the action class names, which no
  training caption uses (`vidclip.eval.metrics.classification_metrics`);
- moments (models with a moment head): each query of an untrimmed test video gets its windows
  (`VideoCLIP.predict_moments`), scored QVHighlights-style (`vidclip.eval.metrics.moment_metrics`),
  and with a saliency head its per-2 s-clip saliency, scored as highlights (HL-mAP, HL-Hit1).
"""

from __future__ import annotations

import torch


ZERO_SHOT_TEMPLATES = ("a shape {}.", "an object {}.", "a video of a shape {}.", "something {}.")


def _pipeline(model):
    """The inference wrapper (preprocessing, batching) on the device the model is on."""
    from vidclip.pipeline import Pipeline

    return Pipeline(model, device=next(model.parameters()).device)


def twin_accuracy(sim, caption_owner, pairs) -> float:
    """Percent of (own caption, twin caption) comparisons on a twin clip won by the own caption.

    sim (N_text, N_video); caption_owner[i] is the clip of caption i; pairs are (clip a, clip b)
    indices of temporal twins.
    """
    by_clip: dict[int, list[int]] = {}
    for text, clip in enumerate(caption_owner):
        by_clip.setdefault(clip, []).append(text)
    wins, total = 0.0, 0
    for a, b in pairs:
        for clip, twin in ((a, b), (b, a)):
            own = sim[by_clip[clip], clip]  # (Co,)
            other = sim[by_clip[twin], clip]  # (Ct,)
            diff = own[:, None] - other[None, :]  # (Co, Ct)
            wins += float((diff > 0).sum()) + 0.5 * float((diff == 0).sum())
            total += diff.numel()
    return 100.0 * wins / max(total, 1)


def clip_meaning(clip) -> tuple:
    """What a synthetic caption can say about a clip: action, shape and colours (never where or how big)."""
    return clip["action"], clip["shape"], clip["colour"], clip.get("colour2")


def semantic_recall(sim, caption_owner, clips) -> dict:
    """R@1 counting any clip that shows what the caption says as a hit, and the ceiling of plain R@1.

    Synthetic splits repeat compositions (the 300 novel clips hold far fewer distinct (action, shape,
    colour) combinations than the 500 test clips), and plain R@1 can only pick among identical-meaning
    clips at random: its ceiling is the mean over captions of 1 / (clips sharing the caption's meaning).
    Semantic R@1 has a ceiling of 100 on every split, so splits compare on it.
    """
    meaning = [clip_meaning(clip) for clip in clips]
    counts: dict[tuple, int] = {}
    for key in meaning:
        counts[key] = counts.get(key, 0) + 1
    top = sim.argmax(dim=1).tolist()
    hits = [meaning[j] == meaning[o] for j, o in zip(top, caption_owner)]
    ceiling = [1.0 / counts[meaning[o]] for o in caption_owner]
    return {"t2v_R1_semantic": 100.0 * sum(hits) / len(hits), "t2v_R1_ceiling": 100.0 * sum(ceiling) / len(ceiling)}


def distinct_meanings(clips) -> int:
    return len({clip_meaning(clip) for clip in clips})


def distinct_gallery_recall(sim, caption_owner, clips, *, gallery_size, draws=20, seed=0) -> float:
    """Plain T2V R@1 on galleries of `gallery_size` clips that all differ in meaning, mean over draws.

    Comparing splits on their full galleries mixes two effects: a split with fewer distinct
    (action, shape, colour) combinations has more clips that no caption can tell apart, and a
    different gallery size. Drawing one clip per meaning, from as many meanings on every split,
    removes both: each caption has exactly one right answer among `gallery_size` candidates.
    """
    meaning = [clip_meaning(clip) for clip in clips]
    groups: dict[tuple, list[int]] = {}
    for index, key in enumerate(meaning):
        groups.setdefault(key, []).append(index)
    if gallery_size > len(groups):
        raise ValueError(f"gallery of {gallery_size} distinct clips asked, the split has {len(groups)} meanings")
    captions_of: dict[int, list[int]] = {}
    for text, clip in enumerate(caption_owner):
        captions_of.setdefault(clip, []).append(text)
    keys = list(groups)
    generator = torch.Generator().manual_seed(seed)
    recalls = []
    for _ in range(draws):
        chosen = torch.randperm(len(keys), generator=generator)[:gallery_size].tolist()
        gallery = [groups[keys[k]][int(torch.randint(len(groups[keys[k]]), (1,), generator=generator))]
                   for k in chosen]  # one clip per meaning
        rows = [text for clip in gallery for text in captions_of.get(clip, [])]
        truth = torch.tensor([gallery.index(caption_owner[text]) for text in rows])
        top = sim[rows][:, gallery].argmax(dim=1)  # (N_rows,) position in the gallery
        recalls.append(100.0 * float((top == truth).float().mean()))
    return sum(recalls) / len(recalls)


def clip_split_metrics(model, frames, clips, *, twin_pairs=(), class_names=None, batch_size=128,
                       distinct_gallery=None) -> dict:
    """Retrieval (+ twin accuracy, + zero-shot top-1, + R@1 on distinct-meaning galleries) on one split."""
    from vidclip.eval.metrics import retrieval_metrics
    from vidclip.eval.rerank import dual_softmax

    pipeline = _pipeline(model)
    video = pipeline.clip_features(frames, batch_size=batch_size)
    captions, owner = [], []
    for index, clip in enumerate(clips):
        captions += clip["captions"]
        owner += [index] * len(clip["captions"])
    sim = pipeline.similarity(pipeline.text_features(captions), video)  # (N_text, N_video)
    out = retrieval_metrics(sim, owner)
    out["t2v_R1_dsl"] = retrieval_metrics(dual_softmax(sim, dim=0), owner)["t2v_R1"]  # the re-ranking papers report
    out.update(num_texts=len(captions), num_videos=len(clips))
    out.update(semantic_recall(sim, owner, clips))
    if distinct_gallery:
        out["t2v_R1_distinct"] = distinct_gallery_recall(sim, owner, clips, gallery_size=distinct_gallery)
        out["distinct_gallery_size"] = distinct_gallery
    if twin_pairs:
        out["twin_acc"] = twin_accuracy(sim, owner, twin_pairs)
        out["num_twin_pairs"] = len(twin_pairs)
    if class_names:
        out.update(zero_shot(model, video, clips, class_names))
    return out


def zero_shot(model, video, clips, class_names, templates=ZERO_SHOT_TEMPLATES) -> dict:
    """Top-1/top-5 of each clip's action among the class names, prompts averaged per class."""
    from vidclip.data.formats import class_prompts
    from vidclip.eval.metrics import classification_metrics
    from vidclip.train.tasks import ClassificationTask

    with torch.inference_mode():
        text = ClassificationTask(class_prompts(class_names, templates)).class_text_features(model)
    logits = _pipeline(model).similarity(text, video).t()  # (N, C)
    index = {name: i for i, name in enumerate(class_names)}
    labels = torch.tensor([index[clip["label"]] for clip in clips])
    metrics = classification_metrics(logits, labels)
    return {"zeroshot_top1": metrics["top1"], "zeroshot_top5": metrics["top5"], "num_classes": len(class_names)}


@torch.inference_mode()
def moment_split_metrics(model, moments, *, batch_size=64, top_k=5) -> dict:
    """moments: a `MomentQueries` of one split (frames sampled at segment centres). With a saliency
    head, also HL-mAP / HL-Hit1 of its per-2 s-clip scores against the queries' saliency labels."""
    from vidclip.eval.metrics import highlight_metrics, moment_metrics, saliency_labels
    from vidclip.moments.find import saliency

    device = next(model.parameters()).device
    videos = moments.tracks["frames"]  # [(F_i, 3, H, W) uint8]
    sampled = [moments.frame_times(v, jitter=False) for v in range(len(videos))]
    frames = torch.stack([video[index] for video, (index, _) in zip(videos, sampled)])  # (V, T, 3, H, W)
    times = torch.stack([t for _, t in sampled])  # (V, T) seconds
    video = _pipeline(model).clip_features(frames, batch_size=batch_size)
    predictions, truth, predicted_saliency, labels = [], [], {}, {}
    for start in range(0, len(moments.queries), 256):
        chunk = moments.queries[start:start + 256]
        rows = torch.tensor([v for v, _ in chunk])
        features = {k: v[rows].to(device) for k, v in video.items()}
        text = model.encode_text(model.tokenize([q["query"] for _, q in chunk]).to(device))  # (B, D), once
        windows = model.predict_moments(features, times[rows], text, top_k=top_k)
        predictions += [[[s, e, p] for s, e, p in w] for w in windows]
        truth += [q["relevant_windows"] for _, q in chunk]
        scores = model.predict_saliency(features, text)  # (B, T) or None
        for j, (v, q) in enumerate(chunk):
            duration = moments.metadata[v]["duration"]
            if scores is None or not q.get("saliency_scores"):
                continue
            gt = saliency_labels(duration, q["relevant_clip_ids"], q["saliency_scores"])
            if len(gt):
                key = start + j
                labels[key] = gt
                predicted_saliency[key] = saliency(scores[j].float().cpu().numpy(), times[v].numpy(), duration)
    out = moment_metrics(predictions, truth)
    if labels:
        out.update(highlight_metrics(predicted_saliency, labels))
    out.update(num_queries=len(truth), num_videos=len(videos))
    return out
