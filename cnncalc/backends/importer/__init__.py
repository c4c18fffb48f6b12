"""A PyTorch model → a cnncalc spec (YAML text): ``cnncalc import SOURCE``.

SOURCE is ``torchvision:NAME`` (built with ``weights=None``), ``path/to/file.py:Name`` or
``package.module:Name`` (a class or a factory; ``--arg key=value`` for its arguments).

How, and why this way:

1. **Trace with ``torch.fx.symbolic_trace``**, not forward hooks: hooks see modules, never the
   ``x + f(x)`` and ``torch.cat`` that make a ResNet or an Inception block, while the fx
   graph keeps every op with its inputs and every module call with its qualified name.
   ``torch.export`` is only the fallback: it silently keeps the one branch it took of
   shape-dependent control flow, so a spec from it holds for the traced input size only
   (said in a note).  torchvision models are built on the ``meta`` device: no weights are
   allocated or initialised, so even RegNet-Y 128GF imports in a moment.
2. **Shapes and MACs from PyTorch** (``ShapeProp`` on a meta tensor, under
   ``FlopCounterMode``): the view of a channel shuffle and the layout of a permute are read
   from real shapes, and the spec's ``expect:`` totals (params = ``sum(p.numel())``, MACs =
   the counter's FLOPs / 2, the output shape) come from the model, not from cnncalc, so
   ``cnncalc check`` on the spec compares cnncalc's formulas with PyTorch.
3. **Every node becomes a layer kind or a merge** (:func:`_Converter.node`): module calls by
   class, functional calls by name.  ``x + f(x)`` is a ``residual``, a fan-out joined by
   ``cat`` a ``branches`` (``concat``), ``x * σ(f(x))`` a ``branches`` with ``merge: mul``
   (squeeze-and-excitation), a side output (an auxiliary head, traced in training mode) a
   ``branches`` with ``merge: first``; DenseNet's ``cat`` of all earlier features is the
   nested ``concat`` it is equivalent to.
4. **The graph becomes a tree** by its dominators: a merge's paths start at its immediate
   dominator (the fork) — a series-parallel decomposition (:func:`_sequence`).
5. **Modules become blocks**: the tree is regrouped by the modules' qualified names (so every
   layer is named as in ``named_modules()``), groups with the same structure become one block
   whose differing numbers are its parameters (``$filters``, ``$filters * 4``), used with
   ``use:``; consecutive uses ``layer1.0``, ``layer1.1``, … become a ``repeat``.

Only the modules' functions import torch (lazily): the core and ``inspect`` of a YAML spec
never do.  The package's rooms: :mod:`.sources` (what SOURCE names, building the model,
:func:`import_model`), :mod:`.trace`, :mod:`.kinds` (PyTorch classes and functions → kinds,
read from the layer classes' ``torch`` attribute), :mod:`.convert`, :mod:`.tree`,
:mod:`.write`, and :mod:`.fallback` (a ``traced`` layer, its numbers the trace's, where an
op has no kind; ``--exact`` refuses instead).
"""

from __future__ import annotations

from .sources import (DEFAULT_INPUT, Imported, ImportFailure, import_model, is_model_source,
                      load_model, parse_args)

__all__ = ["DEFAULT_INPUT", "Imported", "ImportFailure", "import_model", "is_model_source",
           "load_model", "parse_args"]
