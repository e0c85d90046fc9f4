import { describe, it } from 'vitest';
import { sweep } from './sweep.ts';

describe('suite twins', () => {
  it('seeds 201..400 pass every checker', () => {
    sweep('twins', 201, 200);
  });
});
