import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { parseAppConfig } from './config.js';
import { IngestionStack } from './stack.js';

/** The stack's construct id (and CloudFormation stack name) for a stage. */
export function stackName(stage: string): string {
  return `CsvIngestion-${stage}`;
}

/**
 * Validates the app's context, adds the ingestion stack and the cdk-nag
 * AwsSolutions checks (synth fails on any unacknowledged finding).
 * Throws one ConfigurationError listing every configuration problem.
 */
export function addIngestionStack(app: App): IngestionStack {
  const config = parseAppConfig(app.node.getAllContext() as Record<string, unknown>);
  const stack = new IngestionStack(app, stackName(config.stage), {
    config,
    description: `CSV ingestion (${config.dataset.name}, ${config.stage}): S3 to Step Functions to DynamoDB, with an OAuth-protected read API`,
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return stack;
}
