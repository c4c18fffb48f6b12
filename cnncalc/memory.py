"""Memory a PyTorch run of a spec needs on a GPU: the inference peak and one training step.

Torch-free.  The spec is replayed as PyTorch runs the module that ``cnncalc.backends.recipes``
builds from it, one op at a time in execution order, following each tensor's storage:

* **Inference** (``model.eval()``, ``torch.inference_mode()``): weights + buffers + the input
  + the peak, over execution order, of the tensors alive at once.  A tensor lives until its last
  consumer has run, and until the module call it was passed into returns (a block's input
  lives through the block: that is what keeps a residual's shortcut and a concat's branches
  alive); an in-place activation (``inplace: true``) writes into its input's storage; a view
  (flatten, split) allocates nothing; a merge allocates its output while its inputs live; an
  op's scratch (max pool's int64 indices, which CUDA computes even without grad) lives while
  the op runs.
* **One training step**, a later one (``zero_grad(set_to_none=True)``, ``out = model(x)``,
  ``loss = out.float().sum()``, ``del out``, ``loss.backward()``, ``del loss``, ``opt.step()``:
  the optimizer state exists; the protocol mem-oracle's tracker measures): weights +
  buffers + optimizer state + the input, the tensors autograd saves (each kind's ``saves``,
  PyTorch's ``tools/autograd/derivatives.yaml``), counted once per storage, kept until the
  op's backward has run; then the backward in reverse order, each op allocating the gradient
  of its input (a merge passes its gradient on: ``add`` as is, ``cat`` as views) and of its
  weights (kept to the step), a gradient freed once the op that made its tensor has used it;
  then the optimizer's step with its temporaries (``foreach`` Adam's ``sqrt`` of the second
  moment: one tensor per parameter; SGD none).
* **Types**: ``fp32``, ``bf16``, ``fp16`` (the whole model, its input and its optimizer state),
  or ``amp`` (``torch.autocast``): fp32 weights, gradients and state; conv and linear cast their
  input and weights to the low type (autocast caches the weight copies for the forward) and
  give low-precision outputs; softmax and layer norm run in fp32; every other op keeps its
  input's type.
* **cuDNN's workspace**: a half-precision convolution (bf16, fp16 or under ``amp``; not a
  depthwise one, which PyTorch runs in its own kernel, nor a pointwise 1×1 stride-1 one, a
  plain product on NCHW) allocates an NHWC copy of its input and of its output (+ 512 B) for
  the call (:data:`WORKSPACE`); in the forward only (a backward's workspaces are not
  modelled; the measured Adam steps are within 0.4% without them).
* **Allocator**: every tensor is rounded up to a multiple of 512 bytes, as the CUDA caching
  allocator does (``torch.cuda.max_memory_allocated`` counts the rounded sizes).

Left out (:data:`LEFT_OUT`): the CUDA context (about 300–500 MiB per process, outside
PyTorch's allocator), cuBLAS's workspace and cuDNN's other workspaces (fp32's, the backward's,
fp16 depthwise convs'), and the allocator's fragmentation (reserved but unallocated memory).
"""

from __future__ import annotations

import gc
from enum import Enum

from .records import record
from .engine import analyze
from .layers.base import Layer
from .network import Arm, At, Branches, Group, Leaf, Merge, Repeat, Residual, Spec, Visitor, walk
from .report import Report
from .formulas import Shape, symbolic_shape

ALIGN = 512  # the CUDA caching allocator's granularity (c10/cuda/CUDACachingAllocator.cpp)
# A convolution in bf16 or fp16 on NCHW tensors runs in cuDNN's tensor-core engines, which work
# on NHWC: cuDNN takes a workspace from PyTorch's allocator for the call (cudnn/Conv_v8.cpp,
# run_conv_plan) holding an NHWC copy of the input and of the output, plus this much.  A
# pointwise conv (1×1, stride 1, no padding) is a plain matrix product on NCHW and takes none.
# Measured on an H200 (issue 15): ResNet-50, batch 256, bf16 inference peaks at 1,566,983,680
# B, the tensors alive at layer2.0's strided 1×1 downsample conv plus its input and output plus
# 512 B, to the byte, on torchvision's model and on the zoo's spec; copies at layer1's pointwise
# convs would put torchvision's model one 256×64×56×56 tensor above that.  fp32 takes no such
# copy (its peak is the tensors' within 1 MiB).
WORKSPACE = 512

LEFT_OUT = ("the CUDA context (300–500 MiB per process, outside PyTorch's allocator)",
            "cuBLAS's workspace and cuDNN's beyond a half-precision conv's NHWC copies",
            "allocator fragmentation (reserved but not allocated)")

ITEM = {"fp64": 8, "fp32": 4, "tf32": 4, "bf16": 2, "fp16": 2}


