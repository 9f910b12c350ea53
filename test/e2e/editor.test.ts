/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * End-to-end tests in a real VS Code (code-server + chromium): the five scenarios of issue 7, asserting on
 * what the page shows. One code-server and one browser window for the whole file; a failing test leaves a
 * screenshot in test/screenshots/. METABIONER_DOCS_IMAGES=1 also refreshes docs/images/.
 * Skipped (with the reason) only when METABIONER_E2E=0. METABIONER_E2E_EXTENSION=<folder> loads the
 * extension from an unpacked .vsix instead of the repository (npm run test:vsix).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, test, TestContext } from 'node:test';
import type { Browser } from 'playwright-core';
import { familyOf } from '../../extension/palette';
import { CodeServer, startCodeServer } from './code-server';
import { DOCS, expectedFamilies, modelTypes, NEW_TYPE, NEW_TYPE_LABELS, TEST_SETTINGS } from './scenarios';
import { launchBrowser, MOD, SCREENSHOTS, sameColour, Workbench } from './workbench';
import { makeWorkspace, ROOT } from './workspace';

const skip = process.env.METABIONER_E2E === '0' ? 'METABIONER_E2E=0' : false;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mb-e2e-'));
let server: CodeServer | undefined;
let browser: Browser | undefined;
let wb: Workbench;


before(async () => {
  if (skip) return;
  const ws = makeWorkspace(path.join(tmp, 'workspace'));
  server = await startCodeServer({
    home: path.join(tmp, 'home'),
    workspace: ws,
    // METABIONER_E2E_EXTENSION: an unpacked .vsix instead of the repository (npm run test:vsix).
    extensionPath: process.env.METABIONER_E2E_EXTENSION,
    settings: {
      ...TEST_SETTINGS,
      'editor.minimap.enabled': false,
      'editor.wordWrap': 'on',
      'editor.hover.delay': 100,
      'workbench.editor.enablePreview': false,
    },
  });
  browser = await launchBrowser(path.join(tmp, 'home'));
  wb = await Workbench.open(browser, server.url);
});

