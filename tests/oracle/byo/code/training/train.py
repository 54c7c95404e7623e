"""Session 2: a small PyTorch classifier, trained as the PyTorch estimator runs a script.

Hyperparameters come as --name value arguments, data from SM_CHANNEL_*, and the model goes to
/opt/ml/model (SM_MODEL_DIR); the validation accuracy is printed for the metric definition.
"""

import argparse
import os

import numpy as np
import torch
from torch import nn


def read(channel, name):
    rows = np.loadtxt(os.path.join(os.environ[f"SM_CHANNEL_{channel}"], name), delimiter=",")
    return torch.tensor(rows[:, 1:], dtype=torch.float32), torch.tensor(rows[:, 0]).long()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--learning_rate", type=float, default=0.05)
    args = parser.parse_args()
    torch.manual_seed(0)
    x, y = read("TRAIN", "train.csv")
    x_val, y_val = read("VALIDATION", "validation.csv")
    model = nn.Sequential(nn.Linear(x.shape[1], 8), nn.ReLU(), nn.Linear(8, 3))
    optimizer = torch.optim.SGD(model.parameters(), lr=args.learning_rate)
    for _ in range(args.epochs):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    accuracy = (model(x_val).argmax(1) == y_val).float().mean().item()
    print(f"val_accuracy: {accuracy:.4f}")
    model_dir = os.environ.get("SM_MODEL_DIR", "/opt/ml/model")
    torch.save({"inputs": x.shape[1], "state": model.state_dict()}, f"{model_dir}/model.pth")


if __name__ == "__main__":
    main()
