import { readFileSync } from 'node:fs';

/** The sample datasets, books and authors (sample-files/datasets.json). */
export const TWO_DATASETS = JSON.parse(
  readFileSync(new URL('../../sample-files/datasets.json', import.meta.url), 'utf8'),
) as readonly Record<string, unknown>[];

/**
 * Every deployment shape the stack supports, as the cdk.json context overrides
 * (`-c name=value`) that select it. The infra tests assert each one, and CI runs
 * cfn-lint over the template of each (test/infra/cfn-lint.ts).
 */

/** An external IdP (Auth0) with a JWKS URI, so the ALB can verify its tokens too. */
export const EXTERNAL_AUTH = {
  issuer: 'https://example.eu.auth0.com/',
  audience: 'https://books.example.com',
  jwksUri: 'https://example.eu.auth0.com/.well-known/jwks.json',
  scope: 'read:books',
  // Auth0 without the RFC 9068 profile stamps "typ: JWT" on access tokens.
  acceptedTokenTypes: ['at+jwt', 'JWT'],
};

export const PROD_CERTIFICATE_ARN =
  'arn:aws:acm:eu-west-1:123456789012:certificate/0d5f4a9e-1111-2222-3333-444455556666';

/** A production stage: retained data, a certificate from context, a narrow CIDR, the API in a VPC. */
export const PROD = {
  stage: 'prod',
  certificateArn: PROD_CERTIFICATE_ARN,
  allowedCidr: '203.0.113.0/24',
  alarmEmail: 'ops@example.com',
  maxWriteThroughput: 2000,
  apiInVpc: true,
};

export const VARIANTS = {
  default: {},
  'alb-jwt-cognito': { albJwtVerification: true },
  'external-idp': { auth: EXTERNAL_AUTH },
  'external-idp-alb-jwt': { auth: EXTERNAL_AUTH, albJwtVerification: true },
  'prod-vpc': PROD,
  'prod-vpc-alb-jwt': { ...PROD, albJwtVerification: true },
  // Two datasets, the second with its own write cap, and the ALB checking each one's scope.
  'two-datasets-alb-jwt': {
    dataset: undefined,
    datasets: [TWO_DATASETS[0], { ...TWO_DATASETS[1], maxWriteThroughput: 300 }],
    maxWriteThroughput: 1000,
    albJwtVerification: true,
  },
} as const satisfies Record<string, Readonly<Record<string, unknown>>>;

export type VariantName = keyof typeof VARIANTS;
