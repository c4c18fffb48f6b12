"""The report as one self-contained HTML page: picture, layer table, totals, memory,
receptive fields, diagnostics with the notes' reasons, and graded ``expect:`` claims.

No CDN, no font or script from the network: the page opens from ``file://`` and prints on A4
(a teacher hands it out).  Clicking a box in the picture marks its rows in the table, and
clicking a row marks its box; the link is the rows' indices, written on both sides.
"""

from __future__ import annotations

from html import escape

from ..hints import annotate
from ..render.check import claim_text
from ..render.common import CONVENTION, formula_text, grouped, layer_list, output_text, rf_text
from ..formatting import short, size_bytes
from ..formatting import thousands as count
from ..report import Report
from ..formulas import volume_text
from .layout import Picture
from .memplot import memory_svg
from .svg import FONT_FAMILY, to_svg

CSS = f"""
:root {{ --ink: #1f2933; --dim: #52606d; --rule: #d9e2ec; --mark: #ffe8cc; }}
body {{ font-family: {FONT_FAMILY}; font-size: 12px; color: var(--ink); margin: 16px 24px; }}
h1 {{ font-size: 18px; margin: 0 0 4px; }}
h2 {{ font-size: 14px; margin: 18px 0 6px; border-bottom: 1px solid var(--rule); }}
p.sub {{ color: var(--dim); margin: 0 0 8px; }}
#picture {{ overflow: auto; border: 1px solid var(--rule); }}
#picture svg {{ display: block; max-width: none; height: auto; }}
#memory svg {{ display: block; max-width: 100%; height: auto; }}
table {{ border-collapse: collapse; }}
th, td {{ padding: 2px 8px; text-align: left; vertical-align: top; }}
td.n, th.n {{ text-align: right; white-space: nowrap; }}
table.layers tr {{ cursor: pointer; }}
table.layers tr.group td {{ font-weight: bold; }}
table.layers tbody tr:nth-child(even) {{ background: #f5f7fa; }}
table.layers tr.hl, table.layers tr.hl:nth-child(even) {{ background: var(--mark); }}
tr.failed td {{ color: #c81e1e; }}
details summary {{ color: var(--dim); cursor: pointer; }}
.error {{ color: #c81e1e; font-weight: bold; }}
.ok {{ color: #2f7d32; }}
.bad {{ color: #c81e1e; font-weight: bold; }}
.why {{ color: var(--dim); }}
footer {{ color: var(--dim); margin-top: 16px; }}
@media print {{
  @page {{ size: A4; margin: 12mm; }}
  body {{ margin: 0; font-size: 9px; }}
  #picture {{ overflow: visible; border: none; }}
  #picture svg {{ width: 100% !important; height: auto; }}
  tr {{ break-inside: avoid; }}
  details > *:not(summary) {{ display: block; }}
  details summary {{ display: none; }}
}}
"""

SCRIPT = """
(function () {
  var svg = document.querySelector('#picture svg');
  var marks = [];
  function clear() { marks.forEach(function (e) { e.classList.remove('hl'); }); marks = []; }
  function mark(e) { if (e) { e.classList.add('hl'); marks.push(e); } }
  function words(s) { return (s || '').split(' ').filter(function (w) { return w; }); }
  var boxesOf = {};
  svg.querySelectorAll('[data-rows]').forEach(function (el) {
    words(el.getAttribute('data-rows')).forEach(function (r) {
      (boxesOf[r] = boxesOf[r] || []).push(el);
    });
  });
  svg.querySelectorAll('.layer, .merge, .frame').forEach(function (el) {
    el.addEventListener('click', function (ev) {
      ev.stopPropagation();
      clear();
      mark(el);
      var rows = words(el.getAttribute('data-rows'));
      rows.forEach(function (r) { mark(document.getElementById('row-' + r)); });
      var first = document.getElementById('row-' + rows[0]);
      if (first) { first.scrollIntoView({block: 'nearest'}); }
    });
  });
  document.querySelectorAll('tr[data-row]').forEach(function (tr) {
    tr.addEventListener('click', function () {
      clear();
      mark(tr);
      (boxesOf[tr.getAttribute('data-row')] || []).forEach(function (el) {
        mark(el);
        el.scrollIntoView({block: 'nearest', inline: 'nearest'});
      });
    });
  });
})();
"""


