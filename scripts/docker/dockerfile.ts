/**
 * A Dockerfile reader for the subset docker/Dockerfile uses, shared by the dry run (scripts/docker-dryrun.ts) and
 * the deployment tests. Anything outside that subset is an error, never a silent skip: the dry run must not
 * pretend to have checked an instruction it cannot run.
 */
import {
  DockerfileError,
  keyValueOptions,
  logicalLines,
  parseCommand,
  parseDuration,
  splitWords,
  takeFlags,
  expandVariables,
  type CommandForm,
} from './dockerfile-syntax';

export { DockerfileError, expandVariables, type CommandForm } from './dockerfile-syntax';

export interface RunMount {
  type: 'cache' | 'secret';
  /** Absolute path inside the stage. */
  target: string;
  id?: string;
  required: boolean;
}

export interface HealthcheckSpec {
  intervalMs: number;
  timeoutMs: number;
  startPeriodMs: number;
  retries: number;
  command: CommandForm;
}

export type Instruction =
  | { kind: 'WORKDIR'; line: number; path: string }
  | { kind: 'ENV'; line: number; pairs: [string, string][] }
  | { kind: 'COPY'; line: number; sources: string[]; dest: string; from?: string; flags: string[] }
  | { kind: 'RUN'; line: number; command: CommandForm; mounts: RunMount[] }
  | { kind: 'USER'; line: number; user: string }
  | { kind: 'EXPOSE'; line: number; ports: string[] }
  | { kind: 'LABEL'; line: number; pairs: [string, string][] }
  | { kind: 'STOPSIGNAL'; line: number; signal: string }
  | { kind: 'HEALTHCHECK'; line: number; check: HealthcheckSpec | 'NONE' }
  | { kind: 'CMD' | 'ENTRYPOINT'; line: number; command: CommandForm };

export interface Stage {
  index: number;
  name?: string;
  /** The FROM image, or the name of an earlier stage. */
  base: string;
  line: number;
  instructions: Instruction[];
}

const SUPPORTED = new Set([
  'FROM',
  'WORKDIR',
  'ENV',
  'COPY',
  'RUN',
  'USER',
  'EXPOSE',
  'LABEL',
  'STOPSIGNAL',
  'HEALTHCHECK',
  'CMD',
  'ENTRYPOINT',
]);

function parseMount(spec: string, line: number): RunMount {
  const opts = keyValueOptions(spec);
  const type = opts.get('type') ?? 'bind';
  if (type === 'cache') {
    const target = opts.get('target') ?? opts.get('dst') ?? opts.get('destination');
    if (!target?.startsWith('/')) {
      throw new DockerfileError(`line ${line}: a cache mount needs an absolute target`);
    }
    return { type, target, id: opts.get('id'), required: false };
  }
  if (type === 'secret') {
    const id = opts.get('id');
    if (!id) {
      throw new DockerfileError(`line ${line}: a secret mount needs an id`);
    }
    const target = opts.get('target') ?? opts.get('dst') ?? `/run/secrets/${id}`;
    return { type, target, id, required: opts.get('required') === 'true' };
  }
  throw new DockerfileError(`line ${line}: RUN --mount=type=${type} is not supported`);
}

function parseKeyValues(args: string, line: number, legacyForm: boolean): [string, string][] {
  const words = splitWords(args);
  if (words.length === 0) {
    throw new DockerfileError(`line ${line}: no key=value pair`);
  }
  if (!words[0].includes('=')) {
    if (!legacyForm || words.length < 2) {
      throw new DockerfileError(`line ${line}: expected key=value pairs`);
    }
    // `ENV key value with spaces` (the legacy form).
    const [key, ...value] = args.trim().split(/\s+/);
    return [[key, value.join(' ')]];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0) {
      throw new DockerfileError(`line ${line}: "${w}" is not key=value`);
    }
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}

function parseHealthcheck(args: string, line: number): HealthcheckSpec | 'NONE' {
  const { flags, rest } = takeFlags(args);
  if (/^NONE$/i.test(rest.trim())) {
    return 'NONE';
  }
  const m = /^CMD\s+([\s\S]+)$/i.exec(rest.trim());
  if (!m) {
    throw new DockerfileError(`line ${line}: HEALTHCHECK needs CMD or NONE`);
  }
  // Docker's defaults.
  const spec: HealthcheckSpec = {
    intervalMs: 30_000,
    timeoutMs: 30_000,
    startPeriodMs: 0,
    retries: 3,
    command: parseCommand(m[1], line),
  };
  for (const flag of flags) {
    const [name, value = ''] = flag.slice(2).split('=');
    switch (name) {
      case 'interval':
        spec.intervalMs = parseDuration(value);
        break;
      case 'timeout':
        spec.timeoutMs = parseDuration(value);
        break;
      case 'start-period':
        spec.startPeriodMs = parseDuration(value);
        break;
      case 'retries':
        spec.retries = Number(value);
        break;
      default:
        throw new DockerfileError(`line ${line}: HEALTHCHECK --${name} is not supported`);
    }
  }
  return spec;
}

