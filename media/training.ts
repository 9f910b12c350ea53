/**
 * The training panel webview: a form for a training job, the jobs with start/stop/resume, live charts
 * (loss, devel F1, hardness γ per corpus and iteration, drawn with uPlot, bundled — no CDN), and the models.
 * It speaks to the extension only through ./messages; its own state (form, selected job) survives hiding
 * the view and reloading the window through getState/setState.
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './training.css';
import * as M from './messages';

interface VsCodeApi {
  postMessage(msg: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

interface ViewState {
  form: M.FormValues;
  selected?: string;
  /** The user set the worker count: the `workers` setting no longer replaces it. */
  workersEdited?: boolean;
}

const vscode = acquireVsCodeApi();
const saved = (vscode.getState() as ViewState | undefined) ?? { form: M.DEFAULT_FORM };
let view: ViewState = { form: { ...M.DEFAULT_FORM, ...saved.form }, selected: saved.selected, workersEdited: saved.workersEdited };
let panel: M.PanelState = { folders: [], jobs: [], models: [], jobModels: [], serverState: 'loading', workers: M.DEFAULT_FORM.workers };
const charts: { loss?: uPlot; f1?: uPlot; hardness?: uPlot } = {};

const send = <P>(type: M.IpcCommandType<P>, params: P) => vscode.postMessage(M.message(type, params));
const save = () => vscode.setState(view);

function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string | boolean | undefined> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k === 'text') el.textContent = String(v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  el.append(...children);
  return el;
}

const app = document.getElementById('app')!;
app.append(
  h('section', { id: 'status', class: 'status', role: 'status' }),
  h('details', { id: 'form-section', open: true }, h('summary', { text: 'New training job' }), h('form', { id: 'job-form' })),
  h('section', { id: 'jobs-section' }, h('h3', { text: 'Jobs' }), h('ul', { id: 'jobs', class: 'jobs' })),
  h(
    'section',
    { id: 'charts-section' },
    h('h3', { id: 'charts-title', text: 'Charts' }),
    h('div', { id: 'chart-loss', class: 'chart' }),
    h('div', { id: 'chart-f1', class: 'chart' }),
    h('p', { id: 'f1-note', class: 'note', hidden: true, text: 'Devel F1: this job reports none per step.' }),
    h('div', { id: 'chart-hardness', class: 'chart' }),
  ),
  h('section', { id: 'models-section' }, h('h3', { text: 'Models' }), h('ul', { id: 'models', class: 'models' })),
  h('div', { id: 'error', class: 'error', role: 'alert' }),
);

const isMeta = (m: M.MethodId) => !m.startsWith('mtl-') && m !== 'supervised';

function field(label: string, input: HTMLElement, hint?: string): HTMLElement {
  return h('label', { class: 'field' }, h('span', { text: label }), input, ...(hint ? [h('small', { text: hint })] : []));
}

function numberInput(key: keyof M.FormValues, min: number, max: number, step = 1): HTMLInputElement {
  const input = h('input', { type: 'number', name: key, min: String(min), max: String(max), step: String(step), value: String(view.form[key]) });
  input.addEventListener('change', () => {
    const v = Number(input.value);
    if (Number.isFinite(v)) (view.form as unknown as Record<string, unknown>)[key] = v;
    if (key === 'workers') view.workersEdited = true;
    save();
  });
  return input;
}

