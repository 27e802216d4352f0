import { readFileSync } from 'node:fs';

/** The one workflow definition, read from disk exactly as CDK and the local stack read it. */
export const ASL_PATH = new URL('../../statemachines/ingest-file.asl.json', import.meta.url);

/** The raw definition text, placeholders included. */
export function readDefinitionText(): string {
  return readFileSync(ASL_PATH, 'utf8');
}

/** Substitution values shaped like the ones CDK passes on AWS. */
export const SAMPLE_SUBSTITUTIONS: Readonly<Record<string, string>> = {
  PlanFileFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:plan-file',
  LoadChunkFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:load-chunk',
  FailureRecordFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:failure-record',
  DeadLetterQueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/ingest-dlq',
  MapMaxConcurrency: '4',
};

/** Applies `${Name}` substitutions the way Step Functions does, failing on any left over. */
export function substitute(text: string, values: Readonly<Record<string, string>>): string {
  const result = text.replace(/\$\{(\w+)\}/g, (placeholder, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`no substitution for ${placeholder}`);
    return value;
  });
  return result;
}

/** The placeholder names a definition text uses. */
export function placeholders(text: string): string[] {
  return [...new Set([...text.matchAll(/\$\{(\w+)\}/g)].map((match) => match[1] ?? ''))].sort();
}

/** The definition with substitutions applied, parsed. */
export function loadDefinition(
  values: Readonly<Record<string, string>> = SAMPLE_SUBSTITUTIONS,
): Record<string, unknown> {
  return JSON.parse(substitute(readDefinitionText(), values)) as Record<string, unknown>;
}
