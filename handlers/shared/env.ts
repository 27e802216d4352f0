import { ConfigurationError } from './errors.js';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Builds a typed configuration from the environment and throws one
 * ConfigurationError listing every problem. Call it once, at module load.
 */
export function readConfig<T>(env: Env, build: (reader: EnvReader) => T): T {
  const reader = new EnvReader(env);
  const config = build(reader);
  reader.assertValid();
  return config;
}

/**
 * Reads configuration from the environment once, collecting every problem so a
 * broken deployment fails at cold start with one message that lists them all.
 *
 * ```ts
 * const config = readConfig(process.env, (env) => ({
 *   table: env.string('TABLE_NAME'),
 *   limit: env.integer('LIMIT', { default: 10, min: 1 }),
 * })); // throws ConfigurationError naming every bad variable
 * ```
 */
export class EnvReader {
  private readonly problems: string[] = [];

  constructor(private readonly env: Env) {}

  /** A required (or defaulted) non-empty string. */
  string(name: string, options: { default?: string } = {}): string {
    const raw = this.env[name];
    if (raw === undefined || raw.trim() === '') {
      if (options.default !== undefined) return options.default;
      this.problems.push(`${name} is required`);
      return '';
    }
    return raw.trim();
  }

  /** An optional string: `undefined` when unset or empty. */
  optionalString(name: string): string | undefined {
    const raw = this.env[name]?.trim();
    return raw === undefined || raw === '' ? undefined : raw;
  }

  /** An integer within `[min, max]`. */
  integer(name: string, options: { default?: number; min?: number; max?: number } = {}): number {
    const raw = this.env[name]?.trim();
    if (raw === undefined || raw === '') {
      if (options.default !== undefined) return options.default;
      this.problems.push(`${name} is required`);
      return 0;
    }
    const value = Number(raw);
    const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = options;
    if (!/^-?\d+$/.test(raw) || value < min || value > max) {
      this.problems.push(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
      return options.default ?? 0;
    }
    return value;
  }

  /** One of a fixed set of values. */
  oneOf<T extends string>(name: string, allowed: readonly T[], options: { default?: T } = {}): T {
    const raw = this.string(
      name,
      options.default === undefined ? {} : { default: options.default },
    );
    if (raw !== '' && !allowed.includes(raw as T)) {
      this.problems.push(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
    }
    return raw as T;
  }

  /** A comma-separated list (items trimmed, empties dropped). */
  list(name: string, options: { default?: readonly string[] } = {}): string[] {
    const raw = this.env[name]?.trim();
    if (raw === undefined || raw === '') {
      if (options.default !== undefined) return [...options.default];
      this.problems.push(`${name} is required`);
      return [];
    }
    return raw
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item !== '');
  }

  /** A JSON value passed through `parse`, whose thrown message becomes the problem. */
  json<T>(name: string, parse: (value: unknown) => T): T {
    const raw = this.env[name];
    if (raw === undefined || raw.trim() === '') {
      this.problems.push(`${name} is required`);
      return undefined as T; // never observed: readConfig throws first
    }
    try {
      return parse(JSON.parse(raw));
    } catch (error) {
      const message =
        error instanceof ConfigurationError
          ? error.problems.join('; ')
          : error instanceof Error
            ? error.message
            : String(error);
      this.problems.push(`${name}: ${message}`);
      return undefined as T; // never observed: readConfig throws first
    }
  }

  /** Record a problem found by cross-field checks. */
  problem(message: string): void {
    this.problems.push(message);
  }

  /** Throws one ConfigurationError listing every problem found so far. */
  assertValid(): void {
    if (this.problems.length > 0) {
      throw new ConfigurationError('environment', this.problems);
    }
  }
}
