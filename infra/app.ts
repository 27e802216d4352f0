import { App } from 'aws-cdk-lib';
import { ConfigurationError } from '../handlers/shared/errors.js';
import { addIngestionStack } from './ingestion-app.js';

// Env-agnostic on purpose: no account or region and no lookups, so synth runs offline.
const app = new App();
try {
  addIngestionStack(app);
  app.synth();
} catch (error) {
  if (!(error instanceof ConfigurationError)) throw error;
  // One readable list of every problem, not a stack trace.
  console.error(error.message);
  process.exitCode = 1;
}
