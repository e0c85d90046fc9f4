/**
 * Summarises a V8 CPU profile (`node --cpu-prof`): self time per function and totals per
 * category (signatures, hashing, encoding, network, disk, protocol, GC, idle), so "where the
 * time goes" is one table. Replicas can be profiled under load with
 *
 *   CONCLAVE_REPLICA_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" pnpm bench …
 *   pnpm profile:summary /tmp/prof/CPU.*.cpuprofile
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Categories by the first matching frame, searched from the sampled frame up to the root. */
const CATEGORIES: readonly [string, (fn: string, url: string) => boolean][] = [
  ['idle', (fn) => fn === '(idle)'],
  ['gc', (fn) => fn === '(garbage collector)'],
  ['ed25519 verify', (fn) => fn === 'verifyOneShot'],
  ['ed25519 sign', (fn) => fn === 'signOneShot'],
  ['hmac (channel)', (fn) => fn === 'Hmac' || fn === 'createHmac'],
  ['hash', (fn, url) => (fn === 'digest' || fn === 'update' || fn === 'Hash') && url.includes('crypto')],
  ['socket writes', (fn) => fn === 'writev' || fn === 'writeBuffer' || fn === 'writeUtf8String'],
  [
    'module loading (startup)',
    (_fn, url) => url.includes('esm/') || url.includes('cjs/') || url.includes('bootstrap/'),
  ],
  ['msgpack', (_fn, url) => url.includes('msgpackr') || url.endsWith('codec.ts')],
  ['lmdb', (_fn, url) => url.includes('lmdb')],
  ['metrics', (_fn, url) => url.includes('prom-client')],
  ['logging', (_fn, url) => url.includes('pino')],
  ['websocket', (_fn, url) => url.includes('/ws/') || url.includes('transport/src')],
  ['protocol', (_fn, url) => url.includes('core/src')],
  ['state machine', (_fn, url) => url.includes('coordination/src')],
  ['daemon', (_fn, url) => url.includes('node/src')],
  ['node internals', (_fn, url) => url.startsWith('node:')],
];

function summarise(path: string): void {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const self = new Map<number, number>();
  let total = 0;
  profile.samples.forEach((id, index) => {
    const dt = profile.timeDeltas[index] ?? 0;
    self.set(id, (self.get(id) ?? 0) + dt);
    total += dt;
  });
  const categoryOf = (id: number): string => {
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = (byId.get(at) as ProfileNode).callFrame;
      for (const [name, match] of CATEGORIES) if (match(frame.functionName, frame.url)) return name;
    }
    return 'other';
  };
  const categories = new Map<string, number>();
  const functions = new Map<string, number>();
  for (const [id, us] of self) {
    const category = categoryOf(id);
    categories.set(category, (categories.get(category) ?? 0) + us);
    const frame = (byId.get(id) as ProfileNode).callFrame;
    const name = `${frame.functionName || '(anonymous)'} ${frame.url.split('/').slice(-2).join('/')}:${frame.lineNumber + 1}`;
    functions.set(name, (functions.get(name) ?? 0) + us);
  }
  const busy = total - (categories.get('idle') ?? 0);
  const pct = (us: number, of: number) => `${((100 * us) / of).toFixed(1).padStart(5)}%`;
  console.log(`${path}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy`);
  console.log('  by category (share of busy time):');
  for (const [name, us] of [...categories].sort((a, b) => b[1] - a[1])) {
    if (name === 'idle') continue;
    console.log(`    ${pct(us, busy)}  ${name}`);
  }
  console.log('  top functions by self time (share of busy time):');
  for (const [name, us] of [...functions].sort((a, b) => b[1] - a[1]).slice(0, 30)) {
    if (name.startsWith('(idle)')) continue;
    console.log(`    ${pct(us, busy)}  ${name}`);
  }
}

const paths = process.argv.slice(2);
if (paths.length === 0) {
  console.error('usage: pnpm profile:summary FILE.cpuprofile…');
  process.exitCode = 1;
}
for (const path of paths) summarise(path);
