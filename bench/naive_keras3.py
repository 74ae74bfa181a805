"""A naive user's Keras 3 training loop, for the benchmark: no adapter, no harness.

deep_saturation's tanh variant (cases/deep_saturation.py) written the way a user
would: the seed's data and net (7 x (Dense(30), N(0, 1) kernels, bias 0.1, tanh),
Dense(1)), SGD at lr 0.001 on mse, and 250 plain ``model.train_on_batch(x, y)``
calls on the full batch. Keras 3.0-3.6 on TensorFlow trace their train function
anew on every one of those calls; the harness's adapter does not (see
harness/inenv/framework.py), so this script shows what the adapter saves.

Standard library, numpy and the framework only; runs inside a pinned environment:

    KERAS_BACKEND=tensorflow <env>/bin/python bench/naive_keras3.py [--steps 250] [--threads 1]

One thread per pool by default, as the harness's workers run (``--threads 0``
leaves TensorFlow's defaults). Prints one line: ``NAIVE_TIMING {json}`` with the
seconds spent importing, building and training, and the loss the last call
returned (Keras 3 reports the mean over every call so far: its metrics are not
reset between train_on_batch calls).
"""

import argparse
import json
import os
import sys
import time

started = time.time()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=250)
    parser.add_argument("--threads", type=int, default=1, help="0: TensorFlow's defaults")
    args = parser.parse_args()
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    if args.threads:
        for name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
            os.environ.setdefault(name, str(args.threads))

    import keras
    import numpy as np
    import tensorflow as tf

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    imported = time.time()

    np.random.seed(2018)
    tf.random.set_seed(2018)
    x = np.linspace(-7, 10, 2500)[:, np.newaxis]
    np.random.shuffle(x)
    noise = np.random.normal(loc=0, scale=8, size=x.shape)
    y = np.square(x) - 5 + noise
    x, y = x.astype(np.float32), y.astype(np.float32)

    model = keras.models.Sequential()
    model.add(keras.Input(shape=(1,)))
    for _ in range(7):
        model.add(keras.layers.Dense(30, kernel_initializer=keras.initializers.RandomNormal(0.0, 1.0),
                                     bias_initializer=keras.initializers.Constant(0.1)))
        model.add(keras.layers.Activation("tanh"))
    model.add(keras.layers.Dense(1, kernel_initializer=keras.initializers.RandomNormal(0.0, 1.0),
                                 bias_initializer=keras.initializers.Constant(0.1)))
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.001), loss="mean_squared_error")
    built = time.time()

    loss = None
    for _ in range(args.steps):
        loss = model.train_on_batch(x, y)
    trained = time.time()

    print("NAIVE_TIMING " + json.dumps({
        "keras": keras.__version__,
        "tensorflow": tf.__version__,
        "steps": args.steps,
        "import_s": round(imported - started, 3),
        "build_s": round(built - imported, 3),
        "train_s": round(trained - built, 3),
        "reported_loss": float(np.ravel(np.asarray(loss, dtype=np.float64))[0]),
    }))
    sys.stdout.flush()
    os._exit(0)  # skip TensorFlow's slow teardown


if __name__ == "__main__":
    main()
