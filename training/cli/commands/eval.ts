import type { CorpusSplit } from '../../data/types';
import { formatReport } from '../../eval/conlleval';
import { entityCalibration } from '../../eval/calibration';
import { evaluatePredictions } from '../../eval/evaluate-model';
import { defaultModelDir } from '../../io/paths';
import { readModelInfo } from '../../model/model-io';
import { mappedTypes, mapSentenceTypes, UNIFIED_TYPE_MAPS } from '../../multitask/type-map';
import { TagPool } from '../../parallel/tag-pool';
import { loadEvaluationSplit } from '../../train/training-data';
import { Command, startBackend, UsageError } from '../command';
import { CORPUS_OPTIONS, MODEL_OPTIONS, corporaRootOption, corpusList, WORKER_OPTIONS, workersOption } from './shared';

const SPLITS: CorpusSplit[] = ['train', 'devel', 'test'];

export const evalCommand: Command = {
  name: 'eval',
  summary: 'Score a model on a corpus split with conlleval (exact type + start + end), counting only the types that corpus annotates.',
  options: {
    ...MODEL_OPTIONS,
    ...CORPUS_OPTIONS,
    split: { type: 'string', description: 'train, devel or test', default: 'test', valueName: 'S' },
    strict: { type: 'boolean', description: 'strict IOB2: an I- tag that continues no entity is not an entity start' },
    json: { type: 'boolean', description: 'print JSON instead of the conlleval report' },
    ...WORKER_OPTIONS,
  },
  async run(values) {
    const workers = workersOption(values);
    const names = corpusList(values.corpus);
    if (names.length === 0) throw new UsageError('eval needs --corpus NAME');
    const split = values.split as CorpusSplit;
    if (!SPLITS.includes(split)) throw new UsageError(`--split must be one of ${SPLITS.join(', ')}`);
    const root = corporaRootOption(values);
    await startBackend(values);
    const dir = (values.model as string | undefined) ?? defaultModelDir();
    const model = readModelInfo(dir);
    const results: Record<string, unknown> = {};
    const splits = names.map((name) => {
      const loaded = loadEvaluationSplit(root, name, split);
      // A unified tagger tags the renamed types (JNLPBA's protein is a Gene): score the corpus under the same names.
      const map = model.info.hyper.sharing === 'unified' ? (UNIFIED_TYPE_MAPS[name] ?? {}) : {};
      const sentences = loaded.sentences.map((s) => mapSentenceTypes(s, map));
      const types = mappedTypes(loaded.types, map);
      const known = types.filter((t) => model.types.includes(t));
      if (known.length === 0) throw new UsageError(`${name} annotates ${types.join(', ')}; the model tags ${model.types.join(', ')}`);
      return { name, sentences, known };
    });
    // A whole split is many batches: tag them on every worker.
    const pool = await TagPool.start(dir, workers, undefined, values.convention as string | undefined);
    try {
      for (const { name, sentences, known } of splits) {
        const predicted = await pool.predict(sentences.map((s) => s.tokens));
        const r = evaluatePredictions(sentences, predicted, known, values.strict === true);
        const calibration = entityCalibration(sentences, predicted, known);
        results[name] = { ...r, calibration };
        if (!values.json) process.stdout.write(`== ${name} ${split} (${model.info.name})\n${formatReport(r)}\ncalibration: ECE ${calibration.ece.toFixed(4)} over ${calibration.entities} predicted entities (10 bins)\n`);
      }
    } finally {
      await pool.close();
    }
    if (values.json) process.stdout.write(JSON.stringify(results, null, 1) + '\n');
    return 0;
  },
};
