/** A fresh `conclave init` directory whose cluster.json gets one block set (or left out: undefined). */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initCluster } from '../../src/cluster-file.ts';

/** Makes cluster directories with one block of cluster.json set; `removeAll` after each test. */
export function clusterDirs() {
  const dirs: string[] = [];
  return {
    with(block: string, value: unknown): string {
      const dir = mkdtempSync(join(tmpdir(), `conclave-${block}-`));
      dirs.push(dir);
      initCluster({ dir, replicas: 4, agents: 1 });
      const path = join(dir, 'cluster.json');
      const file = JSON.parse(readFileSync(path, 'utf8'));
      writeFileSync(path, JSON.stringify({ ...file, [block]: value }));
      return dir;
    },
    removeAll(): void {
      for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  };
}
