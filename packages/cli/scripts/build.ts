/**
 * `pnpm build`: the daemon and CLI as one JavaScript file, `packages/cli/dist/conclave.mjs`,
 * for running replicas without a TypeScript loader:
 *
 *   node packages/cli/dist/conclave.mjs start --dir DIR --replica 0
 *
 * Why: `tsx` transforms the sources at start-up and runs its module hooks in a second V8
 * isolate in every process — about 50 MB of RSS per replica, and some CPU per message (source
 * maps). The workspace packages and pure-JavaScript dependencies are bundled; lmdb (native),
 * pino and prom-client stay packages resolved from @conclave/cli's own dependencies, which is
 * why the bundle must live inside packages/cli. The daemon's signature worker is copied beside it.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { build } from 'esbuild';

const PACKAGE = resolve(import.meta.dirname, '..');
/** The daemon's signature worker, loaded by path at run time. */
const VERIFY_WORKER = resolve(PACKAGE, '../node/src/verify-worker.mjs');
export const DIST = join(PACKAGE, 'dist');
export const BUNDLE_NAME = 'conclave.mjs';

/** Resolved at run time from packages/cli/node_modules (native code, or loaded by path). */
const EXTERNAL = ['lmdb', 'pino', 'prom-client', 'bufferutil', 'utf-8-validate', 'msgpackr-extract'];

/**
 * Bundles the CLI into `outDir` (which must be inside packages/cli, so its dependencies
 * resolve) and returns the bundle's path. Takes about a second.
 */
export async function buildDaemon(outDir: string = DIST): Promise<string> {
  const out = resolve(outDir);
  if (relative(PACKAGE, out).startsWith('..'))
    throw new RangeError(`buildDaemon: ${out} is not inside ${PACKAGE}; its dependencies would not resolve`);
  mkdirSync(out, { recursive: true });
  const bundle = join(out, BUNDLE_NAME);
  await build({
    entryPoints: [join(PACKAGE, 'src/cli.ts')],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: EXTERNAL,
    // Bundled CommonJS dependencies (ws, tweetnacl) call require.
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module';\nconst require = __createRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });
  copyFileSync(VERIFY_WORKER, join(out, 'verify-worker.mjs'));
  return bundle;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  buildDaemon().then(
    (bundle) => process.stdout.write(`built ${relative(process.cwd(), bundle)}\n`),
    (error: unknown) => {
      process.stderr.write(`build failed: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