function renderForm(): void {
  const form = document.getElementById('job-form') as HTMLFormElement;
  form.replaceChildren();
  const f = view.form;
  if (!panel.folders.some((x) => x.root === f.root)) f.root = panel.folders[0]?.root ?? '';
  const folder = panel.folders.find((x) => x.root === f.root);
  f.corpora = f.corpora.filter((c) => folder?.corpora.includes(c));

  const root = h('select', { name: 'root' }, ...panel.folders.map((x) => h('option', { value: x.root, selected: x.root === f.root, text: `${x.root} (${x.origin})` })));
  root.addEventListener('change', () => {
    f.root = root.value;
    save();
    renderForm();
  });
  form.append(field('Corpora folder', root));

  const meta = isMeta(f.method);
  const corpora = h('fieldset', { class: 'corpora' }, h('legend', { text: meta ? 'Corpora (meta-training uses every corpus outside the target domain)' : 'Corpora' }));
  for (const c of folder?.corpora ?? []) {
    const box = h('input', { type: 'checkbox', name: 'corpus', value: c, checked: meta || f.corpora.includes(c), disabled: meta });
    box.addEventListener('change', () => {
      f.corpora = box.checked ? [...f.corpora, c] : f.corpora.filter((x) => x !== c);
      save();
    });
    corpora.append(h('label', { class: 'check' }, box, c));
  }
  if (!folder) corpora.append(h('p', { text: 'No corpus folder found: add one to the workspace or set metabioner.corporaRoot.' }));
  form.append(corpora);

  const method = h('select', { name: 'method' }, ...M.METHODS.map((m) => h('option', { value: m.id, selected: m.id === f.method, text: m.label })));
  method.addEventListener('change', () => {
    f.method = method.value as M.MethodId;
    save();
    renderForm();
  });
  form.append(field('Method', method));
  if (meta) {
    const target = h('select', { name: 'target' }, ...M.TARGET_DOMAINS.map((d) => h('option', { value: d, selected: d === f.target, text: d })));
    target.addEventListener('change', () => {
      f.target = target.value;
      save();
    });
    form.append(field('Held-out target domain', target), field('K (sentences per support/query set)', numberInput('k', 1, 100)));
    form.append(field('Tasks per iteration', numberInput('tasksPerIteration', 1, 32)), field('Inner steps', numberInput('innerSteps', 1, 20)));
  }
  form.append(field(meta ? 'Iterations' : 'Epochs', numberInput('iterations', 1, 100000)));
  form.append(field('Hidden size (LSTM)', numberInput('hidden', 4, 512)));
  if (f.method === 'supervised') form.append(field('Learning rate', numberInput('lr', 1e-5, 1, 0.0001)));
  form.append(field('Seed', numberInput('seed', 0, 1e9)));
  form.append(field('Workers', numberInput('workers', 0, 256), '0 = every core'));
  const start = h('button', { type: 'submit', id: 'start', text: 'Start training', disabled: panel.serverState !== 'ready' });
  form.append(start);
  form.onsubmit = (e) => {
    e.preventDefault();
    if (!meta && f.corpora.length === 0) return showError('Pick at least one corpus.');
    showError('');
    send(M.StartJobCommand, M.jobParams(f));
    (document.getElementById('form-section') as HTMLDetailsElement).open = false;
  };
}

function showError(message: string): void {
  document.getElementById('error')!.textContent = message;
}

function jobLabel(j: M.JobView): string {
  const p = j.params;
  const what = p.kind === 'meta' ? `${p.method} → ${p.target}` : p.kind === 'multitask' ? `MTL ${p.sharing ?? 'heads'} · ${p.corpora.join(', ')}` : `supervised · ${p.corpora.join(', ')}`;
  const progress = j.metrics ? ` · ${j.metrics.step}/${j.metrics.total}` : '';
  return `${what}${progress}`;
}

function renderJobs(): void {
  const list = document.getElementById('jobs')!;
  list.replaceChildren();
  if (!panel.jobs.length) list.append(h('li', { class: 'empty', text: 'No jobs yet.' }));
  for (const j of panel.jobs) {
    const select = h('button', { class: 'link', title: 'Show its charts', text: jobLabel(j) });
    select.addEventListener('click', () => {
      view.selected = j.id;
      save();
      renderJobs();
      renderCharts();
    });
    const item = h('li', { class: `job ${j.id === view.selected ? 'selected' : ''}`, 'data-job': j.id, 'data-state': j.state }, select, h('span', { class: `badge ${j.state}`, text: j.state }));
    if (j.state === 'running') item.append(button('Stop', () => send(M.StopJobCommand, { id: j.id }), 'stop'));
    if ((j.state === 'stopped' || j.state === 'failed') && j.resumable) item.append(button('Resume', () => send(M.ResumeJobCommand, { id: j.id }), 'resume'));
    if (j.error) item.append(h('div', { class: 'job-error', text: j.error }));
    list.append(item);
  }
}

function button(label: string, onClick: () => void, cls = ''): HTMLButtonElement {
  const b = h('button', { type: 'button', class: `small ${cls}`, text: label });
  b.addEventListener('click', onClick);
  return b;
}

function renderModels(): void {
  const list = document.getElementById('models')!;
  list.replaceChildren();
  const rows: { name: string; path: string; detail: string }[] = [
    ...[...panel.models].reverse().map((m) => ({ name: m.name, path: m.path, detail: m.types.join(', ') })),
    ...panel.jobModels.filter((j) => !panel.models.some((m) => m.path === j.path)).map((j) => ({ name: `job ${j.jobId}`, path: j.path, detail: 'trained here' })),
  ];
  for (const r of rows) {
    const active = panel.active?.path === r.path;
    const item = h('li', { class: `model ${active ? 'active' : ''}` }, h('span', { class: 'name', text: r.name, title: r.path }), h('small', { text: ` ${r.detail}` }));
    if (active) item.append(h('span', { class: 'badge finished', text: 'active' }));
    else item.append(button('Make active', () => send(M.UseModelCommand, { path: r.path })));
    item.append(button('Export…', () => send(M.ExportModelCommand, { path: r.path })));
    list.append(item);
  }
}

const css = (name: string) => getComputedStyle(document.body).getPropertyValue(name).trim() || '#888';
const PALETTE = ['#E69F00', '#56B4E9', '#009E73', '#F0E442', '#CC79A7', '#D55E00', '#0072B2', '#BBBBBB'];

