"""TensorBoard logging with PyTorch's API (``torch.utils.tensorboard``): ``SummaryWriter``
writes event files TensorBoard reads, encoding the protobuf messages and TFRecord framing
itself, so the ``tensorboard`` package is needed only to view them.

The modules: ``crc32c`` (checksums), ``protobuf`` (wire format), ``messages`` (the event and
summary messages); ``summary``, ``image`` (pictures, PNG encoding, figures), ``boxes`` (boxes
drawn on pictures), ``hparams``, ``pr_curve``, ``custom_scalars`` and ``audio`` (what each
``add_*`` logs); ``projector`` (the embedding files of ``add_embedding``); ``record_writer``
(TFRecord framing), ``event_file_writer`` (one file and its queue), ``writer`` (the writers).
"""

from .record_writer import RecordWriter
from .writer import FileWriter, SummaryWriter

__all__ = ["FileWriter", "RecordWriter", "SummaryWriter"]
