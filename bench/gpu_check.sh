#!/usr/bin/env bash
# One prepared GPU check of gpugrad: about 3.5 minutes on an H200 (169 s on 2026-12-04, before the
# mixed-precision and compile benchmarks), under 6 if every step runs into its timeout: the limits
# and their kill grace add up to 343 s, plus about 15 s of install (not limited). No network
# needed. A step cut short keeps what it measured: benchmark rows go to gpu_kernels.jsonl and
# gpu_compile.jsonl as they are measured, and pytest is stopped with SIGINT, so it still prints
# its summary.
#   1. install the project itself (no dependencies: the machine has them), record the card and
#      the versions;
#   2. a one-line smoke test on CUDA;
#   3. the GPU benchmarks (python -m bench.gpu_kernels): bandwidth fractions, the block-size
#      sweeps, cross-entropy against PyTorch eager (time, peak memory), host overhead, MLP step,
#      the chunked linear cross-entropy (bf16, 128256 words) and a GPT block under bf16 autocast;
#   4. gpugrad.compile on CUDA (python -m bench.gpu_kernels --only compile, its own process, so
#      no memory hook of step 3 weighs on its host times): host time per op of a replayed chain
#      of tiny ops, MLP training steps replayed from CUDA graphs against eager gpugrad, PyTorch
#      eager and torch.compile(mode="reduce-overhead") (compiled last: a cut run keeps the rest),
#      the replayed step's memory against eager's, its agreement with eager;
#   5. the CUDA tests: tests/cuda (marked gpu: the op registry on CUDA tensors, streams, memory,
#      interop, > 2**31 elements, no-PyTorch launch, gpugrad.compile's CUDA graphs) and
#      tests/kernels (compiled, on CuPy arrays);
#   6. the reliability tests marked gpu (bad input on CUDA, the pool back at its baseline after
#      1,000 steps, determinism, tensors over 2**31 elements) and the other tests marked gpu
#      outside tests/cuda (Muon's CUDA step, DataParallel, CUDA generators, tensorboard);
#   7. gpugrad.distributed on CUDA (tests/distributed marked gpu): NCCL with world size 1, MPI on
#      CUDA tensors, backend=None (its lines go to summary.txt);
#   8. the demo (python -m gpugrad.demo) for a few epochs on the GPU;
# then prints a short table. Everything lands in $OUT (default bench/results/gpu): versions.txt,
# bench.log, gpu_kernels.jsonl (+ .json when the run ends), compile.log, gpu_compile.jsonl
# (+ .json), tests_gpu.log, tests_reliability_gpu.log, host_profile.txt, summary.txt (the demo's
# output is in summary.txt).
#
# Worst case, in seconds (limit + kill grace): versions 16, smoke 15, benchmarks 75+2, host
# profile 14+2, compile 40+2, CUDA tests 97+5, reliability 30+2, mpi4py probe 4, distributed 15+2,
# demo 12+2, final table 8: 343.
#
# Run from the repository root: bash bench/gpu_check.sh
set -u
OUT="${OUT:-bench/results/gpu}"
mkdir -p "$OUT"
PY="${PYTHON:-python3}"
export PYTHONUNBUFFERED=1 TRITON_DEFAULT_FP_FUSION=1
START=$(date +%s)
SUMMARY="$OUT/summary.txt"
: > "$SUMMARY"
step() { echo "== [$(( $(date +%s) - START )) s] $*" | tee -a "$SUMMARY"; }
# Kernel compilation is CPU-bound: one worker per core but two (Triton's on-disk cache is shared).
workers=$(( $(nproc) > 3 ? $(nproc) - 2 : 1 ))
xdist=""
$PY -c "import xdist" 2>/dev/null && xdist="-n $workers"

step "install"
: > "$OUT/versions.txt"
if [ -z "${GPU_CHECK_SKIP_INSTALL:-}" ]; then
  $PY -m pip install -q --no-deps --no-build-isolation -e . >> "$OUT/versions.txt" 2>&1 \
    || echo "pip install failed (see versions.txt)" | tee -a "$SUMMARY"
fi

step "versions"
{
  timeout 4 nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.mem \
    --format=csv
  timeout 4 nvidia-smi
  timeout 8 $PY - <<'PY'
import sys, numpy, cupy, triton
print("python", sys.version.split()[0], "numpy", numpy.__version__, "cupy", cupy.__version__,
      "triton", triton.__version__)
try:
    import torch
    print("torch", torch.__version__, "cuda", torch.version.cuda)
except ImportError:
    print("torch: not installed")
print("cupy sees", cupy.cuda.runtime.getDeviceCount(), "GPU(s)")
PY
} >> "$OUT/versions.txt" 2>&1
grep -E "^(name|python|torch|cupy sees)|H[0-9]+|A100|RTX" "$OUT/versions.txt" | grep -v "|" \
  | head -6 | tee -a "$SUMMARY"

step "smoke"
timeout 15 $PY -c "
import gpugrad, gpugrad.cuda
from gpugrad.kernels import MODE
x = gpugrad.arange(8.0, device='cuda', requires_grad=True)
y = (x.exp() * 2).sum()
y.backward()
print('kernels', MODE, '| exp sum', round(y.item(), 3), '| grad ok', bool((x.grad == 2 * x.exp()).all().item()), '|', gpugrad.cuda.get_device_name())
" 2>&1 | tail -5 | tee -a "$SUMMARY"

