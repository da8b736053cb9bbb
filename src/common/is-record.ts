/** A plain JSON object (not null, not an array): what a parsed body's field must be before it is read. */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
