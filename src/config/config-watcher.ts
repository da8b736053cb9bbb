import { existsSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

export interface ConfigWatcherOptions {
  /** Files whose changes count; their folders are watched (editors save by writing a new file and renaming it). */
  files: string[];
  /** Events closer together than this are reported once. */
  debounceMs: number;
  /**
   * Files that must exist before a change is reported: mid-save one may be gone for a moment. After
   * `missingGraceMs` without it the change is reported anyway (and the reload says what is missing).
   */
  required?: string[];
  missingGraceMs?: number;
  onChange: () => void;
  onError: (err: Error) => void;
}

const MISSING_RETRY_MS = 50;
/** Kubernetes ConfigMap volumes swap a `..data` symlink instead of touching the file itself. */
const CONFIGMAP_SWAP = '..data';

/** Watches config files through their folders, debounced; every timer is unref'd and cleared by close(). */
export class ConfigWatcher {
  private readonly watchers: FSWatcher[] = [];
  private timer?: NodeJS.Timeout;
  private missingSince?: number;
  private closed = false;

  constructor(private readonly o: ConfigWatcherOptions) {}

  start(): void {
    const byDir = new Map<string, Set<string>>();
    for (const file of this.o.files) {
      const dir = dirname(file);
      byDir.set(dir, (byDir.get(dir) ?? new Set()).add(basename(file)));
    }
    for (const [dir, names] of byDir) {
      try {
        const w = watch(dir, { persistent: false }, (_event, filename) => {
          const name = filename?.toString();
          if (name === undefined || names.has(name) || name === CONFIGMAP_SWAP) {
            this.schedule(this.o.debounceMs);
          }
        });
        w.on('error', (err) => this.o.onError(err));
        this.watchers.push(w);
      } catch (err) {
        this.o.onError(err as Error);
      }
    }
  }

  /** Folders being watched (for the logs). */
  get watching(): number {
    return this.watchers.length;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    for (const w of this.watchers.splice(0)) {
      w.close();
    }
  }

  private schedule(ms: number): void {
    if (this.closed) {
      return;
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.fire(), ms);
    this.timer.unref();
  }

  private fire(): void {
    const missing = (this.o.required ?? []).some((f) => !existsSync(f));
    if (missing) {
      const now = Date.now();
      this.missingSince ??= now;
      if (now - this.missingSince < (this.o.missingGraceMs ?? 2000)) {
        this.schedule(MISSING_RETRY_MS);
        return;
      }
    }
    this.missingSince = undefined;
    try {
      this.o.onChange();
    } catch (err) {
      this.o.onError(err as Error);
    }
  }
}