# SIGINT first: Python stops where it is and pytest still prints its summary; KILL $2 s later.
limit() { local s=$1 grace=$2; shift 2; timeout -s INT -k "$grace" "$s" "$@"; }

step "benchmarks (timeout 75 s; took 28-33 s before the mixed-precision sections, which run last)"
limit 75 2 $PY -m bench.gpu_kernels --out "$OUT" > "$OUT/bench.log" 2>&1
echo "bench exit $?" | tee -a "$SUMMARY"

step "host time per launch under cProfile (timeout 14 s; took 14 s with the copy floor, now skipped)"
limit 14 2 $PY -m bench.gpu_kernels --only host --profile --out "$OUT/profile" > /dev/null 2>&1
echo "profile exit $?" | tee -a "$SUMMARY"
mv "$OUT/profile/host_profile.txt" "$OUT/" 2>/dev/null; rm -rf "$OUT/profile"

step "gpugrad.compile: replayed CUDA graphs vs eager, PyTorch eager, torch.compile (timeout 40 s; never run)"
limit 40 2 $PY -m bench.gpu_kernels --only compile --name gpu_compile --out "$OUT" \
  > "$OUT/compile.log" 2>&1
echo "compile bench exit $?" | tee -a "$SUMMARY"
grep -E "section .* FAILED|Error|error:" "$OUT/compile.log" | cut -c1-220 | head -8 \
  | tee -a "$SUMMARY"

step "CUDA tests: tests/cuda tests/kernels (timeout 97 s; took 81-103 s on 14 workers)"
limit 97 5 $PY -m pytest -q $xdist -p no:cacheprovider --tb=short --durations=10 \
  tests/cuda tests/kernels > "$OUT/tests_gpu.log" 2>&1
echo "tests exit $?: $(tail -1 "$OUT/tests_gpu.log")" | tee -a "$SUMMARY"
grep -E "^(FAILED|ERROR)" "$OUT/tests_gpu.log" | cut -c1-220 | head -40 | tee -a "$SUMMARY"

step "reliability and the other gpu-marked tests on CUDA (timeout 30 s; reliability alone took 16-24 s)"
limit 30 2 $PY -m pytest -q -p no:cacheprovider --tb=short -m gpu tests/reliability tests/optim \
  tests/nn/test_data_parallel.py tests/nn/test_prune.py tests/test_random.py \
  tests/utils/test_tensorboard.py \
  > "$OUT/tests_reliability_gpu.log" 2>&1
echo "reliability exit $?: $(tail -1 "$OUT/tests_reliability_gpu.log")" | tee -a "$SUMMARY"
grep -E "^(FAILED|ERROR)" "$OUT/tests_reliability_gpu.log" | cut -c1-220 | head -10 \
  | tee -a "$SUMMARY"

# Output into summary.txt only (the files that come back are few); the full log stays in /tmp.
step "distributed on CUDA: NCCL with world size 1, MPI on CUDA tensors, backend=None (timeout 15 s)"
timeout 4 $PY -c "import mpi4py; from mpi4py import MPI; print('mpi4py', mpi4py.__version__, '|',
MPI.Get_library_version().splitlines()[0].strip())" 2>&1 | tail -1 | tee -a "$SUMMARY"
echo "mpiexec: $(command -v mpiexec || echo 'none (one rank, MPI as a singleton)')" \
  | tee -a "$SUMMARY"
limit 15 2 $PY -m pytest -q -p no:cacheprovider --tb=short -m gpu tests/distributed \
  > /tmp/gpugrad_distributed.log 2>&1
echo "distributed exit $?: $(tail -1 /tmp/gpugrad_distributed.log)" | tee -a "$SUMMARY"
grep -E "^(FAILED|ERROR|E  )" /tmp/gpugrad_distributed.log | cut -c1-200 | head -30 \
  | tee -a "$SUMMARY"

step "demo: python -m gpugrad.demo --epochs 3 on cuda (timeout 12 s; took 10 s)"
limit 12 2 $PY -m gpugrad.demo --epochs 3 --device cuda --out /tmp/gpugrad_demo 2>&1 | tail -4 \
  | tee -a "$SUMMARY"

step "done"
echo
echo "================================ gpu_check table ================================"
grep -E "floor  *\||bandwidth  *\||sweep .*best|torch (forward|peak)|ours (forward|peak)|host  *\||mlp  *\||linear_ce  *\||gpt_block  *\||FAILED" \
  "$OUT/bench.log" | cut -c1-120
grep -E " compile \|" "$OUT/compile.log" | cut -c1-160
# The goals, from the rows written as they were measured (present even if a bench was cut).
timeout 8 $PY -c "import json, os, sys; from bench.gpu_kernels import print_goals
print_goals([json.loads(l) for p in sys.argv[1:] if os.path.exists(p) for l in open(p)])" \
  "$OUT/gpu_kernels.jsonl" "$OUT/gpu_compile.jsonl"
cat "$SUMMARY"