after(async () => {
  await browser?.close().catch(() => undefined);
  await server?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Runs a scenario; on failure saves a screenshot named after the test. */
async function scenario(t: TestContext, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    const file = path.join(SCREENSHOTS, `${t.name.replace(/[^\w-]+/g, '-').slice(0, 80)}.png`);
    await wb?.screenshot(file).catch(() => undefined);
    if (server) fs.writeFileSync(file.replace(/\.png$/, '.log'), server.output());
    throw err;
  }
}

async function docsImage(name: string): Promise<void> {
  await wb.screenshot(path.join(SCREENSHOTS, name));
  if (process.env.METABIONER_DOCS_IMAGES === '1') fs.copyFileSync(path.join(SCREENSHOTS, name), path.join(ROOT, 'docs', 'images', name));
}

test('1. a sample abstract: entity decorations per type, hover with type and confidence', { skip }, (t) =>
  scenario(t, async () => {
    assert.ok(expectedFamilies.length >= 2, `the shipped model tags ${modelTypes.join(', ')}`);
    await wb.openFile(DOCS.abstract);
    for (const f of expectedFamilies) await wb.waitForFamily(f, 'dashed');
    const decorations = await wb.decorations();
    for (const f of expectedFamilies) {
      const { background } = await wb.familyColours(f);
      assert.ok(decorations.some((d) => sameColour(d.background, background)), `a ${f} background among ${[...new Set(decorations.map((d) => d.background))].join(' ')}`);
    }
    // Hover over a predicted entity: its type and confidence.
    const d = decorations.find((x) => x.borderStyle === 'dashed')!;
    await wb.page.mouse.move(d.x + d.w / 2, d.y + d.h / 2);
    const hover = wb.page.locator('.monaco-hover:not(.hidden)', { hasText: 'confidence' }).first();
    await hover.waitFor();
    const text = (await hover.innerText()).replace(/\u00a0/g, ' ');
    assert.match(text, new RegExp(`(${modelTypes.join('|')}) · predicted, confidence [01]\\.\\d\\d`));
    await docsImage('editor-entities.png');
    // The legend lists the model's types with their counts.
    await wb.page.mouse.move(5, 400);
    await wb.command('MetaBioNER: Toggle Entity Highlighting');
    await wb.waitForNoEntities();
    await wb.command('MetaBioNER: Toggle Entity Highlighting');
    for (const f of expectedFamilies) await wb.waitForFamily(f, 'dashed');
  }),
);

test('1b. accept, remove and reject a prediction: keybindings and the editor context menu', { skip }, (t) =>
  scenario(t, async () => {
    await wb.openFile(DOCS.abstract);
    const family = expectedFamilies[0];
    await wb.waitForFamily(family, 'dashed');
    const { border } = await wb.familyColours(family);
    const target = (await wb.decorations()).find((d) => d.borderStyle === 'dashed' && sameColour(d.borderColor, border))!;
    await wb.page.mouse.click(target.x + target.w / 2, target.y + target.h / 2);
    await wb.page.keyboard.press('Control+Alt+Y'); // Accept Prediction
    await wb.waitForFamily(family, 'solid');
    assert.match(fs.readFileSync(path.join(tmp, 'workspace', 'abstracts', 'cisplatin.ann'), 'utf8'), /^T1\t/m);
    await wb.page.keyboard.press('Control+Alt+R'); // Remove Label
    await wb.page.waitForFunction(() => [...document.querySelectorAll('.editor-group-container.active .monaco-editor .view-overlays .cdr')].every((el) => getComputedStyle(el).borderBottomStyle !== 'solid'));
    const before = (await wb.decorations()).length;
    await wb.page.mouse.click(target.x + target.w / 2, target.y + target.h / 2, { button: 'right' });
    const reject = wb.page.locator('.monaco-menu .action-item', { hasText: 'Reject Prediction' }).first();
    await reject.click();
    // A synthetic click that lands while the menu is still settling is sometimes dropped by the workbench (seen on
    // a fresh clone: the item stays highlighted, the menu open); the highlighted item then takes Enter, as for a user.
    await wb.page.locator('.monaco-menu').first().waitFor({ state: 'hidden', timeout: 3000 }).catch(async () => {
      await reject.hover();
      await wb.page.keyboard.press('Enter');
    });
    await wb.page.waitForFunction(
      (n) => [...document.querySelectorAll('.editor-group-container.active .monaco-editor .view-overlays .cdr')].filter((el) => getComputedStyle(el).borderBottomStyle === 'dashed').length < n,
      before,
    );
  }),
);

test('2. label two sentences with a new type, adapt on the selection: progress, then the type in another document beside the known ones', { skip }, (t) =>
  scenario(t, async () => {
    await wb.openFile(DOCS.followUp);
    await wb.openFile(DOCS.cellLines);
    await wb.select(NEW_TYPE_LABELS[0]);
    await wb.command('MetaBioNER: Label Selection as…');
    await wb.pick('New type');
    const input = wb.quickInput().locator('input');
    await wb.quickInput().locator('.quick-input-title', { hasText: 'New entity type' }).waitFor();
    await input.fill(NEW_TYPE);
    await wb.page.keyboard.press('Enter');
    await wb.waitForFamily(familyOf(NEW_TYPE), 'solid');
    await wb.select(NEW_TYPE_LABELS[1]);
    await wb.command('MetaBioNER: Label Selection as…');
    await wb.pick(NEW_TYPE);
    await wb.waitForFamily(familyOf(NEW_TYPE), 'solid', 2);
    assert.ok(fs.readFileSync(path.join(tmp, 'workspace', 'abstracts', 'cell-lines.ann'), 'utf8').split(`\t${NEW_TYPE} `).length === 3, 'two labels in the .ann file');

    await wb.editor().locator('.view-lines').click();
    await wb.page.keyboard.press(`${MOD}+A`);
    await wb.command('MetaBioNER: Few-shot Adapt on Selection');
    await wb.notification(/few-shot adaptation/).waitFor();
    const done = wb.notification(new RegExp(`learned ${NEW_TYPE} from 2 sentences and 2 entities`));
    await done.waitFor({ timeout: 120_000 });
    assert.ok(await done.locator('.monaco-button', { hasText: 'Undo' }).isVisible(), 'an Undo button');
    await wb.openFile(DOCS.followUp);
    await wb.waitForFamily(familyOf(NEW_TYPE), 'dashed');
    // The model learned the new type beside the ones it knew: their highlights stay (Cisplatin, BRCA1).
    await wb.waitForFamily(familyOf('Chemical'), 'dashed');
    await wb.waitForFamily(familyOf('Gene'), 'dashed');
    assert.match(await wb.serverReady(), new RegExp(NEW_TYPE));
    // Undo: the previous model (and its types) again.
    await done.locator('.monaco-button', { hasText: 'Undo' }).click();
    await wb.page.locator(`[aria-label^="MetaBioNER ready"]:not([aria-label*="${NEW_TYPE}"])`).first().waitFor();
  }),
);

test('3. training panel: a short meta-training run on two sample corpora, the chart updates, stop', { skip }, (t) =>
  scenario(t, async () => {
    await wb.page.locator('.activitybar .action-item a[aria-label^="MetaBioNER"]').first().click();
    const header = wb.page.locator('.pane-header', { hasText: 'Training' }).first();
    await header.waitFor();
    if ((await header.getAttribute('aria-expanded')) === 'false') await header.click();
    // The other views of the container folded, so that the panel has the height.
    for (const name of ['Task Hardness', 'Entity Types']) {
      const other = wb.page.locator('.pane-header', { hasText: name }).first();
      if ((await other.getAttribute('aria-expanded')) === 'true') await other.click();
    }
    const f = wb.trainingFrame();
    await f.locator('#status[data-state="ready"]').waitFor();
    await f.locator('select[name="method"]').selectOption('metabioner');
    await f.locator('select[name="target"]').selectOption('Disease');
    await f.locator('fieldset.corpora input[value="BC5CDR-chem"]').waitFor();
    await f.locator('fieldset.corpora input[value="LINNAEUS"]').waitFor();
    for (const [name, value] of [['k', '3'], ['tasksPerIteration', '2'], ['innerSteps', '1'], ['iterations', '5000'], ['hidden', '8']]) {
      await f.locator(`input[name="${name}"]`).fill(value);
      await f.locator(`input[name="${name}"]`).dispatchEvent('change');
    }
    await f.locator('#start').click();
    const running = f.locator('li.job[data-state="running"]').first();
    await running.waitFor();
    // The chart has points, then more: it updates live.
    await f.locator('#chart-loss:not([data-points="0"])').waitFor({ timeout: 120_000 });
    const n = await f.locator('#chart-loss').getAttribute('data-points');
    await f.locator(`#chart-loss:not([data-points="0"]):not([data-points="${n}"])`).waitFor({ timeout: 120_000 });
    assert.ok(await f.locator('#chart-loss canvas').count(), 'uPlot drew the loss chart');
    assert.ok(Number(await f.locator('#chart-hardness').getAttribute('data-points')) > Number(n), 'hardness points');
    const frame = (await (await f.locator('body').elementHandle())!.ownerFrame())!;
    await frame.waitForFunction(() => Number(document.getElementById('chart-loss')?.dataset.points) >= 12, undefined, { timeout: 120_000 });
    await docsImage('training-panel.png');
    const id = await running.getAttribute('data-job');
    await running.locator('button.stop').click();
    await f.locator(`li.job[data-job="${id}"][data-state="stopped"] button.resume`).waitFor({ timeout: 120_000 });
    const points = Number(await f.locator('#chart-loss').getAttribute('data-points'));

    // The panel's state survives a window reload: the job, its charts, the form.
    await Promise.all([wb.page.waitForEvent('load'), wb.command('Developer: Reload Window')]);
    await wb.serverReady();
    await wb.trainingFrame().locator(`li.job[data-job="${id}"][data-state="stopped"]`).waitFor();
    assert.equal(Number(await wb.trainingFrame().locator('#chart-loss').getAttribute('data-points')), points);
    await wb.trainingFrame().locator('#form-section summary').click();
    assert.equal(await wb.trainingFrame().locator('input[name="hidden"]').inputValue(), '8');
  }),
);

test('4. hardness view: sampled tasks with γ in [0, 1], entities marked', { skip }, (t) =>
  scenario(t, async () => {
    await wb.command('MetaBioNER: Compute Task Hardness');
    const pane = wb.page.locator('.pane', { has: wb.page.locator('.pane-header', { hasText: 'Task Hardness' }) }).first();
    const tasks = pane.locator('.monaco-list-row', { hasText: 'γθ' });
    await tasks.first().waitFor({ timeout: 120_000 });
    assert.equal(await tasks.count(), 3);
    const gammas = (await tasks.allInnerTexts()).map((s) => Number(/γθ ([\d.]+)/.exec(s)![1]));
    for (const g of gammas) assert.ok(g >= 0 && g <= 1, `γ ${g}`);
    assert.deepEqual(gammas, [...gammas].sort((a, b) => b - a), 'sorted, hardest first');
    // The view gets the container's height (the other views folded), then every task is expanded: some
    // sentence of some task holds an entity, marked in its label.
    for (const name of ['Training', 'Entity Types']) {
      const other = wb.page.locator('.pane-header', { hasText: name }).first();
      if ((await other.getAttribute('aria-expanded')) === 'true') await other.click();
    }
    for (let i = 0; i < 3; i++) {
      await tasks.nth(i).click();
      await pane.locator('.monaco-list-row', { hasText: 'Support set' }).nth(i).waitFor();
    }
    const marked = pane.locator('.monaco-list-row .monaco-highlighted-label .highlight');
    await marked.first().waitFor();
    assert.ok((await marked.count()) > 0, 'entities are marked in the sentences');
    // A sentence opens in its corpus file, at its line.
    await marked.first().click();
    await wb.page.locator('.tab.active', { hasText: /^(train|devel|test)\.tsv/ }).waitFor();
    assert.match(await wb.page.locator('.statusbar-item', { hasText: /Ln \d+, Col \d+/ }).first().innerText(), /Ln \d+/);
  }),
);

test('5. a malformed CoNLL file and an empty selection: clear messages, nothing else breaks', { skip }, (t) =>
  scenario(t, async () => {
    await wb.openFile(DOCS.malformed);
    await wb.editor().locator('.squiggly-error, .squiggly-warning').first().waitFor();
    await wb.page.keyboard.press(`${MOD}+Shift+M`);
    const problem = wb.page.locator('.markers-panel .monaco-list-row', { hasText: /line/i }).first();
    await problem.waitFor();
    assert.match(await problem.innerText(), /tag|column|malformed/i);
    // An empty selection: the adaptation says what to do.
    await wb.openFile(DOCS.abstract);
    await wb.editor().locator('.view-lines').click();
    await wb.command('MetaBioNER: Few-shot Adapt on Selection');
    await wb.notification(/the selection is empty/).waitFor();
    await wb.command('MetaBioNER: Label Selection as…');
    await wb.notification(/Select the words to label first/).waitFor();
    // Still tagging, still ready.
    await wb.serverReady();
    for (const f of expectedFamilies) await wb.waitForFamily(f, 'dashed');
  }),
);
