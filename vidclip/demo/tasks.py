"""The demo's one task of its own: VDI trains on clips and on untrimmed moments at once.

VDI's moment head needs untrimmed videos, but the demo also ranks VDI on the short clips (twins,
R@1, zero-shot) like every other method, so `ClipsAndMomentsTask` sums the library's retrieval loss
on a clip batch and its moment loss on a moment batch (each from pixels or cached frame features,
see `vidclip.train.tasks`).
"""

from vidclip.train.tasks import MomentTask, RetrievalTask


class ClipsAndMomentsTask:
    name = "retrieval+moments"

    def __init__(self, moment_weight: float = 1.0):
        self.retrieval, self.moments, self.moment_weight = RetrievalTask(), MomentTask(), moment_weight

    @staticmethod
    def batch_size(batch):
        return len(batch["clips"]["caption"]) + len(batch["moments"]["caption"])

    def losses(self, model, batch, gather):
        retrieval = self.retrieval.losses(model, batch["clips"], gather)
        moments = self.moments.losses(model, batch["moments"], gather)
        out = {f"retrieval/{key}": value for key, value in retrieval.items() if key != "loss"}
        out.update({f"moments/{key}": value for key, value in moments.items() if key != "loss"})
        out["retrieval/loss"], out["moments/loss"] = retrieval["loss"], moments["loss"]
        out["loss"] = retrieval["loss"] + self.moment_weight * moments["loss"]
        return out
