import { describe, it } from 'vitest';
import { sweep } from './sweep.ts';

describe('suite crash-restart', () => {
  it('seeds 1..110 pass every checker', () => {
    sweep('crash-restart', 1, 110);
  });
});
