import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_LOADER_SETTINGS } from '../../handlers/load-chunk/client.js';
import type { LoadChunkConfig, LoadChunkDeps } from '../../handlers/load-chunk/load.js';
import { planConfigFor } from '../../handlers/plan-file/config.js';
import type { PlanConfig } from '../../handlers/plan-file/plan.js';
import type { AppConfig } from '../../infra/config.js';
import { offlineHandlerEnv } from './handler-env.js';

/**
 * The planner's configuration exactly as the deployed handler reads it: the CDK app's
 * environment for plan-file is applied, then handlers/plan-file/index.ts is imported
 * and its `config` used, with the schema of the first dataset. Call it only in a bench
 * child (it changes process.env).
 */
export async function deployedPlanConfig(config: AppConfig): Promise<PlanConfig> {
  Object.assign(process.env, offlineHandlerEnv('plan-file', config));
  const module = await import('../../handlers/plan-file/index.js');
  return planConfigFor(module.config, config.dataset);
}

/** The loader's configuration as its handler builds it from the CDK app's settings. */
export function deployedLoadConfig(config: AppConfig, tableName: string): LoadChunkConfig {
  return {
    schema: config.dataset,
    tableName,
    controlTableName: `${tableName}-control`,
    lease: {
      pollMs: DEFAULT_LOADER_SETTINGS.leasePollMs,
      clockSkewMs: DEFAULT_LOADER_SETTINGS.leaseClockSkewMs,
    },
    writeConcurrency: config.writeConcurrency,
    maxRecordBytes: config.maxRecordBytes,
    retry: {
      baseDelayMs: DEFAULT_LOADER_SETTINGS.baseDelayMs,
      maxDelayMs: DEFAULT_LOADER_SETTINGS.maxDelayMs,
      safetyMarginMs: DEFAULT_LOADER_SETTINGS.safetyMarginMs,
    },
  };
}

/** A clock with all the time in the world: the doubles never throttle, so it never waits. */
export const UNHURRIED_CLOCK: LoadChunkDeps['clock'] = {
  remainingTimeMs: () => 15 * 60 * 1000,
  sleep: (ms) => sleep(ms),
  random: Math.random,
};
