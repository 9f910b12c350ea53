import { spansFromTags } from '../data/tagging-scheme';
import type { Sentence } from '../data/types';
import type { SentencePrediction } from '../model/ner-model';

export interface CalibrationBin {
  /** Confidence range [lo, hi). */
  lo: number;
  hi: number;
  count: number;
  meanConfidence: number;
  /** Share of the bin's predicted entities that are gold entities (same type, start, end). */
  accuracy: number;
}

export interface Calibration {
  /** Expected calibration error: Σ_bins (count / total) · |accuracy − mean confidence|. */
  ece: number;
  entities: number;
  bins: CalibrationBin[];
}

/**
 * How far predicted entities' confidences are from how often such entities are right: each predicted entity (of
 * `types`) is a prediction with its CRF span probability as confidence, correct when a gold entity has the same
 * type, start and end. Equal-width bins over [0, 1].
 */
export function entityCalibration(gold: readonly Sentence[], predicted: readonly SentencePrediction[], types: readonly string[], bins = 10): Calibration {
  const items: { confidence: number; correct: boolean }[] = [];
  gold.forEach((s, i) => {
    const truth = new Set(spansFromTags(s.tags).map((e) => `${e.type}:${e.start}:${e.end}`));
    for (const p of predicted[i].spans) if (types.includes(p.type)) items.push({ confidence: p.confidence, correct: truth.has(`${p.type}:${p.start}:${p.end}`) });
  });
  return calibrationOf(items, bins);
}

/** ECE and reliability bins of (confidence, correct) pairs. */
export function calibrationOf(items: readonly { confidence: number; correct: boolean }[], bins = 10): Calibration {
  const out: CalibrationBin[] = Array.from({ length: bins }, (_, b) => ({ lo: b / bins, hi: (b + 1) / bins, count: 0, meanConfidence: 0, accuracy: 0 }));
  for (const it of items) {
    const bin = out[Math.min(bins - 1, Math.max(0, Math.floor(it.confidence * bins)))];
    bin.count++;
    bin.meanConfidence += it.confidence;
    bin.accuracy += it.correct ? 1 : 0;
  }
  let ece = 0;
  for (const b of out) {
    if (b.count === 0) continue;
    b.meanConfidence /= b.count;
    b.accuracy /= b.count;
    ece += (b.count / items.length) * Math.abs(b.accuracy - b.meanConfidence);
  }
  return { ece, entities: items.length, bins: out };
}
