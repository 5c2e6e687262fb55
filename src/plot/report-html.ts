// The study report as one HTML string: no network needed to open it (plots are inline PNG data
// URIs, CSS and the table-sorting script are inline). Pure: the numbers and images come in, the
// page goes out; report.ts computes and writes.
import type { AgreementRow } from '../hpo/ranking.js';
import type { RankCorrelation } from '../hpo/rank-stats.js';
import type { Config } from '../hpo/space.js';

export interface ReportPlot {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly png: Buffer;
  /** CSS pixels to show it at (the SVG's size; the PNG has PNG_SCALE times as many pixels). */
  readonly width: number;
  readonly height: number;
}

export interface ReportTableColumn {
  readonly label: string;
  readonly numeric: boolean;
}

/** One cell: what is shown and what it sorts by (numbers as numbers; missing sorts last). */
export interface ReportCell {
  readonly text: string;
  readonly sort: number | string | null;
}

export type { AgreementRow } from '../hpo/ranking.js';

export interface BestRow {
  readonly label: string;
  readonly trial: number;
  readonly value: string;
  readonly config: Config;
}

export interface ReportModel {
  readonly title: string;
  readonly facts: readonly [string, string][];
  readonly agreements: readonly AgreementRow[];
  readonly fidelityAgreements: readonly AgreementRow[];
  readonly best: readonly BestRow[];
  readonly plots: readonly ReportPlot[];
  readonly columns: readonly ReportTableColumn[];
  readonly rows: readonly (readonly ReportCell[])[];
  readonly notes: readonly string[];
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function formatNumber(v: number | undefined): string {
  if (v === undefined || Number.isNaN(v)) return '–';
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e6) ? v.toExponential(2) : String(Number(v.toPrecision(4)));
}

function pValue(c: RankCorrelation): string {
  if (Number.isNaN(c.p)) return '–';
  return c.p < 1e-4 ? c.p.toExponential(1) : c.p.toPrecision(2);
}

function agreementTable(rows: readonly AgreementRow[], first: string): string {
  if (!rows.length) return '<p class="empty">Not enough paired measurements (at least 3 configs) for this comparison.</p>';
  const ks = [...new Set(rows.flatMap((r) => r.agreement.topK.map((t) => t.asked)))];
  const head = [
    first,
    'n',
    'Spearman ρ',
    'p (method)',
    'Kendall τ-b',
    'p (method)',
    ...ks.map((k) => `top-${k < 1 ? `${k * 100}%` : k} overlap`),
  ];
  const body = rows.map(({ label, agreement: a }) => {
    const topK = ks.map((k) => {
      const t = a.topK.find((x) => x.asked === k);
      return t ? `${t.shared}/${t.k}` : '–';
    });
    const cells = [
      label,
      String(a.n),
      formatNumber(a.spearman.value),
      `${pValue(a.spearman)} (${a.spearman.method})`,
      formatNumber(a.kendall.value),
      `${pValue(a.kendall)} (${a.kendall.method})`,
      ...topK,
    ];
    return `<tr>${cells.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`;
  });
  return `<table class="stats"><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${body.join('')}</tbody></table>`;
}

function bestTable(rows: readonly BestRow[]): string {
  if (!rows.length) return '<p class="empty">No complete trial yet.</p>';
  return rows
    .map(
      (b) =>
        `<div class="best"><h3>${escapeHtml(b.label)}: trial ${b.trial} (${escapeHtml(b.value)})</h3><table class="config">${Object.entries(
          b.config,
        )
          .map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(String(v))}</td></tr>`)
          .join('')}</table></div>`,
    )
    .join('');
}

/** Sorts #trials by the clicked header: numbers numerically, text alphabetically, blanks last; a second click reverses. */
const SORT_SCRIPT = `
(() => {
  const table = document.getElementById('trials');
  const body = table.tBodies[0];
  table.querySelectorAll('th').forEach((th, col) => {
    th.addEventListener('click', () => {
      const ascending = th.getAttribute('aria-sort') !== 'ascending';
      table.querySelectorAll('th').forEach((h) => h.removeAttribute('aria-sort'));
      th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
      const numeric = th.dataset.type === 'number';
      const key = (row) => {
        const v = row.cells[col].dataset.sort;
        return v === undefined ? null : numeric ? Number(v) : v;
      };
      const rows = Array.from(body.rows);
      rows.sort((a, b) => {
        const x = key(a);
        const y = key(b);
        if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;
        const c = numeric ? x - y : String(x).localeCompare(String(y));
        return ascending ? c : -c;
      });
      for (const r of rows) body.appendChild(r);
    });
  });
})();
`;

const STYLE = `
body { font-family: 'DejaVu Sans', Verdana, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; padding: 0 1em; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; } h3 { font-size: 1em; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; }
td { font-variant-numeric: tabular-nums; }
#trials th { cursor: pointer; background: #f4f4f4; user-select: none; white-space: nowrap; }
#trials th[aria-sort=ascending]::after { content: ' ▲'; } #trials th[aria-sort=descending]::after { content: ' ▼'; }
.facts th { background: #f8f8f8; } .best { display: inline-block; vertical-align: top; margin-right: 2em; }
figure.plot { margin: 1.5em 0; } figure.plot img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.9em; max-width: 60em; } .empty, .notes { color: #777; }
`;

export function reportHtml(m: ReportModel): string {
  const facts = m.facts.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('');
  const list = m.plots.map((p) => `<li><a href="#plot-${escapeHtml(p.name)}">${escapeHtml(p.title)}</a></li>`).join('');
  const figures = m.plots
    .map(
      (p) =>
        `<figure class="plot" id="plot-${escapeHtml(p.name)}"><img src="data:image/png;base64,${p.png.toString('base64')}" width="${p.width}" height="${p.height}" alt="${escapeHtml(p.title)}">` +
        `<figcaption><b>${escapeHtml(p.title)}.</b> ${escapeHtml(p.description)}</figcaption></figure>`,
    )
    .join('\n');
  const head = m.columns
    .map((c) => `<th data-type="${c.numeric ? 'number' : 'text'}" title="click to sort">${escapeHtml(c.label)}</th>`)
    .join('');
  const rows = m.rows
    .map(
      (r) =>
        `<tr>${r.map((c) => `<td${c.sort === null ? '' : ` data-sort="${escapeHtml(String(c.sort))}"`}>${escapeHtml(c.text)}</td>`).join('')}</tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${escapeHtml(m.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(m.title)}</h1>
<table class="facts">${facts}</table>
<h2 id="correlations">Validation loss vs score</h2>
<p>Both rankings put the best trial first (rank 1, ties averaged), so a positive correlation means validation loss is a faithful proxy for the score. Top-k overlap: trials among the best k by both.</p>
${agreementTable(m.agreements, 'trials compared')}
<h2 id="fidelity">Across fidelities</h2>
<p>Does the ranking of configs after few rounds predict the ranking at the highest fidelity measured?</p>
${agreementTable(m.fidelityAgreements, 'metric: round vs round')}
<h2 id="best">Best config</h2>
${bestTable(m.best)}
<h2 id="plots">Plots</h2>
<ol id="plot-list">${list}</ol>
${figures}
<h2 id="trials-heading">Trials</h2>
<p>Click a column header to sort.</p>
<table id="trials"><thead><tr>${head}</tr></thead><tbody>
${rows}
</tbody></table>
<div class="notes">${m.notes.map((n) => `<p>${escapeHtml(n)}</p>`).join('')}</div>
<script>${SORT_SCRIPT}</script>
</body>
</html>
`;
}
