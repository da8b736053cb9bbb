import { chunkShell, isObject, num } from './json-utils';
import { repairToolArguments } from './tool-args-repair';
import type { JsonObject, ResponseTransform, TransformerFactory } from './transformer.types';

interface ChunkParts {
  choice?: JsonObject;
  delta?: JsonObject;
}

function firstChoice(chunk: JsonObject): ChunkParts {
  const choice = Array.isArray(chunk.choices) && isObject(chunk.choices[0]) ? chunk.choices[0] : undefined;
  return { choice, delta: choice && isObject(choice.delta) ? choice.delta : undefined };
}

/** A chunk still worth forwarding after tool_calls were taken out of it. */
function hasPayload(chunk: JsonObject, { choice, delta }: ChunkParts): boolean {
  if (chunk.usage || (choice && choice.finish_reason !== null && choice.finish_reason !== undefined)) {
    return true;
  }
  return (
    !!delta &&
    Object.entries(delta).some(([k, v]) => k !== 'role' && v !== null && v !== undefined && v !== '')
  );
}

interface PendingCall {
  index: number;
  id?: string;
  name: string;
  args: string;
}

/**
 * `enhancetool`: buffers each tool call until it is complete, repairs its JSON arguments and releases it
 * as one whole call (before the finish chunk, or at end of stream). Costs tool-argument streaming, gains
 * tool calls Claude Code can always parse.
 */
export const enhancetool: TransformerFactory = () => ({
  name: 'enhancetool',
  response: (ctx) => (ctx.kind === 'openai' ? new EnhanceToolStream() : undefined),
});

class EnhanceToolStream implements ResponseTransform {
  private calls: PendingCall[] = [];
  private readonly byIndex = new Map<number, PendingCall>();
  private last?: JsonObject;

  chunk(chunk: JsonObject): JsonObject[] {
    this.last = chunk;
    const parts = firstChoice(chunk);
    const tools = parts.delta?.tool_calls;
    if (!parts.delta || !Array.isArray(tools) || tools.length === 0) {
      return parts.choice?.finish_reason ? [...this.release(), chunk] : [chunk];
    }
    tools.forEach((tc: unknown, j) => {
      if (!isObject(tc)) {
        return;
      }
      const index = num(tc.index) ?? j;
      const fn = isObject(tc.function) ? tc.function : {};
      const id = typeof tc.id === 'string' || typeof tc.id === 'number' ? String(tc.id) : undefined;
      let call = this.byIndex.get(index);
      // Some providers send every call as index 0: a new id at a known index is a new call.
      if (!call || (id !== undefined && call.id !== undefined && id !== call.id)) {
        call = { index, id, name: '', args: '' };
        this.calls.push(call);
        this.byIndex.set(index, call);
      }
      call.id ??= id;
      if (typeof fn.name === 'string' && fn.name && !call.name) {
        call.name = fn.name;
      }
      if (typeof fn.arguments === 'string') {
        call.args += fn.arguments;
      }
    });
    delete parts.delta.tool_calls;
    const out = parts.choice?.finish_reason ? this.release() : [];
    if (hasPayload(chunk, parts)) {
      out.push(chunk);
    }
    return out;
  }

  flush(): JsonObject[] {
    return this.release();
  }

  body(body: JsonObject): JsonObject {
    const message = firstChoice(body).choice?.message;
    if (isObject(message) && Array.isArray(message.tool_calls)) {
      for (const tc of message.tool_calls) {
        if (isObject(tc) && isObject(tc.function)) {
          tc.function.arguments = repairToolArguments(tc.function.arguments as string | undefined);
        }
      }
    }
    return body;
  }

  private release(): JsonObject[] {
    const out = this.calls.map((c) => ({
      ...chunkShell(this.last),
      choices: [
        {
          index: 0,
          delta: {
            tool_calls: [
              {
                index: c.index,
                id: c.id,
                type: 'function',
                function: { name: c.name, arguments: repairToolArguments(c.args) },
              },
            ],
          },
          finish_reason: null,
        },
      ],
    }));
    this.calls = [];
    this.byIndex.clear();
    return out;
  }
}

const EXIT_TOOL = 'ExitTool';
const TOOL_MODE_REMINDER =
  '<system-reminder>Tool mode is active. The user expects you to proactively execute the most suitable tool to help complete the task. \n' +
  'Before invoking a tool, you must carefully evaluate whether it matches the current task. If no available tool is appropriate for the task, you MUST call the `ExitTool` to exit tool mode — this is the only valid way to terminate tool mode.\n' +
  "Always prioritize completing the user's task effectively and efficiently by using tools whenever appropriate.</system-reminder>";
