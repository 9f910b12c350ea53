/**
 * What both kinds of editor tests share: the browser-driven ones (test/e2e/editor.test.ts, code-server) and
 * the in-editor ones (test/vscode/, @vscode/test-cli for those who can download VS Code): the settings of the
 * test editor, and the entity families the shipped model is expected to show.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Family, familyOf } from '../../extension/palette';
import { ROOT } from './workspace';

/** User settings of the test editor: fast re-tagging, an adaptation that learns from two sentences, small hardness tasks. */
export const TEST_SETTINGS = {
  'metabioner.debounceMs': 50,
  'metabioner.adaptEpochs': 40,
  'metabioner.adaptLearningRate': 0.01,
  'metabioner.hardness.k': 3,
  'metabioner.hardness.tasks': 3,
  'metabioner.hardness.innerSteps': 1,
};

/** The families issue 7 names; the tests assert on those the shipped model tags (models/default/manifest.json). */
export const FOUR: Family[] = ['disease', 'chemical', 'gene', 'species'];
export const modelTypes: string[] = JSON.parse(fs.readFileSync(path.join(ROOT, 'models', 'default', 'manifest.json'), 'utf8')).types;
export const expectedFamilies = FOUR.filter((f) => modelTypes.some((t) => familyOf(t) === f));

/** The documents of the scenarios, in the sample workspace. */
export const DOCS = { abstract: 'abstracts/cisplatin.txt', cellLines: 'abstracts/cell-lines.txt', followUp: 'abstracts/follow-up.txt', malformed: 'malformed.conll' };
export const NEW_TYPE = 'CellLine';
export const NEW_TYPE_LABELS = ['HeLa cells', 'MCF-7 cells'];
