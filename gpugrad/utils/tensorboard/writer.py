"""``SummaryWriter`` (PyTorch's ``torch.utils.tensorboard.SummaryWriter``) and the
``FileWriter`` under it: scalars, histograms, images, figures, text, hyperparameters, PR curves,
custom-scalar layouts, tensors and audio written to TensorBoard event files, and embeddings to
the projector's files, with no dependency on the ``tensorboard`` package."""

from __future__ import annotations

import os
import socket
import time
from datetime import datetime

from . import messages
from .audio import audio
from .boxes import image_with_boxes
from .convert import make_np
from .custom_scalars import custom_scalars
from .event_file_writer import EventFileWriter
from .hparams import hparams
from .image import figure_to_image, image
from .pr_curve import pr_curve, pr_curve_raw
from .projector import write_config, write_embedding
from .summary import histogram, histogram_raw, scalar, tensor_summary, tensorflow_bins, text

__all__ = ["FileWriter", "SummaryWriter"]


def _encoded(message) -> bytes:
    # Our summaries are bytes already; a protobuf message object is serialized.
    return message.SerializeToString() if hasattr(message, "SerializeToString") else message


def _wall_time(walltime) -> float:
    if walltime is None:
        return time.time()
    if isinstance(walltime, (str, bytes)):
        raise TypeError(f"walltime must be a real number, not {type(walltime).__name__}")
    return float(walltime)


class FileWriter:
    """Writes summaries, as events, to one event file in ``log_dir``. Summaries are encoded
    ``Summary`` messages (bytes) or protobuf message objects."""

    def __init__(self, log_dir, max_queue: int = 10, flush_secs: float = 120,
                 filename_suffix: str = "") -> None:
        self._args = (str(log_dir), max_queue, flush_secs, filename_suffix)
        self.event_writer = EventFileWriter(*self._args)

    def get_logdir(self) -> str:
        """The directory the event file is in."""
        return self.event_writer.get_logdir()

    def add_summary(self, summary, global_step=None, walltime=None) -> None:
        """Write ``summary`` in an event at ``global_step`` and ``walltime`` (default: now)."""
        wall_time = _wall_time(walltime)
        step = None if global_step is None else int(global_step)
        self.event_writer.add_event(
            messages.event(wall_time, step, summary=_encoded(summary))
        )

    def add_event(self, event) -> None:
        """Write an encoded ``Event`` message as it is."""
        self.event_writer.add_event(_encoded(event))

    def flush(self) -> None:
        """Write the pending events to disk."""
        self.event_writer.flush()

    def close(self) -> None:
        """Flush and close the event file."""
        self.event_writer.close()

    def reopen(self) -> None:
        """After ``close``, continue in a new event file in the same directory."""
        if self.event_writer.closed:
            self.event_writer = EventFileWriter(*self._args)


def _not_implemented(name: str):
    def method(self, *args, **kwargs):
        raise NotImplementedError(
            f"SummaryWriter.{name} is not implemented in gpugrad.utils.tensorboard (it writes "
            "scalars, histograms, images, figures, text, hparams, PR curves, embeddings, "
            "custom-scalar layouts, tensors and audio; no graphs, videos or meshes)"
        )

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"Not implemented: raises NotImplementedError (PyTorch's {name})."
    return method


