"""Training metrics to RUN_DIR/metrics.jsonl and, when tensorboard is installed, to TensorBoard.

JSONL is the record (one object per logged step, easy to plot or diff); TensorBoard is a view.
"""

import json
from pathlib import Path


class MetricsLog:
    """Append-only metrics sink for rank 0. `resume_step` drops lines a resumed run will redo."""

    def __init__(self, run_dir, *, resume_step=None, tensorboard=True):
        self.path = Path(run_dir) / "metrics.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if resume_step is not None and self.path.exists():
            self._truncate_after(resume_step)
        elif resume_step is None:
            self.path.write_text("")
        self._file = self.path.open("a")
        self._tb = _tensorboard_writer(self.path.parent / "tensorboard") if tensorboard else None

    def _truncate_after(self, step):
        kept = []
        for line in self.path.read_text().splitlines():
            try:
                if json.loads(line).get("step", 0) <= step:
                    kept.append(line)
            except json.JSONDecodeError:  # a line cut short by a crash
                continue
        self.path.write_text("".join(f"{line}\n" for line in kept))

    def write(self, step, values):
        record = {"step": int(step), **{k: _plain(v) for k, v in values.items()}}
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()
        if self._tb is not None:
            for key, value in record.items():
                if key != "step" and isinstance(value, (int, float)):
                    self._tb.add_scalar(key, value, step)

    def close(self):
        self._file.close()
        if self._tb is not None:
            self._tb.close()


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def _tensorboard_writer(directory):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is optional (extra `viz`)
        return None
    return SummaryWriter(str(directory))


def read_metrics(run_dir) -> list[dict]:
    """The records of RUN_DIR/metrics.jsonl; a line cut short by a killed run is passed over."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        return []
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records
