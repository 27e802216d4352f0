/**
 * Every named error of the system. The names are a contract: the Step Functions
 * workflow (`statemachines/ingest-file.asl.json`) retries and catches on
 * `error.name`, and the README's error catalogue documents each one.
 */

/** Base class: sets `name` from the subclass so `Retry`/`Catch` can match it. */
export abstract class NamedError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Configuration (environment or cdk.json context) is missing or invalid. Never retried. */
export class ConfigurationError extends NamedError {
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`Invalid ${source}:\n  - ${problems.join('\n  - ')}`);
  }
}