class Optimizer(str, Enum):
    SGD = "sgd"
    MOMENTUM = "momentum"
    ADAM = "adam"
    ADAMW = "adamw"

    def __str__(self) -> str:
        return self.value

    @property
    def state(self) -> int:
        """Tensors of state per parameter: momentum's buffer; Adam's two moments (its step
        counter is a CPU scalar)."""
        return {"sgd": 0, "momentum": 1, "adam": 2, "adamw": 2}[self.value]

    @property
    def scratch(self) -> int:
        """Temporaries per parameter during ``step()`` (foreach, the CUDA default):
        Adam's ``exp_avg_sq_sqrt = torch._foreach_sqrt(exp_avg_sqs)``; SGD works in place."""
        return {"sgd": 0, "momentum": 0, "adam": 1, "adamw": 1}[self.value]


def rounded(nbytes: int) -> int:
    """A tensor's bytes as the CUDA caching allocator hands them out (0 stays 0)."""
    if nbytes <= 0:
        return 0
    return -(-nbytes // ALIGN) * ALIGN


@record
class LayerMemory:
    """One layer's memory: the bytes autograd keeps because of it (storages it is the first to
    save) and the bytes alive right after it in inference (weights and buffers included)."""

    name: str
    saved_bytes: int
    live_bytes: int


@record(slots=False)
class MemoryEstimate:
    batch: int
    dtype: str
    amp: str | None
    optimizer: Optimizer
    # What the counts give, params × bytes (no rounding: a figure to check by hand); the peaks
    # count each tensor as the allocator rounds it, and BN's int64 step counters.
    params_bytes: int
    buffers_bytes: int
    grads_bytes: int
    optimizer_bytes: int  # its state
    input_bytes: int
    saved_bytes: int  # what autograd keeps at the end of the forward, unique storages
    inference_peak: int
    inference_peak_layer: str
    training_peak: int
    training_peak_layer: str | None  # the layer running (its forward or its backward); None
    # when the optimizer's step peaks (no layer runs then)
    rows: tuple[LayerMemory, ...]  # per leaf, in report.layers order
    inference_curve: tuple[tuple[str, int], ...]  # (op, bytes alive while it runs)
    training_curve: tuple[tuple[str, int], ...]  # forward ops, backward ops, optimizer step
    checkpoint: bool = False  # each top-level block checkpointed (torch.utils.checkpoint)
    recomputed_macs: int = 0  # what the checkpointed blocks run again in backward, per batch
    training_peak_phase: str = "forward"  # "forward", "backward" or "step"

    @property
    def precision(self) -> str:
        return f"amp {self.amp}" if self.amp else self.dtype

    @property
    def training_peak_at(self) -> str:
        """Where the training peak happens, in words: "NAME", "NAME (backward)" or "the
        optimizer step"."""
        if self.training_peak_phase == "step":
            return "the optimizer step"
        if self.training_peak_phase == "backward":
            return f"{self.training_peak_layer} (backward)"
        return str(self.training_peak_layer)


# --- the replay -----------------------------------------------------------------------------

class _Tape(Visitor[int]):
    """The forward pass as ops on tensors; a tensor is an int, its storage another."""

    def __init__(self, report: Report, batch: int, dtype: str, amp: str | None,
                 training: bool):
        self.rows = report.layers
        self.batch, self.training = batch, training
        self.item = ITEM[dtype] if amp is None else 4
        self.low = ITEM[amp] if amp else 0
        # tensors
        self.t_store: list[int] = []
        self.t_bytes: list[int] = []
        self.t_item: list[int] = []
        self.t_req: list[bool] = []
        self.t_from: list[int] = []  # the op that made it (-1: the input)
        # storages
        self.s_bytes: list[int] = []
        self.s_born: list[int] = []
        self.s_last: list[int] = []
        # ops
        self.o_name: list[str] = []
        self.o_row: list[int] = []  # the leaf's index in report.layers, -1 for a merge
        self.o_ins: list[tuple[int, ...]] = []
        self.o_out: list[int] = []
        self.o_saved: list[list[int]] = []
        self.o_grad: list[str] = []  # "new", "pass", "view", "mul" or "" (no grad_fn)
        self.o_params: list[tuple[int, ...]] = []  # trainable param tensors' elements
        self.o_cached: list[list[int]] = []  # autocast's weight copies (storages)
        self.o_seg: list[int] = []  # the checkpointed block an op is in, or -1
        self.o_bscratch: list[int] = []  # bytes alive only during its backward
        self.o_scratch: list[list[int]] = []  # storages made and dropped within its forward
        # ``share:``: a weight used by several ops gets one .grad, made at the backward of
        # its last use (the first to run backward); at an earlier use's backward its own
        # gradient and the sum (autograd adds out of place) are alive with it for a moment.  The op that owns each leaf's weights, and the ops whose are not.
        self.owner: dict[str, int] = {}
        self.o_transient: set[int] = set()
        self.segment = -1
        self.segments = 0
        self.frames: list[list] = []  # [input, run frame?, lingering tensors, holds?, level?]
        self.to_end: list[int] = []  # lingering in the network's own run (Block.run's `outs`)
        self.heads: list[set[str]] = [set()]  # per module level, containers dotted names made

    # -- tensors and storages
    def storage(self, nbytes: int, born: int) -> int:
        self.s_bytes.append(rounded(nbytes))
        self.s_born.append(born)
        self.s_last.append(born)
        return len(self.s_bytes) - 1

    def tensor(self, numel: int, item: int, req: bool, store: int | None = None,
               op: int = -1) -> int:
        if store is None:
            store = self.storage(numel * item, max(op, 0))
        self.t_store.append(store)
        self.t_bytes.append(numel * item)
        self.t_item.append(item)
        self.t_req.append(req)
        self.t_from.append(op)
        return len(self.t_store) - 1

    def use(self, t: int, op: int) -> None:
        s = self.t_store[t]
        if self.s_last[s] < op:
            self.s_last[s] = op

    def start(self, shape: Shape) -> int:
        return self.tensor(shape.numel * self.batch, self.low and 4 or self.item, False)

    # -- ops
    def op(self, name: str, row: int, ins: tuple[int, ...]) -> int:
        i = len(self.o_name)
        self.o_name.append(name)
        self.o_row.append(row)
        self.o_ins.append(ins)
        self.o_out.append(-1)
        self.o_saved.append([])
        self.o_grad.append("")
        self.o_params.append(())
        self.o_cached.append([])
        self.o_seg.append(self.segment)
        self.o_bscratch.append(0)
        self.o_scratch.append([])
        for t in ins:
            self.use(t, i)
        return i

    def leaf(self, at: At, node: Leaf, x: int) -> int:
        layer, row = node.layer, self.rows[at.index]
        xs, ys, b = row.input_shape, row.shape, self.batch
        if node.name:
            self.note_head(node.name)
        i = self.op(at.name, at.index, (x,))
        if layer.identity_in_eval and (not self.training or not layer.hp["p"]):
            self.o_out[i] = x  # eval-mode dropout, p = 0: the input itself
            self.o_grad[i] = "pass" if self.t_req[x] else ""
            return x
        trainable = () if at.frozen else layer.param_tensors(xs)
        req = self.t_req[x] or bool(trainable)
        item_in = self.t_item[x]
        src = x  # what the op reads: its input, or autocast's copy of it
        item = item_in
        if self.low and layer.autocast == "low":
            item = self.low
            for numel in layer.param_tensors(xs):  # cached for the forward (a leaf that
                self.o_cached[i].append(self.storage(numel * self.low, i))  # needs grad)
        elif self.low and layer.autocast == "fp32":
            item = 4
        work = item  # the type its intermediate maps are in
        if self.low and layer.autocast == "promote":
            item = 4  # its own fp32 parameters times a low input: promoted, nothing cast
        elif item != item_in:
            src = self.tensor(xs.numel * b, item, self.t_req[x], op=i)
        if layer.view or (layer.in_place and not layer.identity_in_eval):
            y = self.tensor(ys.numel * b, item, req, self.t_store[src], op=i)
        else:
            y = self.tensor(ys.numel * b, item, req, op=i)
        self.use(y, i)
        self.o_out[i] = y
        saved = layer.saved(xs, ys) if self.training and req else ()
        if saved is None:
            raise ValueError(f"layer kind '{layer.key}' does not say what autograd saves "
                             f"(its class's `saves`)")
        keep = self.o_saved[i]
        for word in saved:
            if word == "input":
                if layer.autocast == "low" and not trainable:
                    continue  # a frozen conv/linear keeps only its weight, for the input's grad
                keep.append(self.t_store[src])
            elif word == "output":
                keep.append(self.t_store[y])
            elif word == "copy":
                keep.append(self.storage(xs.numel * b * item, i))
            elif word == "temp":
                keep.append(self.storage(ys.numel * b * work, i))
            elif word == "indices":
                keep.append(self.storage(ys.numel * b * 8, i))
            elif word == "padded":
                pad = layer.hp.get("size", 1) - 1
                keep.append(self.storage((xs.c + pad) * (xs.numel // xs.c) * b * item, i))
            elif word == "mask":
                keep.append(self.storage(ys.numel * b, i))
            elif word == "stats":  # in the weights' type (fp32 under autocast)
                keep += [self.storage(xs.c * self.item, i), self.storage(xs.c * self.item, i)]
            elif word == "rows":
                positions = b * (xs.h * xs.w if xs.spatial else 1)
                keep += [self.storage(positions * 4, i), self.storage(positions * 4, i)]
            else:
                raise ValueError(f"layer kind '{layer.key}' saves '{word}', which "
                                 f"cnncalc.memory does not know")
        for word in layer.scratched(xs, ys):
            if word == "workspace":
                if item == 2:  # a half-precision conv: cuDNN's NHWC copies (WORKSPACE)
                    self.o_scratch[i].append(
                        self.storage((xs.numel + ys.numel) * b * item + WORKSPACE, i))
                continue
            if word in saved:
                continue
            size = {"indices": ys.numel * b * 8, "copy": xs.numel * b * item,
                    "temp": ys.numel * b * item}[word]
            self.o_scratch[i].append(self.storage(size, i))  # made and dropped within the op
        if req:
            # a view of every element (flatten) passes its gradient back as a view; a view of
            # a part (slice, split: derivatives.yaml's slice_backward, split_backward) makes a
            # new gradient of the input's size, zeros where the part did not reach
            self.o_grad[i] = "view" if layer.view and ys.numel == xs.numel else "new"
            self.o_params[i] = trainable
            source = at.share or at.name
            if at.share and source in self.owner and trainable:
                self.o_transient.add(self.owner[source])
            self.owner[source] = i
            if self.training and layer.backward_scratch:
                pad = (xs.c + layer.hp.get("size", 1) - 1) * (xs.numel // xs.c)
                sizes = {"copy": xs.numel, "temp": ys.numel, "padded": pad}
                if "others" in layer.backward_scratch:  # split's zero slices, one tensor each
                    parts = max(xs.numel // max(ys.numel, 1), 1)
                    self.o_bscratch[i] += (parts - 1) * rounded(ys.numel * b * item)
                self.o_bscratch[i] += sum(rounded(sizes[w] * b * item)
                                          for w in layer.backward_scratch if w != "others")
        return y

    def merge(self, at: At, node, x: int, outs: list[tuple[At, int]]) -> int:
        ys = [t for _, t in outs]
        linger = node.name is None or node.name == ""
        if isinstance(node, Branches) and node.merge == Merge.FIRST:
            self.linger(ys[1:])
            return ys[0]
        if isinstance(node, Residual):
            how = "add"
        else:
            how = str(node.merge)
            if linger:
                self.linger(ys)  # Block.run keeps `outs` until it returns
        i = self.op(f"{at.name} ({how})" if at.name else how, -1, tuple(ys))
        req = any(self.t_req[t] for t in ys)
        item = max(self.t_item[t] for t in ys)
        if how == "concat":
            numel = sum(self.t_bytes[t] // self.t_item[t] for t in ys)
        else:
            numel = max(self.t_bytes[t] // self.t_item[t] for t in ys)
        y = self.tensor(numel, item, req, op=i)
        self.use(y, i)
        self.o_out[i] = y
        if req:
            self.o_grad[i] = {"add": "pass", "concat": "view"}.get(how, "mul")
            if how == "mul" and self.training:  # mul_tensor_backward reads the other factor
                self.o_saved[i] = [self.t_store[t] for t in ys]
        return y

    def linger(self, tensors) -> None:
        for frame in reversed(self.frames):
            if frame[1]:
                frame[2].extend(tensors)
                return
        self.to_end.extend(tensors)  # the network's own run: kept until the network returns

    def enter(self, at: At, node, x: int) -> None:
        # Every call (a block's module, an arm's run) holds its input until it returns; an
        # unnamed residual or branches is a step of the enclosing run, which holds its input
        # until the merge.  A repeat named as a container that dotted names made (a repeat
        # `layer1` after a block `layer1.0`) has its iterations joined to that container,
        # each called on its own (cnncalc.backends.recipes): nothing holds the repeat's input.
        named = bool(getattr(node, "name", None))
        top = len(self.frames) == 0 or (len(self.frames) == 1 and isinstance(node, Arm) and
                                        node.role == "iteration")
        if top and not isinstance(node, Repeat):  # a top-level block, or a top repeat's round
            self.segment = self.segments
            self.segments += 1
        hold = not (isinstance(node, Repeat) and node.name in self.heads[-1])
        self.frames.append([x, isinstance(node, Arm) or named, [], hold])
        segment = node.segment if isinstance(node, Arm) else getattr(node, "name", None)
        if segment:
            self.note_head(segment)
        if isinstance(node, Arm) and node.segment or not isinstance(node, Arm) and named:
            self.heads.append(set())
            self.frames[-1].append(True)
        else:
            self.frames[-1].append(False)

    def note_head(self, name: str) -> None:
        head, dot, rest = name.partition(".")
        if dot and head and rest:
            self.heads[-1].add(head)

    def leave(self, at: At, node, x: int, y: int) -> None:
        x, _, lingering, hold, level = self.frames.pop()
        if len(self.frames) == 0 or (len(self.frames) == 1 and isinstance(node, Arm) and
                                     node.role == "iteration"):
            self.segment = -1
        if level:
            self.heads.pop()
        last = len(self.o_name) - 1
        if hold:
            self.use(x, last)
        for t in lingering:
            self.use(t, last)


def _replay(spec: Spec, report: Report, batch: int, dtype: str, amp: str | None,
            training: bool) -> tuple[_Tape, int]:
    tape = _Tape(report, batch, dtype, amp, training)
    x = tape.start(spec.input_shape)
    y = walk(spec.layers, tape, x)
    for t in tape.to_end:  # `outs` of the network's own run lives to its return: to the
        tape.use(t, len(tape.o_name) - 1)  # end of the forward, in inference and training
    return tape, y


def _weights(report: Report, spec: Spec, item: int, opt: Optimizer, state_item: int):
    """(params, buffers, trainable param bytes, per-tensor list) as PyTorch holds them."""
    from .network import leaves
    params = buffers = trainable = 0
    trainable_tensors: list[int] = []
    rows = report.layers  # a property that makes its tuple: read once
    for at, leaf in leaves(spec.layers):
        if at.share:
            continue  # ``share:``: the weights and buffers of an earlier layer, counted there
        row = rows[at.index]
        for numel in leaf.layer.param_tensors(row.input_shape):
            params += rounded(numel * item)
            if not at.frozen:
                trainable += rounded(numel * state_item)
                trainable_tensors.append(numel)
        for numel, size in leaf.layer.buffer_tensors(row.input_shape):
            buffers += rounded(numel * (size or item))
    return params, buffers, trainable, trainable_tensors


def estimate(spec: Spec, *, batch: int = 1, dtype: str = "fp32", amp: str | None = None,
             optimizer: str = "adam", report: Report | None = None,
             checkpoint: bool = False) -> MemoryEstimate:
    """The memory of ``spec`` at ``batch``: inference and one (later) training step.

    ``dtype``: fp32, bf16 or fp16 (the whole model); ``amp``: bf16 or fp16 under autocast
    (fp32 weights).  ``report``: the engine's, when the caller has it already.
    ``checkpoint``: the training step with each top-level block (each round of a top-level
    repeat) run under ``torch.utils.checkpoint`` (non-reentrant): a block keeps only its
    input in the forward and runs again in the backward, where its saved tensors live from
    its recomputation to each op's backward.
    """
    # The replays make many small lists and no cycles: the collector's passes over them cost
    # a third of a 100,000-layer estimate (and made it grow faster than the layers).
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _estimate(spec, batch, dtype, amp, optimizer, report, checkpoint)
    finally:
        if enabled:
            gc.enable()


def _estimate(spec: Spec, batch: int, dtype: str, amp: str | None, optimizer: str,
              report: Report | None, checkpoint: bool) -> MemoryEstimate:
    if amp is not None and amp not in ("bf16", "fp16"):
        raise ValueError(f"amp must be bf16 or fp16, got {amp!r}")
    if dtype not in ITEM:
        raise ValueError(f"dtype must be one of {', '.join(ITEM)}, got {dtype!r}")
    opt = Optimizer(optimizer)
    if report is None:
        report = analyze(spec, explain=False, memory=False, checks=False)
    if symbolic_shape(spec.input_shape) or report.failed_at is not None:
        raise ValueError("memory needs a whole network with an input in numbers")
    item = ITEM[dtype] if amp is None else 4
    params, buffers, trainable, tensors = _weights(report, spec, item, opt, item)
    state = opt.state * trainable
    opt_scratch = opt.scratch * trainable
    t = report.totals

    inf, inf_out = _replay(spec, report, batch, dtype, amp, training=False)
    inf_curve, inf_after = _inference(inf, params + buffers, inf_out)
    peak_i = max(range(len(inf_curve)), key=inf_curve.__getitem__) if inf_curve else -1

    tr, out = _replay(spec, report, batch, dtype, amp, training=True)
    reach = _reach(tr, out)
    # a side output's weights (an auxiliary head) get no gradient: the optimizer skips them
    dead = [numel for i, ops in enumerate(tr.o_params) if not reach[i] for numel in ops]
    idle = sum(rounded(numel * item) for numel in dead)
    state = opt.state * (trainable - idle)
    opt_scratch = opt.scratch * (trainable - idle)
    tr_curve, saved_total, first_saver = _training(tr, out, params + buffers + state,
                                                   reach, opt_scratch, checkpoint)
    learnt = t.trainable_params - sum(dead)
    recomputed = 0
    if checkpoint:
        rows = report.layers
        recomputed = sum(rows[r].counts.macs for r, g in zip(tr.o_row, tr.o_seg)
                         if g >= 0 and r >= 0) * batch
    peak_t = max(range(len(tr_curve)), key=tr_curve.__getitem__)
    n = len(tr.o_name)
    if peak_t < n:
        tr_peak_name, tr_phase = tr.o_name[peak_t], "forward"
    elif peak_t < 2 * n:
        tr_peak_name, tr_phase = tr.o_name[2 * n - 1 - peak_t], "backward"
    else:
        tr_peak_name, tr_phase = None, "step"

    rows = []
    by_row = {r: i for i, r in enumerate(inf.o_row) if r >= 0}
    saved_by_row = {}
    for s, op in first_saver.items():
        r = tr.o_row[op]
        if r >= 0:
            saved_by_row[r] = saved_by_row.get(r, 0) + tr.s_bytes[s]
    for k, row in enumerate(report.layers):
        i = by_row.get(k)
        rows.append(LayerMemory(row.name, saved_by_row.get(k, 0),
                                inf_after[i] if i is not None else 0))
    inp = rounded(spec.input_shape.numel * batch * (4 if amp else item))
    return MemoryEstimate(
        batch, dtype, amp, opt, t.params * item, t.buffers * item, learnt * item,
        opt.state * learnt * item, inp, saved_total,
        inf_curve[peak_i] if peak_i >= 0 else params + buffers + inp,
        inf.o_name[peak_i] if peak_i >= 0 else "input",
        tr_curve[peak_t], tr_peak_name, tuple(rows),
        tuple(zip(inf.o_name, inf_curve)),
        tuple(zip(tr.o_name + [f"{m} (backward)" for m in reversed(tr.o_name)] +
                  ["optimizer step"], tr_curve)), checkpoint, recomputed, tr_phase)


def checkpointed_blocks(spec: Spec, report: Report | None = None) -> tuple[tuple[str, ...], ...]:
    """What ``checkpoint=True`` runs under ``torch.utils.checkpoint``: each top-level block
    (each round of a top-level repeat), as the names of its layers in execution order."""
    if report is None:
        report = analyze(spec, explain=False, memory=False, checks=False)
    tape, _ = _replay(spec, report, 1, "fp32", None, training=True)
    rows = report.layers
    blocks: dict[int, list[str]] = {}
    for row, seg in zip(tape.o_row, tape.o_seg):
        if seg >= 0 and row >= 0:
            blocks.setdefault(seg, []).append(rows[row].name)
    return tuple(tuple(names) for _, names in sorted(blocks.items()))


def _inference(tape: _Tape, fixed: int, out: int) -> tuple[list[int], list[int]]:
    """Bytes alive while each op runs, and right after it."""
    n = len(tape.o_name)
    kept = {tape.t_store[0], tape.t_store[out]}
    during = [0] * (n + 2)
    after = [0] * (n + 2)
    last = list(tape.s_last)
    last[tape.t_store[0]] = max(n - 1, 0)  # the caller holds the input
    for cached in tape.o_cached:  # autocast's weight copies: until the forward ends
        for s in cached:
            last[s] = max(n - 1, 0)
    for s, size in enumerate(tape.s_bytes):
        born, end = tape.s_born[s], last[s]
        during[born] += size
        during[end + 1] -= size
        gone = n if s in kept else end  # the output and the input outlive the forward
        if gone > born:
            after[born] += size
            after[gone] -= size
    live, alive = [], []
    run_d = run_a = 0
    for i in range(n):
        run_d += during[i]
        run_a += after[i]
        live.append(fixed + run_d)
        alive.append(fixed + run_a)
    return live, alive


def _reach(tape: _Tape, out: int) -> list[bool]:
    """Which ops lead to the loss (a side output's graph dies with it, unused)."""
    needed = {out}
    reach = [False] * len(tape.o_name)
    for i in range(len(tape.o_name) - 1, -1, -1):
        if tape.o_out[i] in needed and tape.o_grad[i]:
            reach[i] = True
            needed.update(t for t in tape.o_ins[i] if tape.t_req[t])
    return reach


def _training(tape: _Tape, out: int, fixed: int, reach: list[bool], opt_scratch: int,
              checkpoint: bool = False):
    """Bytes alive at each forward op, each backward op, and the optimizer step; the unique
    saved bytes; and for each saved storage the first op that saves it."""
    n = len(tape.o_name)
    end_time = 2 * n  # the optimizer step
    delta = [0] * (end_time + 2)

    born = [0] * (end_time + 2)  # bytes of the spans that start at each time

    def span(size: int, a: int, b: int) -> None:
        delta[a] += size
        delta[b + 1] -= size
        born[a] += size

    first_saver: dict[int, int] = {}
    end = list(tape.s_last)
    end[tape.t_store[0]] = end_time  # the input
    seg = tape.o_seg if checkpoint else [-1] * n
    seg_first: dict[int, int] = {}
    seg_last: dict[int, int] = {}  # its last op with saved tensors: the rerun's trigger
    for i, g in enumerate(seg):
        if g >= 0:
            seg_first.setdefault(g, i)
            if reach[i] and tape.o_saved[i]:
                seg_last[g] = i
    # A side output's graph (its ops' saved tensors) lives as long as the side output does.
    graph_end: dict[int, int] = {}
    for i in range(n - 1, -1, -1):
        if reach[i] or not tape.o_saved[i] and not tape.o_grad[i]:
            continue
        y = tape.o_out[i]
        held = max(graph_end.get(y, 0), end[tape.t_store[y]])
        for s in tape.o_saved[i]:
            if end[s] < held:
                end[s] = held
        for t in tape.o_ins[i]:
            if graph_end.get(t, 0) < held:
                graph_end[t] = held
    recomputed: dict[int, tuple[int, int]] = {}  # storage → (made again, last read)
    for i in range(n):
        if not reach[i]:
            continue
        tb = 2 * n - 1 - i
        g = seg[i]
        for s in tape.o_saved[i]:
            first_saver.setdefault(s, i)
            if g >= 0 and tape.s_born[s] >= seg_first[g] and s != tape.t_store[0]:
                # made inside a checkpointed block: dropped in the forward, made again when
                # the block reruns at the start of its backward, kept to the backward of the
                # last op that reads it (one storage however many ops save it)
                start = 2 * n - 1 - seg_last[g]
                recomputed[s] = (start, max(recomputed.get(s, (start, tb))[1], tb))
                continue
            # the block's input: kept until the whole block's backward is done
            keep = 2 * n - 1 - seg_first[g] if g >= 0 else tb
            if end[s] < keep:
                end[s] = keep
        for s in tape.o_cached[i]:
            keep = tb if any(tape.t_req[t] for t in tape.o_ins[i]) else n - 1
            if g >= 0:  # checkpointed: the forward's copy goes with autocast's cache; the
                # rerun casts again, a copy its op saves when its input needs a gradient
                if keep == tb:
                    span(tape.s_bytes[s], 2 * n - 1 - seg_last.get(g, i), tb)
                keep = n - 1
            if end[s] < max(keep, n - 1):
                end[s] = max(keep, n - 1)
    for s, (start, stop) in recomputed.items():
        span(tape.s_bytes[s], start, stop)
    for i in range(n):
        for s in tape.o_cached[i]:
            if end[s] < n - 1:
                end[s] = n - 1
    for s, size in enumerate(tape.s_bytes):
        span(size, tape.s_born[s], end[s])
    saved_total = sum(tape.s_bytes[s] for s in first_saver)
    # `loss = out.float().sum(); del out; loss.backward(); del loss`: the loss lives through
    # the backward, out.float() (a copy unless out is fp32) while the sum runs, the loss's
    # gradient (ones_like(loss)) through the backward
    span(ALIGN, n - 1, end_time - 1)
    loss = ALIGN  # what the loss makes at the last op's time, after that op has run
    if tape.t_item[out] != 4:
        loss += rounded(tape.t_bytes[out] // tape.t_item[out] * 4)
        span(loss - ALIGN, n - 1, n - 1)
    span(ALIGN, n, end_time - 1)
    # the backward
    grad: dict[int, tuple[int, bool]] = {}  # tensor → (grad storage, a view of it?)
    pending: dict[int, int] = {}
    g_born: dict[int, int] = {}
    g_size: dict[int, int] = {}

    def new_grad(t: int, tb: int) -> int:
        g = len(g_size)
        g_size[g] = rounded(tape.t_bytes[t])
        g_born[g] = tb
        pending[g] = 0
        return g

    def drop(g: int, tb: int) -> None:
        pending[g] -= 1
        if pending[g] == 0:
            span(g_size[g], g_born[g], tb)

    def give(t: int, g: int, view: bool, fresh: bool, tb: int) -> None:
        old = grad.get(t)
        if old is None:
            grad[t] = (g, view)
            pending[g] += 1
            return
        og, oview = old
        if not oview and pending[og] == 1:  # accumulate in place: the new one is dropped
            if fresh:
                pending[g] += 1
                drop(g, tb)
            return
        if fresh:  # var.add_(old): the new gradient becomes the buffer
            grad[t] = (g, False)
            pending[g] += 1
            drop(og, tb)
            return
        summed = new_grad(t, tb)  # old + var
        grad[t] = (summed, False)
        pending[summed] += 1
        drop(og, tb)

    g0 = new_grad(out, n)
    g_size[g0] = 0  # the loss's gradient expanded: a view of one number
    grad[out] = (g0, True)
    pending[g0] = 1
    for i in range(n - 1, -1, -1):
        if not reach[i]:
            continue
        tb = 2 * n - 1 - i
        how = tape.o_grad[i]
        g_out = grad.get(tape.o_out[i])
        for t in tape.o_ins[i]:
            if not tape.t_req[t]:
                continue
            if how == "pass" and g_out is not None:
                give(t, g_out[0], g_out[1], False, tb)
            elif how == "view" and g_out is not None:
                give(t, g_out[0], True, False, tb)
            else:
                g = new_grad(t, tb)
                give(t, g, False, True, tb)
                if how == "mul" and tape.t_bytes[t] < tape.t_bytes[tape.o_out[i]]:
                    span(rounded(tape.t_bytes[tape.o_out[i]]), tb, tb)  # grad·x, then summed
        if tape.o_bscratch[i]:
            span(tape.o_bscratch[i], tb, tb)
        shared_sum = 0
        for numel in tape.o_params[i]:
            size = rounded(numel * 4 if tape.low else numel * tape.item)
            if i in tape.o_transient:  # an earlier use of a shared weight: its gradient,
                span(size, tb, tb)  # then (its op done, the output's gradient dropped) the
                shared_sum = max(shared_sum, size)  # sum with the later uses', out of place
            else:
                span(size, tb, end_time)
        if shared_sum:
            held = g_size[g_out[0]] if g_out is not None and pending[g_out[0]] == 1 else 0
            span(max(0, shared_sum - held), tb, tb)
            if tape.low and tape.o_cached[i]:
                span(rounded(numel * tape.low), tb, tb)  # the low-precision gradient, cast
        if g_out is not None and tape.o_out[i] not in tape.o_ins[i]:
            del grad[tape.o_out[i]]
            drop(g_out[0], tb)
    for g, left in pending.items():  # gradients nobody consumed (the input's, if any)
        if left > 0:
            span(g_size[g], g_born[g], end_time - 1)
    span(opt_scratch, end_time, end_time)
    curve = []
    run = fixed
    for k in range(end_time + 1):
        run += delta[k]
        curve.append(run)
    # the last op's scratch (a conv's workspace) is gone before the loss is computed
    if n:
        curve[n - 1] -= min(loss, sum(tape.s_bytes[s] for s in tape.o_scratch[n - 1]))
    # A checkpointed block reruns its forward just before its last op's backward: what was
    # alive then (all but what starts at that moment) plus the rerun's own working set.
    by_op: list[list[int]] = [[] for _ in range(n)]  # the storages each op makes
    if seg_first:
        for st, k in enumerate(tape.s_born):
            if st != tape.t_store[0]:
                by_op[k].append(st)
    for g in seg_last:
        start = 2 * n - 1 - seg_last[g]
        rerun = _rerun_peak(tape, reach, recomputed, seg_first[g], seg_last[g], by_op)
        curve[start] = max(curve[start], curve[start] - born[start] + rerun)
    return curve, saved_total, first_saver


def _rerun_peak(tape: _Tape, reach: list[bool], kept, first: int, last: int,
                by_op: list[list[int]]) -> int:
    """The peak of a checkpointed block's forward run again in the backward (non-reentrant
    ``torch.utils.checkpoint``) from its op ``first``: the tensors its ops save are kept, the
    others freed after their last use as in the forward, autocast's weight copies kept to the
    end; it stops at ``last``, once the last tensor a backward needs is made (its early
    stop)."""
    stop = last
    held = set(kept) | {s for k in range(first, stop + 1) for s in tape.o_cached[k]}
    made = [0] * (stop - first + 1)  # bytes made by each op of the rerun
    gone = [0] * (stop - first + 1)  # bytes freed after each (their last use)
    for k in range(first, stop + 1):
        for st in by_op[k]:
            if k == stop and st not in held:
                continue  # saving its input stops the rerun before the op's own kernel
            made[k - first] += tape.s_bytes[st]
            if st not in held and tape.s_last[st] <= stop:
                gone[max(tape.s_last[st], k) - first] += tape.s_bytes[st]
    live = peak = 0
    for k in range(stop - first + 1):
        live += made[k]
        peak = max(peak, live)
        live -= gone[k]
    return peak


# What `cnncalc fit` keeps free beside the estimate: the CUDA context that every process
# creates on its first CUDA call (the driver's and the runtime's state, PyTorch's kernels
# loaded lazily since CUDA 11.7) sits outside PyTorch's allocator and measures 300–500 MiB on
# current cards, plus cuBLAS's and cuDNN's handles and workspaces.
RESERVE = 2 ** 30
RESERVE_FOR = ("the CUDA context (300–500 MiB per process, outside PyTorch's allocator), the "
               "cuBLAS and cuDNN workspaces the estimate leaves out, and allocator fragmentation")
