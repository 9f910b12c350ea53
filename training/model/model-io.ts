import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EmbeddingTable } from '../embeddings/store';
import { writeDirAtomic } from '../io/atomic';
import { CONVENTION_VIEWS, conventionParam, ModelInfo, NerModel } from './ner-model';
import { TaggerShape, toVariables } from './tagger';
import { CharVocab, TAG_SCHEMES, TagScheme, TagSet } from './vocab';

export const MODEL_FORMAT = 'metabioner-model';
export const MODEL_FORMAT_VERSION = 1;

const MANIFEST = 'manifest.json';
const WEIGHTS = 'weights.bin';
const EMBEDDINGS = 'embeddings.bin';

interface WeightEntry {
  name: string;
  shape: number[];
  /** Element offset into weights.bin (float32). */
  offset: number;
}

interface Manifest {
  format: typeof MODEL_FORMAT;
  formatVersion: number;
  info: ModelInfo;
  shape: TaggerShape;
  types: string[];
  /** Absent in models written before BIOES existed: IOB2. */
  scheme?: TagScheme;
  chars: string[];
  domains: string[];
  weights: WeightEntry[];
  weightsSha256: string;
  embeddings: string;
}

export class ModelFormatError extends Error {
  constructor(readonly dir: string, problem: string) {
    super(`Cannot load model ${dir}: ${problem}`);
    this.name = 'ModelFormatError';
  }
}

/** Writes the model as a directory (manifest + float32 weights + int8 word vectors), atomically. */
export function saveModel(model: NerModel, dir: string): void {
  const names = Object.keys(model.params).sort();
  const entries: WeightEntry[] = [];
  let total = 0;
  for (const name of names) {
    entries.push({ name, shape: model.params[name].shape, offset: total });
    total += model.params[name].size;
  }
  const buf = new Float32Array(total);
  for (const e of entries) buf.set(model.params[e.name].dataSync() as Float32Array, e.offset);
  const bytes = new Uint8Array(buf.buffer);
  if (!(model.words instanceof EmbeddingTable)) throw new Error('saveModel needs the model words to be an EmbeddingTable');
  const words = model.words;
  const manifest: Manifest = {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    info: model.info,
    shape: model.shape,
    types: model.tagSet.types,
    scheme: model.tagSet.scheme,
    chars: model.chars.chars,
    domains: model.domains,
    weights: entries,
    weightsSha256: createHash('sha256').update(bytes).digest('hex'),
    embeddings: EMBEDDINGS,
  };
  writeDirAtomic(dir, (tmp) => {
    fs.writeFileSync(path.join(tmp, WEIGHTS), bytes);
    words.save(path.join(tmp, EMBEDDINGS));
    fs.writeFileSync(path.join(tmp, MANIFEST), JSON.stringify(manifest, null, 1) + '\n');
  });
}

function readManifest(dir: string): Manifest {
  const file = path.join(dir, MANIFEST);
  if (!fs.existsSync(dir)) throw new ModelFormatError(dir, 'no such directory');
  if (!fs.existsSync(file)) throw new ModelFormatError(dir, `${MANIFEST} is missing (is this a model directory?)`);
  let m: Manifest;
  try {
    m = JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest;
  } catch (err) {
    throw new ModelFormatError(dir, `${MANIFEST} is not valid JSON (${(err as Error).message})`);
  }
  if (m.format !== MODEL_FORMAT) throw new ModelFormatError(dir, `${MANIFEST} is not a ${MODEL_FORMAT} manifest`);
  if (m.formatVersion !== MODEL_FORMAT_VERSION) {
    throw new ModelFormatError(dir, `format version ${m.formatVersion}; this MetaBioNER reads version ${MODEL_FORMAT_VERSION}`);
  }
  for (const key of ['shape', 'types', 'chars', 'weights', 'weightsSha256', 'info'] as const) {
    if (m[key] === undefined) throw new ModelFormatError(dir, `${MANIFEST} lacks "${key}"`);
  }
  return m;
}

