/**
 * The load of a chaos run: every agent writes its own keys, one write at a time, for as long as
 * the chaos lasts; then one more write each, after the heal, for the liveness check. Every
 * attempt and acknowledgement goes into the ledger.
 */
import { performance } from 'node:perf_hooks';
import { decodeKvResult, encodeKvOperation } from '@conclave/core';
import type { ConclaveClient } from '@conclave/sdk';
import { CHAOS_LIMITS } from './chaos-options.ts';
import type { ChaosClock } from './clock.ts';
import { WriteLedger } from './ledger.ts';

export class ChaosLoad {
  readonly ledger = new WriteLedger();
  readonly #clock: ChaosClock;
  #writing = false;
  #writers: Promise<void>[] = [];

  constructor(clock: ChaosClock) {
    this.#clock = clock;
  }

  /** Starts one writer per client. */
  start(clients: readonly ConclaveClient[]): void {
    this.#writing = true;
    this.#writers = clients.map((client) => this.#write(client));
  }

  /** Asks the writers to stop after the write each has in flight. */
  stop(): void {
    this.#writing = false;
  }

  /** Resolves once every writer has stopped. */
  async finished(): Promise<void> {
    await Promise.all(this.#writers);
  }

  /**
   * One more write per client after the heal, their latencies counted from `finalStarted`;
   * resolves to why each failed (undefined: acknowledged).
   */
  finalWrites(clients: readonly ConclaveClient[], finalStarted: number): Promise<(string | undefined)[]> {
    return Promise.all(clients.map((client) => this.#finalWrite(client, finalStarted)));
  }

  async #write(client: ConclaveClient): Promise<void> {
    const ledger = this.ledger;
    for (let i = 0; this.#writing && i < CHAOS_LIMITS.writesPerAgentMax; i++) {
      const key = `${client.agent}/k${i % CHAOS_LIMITS.keysPerAgent}`;
      const value = `v${i}`;
      ledger.attempt(key, value);
      const sentAt = performance.now();
      try {
        const outcome = await client.request(encodeKvOperation({ op: 'put', key, value }));
        const result = decodeKvResult(outcome.result);
        if (!result.ok || result.value !== value) {
          if (ledger.wrongResults.length < 20)
            ledger.wrongResults.push(`${key} := ${value} was acknowledged as ${JSON.stringify(result)}`);
        }
        ledger.acknowledge(key, value, performance.now() - sentAt, this.#clock.elapsedMs());
      } catch (error) {
        // A write that timed out may still execute later: only acknowledged writes are promised.
        ledger.fail(error);
      }
    }
  }

  async #finalWrite(client: ConclaveClient, finalStarted: number): Promise<string | undefined> {
    const key = `${client.agent}/final`;
    this.ledger.attempt(key, 'final');
    try {
      const outcome = await client.request(encodeKvOperation({ op: 'put', key, value: 'final' }), {
        timeoutMs: CHAOS_LIMITS.finalWriteTimeoutMs,
      });
      const result = decodeKvResult(outcome.result);
      if (!result.ok || result.value !== 'final')
        return `${client.agent}: wrong result ${JSON.stringify(result)}`;
      this.ledger.acknowledge(key, 'final', performance.now() - finalStarted, this.#clock.elapsedMs());
      return undefined;
    } catch (error) {
      this.ledger.fail(error);
      return `${client.agent}: ${(error as Error).message}`;
    }
  }
}
