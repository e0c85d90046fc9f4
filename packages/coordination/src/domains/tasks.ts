/**
 * The task board: `task_create`, `task_claim` (a lease), `task_complete`, `task_release`,
 * `get_task` and `list_tasks`. A lapsed claim returns the task to the board; done tasks are
 * pruned `retentionTicks` after they finished.
 */
import type { LogPosition } from '../evidence.ts';
import type { ReadOperation, WriteOperation } from '../operations.ts';
import type { CoordinationResult, ErrorResult, TaskStatus, TaskView } from '../results.ts';
import {
  type DomainContext,
  fail,
  invariant,
  pageOf,
  type QuotaUsage,
  quota,
  sortedEntries,
} from './shared.ts';

type TaskWrite = Extract<
  WriteOperation,
  { op: 'task_create' | 'task_claim' | 'task_complete' | 'task_release' }
>;

interface TaskRecord {
  readonly taskId: string;
  readonly creator: string;
  readonly payload: Uint8Array;
  readonly createdAt: LogPosition;
  status: TaskStatus;
  /** Set exactly while claimed, with `claimExpiresAt`. */
  claimant: string | null;
  claimExpiresAt: number | null;
  /** Whose claim lapsed most recently, so a late `task_complete` is told EXPIRED rather than FORBIDDEN. */
  lapsedClaimant: string | null;
  result: Uint8Array | null;
  completedBy: string | null;
  doneAt: LogPosition | null;
}

/** The board's part of the snapshot record, sorted by task id. */
export interface TaskSnapshot {
  readonly tasks: readonly TaskRecord[];
}

/** The task board. */
export class TaskBoard {
  readonly #context: DomainContext;
  #tasks = new Map<string, TaskRecord>();

  constructor(context: DomainContext) {
    this.#context = context;
  }

  write(op: TaskWrite, agent: string): CoordinationResult {
    if (op.op === 'task_create') return this.#create(op, agent);
    const task = this.#tasks.get(op.taskId);
    if (task === undefined) return fail('NOT_FOUND', `no task ${op.taskId}`);
    const refusal = op.op === 'task_claim' ? this.#claim(task, op, agent) : this.#finish(task, op, agent);
    return refusal ?? this.#result(task);
  }

  /** The `get_task` and `list_tasks` reads. */
  read(op: Extract<ReadOperation, { op: 'get_task' | 'list_tasks' }>): CoordinationResult {
    const at = this.#context.position();
    if (op.op === 'get_task') {
      const task = this.#tasks.get(op.taskId);
      if (task === undefined) return fail('NOT_FOUND', `no task ${op.taskId}`);
      return { ok: true, kind: 'task', at, task: taskView(task) };
    }
    const matching = sortedEntries(this.#tasks).filter(
      ([, task]) => op.status === 'all' || task.status === op.status,
    );
    const { page, next } = pageOf(matching, op.after, op.limit);
    return { ok: true, kind: 'tasks', at, tasks: page.map(([, task]) => taskView(task)), next };
  }

