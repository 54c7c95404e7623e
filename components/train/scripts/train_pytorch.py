"""Train the project's classifier with PyTorch and save it as TorchScript.

Runs in the SageMaker PyTorch training container (`pytorch-training:2.10-cpu-py313`); PyTorch
inference 2.6 serves what it writes (bench/pairs).
Writes `SM_MODEL_DIR/model.pt` (TorchScript: float32 `[batch, n_features]` -> probabilities
`[batch, n_classes]`, softmax included) and `SM_MODEL_DIR/code/` (the serving code).
See components/README.md for the contract.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

if TYPE_CHECKING:  # TorchScript reads the annotations; torch is imported in train()
    import torch

from common import Args, Data, Paths, compute_threads, keep_freed_memory, log_epoch, parse_args, run

SCORE_BATCH = 256  # validation rows scored at once (faster here than 1,024)


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


def configure(torch: Any, seed: int) -> None:
    """Seeded, deterministic ops, as many threads as the job has cores, freed memory kept."""
    keep_freed_memory()
    torch.set_num_threads(compute_threads())
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)


def fit(torch: Any, network: Any, x: Any, y: Any, args: Args) -> Iterator[float]:
    """Train `network` on the tensors; after each epoch, yield its mean training loss.

    Adam with cosine decay to zero over the run: large steps early, a settled model at the end.
    """
    generator = torch.Generator().manual_seed(args.seed)
    optimizer = torch.optim.Adam(network.parameters(), lr=args.learning_rate)
    steps = args.epochs * -(-len(y) // args.batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    loss_fn = torch.nn.CrossEntropyLoss()
    for _ in range(args.epochs):
        network.train()
        order = torch.randperm(len(y), generator=generator)
        total = 0.0
        for start in range(0, len(order), args.batch_size):
            batch = order[start : start + args.batch_size]
            optimizer.zero_grad()
            loss = loss_fn(network(x[batch]), y[batch])
            loss.backward()
            optimizer.step()
            schedule.step()
            total += float(loss.detach()) * len(batch)
        yield total / len(y)


def inference_copy(torch: Any, network: Any) -> Any:
    """The network frozen for scoring: TorchScript with its weights as constants and each
    convolution fused with its ReLU (12,002 28x28 digits in 2 s, 5 s in eager mode 1,024 at a
    time; the scores differ from eager mode's in the last bits only). Training goes on with
    `network`, untouched."""
    network.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TorchScript: see train()
        frozen = torch.jit.freeze(torch.jit.script(network))
    return torch.jit.optimize_for_inference(frozen)


def accuracy(torch: Any, network: Any, x: Any, y: Any) -> float:
    """The share of rows the network classifies right, scored SCORE_BATCH rows at a time
    (all at once, 12,000 MNIST images through the convolutions take gigabytes)."""
    model = inference_copy(torch, network)
    right = 0
    with torch.no_grad():
        for start in range(0, len(y), SCORE_BATCH):
            rows = slice(start, start + SCORE_BATCH)
            right += int((model(x[rows]).argmax(dim=1) == y[rows]).sum())
    return right / len(y)


def train(args: Args, data: Data, paths: Paths) -> None:
    import torch
    from torch import nn

    configure(torch, args.seed)
    x_train, y_train = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    x_val, y_val = torch.from_numpy(data.x_val), torch.from_numpy(data.y_val)
    network = build_network(nn, data)
    for epoch, loss in enumerate(fit(torch, network, x_train, y_train, args), start=1):
        log_epoch(epoch, loss, accuracy(torch, network, x_val, y_val))

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
