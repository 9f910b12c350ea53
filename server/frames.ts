import { Transform, TransformCallback } from 'node:stream';

/** The largest message the server takes over stdio (a 4 MiB document is ~5 MiB of JSON; far above that). */
export const MAX_FRAME_BYTES = 64 * 1024 * 1024;
/** A header block longer than this is not one. */
const MAX_HEADER_BYTES = 8 * 1024;
const SEPARATOR = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = Buffer.from('Content-Length:');

/**
 * The LSP base protocol over a byte stream (--stdio), checked frame by frame before vscode-jsonrpc reads it:
 * a frame whose header is malformed (`Content-Length: abc`, no length, not a header at all) or announces more
 * than MAX_FRAME_BYTES is dropped with a line in the log, and reading resumes at the next `Content-Length:`.
 * Without it one bad frame desynchronises the reader for good: every later message is taken for a header and
 * the connection never answers again.
 */
export class FrameFilter extends Transform {
  private buffer: Buffer = Buffer.alloc(0);

  constructor(private readonly log: (message: string) => void) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    for (;;) {
      const end = this.buffer.indexOf(SEPARATOR);
      if (end < 0) {
        if (this.buffer.length > MAX_HEADER_BYTES) this.resync(`no header end within ${MAX_HEADER_BYTES} bytes`);
        else break;
        continue;
      }
      const length = contentLength(this.buffer.subarray(0, end).toString('latin1'));
      if (typeof length === 'string') {
        this.resync(length);
        continue;
      }
      const total = end + SEPARATOR.length + length;
      if (this.buffer.length < total) break;
      this.push(this.buffer.subarray(0, total));
      this.buffer = this.buffer.subarray(total);
    }
    done();
  }

  /** Drops the bytes up to the next frame start (or all of them). */
  private resync(why: string): void {
    const next = this.buffer.indexOf(CONTENT_LENGTH, 1);
    const dropped = next < 0 ? this.buffer.length : next;
    this.log(`MetaBioNER: dropped ${dropped} bytes of input that are not an LSP message (${why})`);
    this.buffer = next < 0 ? Buffer.alloc(0) : this.buffer.subarray(next);
  }
}

/** The Content-Length of a header block, or why the block is not a usable header. */
function contentLength(header: string): number | string {
  let length: number | undefined;
  for (const line of header.split('\r\n')) {
    const m = /^([A-Za-z][A-Za-z0-9-]*):\s*(.*)$/.exec(line);
    if (!m) return 'a malformed header line';
    if (m[1].toLowerCase() !== 'content-length') continue;
    if (!/^\d{1,12}$/.test(m[2].trim())) return `Content-Length "${m[2].trim().slice(0, 20)}" is not a number`;
    length = Number(m[2].trim());
  }
  if (length === undefined) return 'no Content-Length header';
  if (length > MAX_FRAME_BYTES) return `Content-Length ${length} is above the ${MAX_FRAME_BYTES} bytes a message may have`;
  return length;
}
