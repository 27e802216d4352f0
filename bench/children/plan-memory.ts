/**
 * Bench child: plans one generated file from disk with the real planner (planFile over
 * an S3 double streaming the file in 64 KiB reads) and reports the process's peak RSS.
 * One file per process, so the figure is this file's and nothing else's.
 */
import { stat } from 'node:fs/promises';
import { planFile } from '../../handlers/plan-file/plan.js';
import type { FilePlan } from '../../handlers/shared/contracts.js';
import { reportToParent } from '../lib/child.js';
import { DOUBLE_ETAG, objectS3 } from '../lib/doubles.js';
import { deployedPlanConfig } from '../lib/handler-configs.js';
import { appConfig } from '../lib/handler-env.js';
import { type MemoryUse, measureMemory } from '../lib/memory.js';

/** What the parent receives. */
export interface PlanMemoryResult extends MemoryUse {
  readonly plan: FilePlan;
}

await reportToParent(async (): Promise<PlanMemoryResult> => {
  const [path] = process.argv.slice(2);
  if (!path) throw new Error('usage: plan-memory.ts <file>');
  const planConfig = await deployedPlanConfig(appConfig());
  const { size } = await stat(path);
  const { use, result: plan } = await measureMemory(() =>
    planFile(
      objectS3({ kind: 'file', path, size }),
      { bucket: 'bench', key: 'bench.csv', eTag: DOUBLE_ETAG, size },
      planConfig,
    ),
  );
  return { ...use, plan };
});
