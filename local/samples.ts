import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { AppConfig } from '../infra/config.js';

/** One sample file to upload: where it is under sample-files/ and the object key it gets. */
export interface SampleUpload {
  /** Path relative to the samples directory (`books.csv`, `authors/authors.csv`). */
  readonly file: string;
  /** The object key: under its dataset's prefix when there are several datasets. */
  readonly key: string;
}

/**
 * The sample files of every configured dataset, with the keys that route each to its
 * dataset: `sample-files/*.csv` are the first dataset's (books), `sample-files/<dataset>/*.csv`
 * each other dataset's. With one dataset the root files keep their unprefixed keys, as
 * before datasets; with several every key starts with its dataset's name.
 */
export async function sampleUploads(
  config: Pick<AppConfig, 'datasets'>,
  samplesDir: string,
): Promise<SampleUpload[]> {
  const csvFiles = async (dir: string) => {
    try {
      return (await readdir(dir)).filter((file) => file.endsWith('.csv')).sort();
    } catch {
      return [];
    }
  };
  const several = config.datasets.length > 1;
  const uploads: SampleUpload[] = [];
  for (const [index, { name }] of config.datasets.entries()) {
    if (index === 0) {
      for (const file of await csvFiles(samplesDir)) {
        uploads.push({ file, key: several ? `${name}/${file}` : file });
      }
    }
    if (index > 0 || several) {
      for (const file of await csvFiles(join(samplesDir, name))) {
        uploads.push({ file: `${name}/${file}`, key: `${name}/${file}` });
      }
    }
  }
  return uploads;
}
