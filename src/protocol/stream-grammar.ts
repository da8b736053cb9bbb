import type { BlockDelta, StreamEvent } from './types';

/** Which block type each delta may target; anything else makes Claude Code report a mismatch (§6.12). */
const DELTA_TARGET: Record<BlockDelta['type'], string[]> = {
  text_delta: ['text'],
  citations_delta: ['text'],
  thinking_delta: ['thinking'],
  signature_delta: ['thinking'],
  input_json_delta: ['tool_use', 'server_tool_use', 'mcp_tool_use'],
};

/**
 * Checks a canonical event sequence against the Anthropic stream grammar (PROTOCOL §3.2) and returns the
 * violations, empty when valid. Used by tests and useful as a debug guard on synthesized streams.
 * `complete: true` also requires the terminal message_stop or error.
 */
export function streamGrammarViolations(
  events: readonly StreamEvent[],
  opts: { complete?: boolean } = {},
): string[] {
  const problems: string[] = [];
  let started = false;
  let ended = false;
  let nextIndex = 0;
  let open: { index: number; type: string } | undefined;
  let sawMessageDelta = false;
  events.forEach((ev, i) => {
    const at = `#${i} ${ev.type}`;
    if (ended) {
      problems.push(`${at}: event after the stream ended`);
      return;
    }
    if (!started && ev.type !== 'message_start' && ev.type !== 'error') {
      problems.push(`${at}: before message_start`);
    }
    switch (ev.type) {
      case 'message_start':
        if (started) {
          problems.push(`${at}: second message_start`);
        }
        started = true;
        if (!Array.isArray(ev.message.content) || ev.message.stop_reason !== null) {
          problems.push(`${at}: message skeleton needs content [] and stop_reason null`);
        }
        break;
      case 'content_block_start':
        if (open !== undefined) {
          problems.push(`${at}: block ${open.index} still open`);
        }
        if (sawMessageDelta) {
          problems.push(`${at}: block after message_delta`);
        }
        if (ev.index !== nextIndex) {
          problems.push(`${at}: index ${ev.index}, expected ${nextIndex}`);
        }
        nextIndex = ev.index + 1;
        open = { index: ev.index, type: ev.content_block.type };
        break;
      case 'content_block_delta':
        if (open === undefined || open.index !== ev.index) {
          problems.push(`${at}: delta for index ${ev.index} which is not the open block`);
        } else if (!DELTA_TARGET[ev.delta.type].includes(open.type)) {
          problems.push(`${at}: ${ev.delta.type} on a ${open.type} block`);
        }
        break;
      case 'content_block_stop':
        if (open === undefined || open.index !== ev.index) {
          problems.push(`${at}: stop for index ${ev.index} which is not the open block`);
        }
        open = undefined;
        break;
      case 'message_delta':
        if (open !== undefined) {
          problems.push(`${at}: block ${open.index} still open`);
        }
        if (!Number.isInteger(ev.usage?.output_tokens)) {
          problems.push(`${at}: usage.output_tokens must be an integer`);
        }
        sawMessageDelta = true;
        break;
      case 'message_stop':
        if (!sawMessageDelta) {
          problems.push(`${at}: without message_delta`);
        }
        ended = true;
        break;
      case 'error':
        ended = true;
        break;
      case 'ping':
        break;
    }
  });
  if (opts.complete === true && !ended) {
    problems.push('stream has no terminal message_stop or error');
  }
  return problems;
}
