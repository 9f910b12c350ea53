/**
 * The boundary of the language server: one schema per custom message of the contract (server/protocol.ts),
 * checked before any handler runs. A message whose parameters do not match its schema is answered with one
 * `InvalidParams` line naming the field (never the input itself: inputs can be megabytes), so that no handler
 * ever sees a NaN offset, a 1e308 loop bound, a `../` corpus name or a `__proto__` key.
 *
 * The schemas are server-only (zod stays out of the extension bundle); `Same<>` checks below keep each one
 * equal to the protocol type it validates, so a field added to the protocol cannot be silently dropped here.
 */
import { z } from 'zod';
import { META_METHODS } from '../training/meta/meta-train';
import { DOMAINS } from '../training/meta/tasks';
import { SHARINGS } from '../training/multitask/sharing';
import { isUsableLabel, LABEL_RULE } from './annotations';
import * as P from './protocol';

/** The longest text of an error message the server sends (a client shows it as one line). */
export const MAX_MESSAGE = 300;

/** One line of at most `max` characters: newlines folded, the rest cut with an ellipsis. */
export function oneLine(text: string, max = MAX_MESSAGE): string {
  const flat = text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

/** Names that would reach Object.prototype when used as an object key (`__proto__`, `constructor`, `toString`, …). */
export function isReservedKey(s: string): boolean {
  return s in Object.prototype || s === 'prototype';
}

// ---------------------------------------------------------------------------------------------------------
// Building blocks

/** LSP `uinteger`, and the bound of the LSP `integer` a document version is. */
const MAX_INT32 = 2 ** 31 - 1;
const MAX_URI = 8192;
const MAX_PATH = 4096;

/** A whole number in [min, max]: the bounds are checked first, so that 1e308 is "too big", not "not an int". */
const int = (min: number, max: number) => z.number().min(min).max(max).refine(Number.isInteger, 'must be a whole number');
const uinteger = int(0, MAX_INT32);
const position = z.object({ line: uinteger, character: uinteger });
const range = z.object({ start: position, end: position });
const uri = z
  .string()
  .min(1)
  .max(MAX_URI)
  .regex(/^[A-Za-z][A-Za-z0-9+.-]*:/, 'must be a URI (scheme:…)');
const textDocument = z.object({ uri });
const workDoneToken = z.union([int(-MAX_INT32 - 1, MAX_INT32), z.string().max(256)]).optional();
const notReserved = [(s: string) => !isReservedKey(s), 'must not be a reserved name such as "constructor"'] as const;
const filePath = z
  .string()
  .max(MAX_PATH)
  .refine((s) => !s.includes('\0'), 'must not contain a NUL character');
/** A corpus is a folder of the corpora root: a plain name, never a path (`../x`, `a/b`). */
const corpusName = z
  .string()
  .max(128)
  .regex(/^[A-Za-z0-9][\w.+-]*$/, 'must be a corpus folder name (letters, digits, _ . + -), not a path')
  .refine(...notReserved);
const corpora = z.array(corpusName).max(64);
const shown = (v: unknown, max = 40) => {
  const s = String(v);
  return s.length > max ? `${s.slice(0, max)}…` : s;
};
const label = z.string().refine(isUsableLabel, { error: (issue) => `"${shown(issue.input)}" is not a usable label: ${LABEL_RULE}` });
const jobId = z
  .string()
  .max(128)
  .regex(/^[A-Za-z0-9][\w.-]*$/, 'must be a job id as the server gave it')
  .refine(...notReserved);
const seed = int(0, 2 ** 32 - 1);
const workers = int(0, 256);

// ---------------------------------------------------------------------------------------------------------
// One schema per message

const entities = z.object({ textDocument, range: range.optional() });
const visibleRanges = z.object({ textDocument, ranges: z.array(range).max(64) });
const hover = z.object({ textDocument, position });
const addAnnotation = z.object({ textDocument, range, type: label });
/** A brat text-bound annotation (`T3`) or a CoNLL entity (`line:12`): relation, event and note lines are not labels. */
const removeAnnotation = z.object({
  textDocument,
  id: z
    .string()
    .max(32)
    .regex(/^(T[0-9]+|line:[0-9]+)$/, 'must be the id of a label, T<n> (brat) or line:<n> (CoNLL)'),
});
const prediction = z.object({ textDocument, range });
const adapt = z.object({ textDocument, range, workDoneToken });
const useModel = z.object({ path: filePath.min(1) });
/** Bounds as in package.json's `metabioner.hardness.*`. */
const hardness = z.object({
  corporaRoot: filePath.optional(),
  corpora: corpora.optional(),
  k: int(1, 100).optional(),
  tasks: int(1, 50).optional(),
  innerSteps: int(1, 20).optional(),
  seed: seed.optional(),
  workDoneToken,
});
const corporaList = z.object({ corporaRoot: filePath.optional() });

/** Bounds wider than the training panel's fields (media/training.ts), finite and small enough to end. */
const trainingCommon = {
  corporaRoot: filePath.optional(),
  hidden: int(1, 2048).optional(),
  seed: seed.optional(),
  checkpointEvery: int(1, 100_000).optional(),
  workers: workers.optional(),
};
const supervisedJob = z.object({
  kind: z.literal('supervised'),
  corpora: corpora.min(1, 'a supervised job needs at least one corpus'),
  epochs: int(1, 100_000).optional(),
  batchSize: int(1, 4096).optional(),
  lr: z.number().gt(0).max(10).optional(),
  patience: int(0, 100_000).optional(),
  maxTrainSentences: int(0, 100_000_000).optional(),
  ...trainingCommon,
});
const metaJob = z.object({
  kind: z.literal('meta'),
  method: z.enum(META_METHODS as [P.MetaMethodName, ...P.MetaMethodName[]]),
  target: z.string().refine((t) => Object.hasOwn(DOMAINS, t), `must be a target domain: ${Object.keys(DOMAINS).join(', ')}`),
  k: int(1, 100).optional(),
  iterations: int(1, 1_000_000).optional(),
  tasksPerIteration: int(1, 64).optional(),
  innerSteps: int(1, 50).optional(),
  ...trainingCommon,
});
const multitaskJob = z.object({
  kind: z.literal('multitask'),
  corpora: corpora.min(2, 'a multi-task job needs at least two corpora'),
  sharing: z.enum(SHARINGS as [NonNullable<P.MultitaskJobParams['sharing']>, ...NonNullable<P.MultitaskJobParams['sharing']>[]]).optional(),
  sampling: z.enum(['proportional', 'uniform', 'temperature']).optional(),
  slicingRate: z.number().min(0).max(1).optional(),
  epochs: int(1, 100_000).optional(),
  maxTrainSentences: int(0, 100_000_000).optional(),
  ...trainingCommon,
});
const startJob = z.discriminatedUnion('kind', [supervisedJob, metaJob, multitaskJob]);
const jobIdParams = z.object({ id: jobId });

// Standard notifications whose contents the server keeps (document versions must stay usable as versions).
const didOpen = z.object({ textDocument: z.object({ uri, languageId: z.string().max(128), version: uinteger, text: z.string() }) });
const contentChange = z.union([
  z.object({ range, rangeLength: uinteger.optional(), text: z.string() }),
  z.object({ text: z.string() }),
]);
const didChange = z.object({ textDocument: z.object({ uri, version: uinteger }), contentChanges: z.array(contentChange) });
const didClose = z.object({ textDocument });

/** The schema of every message the server validates, by method. */
export const SCHEMAS = {
  [P.EntitiesRequest.method]: entities,
  [P.VisibleRangesNotification.method]: visibleRanges,
  'textDocument/hover': hover,
  [P.AddAnnotationRequest.method]: addAnnotation,
  [P.RemoveAnnotationRequest.method]: removeAnnotation,
  [P.AcceptPredictionRequest.method]: prediction,
  [P.RejectPredictionRequest.method]: prediction,
  [P.AdaptRequest.method]: adapt,
  [P.UseModelRequest.method]: useModel,
  [P.HardnessRequest.method]: hardness,
  [P.CorporaRequest.method]: corporaList,
  [P.StartJobRequest.method]: startJob,
  [P.StopJobRequest.method]: jobIdParams,
  [P.ResumeJobRequest.method]: jobIdParams,
  'textDocument/didOpen': didOpen,
  'textDocument/didChange': didChange,
  'textDocument/didClose': didClose,
} as const;

export type Method = keyof typeof SCHEMAS;
export type ParamsOf<M extends Method> = z.output<(typeof SCHEMAS)[M]>;

/** A job's saved state (`<storage>/jobs/<id>/job.json`), read back when the server starts. */
const savedJob = z.looseObject({
  id: jobId,
  kind: z.enum(['supervised', 'meta', 'multitask']),
  params: startJob,
  state: z.enum(['running', 'stopping', 'stopped', 'finished', 'failed']),
  created: z.string().max(64),
  metrics: z.looseObject({ step: z.number(), total: z.number(), loss: z.number(), elapsedSeconds: z.number() }).optional(),
  modelPath: filePath.optional(),
  error: z.string().optional(),
  resumable: z.boolean(),
});

/** A saved job, checked (its parameters as a start request's), or why it is not usable: one line naming the field. */
export function savedJobOf(raw: unknown): P.JobInfo | string {
  const r = savedJob.safeParse(raw);
  if (r.success) return r.data as P.JobInfo;
  const issue = r.error.issues[0];
  return oneLine(`${issue.path.join('.') || 'job'}: ${issue.message}`);
}

const initOptions = z.object({
  storageDir: filePath.optional(),
  /** Checked field by field by toSettings (server/settings.ts): an unusable value becomes the default. */
  settings: z.record(z.string(), z.unknown()).optional(),
});

/** The initialize request's `initializationOptions`, checked (InvalidParamsError when unusable). */
export function initializationOptions(raw: unknown): P.InitializationOptions {
  const r = initOptions.safeParse(raw ?? {});
  if (!r.success) throw new InvalidParamsError('initialize', r.error);
  return { storageDir: r.data.storageDir, settings: r.data.settings as Partial<P.Settings> | undefined };
}

/** Why parameters were refused: one line naming the first field at fault (and how many others are). */
export class InvalidParamsError extends Error {
  constructor(method: string, error: z.ZodError) {
    const first = error.issues[0];
    const field = first?.path.length ? first.path.join('.') : 'params';
    const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more)` : '';
    super(oneLine(`invalid ${method} parameters: ${field}: ${first?.message ?? 'not accepted'}${more}`));
    this.name = 'InvalidParamsError';
  }
}

/** The parameters of `method`, checked and copied (unknown keys dropped), or an InvalidParamsError. */
export function parseParams<M extends Method>(method: M, raw: unknown): ParamsOf<M> {
  const r = SCHEMAS[method].safeParse(raw);
  if (!r.success) throw new InvalidParamsError(method, r.error);
  return r.data as ParamsOf<M>;
}

// ---------------------------------------------------------------------------------------------------------
// Each schema says exactly what the protocol type says (checked by the compiler, nothing at run time).

type Mutual<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** Assignable both ways and with the same keys (an optional field missing from one side is caught too). */
type Same<A, B> = Mutual<A, B> extends true ? Mutual<keyof A, keyof B> : false;
type Check<T extends true> = T;
export type ContractChecks = [
  Check<Same<z.output<typeof entities>, P.EntitiesParams>>,
  Check<Same<z.output<typeof visibleRanges>, P.VisibleRangesParams>>,
  Check<Same<z.output<typeof addAnnotation>, P.AddAnnotationParams>>,
  Check<Same<z.output<typeof removeAnnotation>, P.RemoveAnnotationParams>>,
  Check<Same<z.output<typeof prediction>, P.PredictionParams>>,
  Check<Same<z.output<typeof adapt>, P.AdaptParams>>,
  Check<Same<z.output<typeof useModel>, P.UseModelParams>>,
  Check<Same<z.output<typeof hardness>, P.HardnessParams>>,
  Check<Same<z.output<typeof corporaList>, P.CorporaParams>>,
  Check<Same<z.output<typeof supervisedJob>, P.SupervisedJobParams>>,
  Check<Same<z.output<typeof metaJob>, P.MetaJobParams>>,
  Check<Same<z.output<typeof multitaskJob>, P.MultitaskJobParams>>,
  Check<Same<z.output<typeof jobIdParams>, P.JobIdParams>>,
];
