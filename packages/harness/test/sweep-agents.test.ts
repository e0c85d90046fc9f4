import { describe, it } from 'vitest';
import { sweep } from './sweep.ts';

describe('suite agents', () => {
  it('seeds 1..100 pass every checker', () => {
    sweep('agents', 1, 100);
  });
});
