import type { CfnResource } from 'aws-cdk-lib';

/** The resource metadata key where each cfn-lint rule this file skips states why. */
export const CFN_LINT_REASONS_KEY = 'cfn-lint-reasons';

interface CfnLintMetadata {
  config: { ignore_checks: string[] };
}

/**
 * Makes cfn-lint skip `rule` on this one resource (its `Metadata.cfn-lint` config) and
 * records `reason` beside it, so every exception in the template says why it is there.
 */
export function ignoreCfnLintRule(resource: CfnResource, rule: string, reason: string): void {
  const lint = (resource.getMetadata('cfn-lint') as CfnLintMetadata | undefined) ?? {
    config: { ignore_checks: [] },
  };
  if (!lint.config.ignore_checks.includes(rule)) lint.config.ignore_checks.push(rule);
  resource.addMetadata('cfn-lint', lint);
  const reasons = (resource.getMetadata(CFN_LINT_REASONS_KEY) as Record<string, string>) ?? {};
  resource.addMetadata(CFN_LINT_REASONS_KEY, { ...reasons, [rule]: reason });
}
