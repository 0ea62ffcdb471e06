"""A BiLSTM-CRF tagger's training step, one sentence at a time: thousands of tiny ops.

The model is ``tests/programs/bilstm_crf.py`` (the PyTorch tutorial's style: the CRF's forward
algorithm and Viterbi decoding as Python loops over the tags, ``log_sum_exp`` by hand with an
``argmax(...).item()`` per call), the same initial weights (gpugrad's) in both libraries. Timed: one
training step on one sentence (``zero_grad``, negative log-likelihood, ``backward``, SGD step),
and one Viterbi decode under ``no_grad``; both per sentence, cycling through the sentences.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from .common import Case, Context, Workload

_PROGRAM = Path(__file__).resolve().parents[2] / "tests" / "programs" / "bilstm_crf.py"


def _program():
    spec = importlib.util.spec_from_file_location("bilstm_crf_program", _PROGRAM)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _inputs(ctx: Context):
    def make():
        import gpugrad

        program = _program()
        gpugrad.manual_seed(ctx.seed)
        model, *_ = program.build(gpugrad)
        weights = {k: v.detach().numpy().copy() for k, v in model().state_dict().items()}
        return program, weights

    return make


def _builder(ctx: Context, impl: str, training: bool):
    def build(inputs):
        program, weights = inputs
        lib = ctx.module(impl)
        BiLSTMCRF, word_to_ix, tag_to_ix, prepare_sequence = program.build(lib)
        model = BiLSTMCRF()
        model.load_state_dict({k: lib.tensor(v) for k, v in weights.items()})
        opt = lib.optim.SGD(model.parameters(), lr=0.05, weight_decay=1e-4)
        data = [(prepare_sequence(s, word_to_ix),
                 lib.tensor([tag_to_ix[t] for t in tags], dtype=lib.long))
                for s, tags in program.TRAINING_DATA]

        def train_step():
            for sentence, targets in data:
                model.zero_grad()
                loss = model.neg_log_likelihood(sentence, targets)
                loss.backward()
                opt.step()
            return loss

        def decode():
            with lib.no_grad():
                return [model(sentence) for sentence, _ in data]

        return train_step if training else decode

    return build


def cases(ctx: Context) -> list[Case]:
    out = []
    sentences = len(_program().TRAINING_DATA)
    for training, label in ((True, "training step (one sentence)"),
                            (False, "Viterbi decode (one sentence)")):
        out.append(Case(label=label, inputs=_inputs(ctx), builders={
            impl: _builder(ctx, impl, training) for impl in ("gpugrad", "torch")},
            ops=sentences, rounds=3))  # times per sentence
    return out[:1] if ctx.smoke else out


WORKLOAD = Workload(
    name="bilstm_crf",
    title="BiLSTM-CRF tagger (tests/programs/bilstm_crf.py), per sentence",
    definition=("The PyTorch tutorial's BiLSTM-CRF (embedding 8, hidden 8, 5 tags, sentences of "
                "7-12 words): a training step is zero_grad + NLL (CRF forward algorithm looped "
                "over tags) + backward + SGD step; a decode is Viterbi under no_grad. Time per "
                "sentence."),
    cases=cases,
)
