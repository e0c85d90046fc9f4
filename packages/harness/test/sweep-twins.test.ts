import { describe, it } from 'vitest';
import { sweep } from './sweep.ts';

describe('suite twins', () => {
  it('seeds 1..200 pass every checker', () => {
    sweep('twins', 1, 200);
  });
});