function chart(key: 'loss' | 'f1' | 'hardness', title: string, data: uPlot.AlignedData, series: uPlot.Series[], points = false): void {
  const el = document.getElementById(`chart-${key}`)!;
  el.dataset.points = String(data[0].length);
  const labels = series.map((s) => s.label).join('\n');
  const existing = charts[key];
  if (existing && el.dataset.series === labels) {
    existing.setData(data);
    return;
  }
  el.dataset.series = labels;
  const width = Math.max(200, el.clientWidth || document.body.clientWidth - 16);
  existing?.destroy();
  const axis = { stroke: css('--vscode-foreground'), grid: { stroke: css('--vscode-editorWidget-border') + '55' }, ticks: { stroke: css('--vscode-editorWidget-border') } };
  charts[key] = new uPlot(
    {
      title,
      width,
      height: 150,
      scales: { x: { time: false } },
      axes: [axis, axis],
      legend: { show: series.length > 1, live: false },
      series: [{ label: 'step' }, ...series.map((s, i) => ({ stroke: PALETTE[i % PALETTE.length], width: 2, spanGaps: true, ...(points ? { paths: () => null, points: { show: true, size: 5, fill: PALETTE[i % PALETTE.length] } } : {}), ...s }))],
    },
    data,
    el,
  );
}

function renderCharts(): void {
  const job = panel.jobs.find((j) => j.id === view.selected) ?? panel.jobs[0];
  document.getElementById('charts-title')!.textContent = job ? `Charts · ${jobLabel(job)}` : 'Charts (start a job)';
  const hist = job?.history ?? [];
  const steps = hist.map((m) => m.step);
  chart('loss', 'Loss', [steps, hist.map((m) => m.loss)], [{ label: 'loss' }]);
  const f1 = hist.map((m) => m.develF1 ?? null);
  chart('f1', 'Devel F1', [steps, f1], [{ label: 'devel F1' }], true);
  // Meta-training reports no devel F1 per iteration: say so rather than draw empty axes.
  const none = hist.length > 0 && f1.every((v) => v === null);
  document.getElementById('chart-f1')!.hidden = none;
  document.getElementById('f1-note')!.hidden = !none;
  const corpora = [...new Set(hist.flatMap((m) => (m.hardness ?? []).map((x) => x.corpus)))].sort();
  const gamma = corpora.map((c) =>
    hist.map((m) => {
      const g = (m.hardness ?? []).filter((x) => x.corpus === c).map((x) => x.gamma);
      return g.length ? g.reduce((a, b) => a + b, 0) / g.length : null;
    }),
  );
  chart('hardness', 'Hardness γθ per corpus', [steps, ...gamma], corpora.length ? corpora.map((c) => ({ label: c })) : [{ label: 'γ' }], true);
}

let chartsPending = false;
function scheduleCharts(): void {
  if (chartsPending) return;
  chartsPending = true;
  requestAnimationFrame(() => {
    chartsPending = false;
    renderCharts();
  });
}

function renderStatus(): void {
  const el = document.getElementById('status')!;
  el.textContent = panel.serverState === 'ready' ? `Active model: ${panel.active?.name ?? '?'}` : `Language server: ${panel.serverState}`;
  el.dataset.state = panel.serverState;
}

function renderAll(): void {
  renderStatus();
  renderForm();
  renderJobs();
  renderCharts();
  renderModels();
}

window.addEventListener('message', (e: MessageEvent) => {
  const msg = e.data;
  if (M.is(msg, M.StateNotification)) {
    panel = msg.params;
    if (!view.workersEdited) view.form.workers = panel.workers;
    if (!panel.jobs.some((j) => j.id === view.selected)) view.selected = panel.jobs[0]?.id;
    save();
    renderAll();
  } else if (M.is(msg, M.JobNotification)) {
    const prev = panel.jobs.find((j) => j.id === msg.params.id);
    const job: M.JobView = { ...msg.params, history: prev?.history ?? [] };
    panel.jobs = [job, ...panel.jobs.filter((j) => j.id !== job.id)];
    if (!prev) view.selected = job.id;
    save();
    renderJobs();
    renderCharts();
  } else if (M.is(msg, M.MetricsNotification)) {
    const job = panel.jobs.find((j) => j.id === msg.params.id);
    if (!job) return;
    job.metrics = msg.params.metrics;
    job.history.push(msg.params.metrics);
    // Only the job's label and the charts change: the buttons stay put (clickable while metrics stream).
    const label = document.querySelector(`li.job[data-job="${CSS.escape(job.id)}"] button.link`);
    if (label) label.textContent = jobLabel(job);
    if ((view.selected ?? panel.jobs[0]?.id) === job.id) scheduleCharts();
  } else if (M.is(msg, M.ErrorNotification)) {
    showError(msg.params.message);
  }
});

renderAll();
send(M.ReadyCommand, {});
