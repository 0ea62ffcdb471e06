"""The three summaries of the hparams plugin (``SummaryWriter.add_hparams``): the experiment
(which hyperparameters and metrics exist), the session's start (its hyperparameters' values)
and its end (its status). Field numbers from TensorBoard's ``plugins/hparams/api.proto`` and
``plugin_data.proto``, and protobuf's ``struct.proto`` for the values."""

from __future__ import annotations

from . import messages
from .convert import make_np
from .protobuf import bytes_field, double_field, int_field, string_field

PLUGIN_NAME = "hparams"
EXPERIMENT_TAG = "_hparams_/experiment"
SESSION_START_INFO_TAG = "_hparams_/session_start_info"
SESSION_END_INFO_TAG = "_hparams_/session_end_info"

# hparams.DataType and hparams.Status.
DATA_TYPE_STRING = 1
DATA_TYPE_FLOAT64 = 3
STATUS_SUCCESS = 1


def _struct_value(value) -> bytes:
    """A ``google.protobuf.Value`` holding a number or a string (a oneof: always written)."""
    if isinstance(value, str):
        return string_field(3, value)
    return double_field(2, value)


def _check_domains(hparam_dict: dict, hparam_domain_discrete) -> dict:
    hparam_domain_discrete = hparam_domain_discrete or {}
    if not isinstance(hparam_domain_discrete, dict):
        raise TypeError(
            "parameter: hparam_domain_discrete should be a dictionary, nothing logged."
        )
    for name, domain in hparam_domain_discrete.items():
        if (name not in hparam_dict or not isinstance(domain, list)
                or not all(isinstance(d, type(hparam_dict[name])) for d in domain)):
            raise TypeError(
                f"parameter: hparam_domain_discrete[{name}] should be a list of same type as "
                f"hparam_dict[{name}]."
            )
    return hparam_domain_discrete


def _plugin_summary(tag: str, data_field: int, data: bytes) -> bytes:
    # HParamsPluginData: version 0 (left out), then one of its three data fields.
    content = bytes_field(data_field, data)
    metadata = messages.summary_metadata(PLUGIN_NAME, content)
    return messages.summary(messages.summary_value(tag.encode("utf-8"), metadata=metadata))


def hparams(hparam_dict: dict, metric_dict: dict, hparam_domain_discrete=None):
    """The experiment, session-start and session-end summaries for these hyperparameters
    (numbers, strings; ``None`` ones are left out) and metric names."""
    from ...tensor import Tensor

    if not isinstance(hparam_dict, dict):
        raise TypeError("parameter: hparam_dict should be a dictionary, nothing logged.")
    if not isinstance(metric_dict, dict):
        raise TypeError("parameter: metric_dict should be a dictionary, nothing logged.")
    domains = _check_domains(hparam_dict, hparam_domain_discrete)

    hparam_infos = b""
    start_values = b""
    for name, value in hparam_dict.items():
        if value is None:
            continue
        if isinstance(value, Tensor):
            value = float(make_np(value).reshape(-1)[0])
        elif not isinstance(value, (int, float, str)):  # bools are ints: stored as numbers
            raise ValueError("value should be one of int, float, str, bool, or gpugrad.Tensor")
        data_type = DATA_TYPE_STRING if isinstance(value, str) else DATA_TYPE_FLOAT64
        # SessionStartInfo.hparams is a map<string, Value>: one (key, value) entry each.
        entry = string_field(1, name) + bytes_field(2, _struct_value(value))
        start_values += bytes_field(1, entry)
        info = string_field(1, name) + int_field(4, data_type)
        if name in domains:
            # A ListValue of the allowed values.
            allowed = b"".join(bytes_field(1, _struct_value(d)) for d in domains[name])
            info += bytes_field(5, allowed)
        hparam_infos += bytes_field(4, info)

    # MetricInfo: its MetricName, with only the tag.
    metric_infos = b"".join(
        bytes_field(5, bytes_field(1, string_field(2, name))) for name in metric_dict
    )
    experiment = _plugin_summary(EXPERIMENT_TAG, 2, hparam_infos + metric_infos)
    session_start = _plugin_summary(SESSION_START_INFO_TAG, 3, start_values)
    session_end = _plugin_summary(SESSION_END_INFO_TAG, 4, int_field(1, STATUS_SUCCESS))
    return experiment, session_start, session_end
