import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { EmbeddingTable } from '../embeddings/store';
import { recoverDir, writeDirAtomic } from '../io/atomic';
import { CONVENTION_VIEWS, conventionModelName, conventionParam, ModelInfo, NerModel } from './ner-model';
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

/** Size limits of a model directory's files, far above any model MetaBioNER trains (the shipped one: 7 KB, 1.2 MB, 7.8 MB). */
export const MODEL_LIMITS = { manifestBytes: 16 << 20, weightsBytes: 1 << 30, embeddingsBytes: 4 * 2 ** 30 } as const;

const dim = (max: number) => z.int().min(1).max(max);
/** Names a model uses as types, tags and parameter names: plain, bounded, never an Object.prototype key. */
const plainName = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((s) => !/\s/.test(s), 'must not contain white space')
    .refine((s) => !(s in Object.prototype) && s !== 'prototype', 'must not be a reserved name such as "constructor"');
const distinct = <T>(items: T[]) => new Set(items).size === items.length;

/**
 * The manifest's structure; how its parts fit each other and weights.bin is checked in checkManifest. Fields
 * it does not name are kept as written (and checked where they are read).
 */
const manifestSchema = z.looseObject({
  format: z.literal(MODEL_FORMAT),
  formatVersion: z.literal(MODEL_FORMAT_VERSION),
  info: z.looseObject({ name: z.string().min(1).max(1024), conventions: z.array(plainName(256)).max(256).optional() }),
  shape: z.object({
    wordDim: dim(4096),
    charVocabSize: dim(1_000_000),
    charDim: dim(1024),
    charFilters: dim(4096),
    charWindow: dim(31).refine((w) => w % 2 === 1, 'must be odd'),
    maxWordChars: dim(1000),
    hidden: dim(4096),
    layers: dim(16),
    residual: z.boolean().optional(),
    numTags: dim(100_000),
    numDomains: z.int().min(0).max(10_000),
  }),
  types: z.array(plainName(256)).max(50_000).refine(distinct, 'has a type twice'),
  scheme: z.enum(['iob2', 'bioes']).optional(),
  chars: z.array(z.string().min(1).max(16)).refine(distinct, 'has a character twice'),
  domains: z.array(plainName(256)).optional(),
  weights: z
    .array(z.object({ name: plainName(512), shape: z.array(z.int().min(1).max(1 << 28)).max(4), offset: z.int().min(0) }))
    .min(1)
    .refine((ws) => distinct(ws.map((w) => w.name)), 'names a weight twice'),
  weightsSha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 in hex'),
  embeddings: z
    .string()
    .regex(/^[\w.-]+$/, 'must be a file name in the model directory')
    .refine((f) => f !== '.' && f !== '..', 'must be a file name in the model directory')
    .optional(),
});

/** The parameters a tagger of this shape has, with their shapes (as tagger.ts initialises them). */
export function parameterShapes(shape: TaggerShape): Record<string, number[]> {
  const H = shape.hidden;
  const p: Record<string, number[]> = {
    'enc.charEmb': [shape.charVocabSize, shape.charDim],
    'enc.charConv.W': [shape.charWindow * shape.charDim, shape.charFilters],
    'enc.charConv.b': [shape.charFilters],
  };
  for (let l = 0; l < shape.layers; l++) {
    for (const dir of ['fwd', 'bwd']) {
      p[`enc.lstm${l}.${dir}.Wx`] = [l === 0 ? shape.wordDim + shape.charFilters : 2 * H, 4 * H];
      p[`enc.lstm${l}.${dir}.Wh`] = [H, 4 * H];
      p[`enc.lstm${l}.${dir}.b`] = [4 * H];
    }
  }
  p['dec.out.W'] = [2 * H, shape.numTags];
  p['dec.out.b'] = [shape.numTags];
  p['dec.crf.trans'] = [shape.numTags, shape.numTags];
  p['dec.crf.start'] = [shape.numTags];
  p['dec.crf.end'] = [shape.numTags];
  if (shape.numDomains > 0) {
    p['critic.W'] = [2 * H, shape.numDomains];
    p['critic.b'] = [shape.numDomains];
  }
  return p;
}

/**
 * Checks that the parts of a manifest fit each other and the size of weights.bin, before anything is
 * allocated: every parameter the shape implies is there with exactly its shape (per-corpus conventions may
 * add emission layers of the same shape), the weights tile weights.bin without gaps or overlaps, the
 * character and domain vocabularies have the sizes the shape says (the tag set: in loadModel). Throws a ModelFormatError naming
 * the file and the field.
 */