const EXIT_TOOL_DEF = {
  type: 'function',
  function: {
    name: EXIT_TOOL,
    description:
      'Use this tool when you are in tool mode and have completed the task. This is the only valid way to exit tool mode.\n' +
      'IMPORTANT: Before using this tool, ensure that none of the available tools are applicable to the current task. ' +
      'Only if no suitable tool can help you complete the task should you use ExitTool to terminate tool mode.',
    parameters: {
      type: 'object',
      properties: {
        response: {
          type: 'string',
          description: 'Your response will be forwarded to the user exactly as returned.',
        },
      },
      required: ['response'],
    },
  },
};

function exitResponse(args: string): string {
  const parsed: unknown = JSON.parse(repairToolArguments(args));
  return isObject(parsed) && typeof parsed.response === 'string' ? parsed.response : '';
}

/**
 * `tooluse` (CCR): forces tool mode for models that answer in prose when they should call a tool —
 * `tool_choice: "required"` plus an `ExitTool` escape hatch and a reminder message; an `ExitTool` call
 * in the answer is turned back into plain text. Applied only when the request has tools.
 */
export const tooluse: TransformerFactory = () => ({
  name: 'tooluse',
  request: (body, ctx) => {
    if (ctx.kind !== 'openai' || !Array.isArray(body.tools) || body.tools.length === 0) {
      return body;
    }
    if (Array.isArray(body.messages)) {
      body.messages.push({ role: 'system', content: TOOL_MODE_REMINDER });
    }
    body.tool_choice = 'required';
    body.tools.push(structuredClone(EXIT_TOOL_DEF));
    return body;
  },
  response: (ctx) => (ctx.kind === 'openai' && ctx.request.tools?.length ? new ExitToolStream() : undefined),
});

class ExitToolStream implements ResponseTransform {
  private readonly exitIndexes = new Set<number>();
  private exitArgs = '';
  private sawOtherTool = false;
  private released = false;
  private last?: JsonObject;

  chunk(chunk: JsonObject): JsonObject[] {
    this.last = chunk;
    const parts = firstChoice(chunk);
    const tools = parts.delta?.tool_calls;
    if (parts.delta && Array.isArray(tools)) {
      const kept = tools.filter((tc: unknown, j) => {
        const index = isObject(tc) ? (num(tc.index) ?? j) : j;
        const fn = isObject(tc) && isObject(tc.function) ? tc.function : {};
        if (fn.name === EXIT_TOOL) {
          this.exitIndexes.add(index);
        }
        if (!this.exitIndexes.has(index)) {
          this.sawOtherTool = true;
          return true;
        }
        this.exitArgs += typeof fn.arguments === 'string' ? fn.arguments : '';
        return false;
      });
      if (kept.length > 0) {
        parts.delta.tool_calls = kept;
      } else {
        delete parts.delta.tool_calls;
      }
    }
    const out: JsonObject[] = [];
    if (parts.choice?.finish_reason && this.exitIndexes.size > 0) {
      out.push(...this.release());
      if (!this.sawOtherTool && parts.choice.finish_reason === 'tool_calls') {
        parts.choice.finish_reason = 'stop';
      }
    }
    if (hasPayload(chunk, parts)) {
      out.push(chunk);
    }
    return out;
  }

  flush(): JsonObject[] {
    return this.exitIndexes.size > 0 ? this.release() : [];
  }

  body(body: JsonObject): JsonObject {
    const choice = firstChoice(body).choice;
    const message = choice?.message;
    if (!choice || !isObject(message) || !Array.isArray(message.tool_calls)) {
      return body;
    }
    const isExit = (tc: unknown): boolean =>
      isObject(tc) && isObject(tc.function) && tc.function.name === EXIT_TOOL;
    const exit = message.tool_calls.find(isExit);
    if (!isObject(exit) || !isObject(exit.function)) {
      return body;
    }
    message.content = exitResponse(
      typeof exit.function.arguments === 'string' ? exit.function.arguments : '',
    );
    message.tool_calls = message.tool_calls.filter((tc) => !isExit(tc));
    if ((message.tool_calls as unknown[]).length === 0) {
      delete message.tool_calls;
      if (choice.finish_reason === 'tool_calls') {
        choice.finish_reason = 'stop';
      }
    }
    return body;
  }

  private release(): JsonObject[] {
    if (this.released) {
      return [];
    }
    this.released = true;
    const text = exitResponse(this.exitArgs);
    if (!text) {
      return [];
    }
    return [
      { ...chunkShell(this.last), choices: [{ index: 0, delta: { content: text }, finish_reason: null }] },
    ];
  }
}

export const RESPONSE_TRANSFORMERS: Record<string, TransformerFactory> = { enhancetool, tooluse };
