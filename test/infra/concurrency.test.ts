import {
  type ConcurrencySettings,
  LAMBDA_MIN_UNRESERVED_CONCURRENCY,
  planConcurrency,
} from '../../infra/concurrency.js';
import { DEFAULTS } from '../../infra/config.js';

const defaults: ConcurrencySettings = {
  accountConcurrencyLimit: DEFAULTS.accountConcurrencyLimit,
  apiReservedConcurrency: DEFAULTS.apiReservedConcurrency,
  loaderReservedConcurrency: DEFAULTS.loaderReservedConcurrency,
  mapMaxConcurrency: DEFAULTS.mapMaxConcurrency,
  starterMaxConcurrency: DEFAULTS.starterMaxConcurrency,
};
const ids = (settings: Partial<ConcurrencySettings>) =>
  planConcurrency({ ...defaults, ...settings }).warnings.map((warning) => warning.id);

describe('planConcurrency', () => {
  it('reserves the API and caps the loader in an account of the default quota, silently', () => {
    expect(planConcurrency(defaults)).toEqual({
      apiReserved: 20,
      loaderReserved: 40,
      unreserved: 940,
      unreservedDemand: 6,
      warnings: [],
    });
  });

  it('reserves nothing in a new account (quota 10) and says what to do', () => {
    const plan = planConcurrency({ ...defaults, accountConcurrencyLimit: 10 });

    expect(plan.apiReserved).toBeUndefined();
    expect(plan.loaderReserved).toBeUndefined();
    expect(plan.warnings.map((warning) => warning.id)).toEqual([
      'csv-ingestion:apiReservedConcurrencyNotReserved',
      'csv-ingestion:loaderReservedConcurrencyNotReserved',
      'csv-ingestion:accountConcurrencyExceeded',
    ]);
    // 5 starters + 1 planner + 10 loads + 1 API request, in an account of 10.
    expect(plan.unreservedDemand).toBe(17);
    for (const warning of plan.warnings) {
      expect(warning.message).toContain('accountConcurrencyLimit 10');
      expect(warning.message).toContain('docs/deploy.md');
    }
  });

  it('keeps 100 unreserved: a quota of 160 holds both reservations, 159 only the API', () => {
    const room = LAMBDA_MIN_UNRESERVED_CONCURRENCY + 20 + 40;
    expect(planConcurrency({ ...defaults, accountConcurrencyLimit: room })).toMatchObject({
      apiReserved: 20,
      loaderReserved: 40,
      warnings: [],
    });

    const tight = planConcurrency({ ...defaults, accountConcurrencyLimit: room - 1 });
    expect(tight).toMatchObject({ apiReserved: 20 });
    expect(tight.loaderReserved).toBeUndefined();
    expect(tight.warnings[0]?.message).toBe(
      'loaderReservedConcurrency 40 is not reserved: accountConcurrencyLimit 159 leaves 39 to reserve (Lambda keeps 100 unreserved), so loads are not capped across files (each file runs up to mapMaxConcurrency of them); request a higher "Concurrent executions" Lambda quota (Service Quotas) and set accountConcurrencyLimit to it; see docs/deploy.md, pre-flight checklist',
    );
  });

  it.each<[string, Partial<ConcurrencySettings>, string[]]>([
    ['0 turns a reservation off', { apiReservedConcurrency: 0, loaderReservedConcurrency: 0 }, []],
    [
      'a loader cap below one Map throttles a single file',
      { loaderReservedConcurrency: 8, mapMaxConcurrency: 10 },
      ['csv-ingestion:loaderBelowMapConcurrency'],
    ],
    [
      'starters beyond the unreserved pool',
      { accountConcurrencyLimit: 300, starterMaxConcurrency: 300 },
      ['csv-ingestion:accountConcurrencyExceeded'],
    ],
  ])('%s', (_case, settings, expected) => {
    expect(ids(settings)).toEqual(expected);
  });
});