function parseInstruction(keyword: string, args: string, line: number): Instruction {
  switch (keyword) {
    case 'WORKDIR':
      return { kind: 'WORKDIR', line, path: args.trim() };
    case 'ENV':
      return { kind: 'ENV', line, pairs: parseKeyValues(args, line, true) };
    case 'LABEL':
      return { kind: 'LABEL', line, pairs: parseKeyValues(args, line, false) };
    case 'USER':
      return { kind: 'USER', line, user: args.trim() };
    case 'EXPOSE':
      return { kind: 'EXPOSE', line, ports: args.trim().split(/\s+/) };
    case 'STOPSIGNAL':
      return { kind: 'STOPSIGNAL', line, signal: args.trim() };
    case 'HEALTHCHECK':
      return { kind: 'HEALTHCHECK', line, check: parseHealthcheck(args, line) };
    case 'CMD':
    case 'ENTRYPOINT':
      return { kind: keyword, line, command: parseCommand(args, line) };
    case 'RUN': {
      const { flags, rest } = takeFlags(args);
      const mounts: RunMount[] = [];
      for (const flag of flags) {
        if (!flag.startsWith('--mount=')) {
          throw new DockerfileError(`line ${line}: RUN ${flag} is not supported`);
        }
        mounts.push(parseMount(flag.slice('--mount='.length), line));
      }
      if (/<<-?\s*['"]?[A-Za-z_]/.test(rest) && !rest.trim().startsWith('[')) {
        throw new DockerfileError(`line ${line}: heredocs are not supported`);
      }
      return { kind: 'RUN', line, command: parseCommand(rest, line), mounts };
    }
    case 'COPY': {
      const { flags, rest } = takeFlags(args);
      let from: string | undefined;
      const other: string[] = [];
      for (const flag of flags) {
        const [name, value] = flag.slice(2).split(/=(.*)/s);
        if (name === 'from') {
          from = value;
        } else if (name === 'chown' || name === 'chmod' || name === 'link') {
          other.push(flag);
        } else {
          throw new DockerfileError(`line ${line}: COPY --${name} is not supported`);
        }
      }
      const form = parseCommand(rest, line);
      const words = 'exec' in form ? form.exec : splitWords(form.shell);
      if (words.length < 2) {
        throw new DockerfileError(`line ${line}: COPY needs a source and a destination`);
      }
      if (/<</.test(rest)) {
        throw new DockerfileError(`line ${line}: heredocs are not supported`);
      }
      return {
        kind: 'COPY',
        line,
        sources: words.slice(0, -1),
        dest: words[words.length - 1],
        from,
        flags: other,
      };
    }
    default:
      throw new DockerfileError(`line ${line}: instruction ${keyword} is not supported`);
  }
}

/** Parses a Dockerfile into stages; throws DockerfileError on anything outside the supported subset. */
export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  for (const { line, text: logical } of logicalLines(text)) {
    const m = /^([A-Za-z]+)(?:\s+([\s\S]*))?$/.exec(logical);
    if (!m) {
      throw new DockerfileError(`line ${line}: cannot read "${logical}"`);
    }
    const keyword = m[1].toUpperCase();
    const args = m[2] ?? '';
    if (!SUPPORTED.has(keyword)) {
      throw new DockerfileError(`line ${line}: instruction ${keyword} is not supported by this dry run`);
    }
    if (keyword === 'FROM') {
      const { flags, rest } = takeFlags(args);
      if (flags.length > 0) {
        throw new DockerfileError(`line ${line}: FROM ${flags.join(' ')} is not supported`);
      }
      const fm = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest.trim());
      if (!fm) {
        throw new DockerfileError(`line ${line}: cannot read FROM ${rest}`);
      }
      stages.push({ index: stages.length, name: fm[2]?.toLowerCase(), base: fm[1], line, instructions: [] });
      continue;
    }
    const stage = stages[stages.length - 1];
    if (!stage) {
      throw new DockerfileError(`line ${line}: ${keyword} before the first FROM`);
    }
    stage.instructions.push(parseInstruction(keyword, args, line));
  }
  if (stages.length === 0) {
    throw new DockerfileError('no FROM instruction');
  }
  return stages;
}

/** The final ENV of a stage (its own and, through `FROM <stage>`, its parents'), base image variables left out. */
export function stageEnv(stages: Stage[], stage: Stage): Record<string, string> {
  const parent = stages.find((s) => s.index < stage.index && s.name === stage.base.toLowerCase());
  const env: Record<string, string> = parent ? stageEnv(stages, parent) : {};
  for (const ins of stage.instructions) {
    if (ins.kind === 'ENV') {
      for (const [k, v] of ins.pairs) {
        env[k] = expandVariables(v, env);
      }
    }
  }
  return env;
}

/** The last instruction of a kind in a stage, following `FROM <stage>` to its parents. */
export function lastOf<K extends Instruction['kind']>(
  stages: Stage[],
  stage: Stage,
  kind: K,
): Extract<Instruction, { kind: K }> | undefined {
  for (let i = stage.instructions.length - 1; i >= 0; i -= 1) {
    const ins = stage.instructions[i];
    if (ins.kind === kind) {
      return ins as Extract<Instruction, { kind: K }>;
    }
  }
  const parent = stages.find((s) => s.index < stage.index && s.name === stage.base.toLowerCase());
  return parent ? lastOf(stages, parent, kind) : undefined;
}
