import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigurationError } from '../../handlers/shared/errors.js';
import { PROJECT_ROOT } from '../../infra/handler-function.js';
import { dispose, resourceByPrefix, type Synthesized, synthesize } from './synth.js';

// Variants only change resources around the handlers, so these skip esbuild bundling.
const noBundling = { bundle: false } as const;

const externalAuth = {
  issuer: 'https://example.eu.auth0.com/',
  audience: 'https://books.example.com',
  jwksUri: 'https://example.eu.auth0.com/.well-known/jwks.json',
  scope: 'read:books',
  // Auth0 without the RFC 9068 profile stamps "typ: JWT" on access tokens.
  acceptedTokenTypes: ['at+jwt', 'JWT'],
};

const apiVariables = (template: Template) => {
  const [, api] = resourceByPrefix(template, 'AWS::Lambda::Function', 'ApiFunction');
  return (api.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
};

/** The HTTPS listener verifies a JWT from `issuer` (keys at `jwksEndpoint`), then forwards. */
const expectAlbJwtCheck = (template: Template, issuer: unknown, jwksEndpoint: unknown) =>
  template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
    Port: 443,
    DefaultActions: [
      Match.objectLike({
        Type: 'jwt-validation',
        Order: 1,
        JwtValidationConfig: Match.objectLike({ Issuer: issuer, JwksEndpoint: jwksEndpoint }),
      }),
      Match.objectLike({ Type: 'forward', Order: 2 }),
    ],
  });

const unacknowledged = (synthesized: Synthesized) =>
  new AwsSolutionsChecks()
    .validateScope(synthesized.app)
    .violations.map((violation) => violation.ruleName);

describe('external identity provider', () => {
  let synthesized: Synthesized;
  beforeAll(() => {
    synthesized = synthesize({ auth: externalAuth, albJwtVerification: true }, noBundling);
  }, 60_000);
  afterAll(() => dispose(synthesized));

  it('creates no Cognito resource', () => {
    const cognito = Object.values(
      synthesized.template.toJSON().Resources as Record<string, { Type: string }>,
    )
      .map((resource) => resource.Type)
      .filter((type) => type.startsWith('AWS::Cognito::'));

    expect(cognito).toEqual([]);
  });

  it('passes the external issuer, audience, JWKS and scope to the API', () => {
    expect(apiVariables(synthesized.template)).toMatchObject({
      AUTH_ISSUER: externalAuth.issuer,
      AUTH_AUDIENCE: externalAuth.audience,
      AUTH_AUDIENCE_CLAIM: 'aud',
      AUTH_JWKS_URI: externalAuth.jwksUri,
      AUTH_REQUIRED_SCOPE: externalAuth.scope,
      AUTH_ACCEPTED_TOKEN_TYPES: 'at+jwt,jwt',
    });
  });

  it('verifies JWTs on the ALB before forwarding, and lets the ALB fetch the JWKS', () => {
    expectAlbJwtCheck(synthesized.template, externalAuth.issuer, externalAuth.jwksUri);
    synthesized.template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      SecurityGroupEgress: [Match.objectLike({ CidrIp: '0.0.0.0/0', FromPort: 443, ToPort: 443 })],
    });
  });

  it('keeps /health reachable without a token when the ALB verifies JWTs', () => {
    synthesized.template.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Priority: 1,
      Conditions: [
        Match.objectLike({ Field: 'path-pattern', PathPatternConfig: { Values: ['/health'] } }),
      ],
      Actions: [Match.objectLike({ Type: 'forward' })],
    });
  });

  it('outputs no token URL, client id or secret command', () => {
    const outputs = Object.keys(synthesized.template.toJSON().Outputs as Record<string, unknown>);
    expect(outputs).not.toEqual(expect.arrayContaining(['TokenUrl']));
    expect(outputs).not.toContain('ClientId');
    expect(outputs).not.toContain('ClientSecretCommand');
    expect(outputs).toContain('Issuer');
  });

  it('stays cdk-nag clean', () => {
    expect(unacknowledged(synthesized)).toEqual([]);
  });
});

describe('ALB JWT verification with the default Cognito pool', () => {
  let synthesized: Synthesized;
  beforeAll(() => {
    synthesized = synthesize({ albJwtVerification: true }, noBundling);
  }, 60_000);
  afterAll(() => dispose(synthesized));

  it("verifies the pool's tokens on the ALB with the pool's issuer and JWKS before forwarding", () => {
    const [pool] = resourceByPrefix(
      synthesized.template,
      'AWS::Cognito::UserPool',
      'IdentityUserPool',
    );
    const issuer = { 'Fn::GetAtt': [pool, 'ProviderURL'] };
    expectAlbJwtCheck(synthesized.template, issuer, {
      'Fn::Join': ['', [issuer, '/.well-known/jwks.json']],
    });
    // The Lambda verifies the same issuer: the ALB check is in addition, never instead.
    expect(apiVariables(synthesized.template)).toMatchObject({ AUTH_ISSUER: issuer });
  });

  it('stays cdk-nag clean', () => {
    expect(unacknowledged(synthesized)).toEqual([]);
  });
});

