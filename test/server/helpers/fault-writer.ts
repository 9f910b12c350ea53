/**
 * A process for the fault-injection tests (test/server/faults.test.ts), killed with SIGKILL at random points
 * while it writes: `labels FILE` adds brat labels to FILE.ann one by one, forever; `model DIR` saves the
 * shipped model to DIR again and again. It prints "ready" once it writes.
 */
import * as path from 'node:path';
import { StandoffFile } from '../../../server/annotations';
import { initBackend } from '../../../training/engine/backend';
import { loadModel, saveModel } from '../../../training/model/model-io';

const [mode, target] = process.argv.slice(2);

async function main(): Promise<void> {
  if (mode === 'labels') {
    const words = Array.from({ length: 2000 }, (_, i) => `word${i}`);
    const text = words.join(' ');
    const starts = words.map((_, i) => words.slice(0, i).reduce((n, w) => n + w.length + 1, 0));
    const file = new StandoffFile(target);
    process.stdout.write('ready\n');
    for (let i = 0; ; i++) {
      const k = i % words.length;
      file.add(text, 'Thing', starts[k], starts[k] + words[k].length);
    }
  }
  if (mode === 'model') {
    await initBackend('cpu');
    const model = loadModel(path.resolve(__dirname, '..', '..', '..', 'models', 'default'));
    saveModel(model, target);
    process.stdout.write('ready\n');
    for (;;) saveModel(model, target);
  }
  throw new Error(`unknown mode ${mode}`);
}

void main();
