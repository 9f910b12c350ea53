/**
 * The CLI's exit-code policy, in one place: an error the user can fix (a bad option, a missing or damaged file
 * or model, a corpus that is not there) is one line and exit code 2; anything else is a bug of MetaBioNER: its
 * stack trace and exit code 1.
 */
import { CorpusFormatError } from '../data/conll';
import { EmbeddingFormatError } from '../embeddings/store';
import { ModelFormatError } from '../model/model-io';
import { UnknownLabelError } from '../model/vocab';
import { CheckpointError } from '../train/checkpoint';
import { UsageError } from './command';

/** Errors of the file system that the user can fix: a path that is not there, not readable, not writable, full. */
const SYSTEM_ERRORS = new Set(['ENOENT', 'ENOTDIR', 'EISDIR', 'EACCES', 'EPERM', 'ENOSPC', 'EDQUOT', 'EROFS', 'EMFILE', 'ENAMETOOLONG', 'ELOOP']);

/** Whether an error is one the user can fix. */
export function isExpected(err: unknown): err is Error {
  return (
    err instanceof UsageError ||
    err instanceof ModelFormatError ||
    err instanceof UnknownLabelError ||
    err instanceof CheckpointError ||
    err instanceof CorpusFormatError ||
    err instanceof EmbeddingFormatError ||
    (err instanceof Error && SYSTEM_ERRORS.has((err as NodeJS.ErrnoException).code ?? ''))
  );
}

/** An expected error as the one line printed: newlines folded (a usage error's help text follows it). */
function oneLine(err: Error): string {
  if (err instanceof UsageError) return err.message;
  return err.message.replace(/\s*[\r\n]+\s*/g, ' ');
}

/** Exit code 2 for an error the user can fix, 1 for a bug. */
export function exitCodeOf(err: unknown): 1 | 2 {
  return isExpected(err) ? 2 : 1;
}

/** What is printed: "metabioner: " and one line, or the stack trace of a bug. */
export function reportOf(err: unknown): string {
  if (isExpected(err)) return `metabioner: ${oneLine(err)}`;
  return `metabioner: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
}
