"""Bottleneck adapter D -> D/r -> D with a zero-initialised up-projection (identity at init)."""

from torch import nn


class Bottleneck(nn.Module):
    """Residual-free bottleneck; callers add its output to the stream (x + adapter(x))."""

    def __init__(self, *, dim, reduction=4, act_layer=nn.GELU):
        super().__init__()
        self.down = nn.Linear(dim, dim // reduction)
        self.act = act_layer()
        self.up = nn.Linear(dim // reduction, dim)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, x):
        return self.up(self.act(self.down(x)))