/** Reads only the manifest's description, e.g. to list models without loading weights. */
export function readModelInfo(dir: string): { info: ModelInfo; types: string[] } {
  const m = readManifest(dir);
  return { info: m.info, types: m.types };
}

/**
 * Loads a model directory. With `convention` (a unified tagger trained with per-corpus conventions), the model
 * tags in that corpus' convention: its emission layer replaces the generic one, and the other conventions'
 * weights are not kept.
 */
export function loadModel(dir: string, opts: { convention?: string } = {}): NerModel {
  const m = readManifest(dir);
  const weightsFile = path.join(dir, WEIGHTS);
  if (!fs.existsSync(weightsFile)) throw new ModelFormatError(dir, `${WEIGHTS} is missing`);
  const bytes = fs.readFileSync(weightsFile);
  const total = m.weights.reduce((n, e) => n + e.shape.reduce((a, b) => a * b, 1), 0);
  if (bytes.length !== total * 4) {
    throw new ModelFormatError(dir, `${WEIGHTS} has ${bytes.length} bytes, the manifest describes ${total * 4}`);
  }
  if (createHash('sha256').update(bytes).digest('hex') !== m.weightsSha256) {
    throw new ModelFormatError(dir, `${WEIGHTS} does not match its checksum (corrupt or partly written)`);
  }
  if (m.scheme !== undefined && !TAG_SCHEMES.includes(m.scheme)) throw new ModelFormatError(dir, `${MANIFEST} names an unknown tagging scheme "${String(m.scheme)}"`);
  const tagSet = new TagSet(m.types, m.scheme ?? 'iob2');
  if (tagSet.size !== m.shape.numTags) throw new ModelFormatError(dir, `${m.types.length} types give ${tagSet.size} tags, shape says ${m.shape.numTags}`);
  if (m.chars.length !== m.shape.charVocabSize) throw new ModelFormatError(dir, 'character vocabulary does not match the shape');
  let words: EmbeddingTable;
  try {
    words = EmbeddingTable.load(path.join(dir, m.embeddings ?? EMBEDDINGS));
  } catch (err) {
    throw new ModelFormatError(dir, `word vectors: ${(err as Error).message}`);
  }
  if (words.dim !== m.shape.wordDim) throw new ModelFormatError(dir, `word vectors have ${words.dim} dims, the model takes ${m.shape.wordDim}`);
  const aligned = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  const values: Record<string, tf.Tensor> = {};
  const conventions = m.info.conventions ?? [];
  const convention = opts.convention;
  if (convention !== undefined && !conventions.includes(convention)) {
    throw new ModelFormatError(dir, conventions.length ? `it has no convention "${convention}" (it has ${conventions.join(', ')})` : `it has no per-corpus conventions (asked for "${convention}")`);
  }
  const chosen = new Map(convention === undefined ? [] : CONVENTION_VIEWS.map((v) => [conventionParam(convention, v), v]));
  const conventionParams = new Set(conventions.flatMap((c) => CONVENTION_VIEWS.map((v) => conventionParam(c, v))));
  for (const e of m.weights) {
    // With a convention: its emission layer under the ordinary names, and none of the others.
    const name = chosen.get(e.name) ?? (convention !== undefined && (conventionParams.has(e.name) || CONVENTION_VIEWS.includes(e.name)) ? undefined : e.name);
    if (name === undefined) continue;
    const size = e.shape.reduce((a, b) => a * b, 1);
    values[name] = tf.tensor(aligned.subarray(e.offset, e.offset + size), e.shape);
  }
  const info = convention === undefined ? m.info : { ...m.info, name: `${m.info.name} (${convention} convention)`, conventions: undefined };
  return new NerModel(m.shape, tagSet, new CharVocab(m.chars), words, toVariables(values), info, m.domains ?? []);
}