describe('a production stage', () => {
  const certificateArn =
    'arn:aws:acm:eu-west-1:123456789012:certificate/0d5f4a9e-1111-2222-3333-444455556666';
  let synthesized: Synthesized;
  beforeAll(() => {
    synthesized = synthesize(
      {
        stage: 'prod',
        certificateArn,
        allowedCidr: '203.0.113.0/24',
        alarmEmail: 'ops@example.com',
        maxWriteThroughput: 2000,
        apiInVpc: true,
      },
      noBundling,
    );
  }, 60_000);
  afterAll(() => dispose(synthesized));

  it('names the stack after the stage', () => {
    expect(synthesized.stack.stackName).toBe('CsvIngestion-prod');
  });

  it.each([
    'AWS::DynamoDB::GlobalTable',
    'AWS::S3::Bucket',
    'AWS::Cognito::UserPool',
    'AWS::Logs::LogGroup',
  ])('retains every %s when the stack is deleted', (type) => {
    const resources = Object.values(synthesized.template.findResources(type));
    expect(resources.length).toBeGreaterThan(0);
    for (const resource of resources) {
      expect(resource).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    }
  });

  it('protects the table and the user pool from deletion and caps write throughput', () => {
    synthesized.template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      WriteOnDemandThroughputSettings: { MaxWriteRequestUnits: 2000 },
      Replicas: [Match.objectLike({ DeletionProtectionEnabled: true })],
    });
    synthesized.template.hasResourceProperties('AWS::Cognito::UserPool', {
      DeletionProtection: 'ACTIVE',
    });
    synthesized.template.resourceCountIs('Custom::S3AutoDeleteObjects', 0);
  });

  it('uses the certificate from context instead of a parameter', () => {
    expect(Object.keys(synthesized.template.toJSON().Parameters ?? {})).not.toContain(
      'CertificateArn',
    );
    synthesized.template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Port: 443,
      Certificates: [{ CertificateArn: certificateArn }],
    });
  });

  it('admits only the allowed CIDR', () => {
    synthesized.template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      SecurityGroupIngress: [
        Match.objectLike({ CidrIp: '203.0.113.0/24', FromPort: 443 }),
        Match.objectLike({ CidrIp: '203.0.113.0/24', FromPort: 80 }),
      ],
    });
  });

  it('subscribes the alarm e-mail to the topic', () => {
    synthesized.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
  });

  it('puts the API Lambda in private subnets behind one NAT gateway with a DynamoDB endpoint', () => {
    const [, api] = resourceByPrefix(synthesized.template, 'AWS::Lambda::Function', 'ApiFunction');
    expect(api.Properties.VpcConfig).toMatchObject({
      SubnetIds: expect.arrayContaining([
        expect.objectContaining({ Ref: expect.stringMatching(/privateSubnet/) }),
      ]),
    });
    synthesized.template.resourceCountIs('AWS::EC2::NatGateway', 1);
    synthesized.template.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcEndpointType: 'Gateway',
      ServiceName: Match.objectLike({
        'Fn::Join': Match.arrayWith([Match.arrayWith(['.dynamodb'])]),
      }),
    });
  });

  it('stays cdk-nag clean', () => {
    expect(unacknowledged(synthesized)).toEqual([]);
  });
});

describe('an invalid configuration', () => {
  it('fails synth with one error that lists every problem', () => {
    const call = () =>
      synthesize(
        { stage: 'Prod!', mapMaxConcurrency: 0, allowedCidr: 'everywhere', auth: { issuer: 'x' } },
        noBundling,
      );

    expect(call).toThrow(ConfigurationError);
    expect(call).toThrow(
      /Invalid cdk\.json context:\n {2}- stage must be[\s\S]*auth\.issuer must be an https URL[\s\S]*auth\.audience is required[\s\S]*auth\.scope is required[\s\S]*allowedCidr must be[\s\S]*mapMaxConcurrency must be an integer from 1 to 40/,
    );
  });

  it('makes the CDK app print that message, without a stack trace, and exit 1', () => {
    // What `cdk synth -c stage=Prod!` runs: the app with the context in CDK_CONTEXT_JSON.
    const outdir = mkdtempSync(join(tmpdir(), 'cdk-invalid-'));
    const run = spawnSync(`${PROJECT_ROOT}node_modules/.bin/tsx`, ['infra/app.ts'], {
      cwd: PROJECT_ROOT,
      env: {
        ...process.env,
        CDK_CONTEXT_JSON: JSON.stringify({ stage: 'Prod!', maxReceiveCount: 0 }),
        CDK_OUTDIR: outdir,
      },
      encoding: 'utf8',
      timeout: 60_000,
    });
    rmSync(outdir, { recursive: true, force: true });

    expect(run.status).toBe(1);
    expect(run.stderr).toContain('Invalid cdk.json context:');
    expect(run.stderr).toContain('stage must be');
    expect(run.stderr).toContain('dataset is required');
    expect(run.stderr).toContain('maxReceiveCount must be an integer from 1 to 1000');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);
});
