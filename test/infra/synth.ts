import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { readCdkContext } from '../../infra/config.js';
import { addIngestionStack } from '../../infra/ingestion-app.js';
import type { IngestionStack } from '../../infra/stack.js';

/** One synthesized variant of the app: the stack and its template. */
export interface Synthesized {
  readonly app: App;
  readonly stack: IngestionStack;
  readonly template: Template;
}

/**
 * Synthesizes the app exactly as `cdk synth` does (cdk.json context, feature
 * flags, cdk-nag plugin), with `overrides` applied like `-c name=value`.
 * `bundle: false` skips esbuild for tests that only look at other resources.
 */
export function synthesize(
  overrides: Readonly<Record<string, unknown>> = {},
  options: { readonly bundle?: boolean } = {},
): Synthesized {
  const context: Record<string, unknown> = { ...readCdkContext(undefined, overrides) };
  if (options.bundle === false) context['aws:cdk:bundling-stacks'] = [];
  const outdir = mkdtempSync(join(tmpdir(), 'cdk-test-'));
  try {
    const app = new App({ context, outdir });
    const stack = addIngestionStack(app);
    return { app, stack, template: Template.fromStack(stack) };
  } catch (error) {
    rmSync(outdir, { recursive: true, force: true });
    throw error;
  }
}

/** Removes the synthesized cloud assembly (bundles included) from the temp directory. */
export function dispose(synthesized: Synthesized | undefined): void {
  if (synthesized !== undefined) rmSync(synthesized.app.outdir, { recursive: true, force: true });
}

/** A CloudFormation resource as the template holds it. */
export interface CfnResourceJson {
  readonly Type: string;
  readonly Properties: Record<string, unknown>;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
}

/** The one resource of `type` whose logical id starts with `prefix`. */
export function resourceByPrefix(
  template: Template,
  type: string,
  prefix: string,
): [string, CfnResourceJson] {
  const matches = Object.entries(
    template.findResources(type) as Record<string, CfnResourceJson>,
  ).filter(([id]) => id.startsWith(prefix));
  if (matches.length !== 1) {
    throw new Error(`expected one ${type} starting with ${prefix}, found ${matches.length}`);
  }
  const [logicalId, resource] = matches[0] as [string, CfnResourceJson];
  return [logicalId, { ...resource, Properties: resource.Properties ?? {} }];
}

/** A flattened IAM statement: sorted actions and resources, rendered as JSON text. */
export interface FlatStatement {
  readonly actions: readonly string[];
  readonly resources: readonly string[];
}

/** Every Allow statement of the inline policies attached to a role. */
export function statementsOfRole(template: Template, roleLogicalId: string): FlatStatement[] {
  const policies = Object.values(
    template.findResources('AWS::IAM::Policy') as Record<string, CfnResourceJson>,
  ).filter((policy) =>
    (policy.Properties.Roles as unknown[] | undefined)?.some(
      (role) => JSON.stringify(role) === JSON.stringify({ Ref: roleLogicalId }),
    ),
  );
  const list = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);
  return policies.flatMap((policy) => {
    const document = policy.Properties.PolicyDocument as {
      Statement: { Effect: string; Action: string | string[]; Resource: unknown }[];
    };
    return document.Statement.filter((statement) => statement.Effect === 'Allow').map(
      (statement) => ({
        actions: list(statement.Action).sort(),
        resources: list(statement.Resource)
          .map((resource) => (typeof resource === 'string' ? resource : JSON.stringify(resource)))
          .sort(),
      }),
    );
  });
}
