"""Session 2: a small softmax classifier, trained as the PyTorch estimator runs a script.

Hyperparameters come as --name value arguments, data from SM_CHANNEL_*, and the model goes to
/opt/ml/model (SM_MODEL_DIR); the validation accuracy and loss are printed for the metrics.
NumPy only, so the suite stays fast; the estimator's contract is the same for any script.
"""

import argparse
import os

import numpy as np


def read(channel, name):
    rows = np.loadtxt(os.path.join(os.environ[f"SM_CHANNEL_{channel}"], name), delimiter=",")
    return rows[:, 1:], rows[:, 0].astype(int)


def probabilities(x, weights, bias):
    scores = x @ weights + bias
    scores = np.exp(scores - scores.max(axis=1, keepdims=True))
    return scores / scores.sum(axis=1, keepdims=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--learning_rate", type=float, default=0.1)
    args = parser.parse_args()
    x, y = read("TRAIN", "train.csv")
    x_val, y_val = read("VALIDATION", "validation.csv")
    weights, bias = np.zeros((x.shape[1], 3)), np.zeros(3)
    onehot = np.eye(3)[y]
    for _ in range(args.epochs):
        error = (probabilities(x, weights, bias) - onehot) / len(y)
        weights -= args.learning_rate * x.T @ error
        bias -= args.learning_rate * error.sum(axis=0)
    predicted = probabilities(x_val, weights, bias)
    accuracy = (predicted.argmax(axis=1) == y_val).mean()
    loss = -np.log(predicted[np.arange(len(y_val)), y_val]).mean()
    print(f"val_accuracy: {accuracy:.4f}")
    print(f"val_loss: {loss:.6f}")
    model_dir = os.environ.get("SM_MODEL_DIR", "/opt/ml/model")
    np.savez(os.path.join(model_dir, "model.npz"), weights=weights, bias=bias)


if __name__ == "__main__":
    main()
