/**
 * Log-spaced latency bins: bin 0 holds ≤ 1 ms, bin i holds (GROWTH^(i−1), GROWTH^i] ms, the last one
 * everything above ~70 minutes. A quantile is read as the geometric middle of its bin, so it is within
 * ±5 % of the true value whatever the scale — enough for an SLA, at a fixed 640 bytes per bucket.
 */
const GROWTH = 1.1;
const LOG_GROWTH = Math.log(GROWTH);
export const SKETCH_BINS = 160;

export function binOf(ms: number): number {
  if (!(ms > 1)) {
    return 0;
  }
  return Math.min(SKETCH_BINS - 1, Math.ceil(Math.log(ms) / LOG_GROWTH - 1e-9));
}

/** The value a quantile falling into `bin` is reported as. */
export function binValue(bin: number): number {
  if (bin === 0) {
    return 1;
  }
  return GROWTH ** (bin - 0.5);
}

export function newSketch(): Uint32Array {
  return new Uint32Array(SKETCH_BINS);
}

/** Nearest-rank quantile (0 < q ≤ 1) of the values counted in `bins` (`count` of them); null when empty. */
export function quantile(bins: Uint32Array, count: number, q: number): number | null {
  if (count <= 0) {
    return null;
  }
  const rank = Math.max(1, Math.ceil(q * count));
  let seen = 0;
  for (let i = 0; i < bins.length; i++) {
    seen += bins[i];
    if (seen >= rank) {
      return binValue(i);
    }
  }
  return binValue(bins.length - 1);
}

export function addInto(target: Uint32Array, source: Uint32Array): void {
  for (let i = 0; i < target.length; i++) {
    target[i] += source[i];
  }
}