class SummaryWriter:
    """Writes scalars, histograms, images (with boxes too), figures, text, hyperparameters, PR
    curves, custom-scalar layouts, tensors and audio to event files in ``log_dir`` for
    TensorBoard, and embeddings to the projector's files there, as PyTorch's ``SummaryWriter``
    (default ``log_dir``: ``runs/<Mon><DD>_<HH-MM-SS>_<hostname><comment>``). ``add_graph``,
    ``add_onnx_graph``, ``add_video`` and ``add_mesh`` raise ``NotImplementedError``.

    Events are queued and written when ``max_queue`` are pending, every ``flush_secs``
    seconds, on ``flush()`` and on ``close()``. ``purge_step`` marks a restart at that step, so
    that TensorBoard hides the events an earlier run logged from that step on."""

    def __init__(self, log_dir=None, comment: str = "", purge_step=None, max_queue: int = 10,
                 flush_secs: float = 120, filename_suffix: str = "") -> None:
        if not log_dir:
            now = datetime.now().strftime("%b%d_%H-%M-%S")
            log_dir = os.path.join("runs", now + "_" + socket.gethostname() + comment)
        self.log_dir = log_dir
        self.purge_step = purge_step
        self.max_queue = max_queue
        self.flush_secs = flush_secs
        self.filename_suffix = filename_suffix
        # Made on first use, and again after close() (into a new event file).
        self.file_writer = self.all_writers = None
        self._get_file_writer()
        self.default_bins = tensorflow_bins()
        # The projector config's entries, one per add_embedding call.
        self._embeddings: list[str] = []

    def _get_file_writer(self) -> FileWriter:
        if self.all_writers is None or self.file_writer is None:
            self.file_writer = FileWriter(
                self.log_dir, self.max_queue, self.flush_secs, self.filename_suffix
            )
            self.all_writers = {self.file_writer.get_logdir(): self.file_writer}
            if self.purge_step is not None:
                step = self.purge_step
                wall_time = time.time()
                self.file_writer.add_event(messages.event(
                    wall_time, step, file_version=messages.FILE_VERSION))
                self.file_writer.add_event(messages.event(
                    wall_time, step, session_log=messages.session_log(messages.SESSION_START)))
                self.purge_step = None
        return self.file_writer

    def get_logdir(self):
        """The directory where event files are written."""
        return self.log_dir

    def add_scalar(self, tag, scalar_value, global_step=None, walltime=None, new_style=False,
                   double_precision=False) -> None:
        """Log one number (a Python or NumPy number, or a one-element tensor or array).

        ``new_style`` writes it as a tensor for the scalars plugin (float64 with
        ``double_precision``) instead of a float32 ``simple_value``."""
        summary = scalar(tag, scalar_value, new_style=new_style,
                         double_precision=double_precision)
        self._get_file_writer().add_summary(summary, global_step, walltime)

    def add_scalars(self, main_tag, tag_scalar_dict, global_step=None, walltime=None) -> None:
        """Log several numbers on one chart: each ``tag -> value`` goes to its own
        sub-directory ``<log_dir>/<main_tag>_<tag>`` (with ``/`` in ``main_tag`` as ``_``),
        under the tag ``main_tag``."""
        walltime = _wall_time(walltime)
        parent = self._get_file_writer().get_logdir()
        for tag, scalar_value in tag_scalar_dict.items():
            sub_dir = parent + "/" + main_tag.replace("/", "_") + "_" + tag
            writer = self.all_writers.get(sub_dir)
            if writer is None:
                writer = FileWriter(sub_dir, self.max_queue, self.flush_secs,
                                    self.filename_suffix)
                self.all_writers[sub_dir] = writer
            writer.add_summary(scalar(main_tag, scalar_value), global_step, walltime)

    def add_histogram(self, tag, values, global_step=None, bins="tensorflow", walltime=None,
                      max_bins=None) -> None:
        """Log a histogram of ``values`` (a tensor or array of any shape). ``bins`` is
        ``'tensorflow'`` (TensorFlow's default edges) or anything ``numpy.histogram`` takes;
        ``max_bins`` merges neighbouring bins down to at most about that many."""
        if isinstance(bins, str) and bins == "tensorflow":
            bins = self.default_bins
        summary = histogram(tag, values, bins, max_bins=max_bins)
        self._get_file_writer().add_summary(summary, global_step, walltime)

    def add_histogram_raw(self, tag, min, max, num, sum, sum_squares, bucket_limits,
                          bucket_counts, global_step=None, walltime=None) -> None:
        """Log a histogram given by its statistics and its buckets' right edges and counts."""
        if len(bucket_limits) != len(bucket_counts):
            raise ValueError("len(bucket_limits) != len(bucket_counts), see the document.")
        summary = histogram_raw(tag, min, max, num, sum, sum_squares, bucket_limits,
                                bucket_counts)
        self._get_file_writer().add_summary(summary, global_step, walltime)

    def add_text(self, tag, text_string, global_step=None, walltime=None) -> None:
        """Log a string (shown as Markdown by TensorBoard's text plugin)."""
        self._get_file_writer().add_summary(text(tag, text_string), global_step, walltime)

    def add_hparams(self, hparam_dict, metric_dict, hparam_domain_discrete=None,
                    run_name=None, global_step=None) -> None:
        """Log a set of hyperparameters and the metrics they gave, for the hparams plugin: in
        a sub-directory ``run_name`` (default: the current time), with each metric also
        logged as a scalar there."""
        if type(hparam_dict) is not dict or type(metric_dict) is not dict:
            raise TypeError("hparam_dict and metric_dict should be dictionary.")
        summaries = hparams(hparam_dict, metric_dict, hparam_domain_discrete)
        if not run_name:
            run_name = str(time.time())
        logdir = os.path.join(self._get_file_writer().get_logdir(), run_name)
        with SummaryWriter(log_dir=logdir) as run_writer:
            for summary in summaries:
                run_writer.file_writer.add_summary(summary, global_step)
            for tag, value in metric_dict.items():
                run_writer.add_scalar(tag, value, global_step)

    def add_image(self, tag, img_tensor, global_step=None, walltime=None,
                  dataformats="CHW") -> None:
        """Log one picture (PNG), laid out as ``dataformats`` (``CHW``, ``HWC``, ``HW``...).
        uint8 values are taken as [0, 255]; other dtypes as [0, 1], scaled by 255 and clipped.
        One channel becomes three (grey); 4 channels are RGBA."""
        summary = image(tag, img_tensor, dataformats=dataformats)
        self._get_file_writer().add_summary(summary, global_step, walltime)

    def add_images(self, tag, img_tensor, global_step=None, walltime=None,
                   dataformats="NCHW") -> None:
        """Log a batch of pictures (``NCHW``, ``NHWC``... with 1 or 3 channels) tiled into
        one grid, 8 per row; values as in ``add_image``."""
        summary = image(tag, img_tensor, dataformats=dataformats)
        self._get_file_writer().add_summary(summary, global_step, walltime)

    def add_image_with_boxes(self, tag, img_tensor, box_tensor, global_step=None,
                             walltime=None, rescale=1, dataformats="CHW", labels=None) -> None:
        """Log a picture (values as in ``add_image``) with boxes drawn on it in red: one
        ``[xmin, ymin, xmax, ymax]`` row of ``box_tensor`` each (in pixels), labelled by
        ``labels`` (one string per box; a single string for one box; ignored when the count
        differs), the whole resized by ``rescale``. Needs Pillow, which draws them."""
        if labels is not None:
            if isinstance(labels, str):
                labels = [labels]
            if len(labels) != box_tensor.shape[0]:
                labels = None
        summary = image_with_boxes(tag, img_tensor, box_tensor, rescale, dataformats, labels)
        self._get_file_writer().add_summary(summary, global_step, walltime)

    def add_figure(self, tag, figure, global_step=None, close=True, walltime=None) -> None:
        """Log a matplotlib figure rendered as an RGB picture (a list of figures as a grid);
        the figures are closed if ``close``. Needs matplotlib."""
        dataformats = "NCHW" if isinstance(figure, list) else "CHW"
        self.add_image(tag, figure_to_image(figure, close), global_step, walltime,
                       dataformats=dataformats)

    def add_pr_curve(self, tag, labels, predictions, global_step=None, num_thresholds=127,
                     weights=None, walltime=None) -> None:
        """Log a precision-recall curve of ``predictions`` (probabilities in [0, 1]) against
        the 0/1 ``labels`` (tensors or arrays of one shape), at ``num_thresholds`` (at most
        127) evenly spaced thresholds, each prediction counted with its ``weights``."""
        labels, predictions = make_np(labels), make_np(predictions)
        summary = pr_curve(tag, labels, predictions, num_thresholds, weights)
        self._get_file_writer().add_summary(summary, global_step, walltime)

    def add_pr_curve_raw(self, tag, true_positive_counts, false_positive_counts,
                         true_negative_counts, false_negative_counts, precision, recall,
                         global_step=None, num_thresholds=127, weights=None,
                         walltime=None) -> None:
        """Log a precision-recall curve given by its counts, precision and recall at each
        threshold (``weights`` is accepted and unused, as in PyTorch)."""
        summary = pr_curve_raw(tag, true_positive_counts, false_positive_counts,
                               true_negative_counts, false_negative_counts, precision, recall,
                               num_thresholds)
        self._get_file_writer().add_summary(summary, global_step, walltime)

    def add_embedding(self, mat, metadata=None, label_img=None, global_step=None,
                      tag="default", metadata_header=None) -> None:
        """Save an embedding for TensorBoard's projector: ``mat`` (N points by D), optional
        ``metadata`` (N labels, or N rows of columns named by ``metadata_header``) and
        ``label_img`` (N pictures, ``NCHW``, values in [0, 1]) as files in
        ``<log_dir>/<global_step:05>/<tag>/``, listed in ``<log_dir>/projector_config.pbtxt``."""
        log_dir = self._get_file_writer().get_logdir()
        self._embeddings.append(write_embedding(log_dir, mat, metadata, label_img, global_step,
                                                tag, metadata_header))
        write_config(log_dir, self._embeddings)

    def add_custom_scalars(self, layout) -> None:
        """Set the charts of TensorBoard's custom-scalars plugin: ``layout`` is
        ``{category: {chart title: [kind, tags]}}``, a kind ``'Multiline'`` chart drawing
        the scalars of its tags together, a ``'Margin'`` chart one scalar (its first tag)
        between two others (the lower and upper bounds)."""
        self._get_file_writer().add_summary(custom_scalars(layout))

    def add_custom_scalars_multilinechart(self, tags, category="default",
                                          title="untitled") -> None:
        """Add one chart of the scalars ``tags`` to the custom-scalars layout."""
        self.add_custom_scalars({category: {title: ["Multiline", tags]}})

    def add_custom_scalars_marginchart(self, tags, category="default",
                                       title="untitled") -> None:
        """Add one margin chart to the custom-scalars layout: ``tags`` are the scalars of
        the value, its lower bound and its upper bound."""
        if len(tags) != 3:
            raise AssertionError(f"Expected 3 tags, got {len(tags)}.")
        self.add_custom_scalars({category: {title: ["Margin", tags]}})

    def add_tensor(self, tag, tensor, global_step=None, walltime=None) -> None:
        """Log a whole gpugrad tensor (any shape; float, integer or bool) as a tensor
        summary."""
        self._get_file_writer().add_summary(tensor_summary(tag, tensor), global_step,
                                            walltime)

    def add_audio(self, tag, snd_tensor, global_step=None, sample_rate=44100,
                  walltime=None) -> None:
        """Log a sound: one channel of samples in [-1, 1] (one dimension, size-1 ones
        aside; louder ones are clipped) at ``sample_rate`` Hz, stored as a 16-bit WAV."""
        self._get_file_writer().add_summary(audio(tag, snd_tensor, sample_rate), global_step,
                                            walltime)

    # PyTorch's other methods: not provided, and loud about it.
    add_video = _not_implemented("add_video")
    add_onnx_graph = _not_implemented("add_onnx_graph")
    add_graph = _not_implemented("add_graph")
    add_mesh = _not_implemented("add_mesh")

    def flush(self) -> None:
        """Write every pending event of every event file to disk."""
        if self.all_writers is None:
            return
        for writer in self.all_writers.values():
            writer.flush()

    def close(self) -> None:
        """Flush and close the event files (a later ``add_*`` opens a new one)."""
        if self.all_writers is None:
            return
        for writer in self.all_writers.values():
            writer.close()
        self.file_writer = self.all_writers = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, traceback) -> None:
        self.close()
