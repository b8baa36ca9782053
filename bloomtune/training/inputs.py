"""The input path every training stage feeds Keras: batches read by index from the stored arrays.

Keras given NumPy arrays converts them to one tensor (and a memory-mapped array to a second,
in-memory copy), so a 1.5 GB training array cost 4x that at `fit`. Here the images stay where
they are: a `tf.data` pipeline shuffles and batches indices exactly as Keras' own array adapter
does (the same seeded permutation, so the same batches in the same order and the same numbers)
and reads each batch from the view ("mapped", the default on CPU: the images are the file's
pages, shared by every process that reads them), or gathers it from one in-memory tensor of the
view ("resident", `train.input: resident`; the default with a GPU when memory allows). Batches
are prepared on the host, ahead of the step that needs them; keeping the images on the GPU
itself is not done: Keras' `fit` takes its batches from tf.data, which gathers on the host."""

from __future__ import annotations

import tensorflow as tf

from bloomtune.data.dataset import Arrays
from bloomtune.machine import available_memory

PLACEMENTS = ("auto", "mapped", "resident")
READERS = 2  # batches read at once; a fixed number: autotuning stalled seconds at the end of fit
AHEAD = 2  # batches prefetched


def gpus() -> list:
    return tf.config.list_physical_devices("GPU")


def choose(placement: str, images: Arrays) -> str:
    """`auto`: with a GPU, one in-memory copy when it takes under a quarter of the memory
    available (a gather from a tensor feeds a GPU faster than reads through Python); without
    one, and otherwise, the mapped file (on CPU it keeps pace: docs/benchmarks.md)."""
    if placement != "auto":
        return placement
    return "resident" if gpus() and images.nbytes < available_memory() // 4 else "mapped"


def _index_batches(n: int, batch_size: int, shuffle: bool) -> tf.data.Dataset:
    """Keras' ArrayDataAdapter index stream, op for op: one permutation per epoch (seeded by
    the global seed), sliced into full batches and one partial batch."""
    full, partial = n // batch_size, n % batch_size

    def permutation(_):
        indices = tf.range(n, dtype=tf.int64)
        if shuffle:
            indices = tf.random.shuffle(indices)
        return indices

    def slice_batch_indices(indices):
        first = tf.reshape(tf.slice(indices, [0], [full * batch_size]), [full, batch_size])
        batches = tf.data.Dataset.from_tensor_slices(first)
        if partial:
            rest = tf.data.Dataset.from_tensors(tf.slice(indices, [full * batch_size], [partial]))
            batches = batches.concatenate(rest)
        return batches

    return tf.data.Dataset.range(1).map(permutation).prefetch(1).flat_map(slice_batch_indices)


class Feed:
    """One view's images for `fit`, `evaluate` or `predict`, holding no copy of them ("mapped")
    or exactly one ("resident", made once and reused by every pipeline)."""

    def __init__(self, images: Arrays, placement: str = "auto"):
        if placement not in PLACEMENTS:
            raise ValueError(f"train.input: {placement!r} is not one of {', '.join(PLACEMENTS)}")
        self.images, self.placement = images, choose(placement, images)
        self.pixels = None
        if self.placement == "resident":
            with tf.device("/CPU:0"):  # tf.data gathers on the host; batches go to a GPU ahead
                self.pixels = tf.constant(images.read_all())

    def batches(self, batch_size: int, *, shuffle: bool) -> tf.data.Dataset:
        """(images, labels) batches, reshuffled every epoch when `shuffle`. Build a new one for
        each `fit`, after seeding: it then draws the permutations Keras' own would."""
        images, pixels = self.images, self.pixels
        labels = tf.constant(images.y, dtype=tf.int64)
        shape = (None, *images.image_shape)

        def grab(index):
            if pixels is not None:
                return tf.gather(pixels, index), tf.gather(labels, index)
            x = tf.numpy_function(images.take, [index], tf.uint8, stateful=False)
            x.set_shape(shape)
            return x, tf.gather(labels, index)

        dataset = _index_batches(len(images), batch_size, shuffle)
        dataset = dataset.map(grab, num_parallel_calls=READERS)
        options = tf.data.Options()
        options.experimental_optimization.apply_default_optimizations = False
        options.experimental_external_state_policy = (
            tf.data.experimental.ExternalStatePolicy.IGNORE
        )
        dataset = dataset.with_options(options)
        n_batches = -(-len(images) // batch_size)
        # Keras runs whole epochs only on a dataset whose length it knows. Batches are not
        # prefetched onto a GPU (prefetch_to_device must end the pipeline, where it hides that
        # length): a 300 px batch of 32 is 8.6 MB, well under a millisecond's copy.
        dataset = dataset.apply(tf.data.experimental.assert_cardinality(n_batches))
        return dataset.prefetch(AHEAD)


def batches(images: Arrays, batch_size: int, *, shuffle: bool, placement: str = "auto"):
    """A one-off Feed's batches (evaluation, benchmarks)."""
    return Feed(images, placement).batches(batch_size, shuffle=shuffle)
