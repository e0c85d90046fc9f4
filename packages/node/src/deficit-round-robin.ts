/**
 * Deficit round robin (Shreedhar and Varghese, 1995) over keyed queues: each visit gives a
 * non-empty queue `quantum` of credit and takes items from its head while their cost fits. With
 * cost = bytes plus a fixed per-item charge, a peer sending big frames and one sending many
 * small ones get the same share of the step loop, and a peer with one frame waiting is served
 * in the first pass after it arrives, however long the others' queues are.
 */

export type PushRefusal = 'QUEUE_FULL' | 'TOTAL_FULL';

interface Lane<T> {
  readonly items: { readonly item: T; readonly cost: number }[];
  deficit: number;
}

export class DeficitRoundRobin<T> {
  readonly #lanes = new Map<string, Lane<T>>();
  /** Keys with items waiting, in service order; the head is visited next. */
  #active: string[] = [];
  #size = 0;

  constructor(
    readonly quantum: number,
    readonly perKeyMax: number,
    readonly totalMax: number,
  ) {}

  get size(): number {
    return this.#size;
  }

  /** Keys with items waiting. */
  get activeKeys(): number {
    return this.#active.length;
  }

  waiting(key: string): number {
    return this.#lanes.get(key)?.items.length ?? 0;
  }

  /** Whether `push(key, …)` would be refused, and why (so callers check before costly work). */
  refusal(key: string): PushRefusal | undefined {
    if (this.waiting(key) >= this.perKeyMax) return 'QUEUE_FULL';
    if (this.#size >= this.totalMax) return 'TOTAL_FULL';
    return undefined;
  }

  push(key: string, item: T, cost: number): PushRefusal | undefined {
    const refused = this.refusal(key);
    if (refused !== undefined) return refused;
    let lane = this.#lanes.get(key);
    if (lane === undefined) {
      lane = { items: [], deficit: 0 };
      this.#lanes.set(key, lane);
    }
    if (lane.items.length === 0) this.#active.push(key);
    lane.items.push({ item, cost });
    this.#size++;
    return undefined;
  }

  /**
   * Up to `itemsMax` items, fairly: passes over the waiting keys until the budget is spent or the
   * queues are empty. Passes that would serve nothing are skipped in one step, so every other
   * pass serves at least one item: the work is bounded by the items taken, not by their cost.
   */
  take(itemsMax: number): T[] {
    const taken: T[] = [];
    const passesMax = 2 * itemsMax + 1;
    for (let pass = 0; pass < passesMax && taken.length < itemsMax && this.#active.length > 0; pass++) {
      const before = taken.length;
      const visiting = this.#active;
      this.#active = [];
      for (let i = 0; i < visiting.length; i++) {
        const key = visiting[i] as string;
        if (taken.length >= itemsMax) {
          this.#active = [...visiting.slice(i), ...this.#active]; // not visited: first in line next time
          break;
        }
        this.#visit(key, itemsMax, taken);
      }
      if (taken.length === before) this.#skipEmptyPasses();
    }
    return taken;
  }

  /**
   * After a pass that served nothing (every head costs more than its credit), gives every waiting
   * key the credit of the empty passes that would come before one of them can be served: the
   * same outcome as running them, in one step, so a big frame does not wait for many rounds.
   */
  #skipEmptyPasses(): void {
    let passes = Number.POSITIVE_INFINITY;
    for (const key of this.#active) {
      const lane = this.#lanes.get(key) as Lane<T>;
      const head = (lane.items[0] as { cost: number }).cost;
      passes = Math.min(passes, Math.ceil((head - lane.deficit) / this.quantum) - 1);
    }
    if (!(passes > 0) || !Number.isFinite(passes)) return;
    for (const key of this.#active) (this.#lanes.get(key) as Lane<T>).deficit += passes * this.quantum;
  }

  #visit(key: string, itemsMax: number, taken: T[]): void {
    const lane = this.#lanes.get(key) as Lane<T>;
    lane.deficit += this.quantum;
    let served = 0;
    while (served < lane.items.length && taken.length < itemsMax) {
      const head = lane.items[served] as { item: T; cost: number };
      if (head.cost > lane.deficit) break;
      lane.deficit -= head.cost;
      taken.push(head.item);
      served++;
    }
    lane.items.splice(0, served);
    this.#size -= served;
    if (lane.items.length > 0) {
      this.#active.push(key);
      return;
    }
    // An idle key keeps no credit (DRR), and no memory.
    this.#lanes.delete(key);
  }

  /** Everything waiting, in no fair order (for shutdown). */
  clear(): void {
    this.#lanes.clear();
    this.#active = [];
    this.#size = 0;
  }
}
