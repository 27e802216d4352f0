import { readFile } from 'node:fs/promises';
import type { Endpoints } from '../endpoints.js';
import { UsageError } from './args.js';

/**
 * The dataset `--dataset` names, or the only one when it is not given; a UsageError
 * listing the datasets when it names none, or is missing while there are several.
 * Serves the stack's endpoints and cdk.json's schemas alike.
 */
export function datasetNamed<D extends { readonly name: string } = Endpoints['datasets'][number]>(
  e: { readonly datasets: readonly D[] },
  name: string | boolean | undefined,
): D {
  const names = e.datasets.map((dataset) => dataset.name).join(', ');
  if (name === undefined && e.datasets.length === 1 && e.datasets[0] !== undefined) {
    return e.datasets[0];
  }
  if (typeof name !== 'string') {
    throw new UsageError(`the stack has several datasets: say which with --dataset (${names})`);
  }
  const found = e.datasets.find((dataset) => dataset.name === name);
  if (found === undefined) throw new UsageError(`--dataset ${name}: no such dataset (${names})`);
  return found;
}

/**
 * The key prefix of an upload: `<dataset>/` then `--prefix`. Without --dataset, with
 * several datasets, --prefix must start with one (else the file would not load).
 */
export function uploadPrefix(
  e: Pick<Endpoints, 'datasets'>,
  dataset: string | boolean | undefined,
  prefix: string,
): string {
  if (dataset !== undefined) return `${datasetNamed(e, dataset).name}/${prefix}`;
  const routed = e.datasets.some(({ name }) => prefix.startsWith(`${name}/`));
  if (e.datasets.length > 1 && !routed) {
    const names = e.datasets.map(({ name }) => name).join(', ');
    throw new UsageError(
      `the stack has several datasets: say which with --dataset (${names}), or give a --prefix that starts with one`,
    );
  }
  return prefix;
}

/**
 * `--datasets <file>` (of `npm start` and `generate`): the cdk.json context override
 * that replaces its datasets with the list in `file`.
 */
export async function datasetsContext(file: string): Promise<Record<string, unknown>> {
  let datasets: unknown;
  try {
    datasets = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new UsageError(
      `--datasets ${file}: cannot read it as JSON (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  return { dataset: undefined, datasets };
}
