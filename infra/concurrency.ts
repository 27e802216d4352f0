import type { AppConfig } from './config.js';

/**
 * Lambda keeps this much of an account's concurrency unreserved: a reservation that
 * would leave less fails to deploy.
 */
export const LAMBDA_MIN_UNRESERVED_CONCURRENCY = 100;

/** The settings the concurrency plan reads. */
export type ConcurrencySettings = Pick<
  AppConfig,
  | 'accountConcurrencyLimit'
  | 'apiReservedConcurrency'
  | 'loaderReservedConcurrency'
  | 'mapMaxConcurrency'
  | 'starterMaxConcurrency'
>;

/** One synth-time warning: a stable id (to acknowledge it) and what to do. */
export interface ConcurrencyWarning {
  readonly id: string;
  readonly message: string;
}

/** What the stack reserves, and what it warns about. */
export interface ConcurrencyPlan {
  /** Reserved concurrency of the API Lambda. @default none: the account's shared pool */
  readonly apiReserved?: number;
  /** Reserved concurrency of load-chunk (the cap across files). @default none */
  readonly loaderReserved?: number;
  /** Concurrency left to every unreserved function (starter, planner, ...). */
  readonly unreserved: number;
  /** Concurrent executions one file at full speed needs from the unreserved pool. */
  readonly unreservedDemand: number;
  readonly warnings: readonly ConcurrencyWarning[];
}

const ADVICE =
  'request a higher "Concurrent executions" Lambda quota (Service Quotas) and set accountConcurrencyLimit to it; see docs/deploy.md, pre-flight checklist';

/**
 * Decides the reserved concurrency of the API and the loader for an account whose
 * Lambda quota is `accountConcurrencyLimit`: the API first (so ingestion never starves
 * it), then the loader (so files together never take more than that cap), each only
 * when the account can hold it. Every setting that does not fit becomes a warning.
 */
export function planConcurrency(settings: ConcurrencySettings): ConcurrencyPlan {
  const limit = settings.accountConcurrencyLimit;
  const warnings: ConcurrencyWarning[] = [];
  let reservable = Math.max(0, limit - LAMBDA_MIN_UNRESERVED_CONCURRENCY);

  const reserve = (wanted: number, setting: string, without: string): number | undefined => {
    if (wanted === 0) return undefined;
    if (wanted <= reservable) {
      reservable -= wanted;
      return wanted;
    }
    warnings.push({
      id: `csv-ingestion:${setting}NotReserved`,
      message: `${setting} ${wanted} is not reserved: accountConcurrencyLimit ${limit} leaves ${reservable} to reserve (Lambda keeps ${LAMBDA_MIN_UNRESERVED_CONCURRENCY} unreserved), so ${without}; ${ADVICE}`,
    });
    return undefined;
  };
  const apiReserved = reserve(
    settings.apiReservedConcurrency,
    'apiReservedConcurrency',
    'the API shares the account pool with ingestion and can be throttled while files load',
  );
  const loaderReserved = reserve(
    settings.loaderReservedConcurrency,
    'loaderReservedConcurrency',
    'loads are not capped across files (each file runs up to mapMaxConcurrency of them)',
  );

  if (loaderReserved !== undefined && loaderReserved < settings.mapMaxConcurrency) {
    warnings.push({
      id: 'csv-ingestion:loaderBelowMapConcurrency',
      message: `loaderReservedConcurrency ${loaderReserved} is below mapMaxConcurrency ${settings.mapMaxConcurrency}: one file's Map would throttle its own loads (each throttled load is retried, then fails the file); raise loaderReservedConcurrency or lower mapMaxConcurrency`,
    });
  }

  const unreserved = limit - (apiReserved ?? 0) - (loaderReserved ?? 0);
  // One file at full speed: every starter, its planner, its Map's loads unless they are
  // reserved, and at least one API request unless the API is reserved.
  const unreservedDemand =
    settings.starterMaxConcurrency +
    1 +
    (loaderReserved === undefined ? settings.mapMaxConcurrency : 0) +
    (apiReserved === undefined ? 1 : 0);
  if (unreservedDemand > unreserved) {
    warnings.push({
      id: 'csv-ingestion:accountConcurrencyExceeded',
      message: `one file at full speed needs ${unreservedDemand} concurrent Lambda executions outside reservations (starterMaxConcurrency ${settings.starterMaxConcurrency} + 1 plan-file${loaderReserved === undefined ? ` + mapMaxConcurrency ${settings.mapMaxConcurrency} load-chunk` : ''}${apiReserved === undefined ? ' + 1 api' : ''}), above the ${unreserved} that accountConcurrencyLimit ${limit} leaves: starters, planners and the API get throttled (throttled file events count toward maxReceiveCount); lower starterMaxConcurrency and mapMaxConcurrency, or ${ADVICE}`,
    });
  }

  return {
    ...(apiReserved === undefined ? {} : { apiReserved }),
    ...(loaderReserved === undefined ? {} : { loaderReserved }),
    unreserved,
    unreservedDemand,
    warnings,
  };
}
