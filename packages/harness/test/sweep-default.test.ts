import { describe, it } from 'vitest';
import { sweep } from './sweep.ts';

describe('suite default', () => {
  it('seeds 1..160 pass every checker', () => {
    sweep('default', 1, 160);
  });
});
