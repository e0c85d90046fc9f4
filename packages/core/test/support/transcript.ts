/**
 * Transcript tests: a text file of directives, each followed by what the cluster printed when it
 * ran. The format and the directives are described in packages/core/README.md ("Testing").
 *
 *     submit 0 k v to=0
 *     ----
 *     agent-0 -> r0 request agent-0#1 put k=v
 *
 * A block is a directive line, a `----` line, and the output up to the next blank line. Lines
 * starting with `#` and blank lines between blocks are kept as they are.
 */
import {
  type Batch,
  bytesEqual,
  decodeCanonical,
  decodeKvResult,
  encodeFrame,
  type Frame,
  type KvStateMachine,
  MessageType,
  makeBatch,
  type Outbound,
  type PersistRecord,
  type PrePrepare,
  signBody,
  toHex,
} from '../../src/index.ts';
import { type Envelope, type ObservedStep, TestCluster } from './cluster.ts';

// ---------------------------------------------------------------------------------------------
// The file format

export interface TranscriptCase {
  /** 1-based line of the directive in its file. */
  readonly line: number;
  readonly directive: string;
  readonly expected: readonly string[];
}

export type TranscriptSegment =
  | { readonly kind: 'text'; readonly lines: readonly string[] }
  | ({ readonly kind: 'case' } & TranscriptCase);

const SEPARATOR = '----';

export function parseTranscript(text: string): TranscriptSegment[] {
  const lines = text.replace(/\n$/, '').split('\n');
  const segments: TranscriptSegment[] = [];
  let prose: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.trim() === '' || line.startsWith('#')) {
      prose.push(line);
      continue;
    }
    if (lines[i + 1] !== SEPARATOR)
      throw new Error(`line ${i + 1}: "${line}" is not followed by ${SEPARATOR}`);
    if (prose.length > 0) segments.push({ kind: 'text', lines: prose });
    prose = [];
    const expected: string[] = [];
    let j = i + 2;
    for (; j < lines.length && (lines[j] as string).trim() !== ''; j++) expected.push(lines[j] as string);
    segments.push({ kind: 'case', line: i + 1, directive: line, expected });
    i = j - 1;
  }
  if (prose.length > 0) segments.push({ kind: 'text', lines: prose });
  return segments;
}

