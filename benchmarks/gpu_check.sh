#!/usr/bin/env bash
# GPU check: on a machine with a CUDA GPU, verify every bundled spec on cuda, then time
# ResNet-50 at batch 256 in fp32, in bf16 + channels-last, and compiled (when that works),
# then the memory of every bundled spec at batch 64, fp32 (inference and the second Adam step,
# torch.cuda.max_memory_allocated) beside the fake-tensor tracker and the estimate: a table
# in memory.md (the tracker runs on the CPU in the background meanwhile); then what each
# operator of ResNet-50 b256 allocates beyond its outputs (memory_gap.json: the bf16 gap).
# Results go to a folder it prints (default: results/gpu_check_<time>; or set RESULTS=DIR).
# Finishes in well under 5 minutes on an H100.
#
# The GPU machine may have no internet: this script never downloads.  It uses the system
# python's torch when it is importable (in a venv with --system-site-packages and cnncalc
# installed from this checkout without dependencies), and otherwise stops with a message.
#
#   bash benchmarks/gpu_check.sh
#   DEVICE=cpu BATCH=8 bash benchmarks/gpu_check.sh     # a dry run of the script itself
set -uo pipefail
DEVICE="${DEVICE:-cuda}"
BATCH="${BATCH:-256}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
RESULTS="${RESULTS:-$ROOT/results/gpu_check_$(date +%Y%m%d_%H%M%S)}"
mkdir -p "$RESULTS"
LOG="$RESULTS/summary.txt"
say() { echo "$*" | tee -a "$LOG"; }

# --- python with torch --------------------------------------------------------------------
PY=""
for candidate in "${PYTHON:-}" python3 python; do
  [ -n "$candidate" ] || continue
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c "import torch" 2>/dev/null; then
    PY="$(command -v "$candidate")"; break
  fi
done
if [ -z "$PY" ]; then
  echo "gpu_check: no python with torch here, and this machine may not reach the internet." >&2
  echo "  Install a CUDA build of torch first (e.g. pip install torch), or set PYTHON=/path/to/python" >&2
  echo "  whose torch works, then rerun.  cnncalc itself needs click, rich and PyYAML." >&2
  exit 2
fi

VENV="$RESULTS/venv"
if "$PY" -c "import click, rich, yaml" 2>/dev/null; then
  # Everything is there: run cnncalc straight from the checkout, nothing to install.
  export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
  RUN="$PY"
else
  "$PY" -m venv --system-site-packages "$VENV" &&
    "$VENV/bin/pip" install -q --no-deps --no-build-isolation -e "$ROOT" >>"$LOG" 2>&1 &&
    "$VENV/bin/python" -c "import click, rich, yaml" 2>/dev/null || {
      echo "gpu_check: could not set up cnncalc (needs click, rich, PyYAML, offline); see $LOG" >&2
      exit 2; }
  RUN="$VENV/bin/python"
fi

if [ "$DEVICE" = cuda ] && ! "$RUN" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  echo "gpu_check: torch $("$RUN" -c 'import torch; print(torch.__version__)') sees no CUDA GPU" >&2
  exit 2
fi
"$RUN" -W ignore -c "import torch; print('torch', torch.__version__, 'CUDA', torch.version.cuda, '|', torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU')" | tee -a "$LOG"
say "results: $RESULTS"

# --- the fake-tensor tracker, on the CPU, while the GPU works (issue 15) ---------------------
MEM_BATCH="${MEM_BATCH:-64}"
timeout "${TRACKER_TIMEOUT:-280}" "$RUN" -W ignore benchmarks/gpu_memory.py tracker \
  "$RESULTS/memory_tracker.json" --batch "$MEM_BATCH" >"$RESULTS/memory_tracker.log" 2>&1 &
TRACKER_PID=$!

# --- every bundled spec, on cuda (one process: torch is imported once) -----------------------
"$RUN" -W ignore - "$RESULTS/verify_all.json" "$DEVICE" <<'PY' | tee -a "$LOG"
import json, sys, time
from pathlib import Path
import cnncalc
from cnncalc.backends import torch as backend

