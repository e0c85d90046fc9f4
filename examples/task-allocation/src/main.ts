/**
 * A task board with leases, on an in-process cluster. Honest workers claim and complete tasks; a
 * hoarder tries to take the whole board and to grab a task someone holds; a worker claims a task
 * and goes silent, its lease lapses in agreed time and the task goes back to the board.
 * Every task ends up completed exactly once. Run: pnpm --filter @conclave-examples/task-allocation start
 */
import { pathToFileURL } from 'node:url';
import {
  type CoordinationEvent,
  DEFAULT_COORDINATION_LIMITS,
  decodeResult,
  type EventCursor,
  ops,
} from '@conclave/coordination';
import {
  type ConclaveClient,
  type Coordination,
  coordination,
  type InProcessCluster,
  RejectedError,
  startInProcessCluster,
} from '@conclave/sdk';

const PLANNER = 'planner';
const WORKERS = ['ada', 'brook'] as const;
const HOARDER = 'hoarder';
const GHOST = 'ghost';
const TASKS = ['t1', 't2', 't3', 't4', 't5', 't6', 't7', 't8'] as const;
/** The lease every claim asks for: 200 ticks, 1 s at the in-process cluster's 5 ms per tick. */
const LEASE_TICKS = 200;
const CLAIMS_PER_AGENT_MAX = DEFAULT_COORDINATION_LIMITS.claimsPerAgentMax;
const TIMEOUT_MS = 8_000;
const POLL_MS = 50;

export interface Claim {
  readonly claim: string;
  readonly held: boolean;
}

export interface TaskAllocationSummary {
  readonly ok: boolean;
  readonly claims: readonly Claim[];
  /** Task id → who completed it. */
  readonly completedBy: Readonly<Record<string, string>>;
  /** Task id → how many task_completed events it has. */
  readonly completions: Readonly<Record<string, number>>;
  /** Refusals the misbehaving agents got, in order: `agent task CODE`. */
  readonly refusals: readonly string[];
  /** Tasks whose claim lapsed and went back to the board. */
  readonly expired: readonly string[];
  readonly elapsedMs: number;
}

const text = (value: string) => new TextEncoder().encode(value);

/** Runs `attempt`; a refusal by the state machine comes back as its code instead of a throw. */
async function refusal(attempt: Promise<unknown>): Promise<string | undefined> {
  try {
    await attempt;
    return undefined;
  } catch (error) {
    if (error instanceof RejectedError) return error.reason;
    throw error;
  }
}

/** Every event retained by the cluster, read in order through linearizable (ordered) reads. */
async function allEvents(client: ConclaveClient): Promise<CoordinationEvent[]> {
  const events: CoordinationEvent[] = [];
  let cursor: EventCursor = { sequence: 0, index: 0 };
  for (let page = 0; page < 1_000; page++) {
    const answer = await client.request(
      ops.events({ fromSequence: cursor.sequence, fromIndex: cursor.index }),
    );
    const result = decodeResult(answer.result);
    if (!result.ok) throw new RejectedError(result.code, result.message);
    if (result.kind !== 'events') throw new Error(`expected events, got ${result.kind}`);
    events.push(...result.events);
    if (result.events.length === 0) return events;
    cursor = result.next;
  }
  throw new Error('more than 1,000 pages of events');
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((done) => setTimeout(done, POLL_MS));
  }
}

/**
 * A worker takes open tasks one at a time until the board has none, from the front or the back of
 * the list; when two workers go for the same task, the cluster's order decides who gets it.
 */
async function work(
  name: string,
  board: Coordination,
  from: 'front' | 'back',
  print: (line: string) => void,
): Promise<string[]> {
  const done: string[] = [];
  for (let round = 0; round < TASKS.length * 2; round++) {
    const open = await board.tasks.list({ status: 'open' });
    if (open.length === 0) return done;
    const task = (from === 'front' ? open[0] : open.at(-1)) as (typeof open)[number];
    const lost = await refusal(board.tasks.claim(task.taskId, LEASE_TICKS));
    if (lost !== undefined) {
      print(`   ${name.padEnd(7)} tried ${task.taskId}: ${lost} (someone else got it first)`);
      continue;
    }
    await board.tasks.complete(task.taskId, text(`${task.taskId} done by ${name}`));
    print(`   ${name.padEnd(7)} claimed and completed ${task.taskId}`);
    done.push(task.taskId);
  }
  return done;
}

