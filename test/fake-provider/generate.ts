/** Answers a generation request (OpenAI / Anthropic / Gemini): behaviour resolution, faults, rendering. */
import { ANTHROPIC_MALFORMED_FRAME, anthropicMessage, anthropicStreamFrames } from './anthropic-format';
import { buildPlan, mergeBehaviour, type AnswerPlan } from './behaviour';
import { errorBody, streamErrorFrame } from './errors';
import { GEMINI_MALFORMED_FRAME, geminiResponse, geminiStreamFrames } from './gemini-format';
import { OPENAI_MALFORMED_FRAME, openaiCompletion, openaiStreamFrames } from './openai-format';
import { applyStreamFault, playFrames, sendJson, type Exchange, type Frame } from './playback';
import {
  inspectRequest,
  mockToolCall,
  mockToolMarker,
  parseDirectives,
  type GenerationApi,
} from './request-inspect';
import type { FakeBehaviour, RecordedRequest } from './types';

export interface GenerationRequest {
  api: GenerationApi;
  ex: Exchange;
  rec: RecordedRequest;
  body: any;
  stream: boolean;
  /** Gemini only: alt=sse (else a JSON-array stream). */
  sse: boolean;
  model: string;
  /** defaults + configure(), already merged. */
  base: FakeBehaviour;
  /** Parsed x-fake-behaviour header. */
  header: Partial<FakeBehaviour> | null;
}

/** Behaviour for this request: base < tool-result / MOCK_TOOL_USE < header < prompt directive. Throws DirectiveError. */
export function resolveRequestBehaviour(
  g: Pick<GenerationRequest, 'api' | 'body' | 'base' | 'header'>,
): FakeBehaviour {
  const insp = inspectRequest(g.api, g.body);
  const directive = parseDirectives(insp.lastUserText);
  let auto: Partial<FakeBehaviour> | null = null;
  if (insp.toolResult !== null) {
    auto = { text: `Tool result received: ${insp.toolResult.slice(0, 60)}`, toolCall: null };
  } else {
    const marker = mockToolMarker(insp.lastUserText);
    if (marker !== undefined) {
      auto = { toolCall: mockToolCall(insp.tools, marker) };
    }
  }
  return mergeBehaviour(g.base, auto, g.header, directive);
}

function idHeaders(api: GenerationApi): Record<string, string> {
  const id = `req_fake${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
  switch (api) {
    case 'anthropic':
      return { 'request-id': id };
    case 'openai':
      return { 'x-request-id': id };
    case 'gemini':
      return {};
  }
}

function streamFrames(
  g: GenerationRequest,
  plan: AnswerPlan,
): { frames: Frame[]; malformed: string; contentType: string } {
  switch (g.api) {
    case 'anthropic':
      return {
        frames: anthropicStreamFrames(plan),
        malformed: ANTHROPIC_MALFORMED_FRAME,
        contentType: 'text/event-stream; charset=utf-8',
      };
    case 'openai':
      return {
        frames: openaiStreamFrames(plan, g.body?.stream_options?.include_usage === true),
        malformed: OPENAI_MALFORMED_FRAME,
        contentType: 'text/event-stream; charset=utf-8',
      };
    case 'gemini':
      return {
        frames: geminiStreamFrames(plan, g.sse),
        malformed: g.sse ? GEMINI_MALFORMED_FRAME : ',\r\n{"candidates":[{"content":{"parts":[{"text":"bro',
        contentType: g.sse ? 'text/event-stream' : 'application/json; charset=UTF-8',
      };
  }
}

function fullBody(api: GenerationApi, plan: AnswerPlan): unknown {
  switch (api) {
    case 'anthropic':
      return anthropicMessage(plan);
    case 'openai':
      return openaiCompletion(plan);
    case 'gemini':
      return geminiResponse(plan);
  }
}

export async function answerGeneration(g: GenerationRequest, behaviour: FakeBehaviour): Promise<void> {
  const { ex, rec } = g;
  const plan = buildPlan(behaviour, g.model);
  const fault = plan.fault;
  rec.fault = fault?.type;
  if (fault?.type === 'refuse' || fault?.type === 'reset') {
    ex.kill();
    return;
  }
  if (fault?.type === 'hang') {
    ex.hold();
    return;
  }
  if (!(await ex.sleep(plan.firstByteMs))) {
    return;
  }
  const headers = { ...idHeaders(g.api), ...(behaviour.responseHeaders ?? {}) };
  if (fault?.type === 'status') {
    if (fault.retryAfter !== undefined) {
      headers['retry-after'] = String(fault.retryAfter);
    }
    rec.status = fault.status;
    sendJson(ex.res, fault.status, fault.body ?? errorBody(g.api, fault.status), headers);
    return;
  }

  if (g.stream) {
    const { frames, malformed, contentType } = streamFrames(g, plan);
    const errorType = fault?.type === 'stream-error' ? fault.errorType : undefined;
    const message = fault?.type === 'stream-error' ? fault.message : undefined;
    const code = fault?.type === 'stream-error' ? fault.code : undefined;
    const faulted = applyStreamFault(frames, fault, {
      malformed,
      inBandError: streamErrorFrame(g.api, errorType, message, code),
    });
    rec.status = 200;
    ex.res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-cache', ...headers });
    await playFrames(ex, faulted.frames, plan.gapMs, faulted.then, plan.firstDeltaDelayMs);
    return;
  }

  // A non-streamed answer takes as long as the stream would have.
  if (!(await ex.sleep(plan.gapMs * (plan.chunkCount - 1)))) {
    return;
  }
  if (fault?.type === 'stream-error') {
    rec.status = 500;
    sendJson(ex.res, 500, errorBody(g.api, 500, fault.message), headers);
    return;
  }
  const text = JSON.stringify(fullBody(g.api, plan));
  const half = text.slice(0, Math.floor(text.length / 2));
  rec.status = 200;
  switch (fault?.type) {
    case 'malformed':
      sendJson(ex.res, 200, `${half}<<malformed>>`, headers);
      return;
    case 'cut':
    case 'stall-after-first-byte':
      ex.res.writeHead(200, { 'content-type': 'application/json', ...headers });
      ex.res.write(half);
      if (fault.type === 'cut') {
        ex.res.end();
      } else {
        ex.hold();
      }
      return;
    case 'missing-done':
    case undefined:
      sendJson(ex.res, 200, text, headers);
  }
}
