import { describe, it } from 'vitest';
import { sweep } from './sweep.ts';

describe('suite liveness', () => {
  it('seeds 1..25 (each shape five times) pass every checker and keep the liveness bounds', () => {
    sweep('liveness', 1, 25);
  });
});
