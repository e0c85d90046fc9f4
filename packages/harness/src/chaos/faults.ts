/**
 * Plays a chaos run's fault schedule against the cluster: kill -9 and restart, partitions that
 * cut or stall and then heal, delay windows, dropped connections. Each fault is a start action
 * and (but for drops) an end action; the end reads what the start resolved (which replica was
 * the primary when it began).
 */
import { performance } from 'node:perf_hooks';
import type { Prng } from '../prng.ts';
import type { ChaosReport } from './chaos-options.ts';
import type { ChaosClock } from './clock.ts';
import { type ChaosCluster, sourceOfAgent, sourceOfReplica } from './cluster.ts';
import { describeEvent, type FaultEvent, type ReplicaTarget, SCHEDULE_DEFAULTS } from './schedule.ts';

export type FaultCounts = { -readonly [K in keyof ChaosReport['faults']]: ChaosReport['faults'][K] };

interface TimedAction {
  readonly atMs: number;
  /** Tie-break at equal times: schedule order, a fault's start before its end. */
  readonly order: number;
  readonly run: () => Promise<void>;
}

type Event<K extends FaultEvent['kind']> = Extract<FaultEvent, { kind: K }>;

export class FaultPlayer {
  readonly counts: FaultCounts = {
    kills: 0,
    restarts: 0,
    partitions: 0,
    partitionsCut: 0,
    partitionsStalled: 0,
    dropEvents: 0,
    delayWindows: 0,
    primaryTargeted: 0,
  };
  readonly #cluster: ChaosCluster;
  readonly #clock: ChaosClock;
  readonly #random: Prng;
  readonly #log: (line: string) => void;
  /** Replicas a fault holds, until when (on `performance.now()`'s clock), recovery included. */
  readonly #occupied = new Map<number, number>();

  constructor(cluster: ChaosCluster, clock: ChaosClock, random: Prng, log: (line: string) => void) {
    this.#cluster = cluster;
    this.#clock = clock;
    this.#random = random;
    this.#log = log;
  }

  /** Runs every action of the schedule at its time after the chaos began. */
  async play(schedule: readonly FaultEvent[]): Promise<void> {
    const actions = schedule.flatMap((event, index) => this.#actionsOf(event, index));
    actions.sort((a, b) => a.atMs - b.atMs || a.order - b.order);
    for (const action of actions) {
      await this.#clock.sleepUntil(action.atMs);
      await action.run();
    }
  }

  #actionsOf(event: FaultEvent, index: number): TimedAction[] {
    switch (event.kind) {
      case 'kill':
        return this.#kill(event, index);
      case 'partition':
        return this.#partition(event, index);
      case 'delay':
        return this.#delay(event, index);
      case 'drop':
        return this.#drop(event, index);
    }
  }

  #kill(event: Event<'kill'>, index: number): TimedAction[] {
    let victim: number | undefined;
    const kill = async () => {
      const { ids, label } = await this.#resolveTargets([event.replica]);
      victim = ids[0] as number;
      const id = victim;
      this.#occupy([id], this.#clock.startedAt + event.atMs + event.downMs);
      this.#log(`t=${this.#clock.stamp()}s  kill -9 ${label}`);
      await this.#cluster.kill(id, 'SIGKILL');
      this.counts.kills++;
    };
    const restart = async () => {
      if (victim === undefined || this.#cluster.isRunning(victim)) return;
      this.#log(`t=${this.#clock.stamp()}s  restart replica ${victim}`);
      this.#cluster.start(victim);
      this.counts.restarts++;
    };
    return [
      { atMs: event.atMs, order: index * 2, run: kill },
      { atMs: event.atMs + event.downMs, order: index * 2 + 1, run: restart },
    ];
  }

  #partition(event: Event<'partition'>, index: number): TimedAction[] {
    const island = `island-${index}`;
    let isolated: string[] = [];
    const cut = async () => {
      const { ids, label } = await this.#resolveTargets(event.replicas);
      const agents = event.agents.map((k) => `agent-${k}`);
      isolated = [...ids.map((id) => `replica ${id}`), ...agents];
      this.#occupy(ids, this.#clock.startedAt + event.atMs + event.durationMs);
      const members = [...ids.map(sourceOfReplica), ...agents.map(sourceOfAgent)];
      const reset = this.#cluster.proxy.isolate(island, members, event.mode);
      this.counts.partitions++;
      if (event.mode === 'cut') this.counts.partitionsCut++;
      else this.counts.partitionsStalled++;
      this.#log(
        `t=${this.#clock.stamp()}s  partition (${event.mode}) ${[label, ...agents].join(' + ')} from the rest${event.mode === 'cut' ? `, ${reset} connections reset` : ''}`,
      );
    };
    const heal = async () => {
      this.#cluster.proxy.heal(island);
      this.#log(`t=${this.#clock.stamp()}s  heal the partition of ${isolated.join(' + ')}`);
    };
    return [
      { atMs: event.atMs, order: index * 2, run: cut },
      { atMs: event.atMs + event.durationMs, order: index * 2 + 1, run: heal },
    ];
  }

  #delay(event: Event<'delay'>, index: number): TimedAction[] {
    const label = describeEvent(event);
    const on = async () => {
      this.#cluster.proxy.setDelay(event.fixedMs, event.jitterMs);
      this.counts.delayWindows++;
      this.#log(`t=${this.#clock.stamp()}s  ${label}`);
    };
    const off = async () => {
      this.#cluster.proxy.setDelay(0, 0);
      this.#log(`t=${this.#clock.stamp()}s  delay off`);
    };
    return [
      { atMs: event.atMs, order: index * 2, run: on },
      { atMs: event.atMs + event.durationMs, order: index * 2 + 1, run: off },
    ];
  }

  #drop(event: Event<'drop'>, index: number): TimedAction[] {
    const drop = async () => {
      const proxy = this.#cluster.proxy;
      const dropped = proxy.drop(event.connections);
      this.counts.dropEvents++;
      this.#log(
        `t=${this.#clock.stamp()}s  drop ${dropped} of ${proxy.openConnections() + dropped} open connections`,
      );
    };
    return [{ atMs: event.atMs, order: index * 2, run: drop }];
  }

  /** The replicas a fault hits now ('primary': the current one, unless it is already hit). */
  async #resolveTargets(targets: readonly ReplicaTarget[]): Promise<{ ids: number[]; label: string }> {
    const now = performance.now();
    for (const [id, untilMs] of this.#occupied) if (untilMs <= now) this.#occupied.delete(id);
    const statuses = await this.#cluster.runningStatuses();
    const primary = statuses.filter((s) => s !== undefined).sort((a, b) => b.view - a.view)[0]?.primary;
    const ids: number[] = [];
    for (const target of targets) {
      if (target !== 'primary') {
        ids.push(target);
        continue;
      }
      const free = this.#cluster.file.replicas
        .map((r) => r.id)
        .filter((r) => !this.#occupied.has(r) && !ids.includes(r) && !targets.includes(r));
      ids.push(primary !== undefined && free.includes(primary) ? primary : this.#random.pick(free));
    }
    if (primary !== undefined && ids.includes(primary)) this.counts.primaryTargeted++;
    const label = ids.map((id) => `replica ${id}${id === primary ? ' (the primary)' : ''}`).join(' + ');
    return { ids, label };
  }

  #occupy(ids: readonly number[], untilMs: number): void {
    for (const id of ids) this.#occupied.set(id, untilMs + SCHEDULE_DEFAULTS.recoveryMs);
  }
}