out, docs, bad = sys.argv[1], [], 0
for path in sorted(Path("cnncalc/specs").glob("*.yaml")):
    t0 = time.perf_counter()
    try:
        v = backend.verify(cnncalc.load(path), device=sys.argv[2], batch=2, iters=0)
        ok, note = v.ok, f"{v.torch_params:,} params"
    except Exception as e:  # report and go on: one broken spec must not hide the others
        ok, note = False, f"{type(e).__name__}: {e}"
    bad += not ok
    docs.append({"spec": path.stem, "ok": ok, "note": note})
    print(f"  {'✓' if ok else '✗'} {path.stem:<20} {note} ({time.perf_counter() - t0:.1f} s)")
Path(out).write_text(json.dumps(docs, indent=2))
print(f"verify on {sys.argv[2]}: {len(docs) - bad}/{len(docs)} specs agree")
PY

# --- ResNet-50 timings ----------------------------------------------------------------------
if "$RUN" -c "import cnncalc.zoo as z, sys; sys.exit(0 if 'resnet50' in z.names() else 1)"; then
  run_timing() {  # label, then verify options
    local label="$1"; shift
    if timeout "${TIMING_TIMEOUT:-150}" "$RUN" -W ignore -m cnncalc verify zoo:resnet50 --device "$DEVICE" \
        --batch "$BATCH" --warmup 5 --iters 20 --format json "$@" >"$RESULTS/resnet50_$label.json" \
        2>"$RESULTS/resnet50_$label.err"; then
      "$RUN" - "$RESULTS/resnet50_$label.json" "$label" <<'PY' | tee -a "$LOG"
import json, sys
d = json.load(open(sys.argv[1]))
t = d["timing"]
print(f"  resnet50 {sys.argv[2]:<18} ok={d['ok']} median {t['median_ms']:.2f} ms "
      f"(p10 {t['p10_ms']:.2f}, p90 {t['p90_ms']:.2f}), {t['images_per_s']:,.0f} img/s, "
      f"{t['tflops']:.2f} TFLOP/s, peak {(t['peak_memory_bytes'] or 0) / 2**30:.2f} GiB")
PY
    else
      say "  resnet50 $label: did not finish (exit $?): $(tail -n 2 "$RESULTS/resnet50_$label.err" | tr '\n' ' ')"
    fi
  }
  say "ResNet-50, batch $BATCH on $DEVICE:"
  run_timing fp32
  run_timing bf16_channels_last --dtype bf16 --channels-last
  run_timing bf16_cl_compiled --dtype bf16 --channels-last --compile
else
  say "zoo:resnet50 is not bundled yet: timing skipped"
fi

# --- memory of every bundled spec: GPU, tracker, estimate (issue 15) -------------------------
if [ "$DEVICE" = cuda ]; then
  say "memory, batch $MEM_BATCH, fp32 (max_memory_allocated on $DEVICE):"
  timeout "${MEMORY_TIMEOUT:-150}" "$RUN" -W ignore benchmarks/gpu_memory.py gpu \
    "$RESULTS/memory_gpu.json" --batch "$MEM_BATCH" 2>"$RESULTS/memory_gpu.err" | tee -a "$LOG"
  wait "$TRACKER_PID"
  "$RUN" -W ignore benchmarks/gpu_memory.py table "$RESULTS/memory_gpu.json" \
    "$RESULTS/memory_tracker.json" --batch "$MEM_BATCH" | tee "$RESULTS/memory.md" | tee -a "$LOG"
  # issue 15's bf16 gap: what each operator of ResNet-50 b256 allocates beyond its outputs
  # (cuDNN workspaces), bf16 / fp32 / cuDNN off / channels-last (docs/memory.md)
  say "memory beyond the tensors, ResNet-50 b256 inference, per operator:"
  timeout "${GAP_TIMEOUT:-120}" "$RUN" -W ignore benchmarks/gpu_memory_gap.py \
    "$RESULTS/memory_gap.json" --batch 256 2>"$RESULTS/memory_gap.err" | tee -a "$LOG"
else
  wait "$TRACKER_PID"
  say "memory: no GPU, the tracker's figures only: $RESULTS/memory_tracker.json"
fi

# --- the CUDA tests, when pytest is there ------------------------------------------------------
if "$RUN" -c "import pytest, hypothesis" 2>/dev/null; then
  timeout 120 "$RUN" -m pytest -q -p no:cacheprovider tests/test_verify.py \
    tests/test_verify_memory.py -k cuda \
    2>&1 | tail -n 3 | tee -a "$LOG"
fi
say "done: $LOG"
