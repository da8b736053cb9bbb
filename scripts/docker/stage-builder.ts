/** Builds the stages of a parsed Dockerfile in scratch root directories, instruction by instruction. */
import { spawn } from 'node:child_process';
import {
  closeSync,
  copyFileSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, posix, relative } from 'node:path';
import { expandVariables, type Instruction, type RunMount, type Stage } from './dockerfile';
import type { DockerIgnore } from './dockerignore';
import {
  DryRunError,
  argvOf,
  baseEnv,
  homeOf,
  inStage,
  report,
  tail,
  timed,
  type Options,
  type StageState,
} from './dryrun-context';

function startStage(stage: Stage, states: StageState[], work: string, stages: Stage[]): StageState {
  const root = join(work, `stage-${stage.index}${stage.name ? `-${stage.name}` : ''}`);
  const parent = states.find((s) => s.stage.name === stage.base.toLowerCase());
  if (parent) {
    // FROM <stage>: the parent's filesystem and settings. Moved instead of copied when nothing later reads
    // the parent again (the same result, without copying a dev node_modules).
    const readLater = stages.some(
      (s) =>
        s.index > stage.index &&
        (s.base.toLowerCase() === parent.stage.name ||
          s.instructions.some((i) => i.kind === 'COPY' && i.from?.toLowerCase() === parent.stage.name)),
    );
    if (readLater) {
      cpSync(parent.root, root, { recursive: true, verbatimSymlinks: true });
    } else {
      renameSync(parent.root, root);
      parent.root = root;
    }
    return { ...parent, stage, root, env: { ...parent.env }, exposed: [...parent.exposed] };
  }
  const image = /^node:(\d+)(?:[.-][\w.-]*)?$/.exec(stage.base);
  if (!image) {
    throw new DryRunError(
      `FROM ${stage.base} (line ${stage.line}): only node:<major>… images and earlier stages are supported`,
    );
  }
  const hostMajor = process.versions.node.split('.')[0];
  if (image[1] !== hostMajor) {
    throw new DryRunError(
      `FROM ${stage.base}: this machine runs Node ${process.versions.node}, not Node ${image[1]}`,
    );
  }
  mkdirSync(root, { recursive: true });
  return {
    stage,
    root,
    env: { NODE_VERSION: process.versions.node },
    workdir: '/',
    user: 'root',
    stopSignal: 'SIGTERM',
    exposed: [],
  };
}

function copyInstruction(
  ins: Extract<Instruction, { kind: 'COPY' }>,
  state: StageState,
  states: StageState[],
  opts: Options,
  ignore: DockerIgnore,
): void {
  const sources = ins.sources.map((s) => expandVariables(s, state.env));
  const dest = expandVariables(ins.dest, state.env);
  let fromRoot: string | undefined;
  if (ins.from !== undefined) {
    const from = states.find(
      (s) => s.stage.name === ins.from?.toLowerCase() || String(s.stage.index) === ins.from,
    );
    if (!from) {
      throw new DryRunError(`line ${ins.line}: COPY --from=${ins.from} is not an earlier stage of this file`);
    }
    fromRoot = from.root;
  }
  if (ins.flags.length > 0) {
    report.notes.push(
      `line ${ins.line}: COPY ${ins.flags.join(' ')} not emulated (files keep the invoking user's ownership)`,
    );
  }
  const toDir = dest.endsWith('/') || sources.length > 1;
  const destPath = inStage(state, dest);
  for (const source of sources) {
    if (/[*?[]/.test(source)) {
      throw new DryRunError(`line ${ins.line}: COPY wildcards are not supported (${source})`);
    }
    let src: string;
    let filter: ((s: string) => boolean) | undefined;
    if (fromRoot) {
      src = join(fromRoot, posix.resolve('/', source));
    } else {
      const rel = posix.normalize(source).replace(/^\/+/, '');
      if (rel.startsWith('..')) {
        throw new DryRunError(`line ${ins.line}: ${source} is outside the build context`);
      }
      if (ignore.ignores(rel)) {
        throw new DryRunError(
          `line ${ins.line}: ${source} is excluded by .dockerignore (Docker would fail: not found)`,
        );
      }
      src = join(opts.context, rel);
      filter = (p: string): boolean => {
        const r = relative(opts.context, p).split('\\').join('/');
        return r === '' || !ignore.ignores(r);
      };
    }
    if (!existsSync(src)) {
      throw new DryRunError(`line ${ins.line}: COPY source ${source} not found`);
    }
    if (lstatSync(src).isDirectory()) {
      // A directory's contents go into the destination directory.
      mkdirSync(destPath, { recursive: true });
      cpSync(src, destPath, { recursive: true, verbatimSymlinks: true, filter });
    } else {
      const target = toDir ? join(destPath, basename(src)) : destPath;
      mkdirSync(dirname(target), { recursive: true });
      copyFileSync(src, target);
    }
  }
}

function mountFor(
  mount: RunMount,
  state: StageState,
  opts: Options,
  cacheRoot: string,
): (() => void) | undefined {
  const at = join(state.root, mount.target);
  if (existsSync(at)) {
    throw new DryRunError(`mount target ${mount.target} already exists in the stage`);
  }
  mkdirSync(dirname(at), { recursive: true });
  if (mount.type === 'cache') {
    // The machine plays the builder: its own cache at the same path when there is one (npm's ~/.npm for root),
    // else a cache directory kept between dry runs.
    const hostDir =
      existsSync(mount.target) && statSync(mount.target).isDirectory()
        ? mount.target
        : join(cacheRoot, (mount.id ?? mount.target).replace(/[^\w.-]+/g, '_'));
    mkdirSync(hostDir, { recursive: true });
    symlinkSync(hostDir, at);
    return () => rmSync(at);
  }
  const src = opts.secrets.get(mount.id ?? '');
  if (!src || !existsSync(src)) {
    if (mount.required) {
      throw new DryRunError(`secret ${mount.id} is required: pass --secret id=${mount.id},src=<file>`);
    }
    report.notes.push(`secret ${mount.id} not provided: ${mount.target} not mounted (as with docker build)`);
    return undefined;
  }
  copyFileSync(src, at);
  return () => rmSync(at, { force: true });
}

async function runProcess(
  argv: string[],
  cwd: string,
  env: Record<string, string>,
  logFile: string,
): Promise<number> {
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(argv[0], argv.slice(1), { cwd, env, stdio: ['ignore', fd, fd] });
    return await new Promise<number>((res, rej) => {
      child.once('error', rej);
      child.once('exit', (code, signal) => res(code ?? (signal ? 128 : 1)));
    });
  } finally {
    closeSync(fd);
  }
}