export async function taskAllocation(
  print: (line: string) => void = console.log,
): Promise<TaskAllocationSummary> {
  const started = performance.now();
  const claims: Claim[] = [];
  const check = (claim: string, held: boolean) => {
    claims.push({ claim, held });
    if (!held) print(`   ✗ claim failed: ${claim}`);
  };
  const refusals: string[] = [];
  const cluster: InProcessCluster = await startInProcessCluster({
    agents: [PLANNER, ...WORKERS, HOARDER, GHOST],
  });
  const clients: ConclaveClient[] = [];
  const join = async (agent: string) => {
    const client = await cluster.connect(agent, { timeoutMs: TIMEOUT_MS });
    clients.push(client);
    return coordination(client);
  };
  try {
    const [planner, ada, brook, hoarder, ghost] = (await Promise.all(
      [PLANNER, ...WORKERS, HOARDER, GHOST].map(join),
    )) as [Coordination, Coordination, Coordination, Coordination, Coordination];

    print(`Task board on a ${cluster.cluster.replicas.length}-replica in-process cluster.`);
    print(
      `  Every claim is a lease of ${LEASE_TICKS} ticks of agreed time; an agent holds at most ${CLAIMS_PER_AGENT_MAX} claims.`,
    );
    print('');
    print(`1. ${PLANNER} posts ${TASKS.length} tasks: ${TASKS.join(', ')}`);
    for (const [i, taskId] of TASKS.entries())
      await planner.tasks.create(taskId, text(`index shard ${i + 1}`));

    print('');
    print(`2. ada claims t1, brook claims t2, ${GHOST} claims t3 and then goes silent`);
    await ada.tasks.claim('t1', LEASE_TICKS);
    await brook.tasks.claim('t2', LEASE_TICKS);
    const ghostClaim = await ghost.tasks.claim('t3', LEASE_TICKS);
    await ghost.client.close();

    print('');
    print(`3. ${HOARDER} tries to claim every task on the board`);
    const hoarded: string[] = [];
    for (const taskId of TASKS) {
      const code = await refusal(hoarder.tasks.claim(taskId, LEASE_TICKS));
      if (code === undefined) hoarded.push(taskId);
      else refusals.push(`${HOARDER} ${taskId} ${code}`);
      print(`   ${taskId}: ${code === undefined ? 'claimed' : `refused, ${code}`}`);
    }
    check(
      `${HOARDER} cannot double-claim tasks others hold (CONFLICT on t1, t2, t3)`,
      ['t1', 't2', 't3'].every((t) => refusals.includes(`${HOARDER} ${t} CONFLICT`)),
    );
    check(
      `${HOARDER} stops at ${CLAIMS_PER_AGENT_MAX} claims (QUOTA on the next)`,
      hoarded.length === CLAIMS_PER_AGENT_MAX && refusals.includes(`${HOARDER} t8 QUOTA`),
    );
    print(`   ${HOARDER} holds ${hoarded.join(', ')} and never works on them`);

    print('');
    print('4. The honest workers finish what they hold, and ada takes t8, the one task left open');
    await ada.tasks.complete('t1', text('t1 done by ada'));
    await brook.tasks.complete('t2', text('t2 done by brook'));
    await ada.tasks.claim('t8', LEASE_TICKS);
    await ada.tasks.complete('t8', text('t8 done by ada'));
    print('   ada completed t1 and t8, brook completed t2');

    print('');
    print(`5. Agreed time passes the leases of ${GHOST} and ${HOARDER}; their tasks go back to the board`);
    const lapsed = ['t3', ...hoarded];
    await until(
      'the lapsed claims to return to the board',
      async () => {
        const open = await planner.tasks.list({ status: 'open' });
        return lapsed.every((t) => open.some((o) => o.taskId === t)) ? open : undefined;
      },
      TIMEOUT_MS,
    );
    print(
      `   open again: ${lapsed.join(', ')} (t3's lease ended at agreed time ${ghostClaim.claimExpiresAt})`,
    );
    const ghostBack = await join(GHOST);
    const late = await refusal(ghostBack.tasks.complete('t3', text('t3 done by ghost, late')));
    refusals.push(`${GHOST} t3 ${late ?? 'accepted'}`);
    print(
      `   ${GHOST} comes back and tries to complete t3: ${late === undefined ? 'accepted' : `refused, ${late}`}`,
    );
    check(`${GHOST}'s late completion of t3 is refused with EXPIRED`, late === 'EXPIRED');

    print('');
    print('6. The honest workers pick the returned tasks up');
    await Promise.all([work('ada', ada, 'front', print), work('brook', brook, 'back', print)]);

    // The record: the board, and the ordered log of what happened.
    const board = await planner.tasks.list({ status: 'all' });
    const events = await allEvents(planner.client);
    const completions: Record<string, number> = {};
    const expired: string[] = [];
    for (const event of events) {
      if (event.kind === 'task_completed') completions[event.taskId] = (completions[event.taskId] ?? 0) + 1;
      if (event.kind === 'task_claim_expired') expired.push(event.taskId);
    }
    const completedBy = Object.fromEntries(board.map((t) => [t.taskId, t.completedBy ?? '(nobody)']));
    print('');
    print('7. The board');
    for (const task of board) {
      print(
        `   ${task.taskId}: ${task.status}, by ${task.completedBy ?? '(nobody)'}; completed ${completions[task.taskId] ?? 0} time(s)`,
      );
    }
    print(`   claims that lapsed (task_claim_expired events): ${expired.join(', ')}`);
    check(
      'the lapsed claims went back to the board through agreed time',
      lapsed.every((t) => expired.includes(t)),
    );
    check(
      'every task is completed exactly once',
      board.length === TASKS.length &&
        board.every((t) => t.status === 'done') &&
        TASKS.every((t) => completions[t] === 1),
    );
    check(
      `no task was completed by ${HOARDER} or ${GHOST}`,
      board.every((t) => t.completedBy !== HOARDER && t.completedBy !== GHOST),
    );

    const ok = claims.every((c) => c.held);
    const elapsedMs = Math.round(performance.now() - started);
    print('');
    print(
      ok
        ? `All ${claims.length} claims held (${elapsedMs} ms).`
        : `${claims.filter((c) => !c.held).length} of ${claims.length} claims FAILED.`,
    );
    return { ok, claims, completedBy, completions, refusals, expired, elapsedMs };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await cluster.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const summary = await taskAllocation().catch((error: unknown) => {
    console.error(`task allocation failed: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  });
  process.exit(summary?.ok ? 0 : 1);
}
