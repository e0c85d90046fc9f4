/**
 * A small seeded pseudo-random generator: sfc32, seeded through splitmix32 from one 32-bit seed.
 *
 * Every random choice in the harness comes from one of these, so a seed replays a run exactly.
 * `fork(label)` derives an independent stream from the generator's seed and a label without
 * consuming from the parent: adding draws to one stream (say, the network's) never shifts another
 * (say, the choice of Byzantine strategies), which keeps old failing seeds meaningful.
 */

/** Rounds discarded after seeding so that nearby seeds do not give correlated first outputs. */
const WARMUP_ROUNDS = 12;

function splitmix32(state: number): { state: number; value: number } {
  const next = (state + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z ^= z >>> 16;
  return { state: next, value: z >>> 0 };
}

/** FNV-1a over the UTF-16 code units of a label: stable across runs and platforms. */
function hashLabel(label: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) {
    hash ^= label.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

export class Prng {
  /** The 32-bit seed this stream was built from; forks derive theirs from it. */
  readonly seed: number;
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number) {
    if (!Number.isInteger(seed)) throw new TypeError(`Prng: seed must be an integer, got ${seed}`);
    this.seed = seed >>> 0;
    let state = this.seed;
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      const out = splitmix32(state);
      state = out.state;
      words.push(out.value);
    }
    [this.#a, this.#b, this.#c, this.#d] = words as [number, number, number, number];
    for (let i = 0; i < WARMUP_ROUNDS; i++) this.nextUint32();
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** A uniform float in [0, 1). */
  next(): number {
    return this.nextUint32() / 0x1_0000_0000;
  }

  /** A uniform integer in [0, max). `max` must be a positive integer. */
  int(max: number): number {
    if (!Number.isSafeInteger(max) || max <= 0)
      throw new RangeError(`Prng.int: max must be a positive integer, got ${max}`);
    return Math.floor(this.next() * max);
  }

  /** A uniform integer in [min, max], both inclusive. */
  range(min: number, max: number): number {
    if (max < min) throw new RangeError(`Prng.range: empty range [${min}, ${max}]`);
    return min + this.int(max - min + 1);
  }

  /** True with probability p (p outside [0, 1] is clamped by the comparison). */
  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('Prng.pick: empty array');
    return items[this.int(items.length)] as T;
  }

  /** A shuffled copy (Fisher–Yates); the input is left alone. */
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [out[i], out[j]] = [out[j] as T, out[i] as T];
    }
    return out;
  }

  /** `count` distinct items chosen uniformly. */
  sample<T>(items: readonly T[], count: number): T[] {
    return this.shuffle(items).slice(0, Math.max(0, Math.min(count, items.length)));
  }

  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i += 4) {
      const word = this.nextUint32();
      for (let k = 0; k < 4 && i + k < length; k++) out[i + k] = (word >>> (8 * k)) & 0xff;
    }
    return out;
  }

  /** An independent stream named by `label`; the same label on the same seed gives the same stream. */
  fork(label: string): Prng {
    return new Prng(
      splitmix32((this.seed ^ hashLabel(label)) >>> 0).value ^ hashLabel(`${label}#${this.seed}`),
    );
  }
}

export function prng(seed: number): Prng {
  return new Prng(seed);
}
