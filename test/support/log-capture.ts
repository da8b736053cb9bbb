import { Writable } from 'node:stream';

/** Collects pino's JSON lines so tests can assert on what was logged. */
export class LogCapture extends Writable {
  readonly lines: string[] = [];

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim()) {
        this.lines.push(line);
      }
    }
    cb();
  }

  get records(): Array<Record<string, unknown>> {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  get text(): string {
    return this.lines.join('\n');
  }
}
