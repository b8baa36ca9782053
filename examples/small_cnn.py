"""An example of your own model for bloomtune (config/custom.yaml): a builder takes the trial's
hyperparameter values, the image size and the class count, and returns a compiled Keras model
that reports accuracy. Its search space is whatever params' `search_space` declares."""

import keras


def build(hp, image_size, n_classes):
    layers = [
        keras.Input((image_size, image_size, 3), dtype="uint8"),
        keras.layers.Rescaling(1 / 255),
    ]
    for _ in range(hp["blocks"]):
        layers += [
            keras.layers.Conv2D(hp["filters"], 3, activation="relu"),
            keras.layers.MaxPooling2D(),
        ]
    layers += [
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(n_classes, activation="softmax"),
    ]
    model = keras.Sequential(layers)
    model.compile(
        optimizer=keras.optimizers.Adam(hp["learning_rate"]),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model
