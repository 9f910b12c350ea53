import * as path from 'node:path';
import { after, before } from 'node:test';
import type { Sentence } from '../../training/data/types';
import { initBackend } from '../../training/engine/backend';
import { loadModel } from '../../training/model/model-io';
import type { NerModel } from '../../training/model/ner-model';

export const shippedModelDir = path.join(__dirname, '..', '..', 'models', 'default');

/** The shipped model, loaded (wasm backend) before the file's tests and disposed after them. */
export function useShippedModel(): () => NerModel {
  let model: NerModel | undefined;
  before(async () => {
    await initBackend('wasm');
    model = loadModel(shippedModelDir);
  });
  after(() => model?.dispose());
  return () => {
    if (!model) throw new Error('the shipped model is loaded in before()');
    return model;
  };
}

/** S800's species relabelled as a type the shipped model has never seen. */
export const asNewType = (s: Sentence): Sentence => ({ ...s, tags: s.tags.map((t) => (t === 'O' ? 'O' : `${t.slice(0, 2)}Organism`)) });
