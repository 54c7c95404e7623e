"""Train the project's classifier with TensorFlow/Keras and export it for TensorFlow Serving.

Runs in the SageMaker TensorFlow training container
(`tensorflow-training:2.21-cpu-py312-sagemaker`); TensorFlow Serving 2.20 serves what it writes
(bench/pairs). Writes `SM_MODEL_DIR/1/` (a SavedModel whose `serving_default` maps the float32
input `features` `[batch, n_features]` to the output `probabilities` `[batch, n_classes]`) and
`SM_MODEL_DIR/code/` (the serving code).
See components/README.md for the contract.
"""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Args, Data, Paths, compute_threads, log_epoch, parse_args, run

SCORE_BATCH = 1024  # validation rows scored at once


def build_model(tf: Any, data: Data) -> Any:
    """A small conv net for images; for tabular data a linear model plus a small dense net.

    The tabular network's logits are the sum of a linear layer and a dense 32 -> 16 net, so it
    contains a logistic regression: the net only has to learn what the linear model misses.
    Softmax output.
    """
    keras = tf.keras
    features = keras.Input(shape=(data.n_features,), name="features")
    if data.kind == "image":
        return keras.Sequential(
            [
                features,
                keras.layers.Reshape((data.side, data.side, 1)),
                keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
                keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
                keras.layers.MaxPooling2D(2),
                keras.layers.Flatten(),
                keras.layers.Dense(64, activation="relu"),
                keras.layers.Dropout(0.25),
                keras.layers.Dense(data.n_classes, activation="softmax", name="probabilities"),
            ]
        )
    linear = keras.layers.Dense(data.n_classes)(features)
    hidden = keras.layers.Dense(32, activation="relu")(features)
    hidden = keras.layers.Dense(16, activation="relu")(hidden)
    # The dense path starts at zero: training begins from the linear model alone.
    correction = keras.layers.Dense(data.n_classes, kernel_initializer="zeros")(hidden)
    logits = keras.layers.Add()([linear, correction])
    return keras.Model(features, keras.layers.Softmax(name="probabilities")(logits))


def export_model(tf: Any, model: Any, n_features: int, path: Path) -> None:
    """Export a SavedModel with one explicit signature, so serving does not depend on Keras."""
    archive = tf.keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        name="serving_default",
        fn=lambda features: {"probabilities": model(features, training=False)},
        input_signature=[tf.TensorSpec([None, n_features], tf.float32, name="features")],
    )
    # `verbose` arrived in a later Keras 3 release than some containers ship.
    if "verbose" in inspect.signature(archive.write_out).parameters:
        archive.write_out(str(path), verbose=False)
    else:
        archive.write_out(str(path))


def train(args: Args, data: Data, paths: Paths) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    # Each op on as many threads as the job has cores; ops one at a time (a fixed order).
    tf.config.threading.set_intra_op_parallelism_threads(compute_threads())
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.keras.utils.set_random_seed(args.seed)
    tf.config.experimental.enable_op_determinism()

    model = build_model(tf, data)
    # Cosine decay to zero over the run: large steps early, a settled model at the end.
    steps = args.epochs * -(-len(data.y_train) // args.batch_size)
    schedule = tf.keras.optimizers.schedules.CosineDecay(args.learning_rate, decay_steps=steps)
    model.compile(
        optimizer=tf.keras.optimizers.Adam(learning_rate=schedule),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )

    class EpochLog(tf.keras.callbacks.Callback):  # type: ignore[misc]
        def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
            logs = logs or {}
            log_epoch(epoch + 1, float(logs["loss"]), float(logs["val_accuracy"]))

    model.fit(
        data.x_train,
        data.y_train,
        validation_data=(data.x_val, data.y_val),
        epochs=args.epochs,
        batch_size=args.batch_size,
        validation_batch_size=SCORE_BATCH,
        shuffle=True,
        verbose=0,
        callbacks=[EpochLog()],
    )
    export_model(tf, model, data.n_features, paths.model_dir / "1")


def main(argv: Sequence[str] | None = None) -> int:
    return run("tensorflow", train, argv, parse_args)


if __name__ == "__main__":
    sys.exit(main())
