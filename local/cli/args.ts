/** Parsed command-line flags: `--name value`, `--name=value`, `--flag`, `--no-flag`. */
export interface ParsedArgs {
  readonly positional: string[];
  readonly flags: Map<string, string | boolean>;
}

/** A command-line usage error (exit code 2). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Parses argv; `valued` lists the flags that take a value. */
export function parseArgs(argv: readonly string[], valued: readonly string[]): ParsedArgs {
  const positional: string[] = [];
  const flags = new Map<string, string | boolean>();
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (valued.includes(name)) {
      const value = eq < 0 ? argv[++i] : arg.slice(eq + 1);
      if (value === undefined || value === '') throw new UsageError(`--${name} needs a value`);
      flags.set(name, value);
    } else if (name.startsWith('no-')) {
      flags.set(name.slice(3), false);
    } else {
      flags.set(name, true);
    }
  }
  return { positional, flags };
}

/** A port from a flag or environment variable; undefined when neither is set. */
export function portOption(
  args: ParsedArgs,
  flag: string,
  envName: string,
  env: Readonly<Record<string, string | undefined>>,
): number | undefined {
  const raw = args.flags.get(flag) ?? env[envName];
  if (raw === undefined || raw === true || raw === false) return undefined;
  const text = String(raw);
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) {
    throw new UsageError(
      `--${flag} (${envName}) must be a port number from 0 to 65535, got "${text}"`,
    );
  }
  return port;
}
