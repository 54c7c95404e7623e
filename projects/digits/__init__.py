"""The digits project: image classification in the MNIST-in-CSV layout."""
