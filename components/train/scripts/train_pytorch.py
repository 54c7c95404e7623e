"""Train the project's classifier with PyTorch and save it as TorchScript.

Runs in the SageMaker PyTorch training container (`pytorch-training:2.6-cpu-py312`).
Writes `SM_MODEL_DIR/model.pt` (TorchScript: float32 `[batch, n_features]` -> probabilities
`[batch, n_classes]`, softmax included) and `SM_MODEL_DIR/code/` (the serving code).
See components/README.md for the contract.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

if TYPE_CHECKING:  # TorchScript reads the annotations; torch is imported in train()
    import torch

from common import Args, Data, Paths, log_epoch, parse_args, run


def build_network(nn: Any, data: Data) -> Any:
    """A small conv net for images; for tabular data a linear model plus a small dense net.

    The tabular network's logits are the sum of a linear layer and a dense 32 -> 16 net, so it
    contains a logistic regression: the net only has to learn what the linear model misses.
    Outputs logits.
    """
    if data.kind == "image":
        side = data.side
        return nn.Sequential(
            nn.Unflatten(1, (1, side, side)),
            nn.Conv2d(1, 32, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(32, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(32 * (side // 2) * (side // 2), 64),
            nn.ReLU(),
            nn.Dropout(0.25),
            nn.Linear(64, data.n_classes),
        )

    class LinearPlusDense(nn.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.linear = nn.Linear(data.n_features, data.n_classes)
            self.dense = nn.Sequential(
                nn.Linear(data.n_features, 32),
                nn.ReLU(),
                nn.Linear(32, 16),
                nn.ReLU(),
                nn.Linear(16, data.n_classes),
            )
            # The dense path starts at zero: training begins from the linear model alone.
            nn.init.zeros_(self.dense[-1].weight)
            nn.init.zeros_(self.dense[-1].bias)

        def forward(self, features: torch.Tensor) -> torch.Tensor:
            logits: torch.Tensor = self.linear(features) + self.dense(features)
            return logits

    return LinearPlusDense()


def train(args: Args, data: Data, paths: Paths) -> None:
    import torch
    from torch import nn

    # One thread: these networks are too small to gain from more, a busy machine makes extra
    # threads spin, and a fixed count keeps the floating-point sums in the same order.
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    generator = torch.Generator().manual_seed(args.seed)

    x_train, y_train = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    x_val, y_val = torch.from_numpy(data.x_val), torch.from_numpy(data.y_val)
    network = build_network(nn, data)
    optimizer = torch.optim.Adam(network.parameters(), lr=args.learning_rate)
    # Cosine decay to zero over the run: large steps early, a settled model at the end.
    steps = args.epochs * -(-len(y_train) // args.batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    loss_fn = nn.CrossEntropyLoss()

    for epoch in range(1, args.epochs + 1):
        network.train()
        order = torch.randperm(len(y_train), generator=generator)
        total = 0.0
        for start in range(0, len(order), args.batch_size):
            batch = order[start : start + args.batch_size]
            optimizer.zero_grad()
            loss = loss_fn(network(x_train[batch]), y_train[batch])
            loss.backward()
            optimizer.step()
            schedule.step()
            total += float(loss.detach()) * len(batch)
        network.eval()
        with torch.no_grad():
            accuracy = float((network(x_val).argmax(dim=1) == y_val).float().mean())
        log_epoch(epoch, total / len(y_train), accuracy)

    model = nn.Sequential(network, nn.Softmax(dim=1)).eval()
    with warnings.catch_warnings():
        # Newer PyTorch deprecates TorchScript; the 2.6 inference container still serves it.
        warnings.simplefilter("ignore", DeprecationWarning)
        scripted = torch.jit.script(model)
    scripted.save(str(paths.model_dir / "model.pt"))  # type: ignore[no-untyped-call]


def main(argv: Sequence[str] | None = None) -> int:
    return run("pytorch", train, argv, parse_args)


if __name__ == "__main__":
    sys.exit(main())
