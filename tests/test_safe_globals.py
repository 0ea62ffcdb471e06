"""``gpugrad.serialization.add_safe_globals`` and friends: checkpoints that ``torch.save`` wrote
with other objects than tensors load once those are allowlisted, as with
``torch.load(weights_only=True)``; nothing else runs."""

from __future__ import annotations

import argparse
import dataclasses
import enum
import io
import os
import pickle
import re
import sys

import pytest
import torch
from checkpoint_tools import Evil, rewrite_archive

import gpugrad
import gpugrad.serialization as gs


@dataclasses.dataclass(frozen=True)
class Config:
    width: int
    name: str
    dropout: float = 0.1


class Color(enum.Enum):
    RED = 1
    GREEN = 2


class Stateful:
    """Pickles only ``n``; ``__setstate__`` rebuilds the rest."""

    def __init__(self, n):
        self.n, self.cache = n, "derived"

    def __getstate__(self):
        return {"n": self.n}

    def __setstate__(self, state):
        self.n, self.cache = state["n"], "rebuilt"


class Slotted:
    __slots__ = ("a", "b")

    def __init__(self, a, b):
        self.a, self.b = a, b


ALLOWED = [argparse.Namespace, Config, Color, Stateful, Slotted]


@pytest.fixture(autouse=True)
def _no_allowlist():
    gs.clear_safe_globals()
    torch.serialization.clear_safe_globals()
    yield
    gs.clear_safe_globals()
    torch.serialization.clear_safe_globals()


def _checkpoint(tmp_path):
    obj = {
        "args": argparse.Namespace(lr=0.01, layers=[64, 64], scale=torch.tensor(2.0)),
        "model": {"w": torch.arange(6.0).reshape(2, 3), "config": Config(8, "tiny")},
        "mode": Color.GREEN,
        "stateful": Stateful(3),
        "slots": [Slotted(1, torch.ones(2))],
    }
    path = tmp_path / "checkpoint.pt"
    torch.save(obj, path)
    return path


def _check(loaded, tensor_type):
    args = loaded["args"]
    assert isinstance(args, argparse.Namespace)
    assert (args.lr, args.layers) == (0.01, [64, 64])
    assert isinstance(args.scale, tensor_type) and float(args.scale) == 2.0
    assert isinstance(loaded["model"]["w"], tensor_type)
    assert loaded["model"]["w"].tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert loaded["model"]["config"] == Config(8, "tiny")
    assert loaded["mode"] is Color.GREEN
    stateful = loaded["stateful"]
    assert type(stateful) is Stateful and (stateful.n, stateful.cache) == (3, "rebuilt")
    slotted = loaded["slots"][0]
    assert type(slotted) is Slotted and slotted.a == 1 and slotted.b.tolist() == [1.0, 1.0]


def test_refused_without_allowlist_with_a_message_naming_the_api(tmp_path):
    path = _checkpoint(tmp_path)
    for weights_only in (True, False):
        with pytest.raises(pickle.UnpicklingError,
                           match=r"add_safe_globals\(\[argparse\.Namespace\]\)"):
            gpugrad.load(path, weights_only=weights_only)
    with pytest.raises(pickle.UnpicklingError, match="add_safe_globals"):
        torch.load(path, weights_only=True)
    # allowlisting only some of them is not enough
    gs.add_safe_globals([argparse.Namespace])
    with pytest.raises(pickle.UnpicklingError, match=re.escape(f"safe_globals([{__name__}.")):
        gpugrad.load(path)


def test_allowlisted_objects_load_as_torch_loads_them(tmp_path):
    path = _checkpoint(tmp_path)
    gs.add_safe_globals(ALLOWED)
    torch.serialization.add_safe_globals(ALLOWED)
    assert gs.get_safe_globals() == ALLOWED
    _check(gpugrad.load(path), gpugrad.Tensor)
    _check(torch.load(path, weights_only=True), torch.Tensor)
    assert set(gs.get_safe_globals()) == set(torch.serialization.get_safe_globals())
    gs.clear_safe_globals()
    assert gs.get_safe_globals() == []
    with pytest.raises(pickle.UnpicklingError, match="refused the global"):
        gpugrad.load(path)


def test_the_context_manager_scopes_the_allowlist(tmp_path):
    path = _checkpoint(tmp_path)
    with gs.safe_globals(ALLOWED):
        assert gs.get_safe_globals() == ALLOWED
        _check(gpugrad.load(path), gpugrad.Tensor)
    assert gs.get_safe_globals() == []
    with pytest.raises(pickle.UnpicklingError):
        gpugrad.load(path)
    # as PyTorch's: leaving the block removes its entries, also ones added before it
    for api in (gs, torch.serialization):
        api.add_safe_globals([Config, Color])
        with api.safe_globals([Color, Slotted]):
            pass
        assert api.get_safe_globals() == [Config]
        api.clear_safe_globals()