/** The file again, each case with the output `outputOf` gives it. */
export function renderTranscript(
  segments: readonly TranscriptSegment[],
  outputOf: (c: TranscriptCase) => readonly string[],
): string {
  const lines: string[] = [];
  for (const segment of segments) {
    if (segment.kind === 'text') lines.push(...segment.lines);
    else lines.push(segment.directive, SEPARATOR, ...outputOf(segment));
  }
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// Printing what replicas do

const TYPE_NAMES = new Map<number, string>(
  Object.entries(MessageType).map(([name, type]) => [
    type,
    name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`),
  ]),
);
const TYPES_BY_NAME = new Map([...TYPE_NAMES].map(([type, name]) => [name, type]));

/** Short digests: 8 hex digits are plenty to tell a transcript's batches apart. */
const short = (bytes: Uint8Array): string => toHex(bytes).slice(0, 8);

const typeName = (type: number): string => TYPE_NAMES.get(type) ?? `type-${type}`;

function describeOperation(operation: Uint8Array): string {
  const decoded = decodeCanonical(operation);
  if (!decoded.ok || !Array.isArray(decoded.value)) return `op=${short(operation)}`;
  const [op, key, value] = decoded.value as [string, string, string | undefined];
  return value === undefined ? `${op} ${key}` : `${op} ${key}=${value}`;
}

function describeResult(result: Uint8Array): string {
  const kv = decodeKvResult(result);
  if (!kv.ok) return `error ${JSON.stringify(kv.error)}`;
  return kv.value === null ? `ok version=${kv.version}` : `ok value=${kv.value} version=${kv.version}`;
}

function describeBatch(batch: Batch | undefined): string {
  if (batch === undefined) return ' (batch missing)';
  const requests = batch.requests.map((r) => `${r.body.agent}#${r.body.requestId}`);
  return ` t=${batch.timestamp} [${requests.join(' ')}]`;
}

export class Printer {
  readonly #nullDigest: Uint8Array;

  constructor(hash: (data: Uint8Array) => Uint8Array) {
    this.#nullDigest = makeBatch(0, [], hash).digest;
  }

  digest(digest: Uint8Array): string {
    return bytesEqual(digest, this.#nullDigest) ? 'null' : short(digest);
  }

  /** One message in a line: its type and the fields that tell it apart. */
  frame(frame: Frame): string {
    const body = frame.body;
    const name = typeName(body.type);
    switch (body.type) {
      case MessageType.request:
        return `${name} ${body.agent}#${body.requestId} ${describeOperation(body.operation)}`;
      case MessageType.prePrepare: {
        const batch = frame.batches.find((b) => bytesEqual(b.digest, body.digest));
        const contents = this.digest(body.digest) === 'null' ? '' : describeBatch(batch);
        return `${name} v${body.view} s${body.sequence} d=${this.digest(body.digest)}${contents}`;
      }
      case MessageType.prepare:
      case MessageType.commit:
        return `${name} v${body.view} s${body.sequence} d=${this.digest(body.digest)}`;
      case MessageType.reply:
        return `${name} v${body.view} s${body.sequence} ${body.agent}#${body.requestId} ${describeResult(body.result)}`;
      case MessageType.checkpoint:
        return `${name} s${body.sequence} state=${short(body.stateDigest)}`;
      case MessageType.viewChange: {
        const prepared = body.prepared.map((p) => {
          const pp = p.prePrepare.body;
          return `s${pp.sequence}:v${pp.view}:${this.digest(pp.digest)}`;
        });
        return `${name} v${body.newView} stable=s${body.stableSequence} prepared=[${prepared.join(' ')}]`;
      }
      case MessageType.newView: {
        const from = body.viewChanges.map((vc) => `r${vc.body.replica}`);
        const proposals = body.prePrepares.map((pp) => `s${pp.body.sequence}:${this.digest(pp.body.digest)}`);
        return `${name} v${body.view} view-changes=[${from.join(' ')}] proposals=[${proposals.join(' ')}]`;
      }
      case MessageType.suspect:
        return `${name} v${body.view} round ${body.round}`;
      case MessageType.return:
        return `${name} to v${body.view} from v${body.through} (left v${body.left})`;
      case MessageType.returnAck:
        return `${name} r${body.returner} to v${body.view}, skipping v${body.view + 1}..v${body.through}`;
      case MessageType.fetchState:
        return `${name} s${body.sequence}`;
      case MessageType.state: {
        const proof = body.checkpointProof.map((c) => `r${c.body.replica}`);
        return `${name} s${body.sequence} state=${short(body.checkpointProof[0]?.body.stateDigest ?? new Uint8Array())} proof=[${proof.join(' ')}]`;
      }
      case MessageType.fetchCommitted:
        return `${name} from=s${body.fromSequence}`;
      case MessageType.committed: {
        const entries = body.entries.map((e) => `s${e.sequence}:v${e.view}:${this.digest(e.digest)}`);
        return `${name} [${entries.join(' ')}]`;
      }
      case MessageType.query:
      case MessageType.queryReply:
        return `${name} ${body.agent}#${body.queryId}`;
      case MessageType.fetchReceipt:
      case MessageType.receipt:
        return `${name} ${body.agent}#${body.requestId}`;
    }
  }

  destination(to: Outbound['to']): string {
    return to.kind === 'replicas' ? '*' : to.kind === 'replica' ? `r${to.id}` : to.id;
  }
}

/** Kinds of line a transcript prints; `show` picks some. */
const LINE_KINDS = ['reject', 'persist', 'send', 'exec', 'transfer', 'drop'] as const;
type LineKind = (typeof LINE_KINDS)[number];

// ---------------------------------------------------------------------------------------------
// Running directives

interface DropRule {
  readonly from: string;
  readonly to: string;
  readonly type: number | undefined;
  readonly view: number | undefined;
}

interface Equivocation {
  readonly replica: number;
  readonly to: ReadonlySet<string>;
  readonly view: number | undefined;
}

/** What a directive was given: positional words, and `key=value` options. */
interface Args {
  readonly words: readonly string[];
  readonly options: ReadonlyMap<string, string>;
}

function parseArgs(tokens: readonly string[]): Args {
  const words: string[] = [];
  const options = new Map<string, string>();
  for (const token of tokens) {
    const eq = token.indexOf('=');
    if (eq > 0) options.set(token.slice(0, eq), token.slice(eq + 1));
    else words.push(token);
  }
  return { words, options };
}

const replicaList = (text: string): number[] => text.split(',').map((r) => Number(r.replace(/^r/, '')));

function viewOf(frame: Frame | undefined): number | undefined {
  const body = frame?.body as { view?: number; newView?: number } | undefined;
  return body?.view ?? body?.newView;
}

/** A cluster driven by transcript directives, printing what each replica does. */
export class TranscriptCluster {
  readonly #cluster: TestCluster;
  readonly #print: Printer;
  #lines: string[] = [];
  #shown = new Set<LineKind>(LINE_KINDS);
  /** When non-empty, send and persist lines only for these message types. */
  #shownTypes = new Set<number>();
  #drops: DropRule[] = [];
  #equivocations: Equivocation[] = [];
  #inTick = false;
  #lastTickPrinted = -1;
  readonly #submitted = new Map<number, number[]>();

  constructor(replicas = 4, agents = 1) {
    this.#cluster = new TestCluster(replicas, agents);
    this.#print = new Printer(this.#cluster.crypto.hash);
    this.#cluster.observer = (step) => this.#observe(step);
    this.#cluster.interceptor = (envelope, frame) => this.#intercept(envelope, frame);
  }

  /** Runs one directive line; returns what it printed. */
  run(directive: string): string[] {
    this.#lines = [];
    const [command = '', ...rest] = directive.trim().split(/\s+/);
    const args = parseArgs(rest);
    const handler = this.#handlers[command];
    if (handler === undefined) throw new Error(`unknown directive "${command}"`);
    handler(args);
    return this.#lines;
  }

  readonly #handlers: Record<string, (args: Args) => void> = {
    submit: (args) => this.#submit(args),
    deliver: (args) => this.#deliver(Number(args.words[0] ?? 1)),
    'deliver-all': () => this.#cluster.deliverAll(),
    tick: (args) => this.#tick(Number(args.words[0] ?? 1)),
    crash: (args) => this.#cluster.down.add(Number(args.words[0])),
    resume: (args) => this.#cluster.down.delete(Number(args.words[0])),
    restart: (args) => this.#restart(Number(args.words[0])),
    drop: (args) => this.#addDrop(args),
    equivocate: (args) => this.#addEquivocation(args),
    heal: () => {
      this.#drops = [];
      this.#equivocations = [];
    },
    show: (args) => this.#show(args.words),
    status: (args) => this.#status(args.words),
    log: (args) => this.#log(Number(args.words[0])),
    accepted: (args) => this.#accepted(Number(args.words[0])),
    agreement: () => this.#agreement(),
  };

  #emit(kind: LineKind, line: string): void {
    if (!this.#shown.has(kind)) return;
    if (this.#inTick && this.#cluster.ticks !== this.#lastTickPrinted) {
      this.#lastTickPrinted = this.#cluster.ticks;
      this.#lines.push(`-- t=${this.#cluster.ticks}`);
    }
    this.#lines.push(line);
  }

  #typeShown(type: number): boolean {
    return this.#shownTypes.size === 0 || this.#shownTypes.has(type);
  }

  // Directives

  /** `submit AGENT KEY VALUE [to=R,R]`: the agent signs a put and sends it (to every replica by default). */
  #submit(args: Args): void {
    const [agent = '0', key = 'k', value = 'v'] = args.words;
    const to = args.options.get('to');
    const replicas = to === undefined ? undefined : replicaList(to);
    const id = this.#cluster.submit(Number(agent), key, value, replicas);
    this.#submitted.set(Number(agent), [...(this.#submitted.get(Number(agent)) ?? []), id]);
    const where = replicas === undefined ? '*' : replicas.map((r) => `r${r}`).join(',');
    this.#lines.push(`agent-${agent} -> ${where} request agent-${agent}#${id} put ${key}=${value}`);
  }

  /** `deliver [N]`: the next N queued frames, each announced, then what it caused. */
  #deliver(count: number): void {
    for (let i = 0; i < count; i++) {
      const next = this.#cluster.queue[0];
      if (next === undefined) {
        this.#lines.push('(nothing queued)');
        return;
      }
      const frame = this.#cluster.decode(next.frame);
      this.#lines.push(
        `deliver ${next.from} -> ${next.to} ${frame === undefined ? '?' : this.#print.frame(frame)}`,
      );
      this.#cluster.deliverNext();
    }
  }

  /** `tick N`: N ticks, one at a time, everything delivered after each (`TestCluster.run`). */
  #tick(ticks: number): void {
    this.#inTick = true;
    try {
      this.#cluster.run(ticks);
    } finally {
      this.#inTick = false;
    }
  }

  /** `restart R`: R loses its memory and comes back from what it persisted. */
  #restart(replica: number): void {
    this.#cluster.restart(replica);
    this.#cluster.down.delete(replica);
    this.#lines.push(`${this.#statusLine(replica)} (restarted from durable state)`);
  }

  /** `drop FROM TO TYPE [view=V]`: frames that match are lost; `*` matches anything. */
  #addDrop(args: Args): void {
    const [from = '*', to = '*', type = '*'] = args.words;
    const view = args.options.get('view');
    this.#drops.push({
      from,
      to,
      type: type === '*' ? undefined : this.#typeNamed(type),
      view: view === undefined ? undefined : Number(view),
    });
  }

  /**
   * `equivocate R to=R,R [view=V]`: R's pre-prepares to those replicas carry another batch for
   * the same sequence (same requests, timestamp + 1), signed by R: a Byzantine primary.
   */
  #addEquivocation(args: Args): void {
    const view = args.options.get('view');
    this.#equivocations.push({
      replica: Number(args.words[0]),
      to: new Set(replicaList(args.options.get('to') ?? '').map((r) => `r${r}`)),
      view: view === undefined ? undefined : Number(view),
    });
  }

  #typeNamed(name: string): number {
    const type = TYPES_BY_NAME.get(name);
    if (type === undefined) throw new Error(`unknown message type "${name}"`);
    return type;
  }

  /** `show [all] KINDS... TYPES...`: which lines print from now on (kinds), for which messages (types). */
  #show(words: readonly string[]): void {
    const all = words.includes('all');
    this.#shown = new Set(all ? LINE_KINDS : LINE_KINDS.filter((kind) => words.includes(kind)));
    this.#shownTypes = new Set(
      words
        .filter((w) => w !== 'all' && !(LINE_KINDS as readonly string[]).includes(w))
        .map((w) => this.#typeNamed(w)),
    );
  }

  /** `status [R...]`: one line per replica (all by default). */
  #status(words: readonly string[]): void {
    const replicas = words.length > 0 ? words.map(Number) : this.#cluster.replicas.map((_, i) => i);
    for (const replica of replicas) this.#lines.push(this.#statusLine(replica));
  }

  #statusLine(replica: number): string {
    const r = this.#cluster.replicas[replica];
    if (r === undefined) throw new Error(`no replica ${replica}`);
    const s = r.status();
    const machine = this.#cluster.machines[replica] as KvStateMachine;
    const up = this.#cluster.down.has(replica) ? ' down' : '';
    return (
      `r${replica}${up} v${s.view} ${s.changingView ? 'view-change' : 'normal'} primary=r${s.primary} ` +
      `executed=s${s.lastExecuted} stable=s${s.stableCheckpoint}:${short(r.stableStateDigest())} ` +
      `log=${s.logSize} pending=${s.pendingRequests} agreed-time=${s.agreedTime} kv=${short(machine.digest())}`
    );
  }

  /** `log R`: R's log, entry by entry, from `inspect()`. */
  #log(replica: number): void {
    const inspection = (
      this.#cluster.replicas[replica] as NonNullable<TestCluster['replicas'][number]>
    ).inspect();
    const voters = (votes: readonly { replica: number }[]) => votes.map((v) => `r${v.replica}`).join(' ');
    if (inspection.log.length === 0) this.#lines.push(`r${replica} log empty`);
    for (const entry of inspection.log) {
      const pp = entry.prePrepareDigest === undefined ? '-' : this.#print.digest(entry.prePrepareDigest);
      const committed = entry.committed === undefined ? '' : ` committed=v${entry.committed.view}`;
      this.#lines.push(
        `r${replica} s${entry.sequence} v${entry.view} pre-prepare=${pp} prepares=[${voters(entry.prepares)}] ` +
          `commits=[${voters(entry.commits)}]${entry.prepared ? ' prepared' : ''}${committed}`,
      );
    }
  }

  /** `accepted AGENT`: for each request the agent submitted, the result f+1 replicas agree on. */
  #accepted(agent: number): void {
    for (const id of this.#submitted.get(agent) ?? []) {
      const reply = this.#cluster.accepted(agent, id);
      this.#lines.push(
        reply === undefined
          ? `agent-${agent}#${id} not accepted`
          : `agent-${agent}#${id} accepted s${reply.sequence} ${describeResult(reply.result)}`,
      );
    }
  }

  /** `agreement`: no two replicas executed different batches at one sequence. */
  #agreement(): void {
    try {
      this.#cluster.checkAgreement();
      const highest = Math.max(...this.#cluster.executed.map((e) => e.at(-1)?.sequence ?? 0));
      this.#lines.push(`agreement ok up to s${highest}`);
    } catch (error) {
      this.#lines.push((error as Error).message);
    }
  }

  // Hooks into the test cluster

  #observe({ replica, output }: ObservedStep): void {
    const r = `r${replica}`;
    for (const rejection of output.rejected)
      this.#emit('reject', `${r} rejected ${rejection.code}: ${rejection.detail}`);
    for (const record of output.persist) this.#persisted(r, record);
    for (const send of output.send) {
      const frame = this.#cluster.decode(send.frame);
      if (frame === undefined || !this.#typeShown(frame.body.type)) continue;
      this.#emit('send', `${r} -> ${this.#print.destination(send.to)} ${this.#print.frame(frame)}`);
    }
    for (const batch of output.executed) {
      const requests = batch.requests.map((q) => `${q.agent}#${q.requestId}`).join(' ');
      const via = batch.via === 'fetch' ? ' via=fetch' : '';
      const evidence = batch.equivocations.map((e) => ` equivocation=${e.agent}#${e.requestId}`).join('');
      this.#emit(
        'exec',
        `${r} executed s${batch.sequence} v${batch.view} d=${this.#print.digest(batch.digest)} t=${batch.timestamp} [${requests}]${via}${evidence}`,
      );
    }
    for (const transfer of output.stateTransfers)
      this.#emit(
        'transfer',
        `${r} state-transfer s${transfer.sequence} state=${short(transfer.stateDigest)}`,
      );
  }

  #persisted(r: string, record: PersistRecord): void {
    if (record.kind === 'view') {
      if (this.#typeShown(MessageType.viewChange) || this.#typeShown(MessageType.newView))
        this.#emit('persist', `${r} persist view v${record.view}${record.changing ? ' changing' : ''}`);
      return;
    }
    if (record.kind === 'checkpoint') {
      if (!this.#typeShown(MessageType.checkpoint)) return;
      const proof = record.proof.map((c) => `r${c.body.replica}`).join(' ');
      this.#emit(
        'persist',
        `${r} persist stable checkpoint s${record.sequence} state=${short(record.stateDigest)} proof=[${proof}]`,
      );
      return;
    }
    if (record.kind === 'skips') {
      const views = record.intervals.map((i) => `v${i.above + 1}..v${i.through}`).join(' ');
      this.#emit('persist', `${r} persist skipped views [${views}]`);
      return;
    }
    const frame = this.#cluster.decode(record.frame);
    if (frame === undefined || !this.#typeShown(frame.body.type)) return;
    const { sequence, replica } = frame.body as { sequence?: number; replica?: number };
    const at = sequence === record.sequence ? '' : ` @s${record.sequence}`;
    const from = replica === undefined || `r${replica}` === r ? '' : ` from r${replica}`;
    this.#emit('persist', `${r} persist ${this.#print.frame(frame)}${from}${at}`);
  }

  #intercept(envelope: Envelope, frame: Frame | undefined): Envelope[] | undefined {
    const type = frame?.body.type;
    for (const rule of this.#drops) {
      if (rule.from !== '*' && rule.from !== envelope.from) continue;
      if (rule.to !== '*' && rule.to !== envelope.to) continue;
      if (rule.type !== undefined && rule.type !== type) continue;
      if (rule.view !== undefined && rule.view !== viewOf(frame)) continue;
      this.#emit(
        'drop',
        `dropped ${envelope.from} -> ${envelope.to} ${frame ? this.#print.frame(frame) : '?'}`,
      );
      return [];
    }
    if (type !== MessageType.prePrepare || frame === undefined) return undefined;
    const rule = this.#equivocations.find(
      (e) =>
        `r${e.replica}` === envelope.from &&
        e.to.has(envelope.to) &&
        (e.view === undefined || e.view === viewOf(frame)),
    );
    return rule === undefined ? undefined : [this.#forge(envelope, frame as Frame<PrePrepare>, rule.replica)];
  }

  /** The same pre-prepare with another batch: the same requests one tick later, signed by its primary. */
  #forge(envelope: Envelope, frame: Frame<PrePrepare>, replica: number): Envelope {
    const original = frame.batches.find((b) => bytesEqual(b.digest, frame.body.digest));
    if (original === undefined) return envelope;
    const other = makeBatch(original.timestamp + 1, original.requests, this.#cluster.crypto.hash);
    const secretKey = (this.#cluster.replicaKeys[replica] as { secretKey: Uint8Array }).secretKey;
    const forged = signBody<PrePrepare>(
      { ...frame.body, digest: other.digest },
      this.#cluster.crypto,
      secretKey,
    );
    const replaced = { ...envelope, frame: encodeFrame(forged, [other]) };
    this.#emit(
      'drop',
      `equivocated ${envelope.from} -> ${envelope.to} ${this.#print.frame({ ...forged, batches: [other] })} instead of d=${this.#print.digest(frame.body.digest)}`,
    );
    return replaced;
  }
}