def total_rows(report: Report) -> list[tuple[str, str, int, str]]:
    """(key as in ``inspect --format json``'s totals, label, value, text)."""
    t = report.totals
    rows = [
        ("params", "Params", t.params, f"{count(t.params)} ({short(t.params)})"),
        ("trainable_params", "Trainable params", t.trainable_params, count(t.trainable_params)),
        ("non_trainable_params", "Non-trainable params", t.non_trainable_params,
         count(t.non_trainable_params)),
        ("buffers", "Buffers", t.buffers,
         f"{count(t.buffers)} (BN running mean and variance; Keras counts these as "
         f"non-trainable params)"),
        ("macs", "MACs", t.macs, f"{count(t.macs)} ({short(t.macs)})"),
        ("flops", "FLOPs", t.flops, f"{count(t.flops)} = 2·MACs"),
        ("connections", "Connections", t.connections,
         f"{count(t.connections)} (LeCun's count: per output, its inputs + its bias)"),
        ("activations", "Activations", t.activations, f"{count(t.activations)} per sample"),
    ]
    m = report.memory
    if m is not None:
        weights = "fp32" if m.amp else m.dtype
        rows += [
            ("memory.params_bytes", f"Params size ({weights})", m.params_bytes,
             size_bytes(m.params_bytes)),
            ("memory.buffers_bytes", f"Buffers size ({weights})", m.buffers_bytes,
             size_bytes(m.buffers_bytes)),
            ("memory.inference_peak_bytes", f"Inference peak (batch {m.batch}, {m.precision})",
             m.inference_peak, f"{size_bytes(m.inference_peak)} at {m.inference_peak_layer}"),
            ("memory.training_peak_bytes",
             f"Training peak (batch {m.batch}, {m.precision}, {m.optimizer})",
             m.training_peak, f"{size_bytes(m.training_peak)} at {m.training_peak_at} (a "
                              f"later step: grads, {m.optimizer} state, saved for backward)"),
        ]
    return rows


def totals_table(report: Report) -> list[str]:
    out = ['<table class="totals">']
    for key, label, value, text in total_rows(report):
        out.append(f'<tr><th>{escape(label)}</th><td class="n" data-total="{key}" '
                   f'data-value="{value}">{escape(text)}</td></tr>')
    out.append(f'<tr><th>Output</th><td class="n">{escape(volume_text(report.output_shape))}'
               f'</td></tr>')
    out.append("</table>")
    return out


def layers_table(report: Report, error: str) -> list[str]:
    out = ['<table class="layers">', "<thead><tr><th>Layer</th><th>Kind</th>"
           '<th class="n">Output W×H×D</th><th class="n">Params</th><th class="n">MACs</th>'
           '<th class="n">RF</th><th>Formula</th></tr></thead>', "<tbody>"]
    for i, r in enumerate(report.rows):
        indent = "&#160;" * (2 * r.depth)
        cls = ' class="group"' if r.is_group else ""
        formula = formula_text(r.formula)
        cell = (f"<details><summary>formula</summary>{escape(formula)}</details>"
                if formula else "")
        out.append(f'<tr id="row-{i}" data-row="{i}"{cls}><td>{indent}{escape(r.name)}</td>'
                   f"<td>{escape(r.kind)}</td><td class=\"n\">{escape(volume_text(r.shape))}</td>"
                   f'<td class="n">{count(r.counts.params)}</td>'
                   f'<td class="n">{count(r.counts.macs)}</td>'
                   f'<td class="n">{escape(rf_text(r.rf))}</td><td>{cell}</td></tr>')
    if error:
        out.append(f'<tr class="failed"><td>{escape(report.failed_at or "")}</td>'
                   f'<td colspan="6">{escape(error)}</td></tr>')
    out += ["</tbody>", "</table>"]
    return out