def test_an_entry_named_as_the_pickle_names_it(tmp_path):
    # A class saved from a script is pickled as __main__.<name>; a (class, name) pair maps it.
    main = sys.modules["__main__"]
    Config.__module__ = "__main__"
    main.Config = Config
    try:
        path = tmp_path / "main.pt"
        torch.save({"config": Config(4, "main")}, path)
    finally:
        Config.__module__ = __name__
        del main.Config
    with gs.safe_globals([Config]), pytest.raises(pickle.UnpicklingError,
                                                  match=r"global __main__\.Config"):
        gpugrad.load(path)
    with gs.safe_globals([(Config, "__main__.Config")]):
        assert gpugrad.load(path) == {"config": Config(4, "main")}
    with torch.serialization.safe_globals([(Config, "__main__.Config")]):
        assert torch.load(path, weights_only=True) == {"config": Config(4, "main")}
    # malformed pairs fail when a checkpoint needs the allowlist, as in PyTorch
    for bad, error in (((Config, "__main__.Config", 1), ValueError), ((Config, 1), TypeError)):
        for api, load in ((gs, gpugrad.load), (torch.serialization,
                                               lambda p: torch.load(p, weights_only=True))):
            with api.safe_globals([bad]), pytest.raises(error):
                load(path)


# Hostile pickles: each would reach code that was not allowlisted.

class Callable:
    """An allowlisted class whose instances are callable and have list/dict-like methods."""

    def __call__(self, *args):
        raise AssertionError("an instance was called")

    def append(self, item):
        raise AssertionError("append was called")

    def __setitem__(self, key, value):
        raise AssertionError("__setitem__ was called")


class NotAllowed:
    pass


def make_not_allowed():
    return NotAllowed()


class _Reduce:
    """Pickles as ``func(*args)`` followed by an optional BUILD with ``state``."""

    def __init__(self, func, args=(), state=None):
        self.func, self.args, self.state = func, args, state

    def __reduce__(self):
        return (self.func, self.args) if self.state is None else (self.func, self.args,
                                                                   self.state)


def _with_pickle(tmp_path, payload: bytes):
    """A torch.save checkpoint whose data.pkl is ``payload``."""
    buffer = io.BytesIO()
    torch.save({"w": torch.ones(2)}, buffer)
    return rewrite_archive(buffer, tmp_path / "hostile.pt", change_pickle=lambda _: payload)


def test_allowlisting_lets_nothing_else_through(tmp_path):
    marker = tmp_path / "pwned"
    gs.add_safe_globals([argparse.Namespace, Callable, make_not_allowed])
    # os.system in the state of an allowlisted object
    state = pickle.dumps(argparse.Namespace(x=Evil(marker)), protocol=2)
    with pytest.raises(pickle.UnpicklingError, match=r"refused the global posix\.system"):
        gpugrad.load(_with_pickle(tmp_path, state))
    # os.system allowlisted itself: its module is never loaded (as in PyTorch)
    evil = pickle.dumps({"x": Evil(marker)}, protocol=2)
    with gs.safe_globals([os.system]), pytest.raises(pickle.UnpicklingError,
                                                     match="never loaded"):
        gpugrad.load(_with_pickle(tmp_path, evil))
    with torch.serialization.safe_globals([os.system]), pytest.raises(pickle.UnpicklingError):
        torch.load(_with_pickle(tmp_path, evil), weights_only=True)
    assert not marker.exists()

    hostile = {
        "refused to call": _Reduce(Callable(), (1,)),  # an instance is no global
        "refused to set the state": _Reduce(make_not_allowed, (), {"a": 1}),
        "refused to set the attribute '__class__'": _Reduce(
            Callable, (), (None, {"__class__": argparse.Namespace})),
    }
    for message, obj in hostile.items():
        with pytest.raises(pickle.UnpicklingError, match=message):
            gpugrad.load(_with_pickle(tmp_path, pickle.dumps(obj, protocol=2)))
    # items go only into plain lists and dicts, never through an object's methods
    base = pickle.dumps(_Reduce(Callable), protocol=2)[:-1]  # drop STOP
    for opcodes, message in ((b"K\x01a.", "refused APPEND on a Callable"),
                             (b"(K\x01e.", "refused APPENDS"),
                             (b"K\x01K\x02s.", "refused SETITEM on a Callable"),
                             (b"(K\x01K\x02u.", "refused SETITEMS")):
        with pytest.raises(pickle.UnpicklingError, match=message):
            gpugrad.load(_with_pickle(tmp_path, base + opcodes))
    # OBJ's class is an instance (not a global); NEWOBJ of a function (not a class)
    obj_of_instance = b"\x80\x02(" + base[2:] + b"K\x01o."
    newobj_of_function = b"\x80\x02c" + f"{__name__}\nmake_not_allowed\n".encode() + b")\x81."
    for payload, message in ((obj_of_instance, "refused to call"),
                             (newobj_of_function, "refused to create an instance of")):
        with pytest.raises(pickle.UnpicklingError, match=message):
            gpugrad.load(_with_pickle(tmp_path, payload))
    # an allowlisted function's results are usable; its class still is not allowlisted
    loaded = gpugrad.load(_with_pickle(tmp_path, pickle.dumps(_Reduce(make_not_allowed),
                                                              protocol=2)))
    assert type(loaded) is NotAllowed