function checkManifest(dir: string, m: Manifest, weightsBytes: number): void {
  const fail = (problem: string): never => {
    throw new ModelFormatError(dir, problem);
  };
  if (m.chars.length !== m.shape.charVocabSize) fail(`${MANIFEST}: shape.charVocabSize is ${m.shape.charVocabSize}, but "chars" has ${m.chars.length}`);
  const domains = m.domains ?? [];
  if (domains.length !== m.shape.numDomains) fail(`${MANIFEST}: shape.numDomains is ${m.shape.numDomains}, but "domains" has ${domains.length}`);
  const expected = parameterShapes(m.shape);
  for (const c of m.info.conventions ?? []) for (const v of CONVENTION_VIEWS) expected[conventionParam(c, v)] = expected[v];
  const present = new Set(m.weights.map((w) => w.name));
  const missing = Object.keys(expected).filter((n) => !present.has(n));
  if (missing.length) fail(`${MANIFEST}: weights lacks ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ` and ${missing.length - 3} more` : ''}`);
  let elements = 0;
  for (const [i, w] of m.weights.entries()) {
    const want = expected[w.name];
    if (!want) fail(`${MANIFEST}: weights[${i}].name "${w.name.slice(0, 80)}" is not a parameter of this model`);
    if (w.shape.join('x') !== want.join('x')) fail(`${MANIFEST}: weights[${i}].shape of ${w.name} is [${w.shape.join(', ')}], the model's shape implies [${want.join(', ')}]`);
    elements += want.reduce((a, b) => a * b, 1);
  }
  if (weightsBytes !== elements * 4) fail(`${WEIGHTS} has ${weightsBytes} bytes, the manifest's weights take ${elements * 4}`);
  let end = 0;
  for (const w of [...m.weights].sort((a, b) => a.offset - b.offset)) {
    if (w.offset !== end) fail(`${MANIFEST}: weights offset of ${w.name} is ${w.offset}, expected ${end} (weights must tile ${WEIGHTS} without gaps or overlaps)`);
    end += w.shape.reduce((a, b) => a * b, 1);
  }
}

/** A file's size, refused above `limit` before it is read. */
function sizeOf(dir: string, file: string, limit: number): number {
  let size: number;
  try {
    size = fs.statSync(path.join(dir, file)).size;
  } catch (err) {
    throw new ModelFormatError(dir, (err as NodeJS.ErrnoException).code === 'ENOENT' ? `${file} is missing` : `${file} cannot be read (${(err as Error).message})`);
  }
  if (size > limit) throw new ModelFormatError(dir, `${file} has ${size} bytes, more than the ${limit} a model file may have`);
  return size;
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
  recoverDir(dir);
  if (!fs.existsSync(dir)) throw new ModelFormatError(dir, 'no such directory');
  if (!fs.existsSync(file)) throw new ModelFormatError(dir, `${MANIFEST} is missing (is this a model directory?)`);
  sizeOf(dir, MANIFEST, MODEL_LIMITS.manifestBytes);
  let raw: Partial<Manifest>;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<Manifest>;
  } catch (err) {
    throw new ModelFormatError(dir, `${MANIFEST} is not valid JSON (${(err as Error).message})`);
  }
  if (raw === null || typeof raw !== 'object') throw new ModelFormatError(dir, `${MANIFEST} is not a ${MODEL_FORMAT} manifest`);
  if (raw.format !== MODEL_FORMAT) throw new ModelFormatError(dir, `${MANIFEST} is not a ${MODEL_FORMAT} manifest`);
  if (raw.formatVersion !== MODEL_FORMAT_VERSION) {
    throw new ModelFormatError(dir, `format version ${String(raw.formatVersion)}; this MetaBioNER reads version ${MODEL_FORMAT_VERSION}`);
  }
  for (const key of ['shape', 'types', 'chars', 'weights', 'weightsSha256', 'info'] as const) {
    if (raw[key] === undefined) throw new ModelFormatError(dir, `${MANIFEST} lacks "${key}"`);
  }
  const r = manifestSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    const field = issue.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('');
    throw new ModelFormatError(dir, `${MANIFEST}: ${field || 'manifest'}: ${issue.message}`);
  }
  // The checked copy, with info as written (models keep their own metadata in it).
  return { ...r.data, info: raw.info as ModelInfo, domains: r.data.domains ?? [], embeddings: r.data.embeddings ?? EMBEDDINGS };
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
  checkManifest(dir, m, sizeOf(dir, WEIGHTS, MODEL_LIMITS.weightsBytes));
  sizeOf(dir, m.embeddings ?? EMBEDDINGS, MODEL_LIMITS.embeddingsBytes);
  const bytes = fs.readFileSync(path.join(dir, WEIGHTS));
  if (createHash('sha256').update(bytes).digest('hex') !== m.weightsSha256) {
    throw new ModelFormatError(dir, `${WEIGHTS} does not match its checksum (corrupt or partly written)`);
  }
  if (m.scheme !== undefined && !TAG_SCHEMES.includes(m.scheme)) throw new ModelFormatError(dir, `${MANIFEST} names an unknown tagging scheme "${String(m.scheme)}"`);
  const tagSet = new TagSet(m.types, m.scheme ?? 'iob2');
  if (tagSet.size !== m.shape.numTags) throw new ModelFormatError(dir, `${MANIFEST}: shape.numTags is ${m.shape.numTags}, but its ${m.types.length} types give ${tagSet.size} tags`);
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
  const info = convention === undefined ? m.info : { ...m.info, name: conventionModelName(m.info.name, convention), conventions: undefined };
  return new NerModel(m.shape, tagSet, new CharVocab(m.chars), words, toVariables(values), info, m.domains ?? []);
}