async function runInstruction(
  ins: Extract<Instruction, { kind: 'RUN' }>,
  state: StageState,
  opts: Options,
  work: string,
): Promise<void> {
  if (state.user !== 'root' && state.user !== '0') {
    report.notes.push(`line ${ins.line}: RUN as ${state.user} ran as the invoking user`);
  }
  const cwd = inStage(state, '.');
  mkdirSync(cwd, { recursive: true });
  const cleanups: (() => void)[] = [];
  const logFile = join(work, `run-line-${ins.line}.log`);
  try {
    for (const mount of ins.mounts) {
      const undo = mountFor(mount, state, opts, join(tmpdir(), 'switchyard-dryrun-cache'));
      if (undo) {
        cleanups.push(undo);
      }
    }
    const code = await runProcess(argvOf(ins.command), cwd, baseEnv(state), logFile);
    if (code !== 0) {
      throw new DryRunError(
        `line ${ins.line}: RUN exited with ${code}\n--- last output ---\n${tail(logFile)}`,
      );
    }
  } finally {
    for (const undo of cleanups.reverse()) {
      undo();
    }
  }
}

export async function buildStage(
  stage: Stage,
  states: StageState[],
  stages: Stage[],
  opts: Options,
  work: string,
  ignore: DockerIgnore,
): Promise<StageState> {
  const state = startStage(stage, states, work, stages);
  for (const ins of stage.instructions) {
    const label = `stage ${stage.name ?? stage.index}, line ${ins.line}: ${ins.kind}`;
    switch (ins.kind) {
      case 'WORKDIR':
        state.workdir = posix.resolve(state.workdir, expandVariables(ins.path, state.env));
        mkdirSync(join(state.root, state.workdir), { recursive: true });
        break;
      case 'ENV':
        for (const [k, v] of ins.pairs) {
          if (k === 'PATH' || k === 'HOME') {
            throw new DryRunError(
              `line ${ins.line}: ENV ${k} is not supported (the dry run maps it to the stage root)`,
            );
          }
          state.env[k] = expandVariables(v, state.env);
        }
        break;
      case 'COPY':
        await timed(
          `${label} ${ins.from ? `--from=${ins.from} ` : ''}${ins.sources.join(' ')} → ${ins.dest}`,
          () => copyInstruction(ins, state, states, opts, ignore),
        );
        break;
      case 'RUN':
        await timed(
          `${label} ${'exec' in ins.command ? ins.command.exec.join(' ') : ins.command.shell}`,
          () => runInstruction(ins, state, opts, work),
        );
        break;
      case 'USER':
        homeOf(expandVariables(ins.user, state.env));
        state.user = expandVariables(ins.user, state.env);
        break;
      case 'EXPOSE':
        state.exposed.push(...ins.ports);
        break;
      case 'STOPSIGNAL':
        state.stopSignal = ins.signal as NodeJS.Signals;
        break;
      case 'HEALTHCHECK':
        state.healthcheck = ins.check;
        break;
      case 'CMD':
        state.cmd = ins.command;
        break;
      case 'ENTRYPOINT':
        state.entrypoint = ins.command;
        break;
      case 'LABEL':
        break;
      default: {
        const never: never = ins;
        throw new DryRunError(`unsupported instruction ${JSON.stringify(never)}`);
      }
    }
  }
  return state;
}
