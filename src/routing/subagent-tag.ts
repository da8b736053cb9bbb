import type { CanonicalRequest, TextBlock } from '../protocol/types';

const TAG = /<CCR-SUBAGENT-MODEL>\s*([^<]+?)\s*<\/CCR-SUBAGENT-MODEL>/;
const TAG_GLOBAL = new RegExp(TAG.source, 'g');

/**
 * Finds CCR's subagent tag in any system block or system message and returns the target with a copy of
 * the request from which every tag is removed (the upstream must not see it). Untouched when absent.
 */
export function extractSubagentTag(req: CanonicalRequest): { target?: string; request: CanonicalRequest } {
  let target: string | undefined;
  const strip = (text: string): string => {
    if (!text.includes('<CCR-SUBAGENT-MODEL>')) {
      return text;
    }
    target ??= TAG.exec(text)?.[1];
    return text.replace(TAG_GLOBAL, '').trim();
  };
  const stripBlocks = <T>(blocks: T[]): T[] =>
    blocks.map((b) => {
      const block = b as unknown as TextBlock;
      return block && block.type === 'text' && typeof block.text === 'string' && block.text.includes('<CCR-SUBAGENT-MODEL>')
        ? ({ ...block, text: strip(block.text) } as unknown as T)
        : b;
    });

  let system = req.system;
  if (typeof system === 'string') {
    system = strip(system);
  } else if (Array.isArray(system)) {
    system = stripBlocks(system);
  }
  const messages = req.messages.map((m) => {
    if (m.role !== 'system') {
      return m;
    }
    return typeof m.content === 'string' ? { ...m, content: strip(m.content) } : { ...m, content: stripBlocks(m.content) };
  });
  if (target === undefined) {
    return { request: req };
  }
  return { target, request: { ...req, system, messages } };
}
