/**
 * Paper Table 4 from bench:fewshot's hardness logs: how the relative task weight n·γ^θ moves over meta-training,
 * per query-set entity bucket (an SVG figure drawn here, no plotting library) and as Markdown tables, with the
 * tasks of the first and last logged iterations ranked by γ.
 *
 *   node --import tsx bench/fewshot-hardness.ts --log run.jsonl [--log other.jsonl] --out DIR
 *
 * draws the figure and tables of any hardness log (`metabioner meta-train --hardness-log` writes one).
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { spansFromTags } from '../training/data/tagging-scheme';
import { writeFileAtomic } from '../training/io/atomic';
import { ENTITY_BUCKETS, HardnessSummary, readHardnessLog, summarizeHardness } from '../training/meta/hardness-log';

// Okabe–Ito, as the editor's entity colours.
const COLORS = ['#999999', '#56B4E9', '#E69F00', '#D55E00'];

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** One panel per summary: mean n·γ^θ per entity bucket (lines) over iteration windows, uniform weight dashed. */
export function hardnessSvg(panels: readonly { title: string; summary: HardnessSummary }[]): string {
  const W = 520;
  const H = 300;
  const m = { left: 56, right: 130, top: 34, bottom: 46 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W * panels.length}" height="${H}" viewBox="0 0 ${W * panels.length} ${H}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="100%" height="100%" fill="white"/>`);
  panels.forEach(({ title, summary }, p) => {
    const ox = p * W + m.left;
    const last = summary.iterations;
    const values = summary.windows.flatMap((w) => w.byBucket.filter((v) => Number.isFinite(v)));
    const top = Math.max(...values, 1.5);
    const step = top <= 2 ? 0.25 : top <= 4 ? 0.5 : 1;
    const yMax = Math.ceil(top / step) * step;
    const x = (it: number): number => ox + (it / last) * pw;
    const y = (v: number): number => m.top + ph - (v / yMax) * ph;
    out.push(`<text x="${ox}" y="18" font-size="13" font-weight="bold">${esc(title)}</text>`);
    out.push(`<line x1="${ox}" y1="${m.top + ph}" x2="${ox + pw}" y2="${m.top + ph}" stroke="black"/><line x1="${ox}" y1="${m.top}" x2="${ox}" y2="${m.top + ph}" stroke="black"/>`);
    for (let v = 0; v <= yMax + 1e-9; v += step) out.push(`<line x1="${ox - 4}" y1="${y(v)}" x2="${ox}" y2="${y(v)}" stroke="black"/><text x="${ox - 6}" y="${y(v) + 4}" text-anchor="end">${v.toFixed(2)}</text>`);
    for (let i = 0; i <= 4; i++) {
      const it = Math.round((last * i) / 4);
      out.push(`<line x1="${x(it)}" y1="${m.top + ph}" x2="${x(it)}" y2="${m.top + ph + 4}" stroke="black"/><text x="${x(it)}" y="${m.top + ph + 16}" text-anchor="middle">${it}</text>`);
    }
    out.push(`<text x="${ox + pw / 2}" y="${H - 8}" text-anchor="middle">meta-iteration</text>`);
    out.push(`<text transform="translate(${ox - 42},${m.top + ph / 2}) rotate(-90)" text-anchor="middle">mean n·γθ (1 = uniform)</text>`);
    out.push(`<line x1="${ox}" y1="${y(1)}" x2="${ox + pw}" y2="${y(1)}" stroke="black" stroke-dasharray="4 3" stroke-width="0.8"/>`);
    ENTITY_BUCKETS.forEach((b, j) => {
      const pts = summary.windows.filter((w) => Number.isFinite(w.byBucket[j])).map((w) => `${x((w.from + w.to) / 2).toFixed(1)},${y(w.byBucket[j]).toFixed(1)}`);
      if (pts.length) out.push(`<polyline fill="none" stroke="${COLORS[j]}" stroke-width="2" points="${pts.join(' ')}"/>`);
      for (const pt of pts) out.push(`<circle cx="${pt.split(',')[0]}" cy="${pt.split(',')[1]}" r="2.5" fill="${COLORS[j]}"/>`);
      const ly = m.top + 10 + j * 16;
      out.push(`<line x1="${ox + pw + 12}" y1="${ly - 4}" x2="${ox + pw + 30}" y2="${ly - 4}" stroke="${COLORS[j]}" stroke-width="2"/><text x="${ox + pw + 34}" y="${ly}">${esc(b.label)}</text>`);
    });
    out.push(`<text x="${ox + pw + 12}" y="${m.top + 10 + ENTITY_BUCKETS.length * 16 + 4}">(query set)</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

const f = (x: number, d = 2): string => (Number.isFinite(x) ? x.toFixed(d) : '–');

/** A support sentence with its entities in [brackets], cut to `max` characters. */
function bracketed(s: { tokens: string[]; tags: string[] }, max = 110): string {
  const open = new Set<number>();
  const close = new Set<number>();
  for (const e of spansFromTags(s.tags)) {
    open.add(e.start);
    close.add(e.end - 1);
  }
  const text = s.tokens.map((t, i) => `${open.has(i) ? '[' : ''}${t}${close.has(i) ? ']' : ''}`).join(' ');
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Markdown: the window table and the ranked tasks of the first and last detailed iterations. */
export function hardnessTables(title: string, s: HardnessSummary): string[] {
  const lines = [`#### ${title}`, ''];
  lines.push(`${s.iterations} iterations of ${s.tasksPerIteration} tasks. Relative weight n·γθ (1 = the uniform weight of MetaNER/MAML); *spread* = mean over iterations of the largest minus the smallest; *r* = correlation of n·γθ with the query set's entity tokens.`, '');
  lines.push(`| iterations | spread | r | ${ENTITY_BUCKETS.map((b) => b.label).join(' | ')} |`);
  lines.push(`| --- | ---: | ---: | ${ENTITY_BUCKETS.map(() => '---:').join(' | ')} |`);
  for (const w of s.windows) lines.push(`| ${w.from}–${w.to} | ${f(w.spread)} | ${f(w.corrEntityTokens)} | ${w.byBucket.map((v) => f(v)).join(' | ')} |`);
  lines.push('');
  const corpora = [...new Set(s.windows.flatMap((w) => Object.keys(w.byCorpus)))].sort();
  if (corpora.length) {
    const [first, lastW] = [s.windows[0], s.windows[s.windows.length - 1]];
    lines.push(`Mean n·γθ per source corpus, first and last window: ${corpora.map((c) => `${c} ${f(first.byCorpus[c] ?? NaN)} → ${f(lastW.byCorpus[c] ?? NaN)}`).join('; ')}.`, '');
  }
  for (const e of s.examples) {
    lines.push(`Tasks of iteration ${e.iteration}, largest γθ first:`, '');
    lines.push('| γθ | corpus | query entities | query loss | first support sentence |');
    lines.push('| ---: | --- | ---: | ---: | --- |');
    for (const t of e.tasks) lines.push(`| ${f(t.theta, 3)} | ${t.corpus} | ${t.query.entities} | ${f(t.labelLoss)} | ${t.support?.length ? esc(bracketed(t.support[0])).replace(/\|/g, '\\|') : ''} |`);
    lines.push('');
  }
  return lines;
}

if (require.main === module) {
  const { values } = parseArgs({ options: { log: { type: 'string', multiple: true }, out: { type: 'string' }, windows: { type: 'string', default: '10' } } });
  if (!values.log?.length || !values.out) throw new Error('usage: fewshot-hardness.ts --log FILE [--log FILE] --out DIR');
  const panels = values.log.map((file) => ({ title: path.basename(file, '.jsonl'), summary: summarizeHardness(readHardnessLog(file), Number(values.windows)) }));
  writeFileAtomic(path.join(values.out, 'hardness.svg'), hardnessSvg(panels));
  const md = ['# Task hardness over meta-training (paper Table 4)', '', '![n·γθ per entity bucket](hardness.svg)', '', ...panels.flatMap((p) => hardnessTables(p.title, p.summary))];
  writeFileAtomic(path.join(values.out, 'hardness.md'), md.join('\n') + '\n');
  process.stdout.write(md.join('\n') + '\n');
}