def diagnostics_list(report: Report) -> list[str]:
    if not report.diagnostics:
        return ["<p>No design notes.</p>"]
    out = ['<ul class="diagnostics">']
    for d, layers in grouped(report.diagnostics):
        out.append(f'<li><span class="{d.severity}">{d.severity}</span> '
                   f"<b>{d.code} {escape(d.slug)}</b> ({escape(layer_list(layers))}): "
                   f'{escape(d.message)}<br><span class="why">why: {escape(d.rule.reason)}'
                   f"</span></li>")
    out.append("</ul>")
    return out


def claims_table(spec, report: Report) -> list[str]:
    claims = annotate(spec, report)
    bad = sum(not c.ok for c in claims)
    verdict = (f'<p class="bad">{bad} of {len(claims)} wrong</p>' if bad else
               f'<p class="ok">all {len(claims)} right</p>')
    out = ['<table class="claims">', "<thead><tr><th></th><th>Layer</th><th>Field</th>"
           '<th class="n">Claimed</th><th class="n">Right</th><th>Why</th></tr></thead><tbody>']
    for c in claims:
        mark = '<span class="ok">✓</span>' if c.ok else '<span class="bad">✗</span>'
        why = ""
        if not c.ok:
            if c.hint:
                why += f"likely slip: {escape(c.hint)}<br>"
            why += escape(c.formula)
        out.append(f"<tr><td>{mark}</td><td>{escape(c.layer or '(net)')}</td>"
                   f"<td>{escape(c.field)}</td><td class=\"n\">{escape(claim_text(c.expected))}"
                   f"</td><td class=\"n\">{escape(claim_text(c.actual))}</td><td>{why}</td></tr>")
    out += ["</tbody></table>", verdict]
    return out


MEMORY_NOTE = ("Bytes allocated over execution order, as cnncalc.memory replays PyTorch "
               "(weights, buffers, input, the tensors alive, autograd's saved tensors, "
               "gradients, optimizer state); left out: the CUDA context, cuBLAS's and most cuDNN workspaces "
               "(a bf16/fp16 conv's is in), allocator fragmentation.")


def to_html(spec, report: Report, picture: Picture, error: str = "") -> str:
    name = escape(report.name)
    parts = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             f"<title>{name}: cnncalc report</title>", f"<style>{CSS}</style>", "</head>",
             "<body>", f"<h1>{name}</h1>"]
    sub = [f"input {volume_text(report.input_shape)} → output {output_text(report)}",
           f"{len(report.layers)} layers"]
    if spec.description:
        sub.insert(0, spec.description)
    parts.append(f'<p class="sub">{escape(" · ".join(sub))}</p>')
    if error:
        parts.append(f'<p class="error">{escape(error)}</p>')
    parts += ["<h2>Picture</h2>", '<p class="sub">Click a box to find its rows below, or a '
              "row to find its box.</p>", '<div id="picture">',
              to_svg(picture, standalone=False), "</div>"]
    parts += ["<h2>Totals</h2>", *totals_table(report)]
    if report.memory is not None:
        m = report.memory
        parts += ["<h2>Memory</h2>", f'<p class="sub">{escape(MEMORY_NOTE)} Batch {m.batch}, '
                  f'{escape(m.precision)}.</p>', '<div id="memory">', memory_svg(m), "</div>"]
    parts += ["<h2>Design notes</h2>", *diagnostics_list(report)]
    if report.claims:
        parts += ["<h2>Answers (expect:)</h2>", *claims_table(spec, report)]
    parts += ["<h2>Layers</h2>", *layers_table(report, error)]
    parts += [f"<footer>{escape(CONVENTION)}. RF: receptive field, in input pixels.</footer>",
              f"<script>{SCRIPT}</script>", "</body>", "</html>"]
    return "\n".join(parts) + "\n"