  /** Timer: returns every task whose claim lapsed at or before `now` to the board, in id order. */
  expireClaims(now: number): void {
    for (const [taskId, task] of sortedEntries(this.#tasks)) {
      if (task.status !== 'claimed') continue;
      invariant(
        task.claimant !== null && task.claimExpiresAt !== null,
        `claimed task ${taskId} has a claimant and a claim expiry`,
      );
      if (task.claimExpiresAt > now) continue;
      const claimant = task.claimant;
      task.status = 'open';
      task.claimant = null;
      task.claimExpiresAt = null;
      task.lapsedClaimant = claimant;
      this.#context.emit({ kind: 'task_claim_expired', taskId, claimant }, claimant);
    }
  }

  /** Timer: removes tasks done `retentionTicks` or more before `now`, in id order. */
  prune(now: number): void {
    const retention = this.#context.limits.retentionTicks;
    for (const [taskId, task] of sortedEntries(this.#tasks)) {
      if (task.doneAt === null || task.doneAt.timestamp + retention > now) continue;
      this.#tasks.delete(taskId);
      this.#context.emit({ kind: 'task_pruned', taskId }, task.creator);
    }
  }

  /** Tasks `agent` created (kept until pruned) and claims it holds: what its task quotas count. */
  usageOf(agent: string): QuotaUsage {
    return { tasksPerAgentMax: this.#createdBy(agent), claimsPerAgentMax: this.#claimsOf(agent) };
  }

  #createdBy(agent: string): number {
    let created = 0;
    for (const t of this.#tasks.values()) if (t.creator === agent) created += 1;
    return created;
  }

  #claimsOf(agent: string): number {
    let active = 0;
    for (const t of this.#tasks.values()) if (t.status === 'claimed' && t.claimant === agent) active += 1;
    return active;
  }

  snapshot(): TaskSnapshot {
    return { tasks: sortedEntries(this.#tasks).map(([, task]) => ({ ...task })) };
  }

  restore(record: TaskSnapshot): void {
    this.#tasks = new Map(record.tasks.map((t) => [t.taskId, { ...t }]));
  }

  #create(op: Extract<TaskWrite, { op: 'task_create' }>, agent: string): CoordinationResult {
    if (this.#tasks.has(op.taskId)) return fail('CONFLICT', `task ${op.taskId} exists`);
    const tasksPerAgentMax = this.#context.quotaOf(agent, 'tasksPerAgentMax');
    const created = this.#createdBy(agent);
    if (created >= tasksPerAgentMax)
      return quota('tasks', agent, created, tasksPerAgentMax, 'tasksPerAgentMax');
    const task: TaskRecord = {
      taskId: op.taskId,
      creator: agent,
      payload: op.payload,
      createdAt: this.#context.position(),
      status: 'open',
      claimant: null,
      claimExpiresAt: null,
      lapsedClaimant: null,
      result: null,
      completedBy: null,
      doneAt: null,
    };
    this.#tasks.set(op.taskId, task);
    this.#context.emit({ kind: 'task_created', taskId: op.taskId, creator: agent }, agent);
    return this.#result(task);
  }

  /** Returns the refusal, or undefined once `agent` holds the claim. */
  #claim(
    task: TaskRecord,
    op: Extract<TaskWrite, { op: 'task_claim' }>,
    agent: string,
  ): ErrorResult | undefined {
    if (task.status === 'done') return fail('CONFLICT', `task ${op.taskId} is done`);
    if (task.status === 'claimed')
      return fail('CONFLICT', `task ${op.taskId} is claimed by ${task.claimant}`);
    const active = this.#claimsOf(agent);
    const claimsPerAgentMax = this.#context.quotaOf(agent, 'claimsPerAgentMax');
    if (active >= claimsPerAgentMax)
      return quota('claims', agent, active, claimsPerAgentMax, 'claimsPerAgentMax');
    const expiresAt = this.#context.position().timestamp + op.ttl;
    task.status = 'claimed';
    task.claimant = agent;
    task.claimExpiresAt = expiresAt;
    task.lapsedClaimant = null;
    this.#context.emit({ kind: 'task_claimed', taskId: op.taskId, claimant: agent, expiresAt }, agent);
    return undefined;
  }

  /** `task_complete` and `task_release`, which only the claimant may do. Returns the refusal, if any. */
  #finish(
    task: TaskRecord,
    op: Extract<TaskWrite, { op: 'task_complete' | 'task_release' }>,
    agent: string,
  ): ErrorResult | undefined {
    if (task.status === 'done') return fail('CONFLICT', `task ${op.taskId} is done`);
    if (task.status !== 'claimed' || task.claimant !== agent) {
      if (task.status === 'open' && task.lapsedClaimant === agent)
        return fail('EXPIRED', `${agent}'s claim on ${op.taskId} lapsed`);
      return fail('FORBIDDEN', `${agent} does not hold a claim on ${op.taskId}`);
    }
    task.claimant = null;
    task.claimExpiresAt = null;
    if (op.op === 'task_complete') {
      task.status = 'done';
      task.result = op.result;
      task.completedBy = agent;
      task.doneAt = this.#context.position();
      this.#context.emit({ kind: 'task_completed', taskId: op.taskId, claimant: agent }, agent);
    } else {
      task.status = 'open';
      this.#context.emit({ kind: 'task_released', taskId: op.taskId, claimant: agent }, agent);
    }
    return undefined;
  }

  #result(task: TaskRecord): CoordinationResult {
    return { ok: true, kind: 'task', at: this.#context.position(), task: taskView(task) };
  }
}

function taskView(task: TaskRecord): TaskView {
  return {
    taskId: task.taskId,
    creator: task.creator,
    payload: task.payload,
    status: task.status,
    claimant: task.claimant,
    claimExpiresAt: task.claimExpiresAt,
    result: task.result,
    completedBy: task.completedBy,
    createdAt: task.createdAt,
    doneAt: task.doneAt,
  };
}
