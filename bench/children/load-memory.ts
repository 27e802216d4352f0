/**
 * Bench child: loads every chunk of a planned file, one after the other in this one
 * process (as a warm Lambda container would serve them), with the real loadChunk over
 * an S3 double reading byte ranges from disk and a DynamoDB double that accepts every
 * batch. Reports the peak RSS: flat in file size when nothing accumulates across chunks.
 */
import { readFile } from 'node:fs/promises';
import { loadChunk } from '../../handlers/load-chunk/load.js';
import type { FilePlan } from '../../handlers/shared/contracts.js';
import { reportToParent } from '../lib/child.js';
import { acceptingDynamo, DOUBLE_UPLOAD, objectS3, type WriteCounter } from '../lib/doubles.js';
import { deployedLoadConfig, UNHURRIED_CLOCK } from '../lib/handler-configs.js';
import { appConfig } from '../lib/handler-env.js';
import { type MemoryUse, measureMemory } from '../lib/memory.js';

/** What the parent receives. */
export interface LoadMemoryResult extends MemoryUse {
  readonly chunks: number;
  readonly written: number;
}

await reportToParent(async (): Promise<LoadMemoryResult> => {
  const [path, planPath] = process.argv.slice(2);
  if (!path || !planPath) throw new Error('usage: load-memory.ts <file> <plan.json>');
  const plan = JSON.parse(await readFile(planPath, 'utf8')) as FilePlan;
  const config = deployedLoadConfig(appConfig(), 'bench');
  const s3 = objectS3({ kind: 'file', path, size: plan.object.size });
  const counter: WriteCounter = { calls: 0, items: 0 };
  const dynamo = acceptingDynamo(counter);
  const { use, result: written } = await measureMemory(async () => {
    let total = 0;
    for (const chunk of plan.chunks) {
      const input = { object: plan.object, header: plan.header, chunk, upload: DOUBLE_UPLOAD };
      const summary = await loadChunk(input, config, {
        s3,
        dynamo,
        clock: UNHURRIED_CLOCK,
      });
      total += summary.written;
    }
    return total;
  });
  if (written !== plan.totalRows - plan.duplicateRows || counter.items !== written) {
    throw new Error(`loaded ${written} items, expected ${plan.totalRows - plan.duplicateRows}`);
  }
  return { ...use, chunks: plan.chunks.length, written };
});
