import { describe, it } from 'vitest';
import { sweep } from './sweep.ts';

describe('suite n7', () => {
  it('seeds 1..36 pass every checker', () => {
    sweep('n7', 1, 36);
  });
});
