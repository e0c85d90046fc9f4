/**
 * Several `quint typecheck|test|run` commands in one process, each file parsed and typechecked
 * once. A `quint` process spends ~8 s of CPU parsing and typechecking conclave.qnt before it
 * simulates anything, and `pnpm spec` plus the model-based tests ran 18 of them: most of their
 * time. Each command here is the same argument list the `quint` CLI takes (the options
 * spec/check.ts and spec/mbt/replay.test.ts use, with the CLI's defaults), runs through the same
 * stages of Quint's CLI (load, parse, typecheck, runTests or runSimulator, the same seed handling
 * and random generator), and reports the exit status and output the CLI would print.
 *
 *   node --import tsx spec/quint-batch.ts < commands.json   (a JSON array of argument lists)
 *
 * prints one JSON array of { status, output, seconds }, in order. `runQuintBatch` does that from code.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { format } from 'node:util';

const specDirectory = dirname(fileURLToPath(import.meta.url));
const root = dirname(specDirectory);

export interface QuintOutcome {
  readonly status: number;
  readonly output: string;
  /** Wall time of this command alone (the file's first command includes its parse and typecheck). */
  readonly seconds: number;
}

/** Runs each argument list (as `quint ARGS…` would) in one child process. */
export function runQuintBatch(commands: readonly (readonly string[])[]): QuintOutcome[] {
  const result = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    cwd: root,
    input: JSON.stringify(commands),
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (result.status !== 0)
    throw new Error(
      `quint batch failed (${result.status ?? result.signal}): ${result.stdout}${result.stderr}`,
    );
  return JSON.parse(result.stdout) as QuintOutcome[];
}

// -----------------------------------------------------------------------------------------------
// The child: Quint's own CLI stages, without its process.exit.

type Args = Record<string, unknown> & { input: string };
type Stage = Record<string, unknown> & { args: Args };
interface Either {
  isLeft(): boolean;
  value: unknown;
}

const MULTI = new Set(['invariants', 'witnesses', 'hide']);
const BOOLEAN = new Set(['mbt']);
const NUMBER = new Set(['maxSamples', 'maxSteps', 'nTraces', 'verbosity']);

/** The argument object yargs gives Quint's command handlers, for the options used here. */
function parseArgs(argv: readonly string[]): { command: string; args: Args } {
  const [command, input, ...rest] = argv;
  if (command === undefined || input === undefined) throw new Error(`bad quint command: ${argv.join(' ')}`);
  const args: Record<string, unknown> = { input, verbosity: 2 };
  if (command === 'run')
    Object.assign(args, {
      backend: 'rust',
      nTraces: 1,
      maxSteps: 20,
      nThreads: cpus().length,
      init: 'init',
      step: 'step',
      invariants: [],
      invariant: 'true',
      witnesses: [],
      hide: [],
      mbt: false,
    });
  if (command === 'test') args.backend = 'rust';
  for (let i = 0; i < rest.length; i++) {
    const flag = rest[i] as string;
    if (!flag.startsWith('--')) throw new Error(`unexpected argument ${flag} in ${argv.join(' ')}`);
    const key = flag.slice(2).replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
    if (BOOLEAN.has(key)) {
      args[key] = true;
    } else if (MULTI.has(key)) {
      const values: string[] = [];
      while (i + 1 < rest.length && !(rest[i + 1] as string).startsWith('--'))
        values.push(rest[++i] as string);
      args[key] = values;
    } else {
      const value = rest[++i];
      if (value === undefined) throw new Error(`${flag} needs a value`);
      args[key] = key === 'seed' ? BigInt(value) : NUMBER.has(key) ? Number(value) : value;
    }
  }
  // The CLI's effective default for --max-samples.
  if ((command === 'run' || command === 'test') && args.maxSamples === undefined)
    args.maxSamples = args.seed !== undefined ? 1 : 10000;
  return { command, args: args as Args };
}

async function child(): Promise<void> {
  const quint = createRequire(join(root, 'package.json'));
  const commands = quint('@informalsystems/quint/dist/src/cliCommands.js');
  const reporter = quint('@informalsystems/quint/dist/src/errorReporter.js');
  const commandList = JSON.parse(readFileSync(0, 'utf8')) as string[][];
  const typechecked = new Map<string, Either>();
  const outcomes: QuintOutcome[] = [];
  let output: string[] = [];
  const log = (...items: unknown[]) => {
    output.push(`${format(...items)}\n`);
  };
  console.log = log;
  console.error = log;
  console.warn = log;
  for (const argv of commandList) {
    output = [];
    const started = performance.now();
    const { command, args } = parseArgs(argv);
    const path = resolve(root, args.input);
    let checked = typechecked.get(path);
    if (checked === undefined) {
      const loaded: Either = await commands.load(args);
      const parsed: Either = loaded.isLeft() ? loaded : await commands.parse(loaded.value);
      checked = parsed.isLeft() ? parsed : ((await commands.typecheck(parsed.value)) as Either);
      typechecked.set(path, checked);
    }
    let result = checked;
    if (!checked.isLeft()) {
      const stage = { ...(checked.value as Stage), args };
      if (command === 'run') result = await commands.runSimulator(stage);
      else if (command === 'test') result = await commands.runTests(stage);
      else if (command !== 'typecheck') throw new Error(`unsupported quint command ${command}`);
    }
    // What the CLI's outputResult prints, and its exit status.
    let status = 0;
    if (result.isLeft()) {
      status = 1;
      const { msg, stage } = result.value as { msg: string; stage: Stage & { errors: unknown[] } };
      const sourceCode = stage.sourceCode as Map<string, string>;
      const finders = reporter.createFinders(sourceCode);
      const seen = new Set<string>();
      for (const error of stage.errors ?? []) {
        const key = JSON.stringify(error);
        if (seen.has(key)) continue;
        seen.add(key);
        log(reporter.formatError(sourceCode, finders, error));
      }
      if (!stage.args.outItf && typeof stage.seed === 'bigint' && Number(stage.args.verbosity) >= 1)
        log(`Use --seed=0x${stage.seed.toString(16)} --backend=${String(stage.args.backend)} to reproduce.`);
      log(`error: ${msg}`);
    } else {
      const stage = result.value as Stage;
      if (!stage.args.outItf && typeof stage.seed === 'bigint' && Number(stage.args.verbosity) >= 1)
        log(`Use --seed=0x${stage.seed.toString(16)} --backend=${String(stage.args.backend)} to reproduce.`);
    }
    outcomes.push({ status, output: output.join(''), seconds: (performance.now() - started) / 1000 });
  }
  process.stdout.write(JSON.stringify(outcomes));
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  child().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 1;
  });
}
