import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Annotations, Match, type Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigurationError } from '../../handlers/shared/errors.js';
import { readCdkContext } from '../../infra/config.js';
import { PROJECT_ROOT } from '../../infra/handler-function.js';
import {
  type CfnResourceJson,
  dispose,
  resourceByPrefix,
  type Synthesized,
  statementsOfRole,
  synthesize,
} from './synth.js';
import { EXTERNAL_AUTH as externalAuth, PROD_CERTIFICATE_ARN, VARIANTS } from './variants.js';

// Variants only change resources around the handlers, so these skip esbuild bundling.
const noBundling = { bundle: false } as const;

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

/**
 * The ALB's JWT checks require the audience in `audienceClaim` on every path, as the
 * API does, and under `/<dataset>` that dataset's scope too (`scopes` by dataset).
 */
const expectAlbClaims = (
  template: Template,
  audienceClaim: string,
  audience: unknown,
  scopes: Readonly<Record<string, unknown>>,
) => {
  const audienceClaimCheck = { Name: audienceClaim, Format: 'single-string', Values: [audience] };
  template.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
    Port: 443,
    DefaultActions: Match.arrayWith([
      Match.objectLike({
        Type: 'jwt-validation',
        JwtValidationConfig: Match.objectLike({ AdditionalClaims: [audienceClaimCheck] }),
      }),
    ]),
  });
  for (const [dataset, scope] of Object.entries(scopes)) {
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Conditions: [
        {
          Field: 'path-pattern',
          PathPatternConfig: { Values: [`/${dataset}`, `/${dataset}/*`] },
        },
      ],
      Actions: [
        Match.objectLike({
          Type: 'jwt-validation',
          Order: 1,
          JwtValidationConfig: Match.objectLike({
            AdditionalClaims: [
              audienceClaimCheck,
              { Name: 'scope', Format: 'space-separated-values', Values: [scope] },
            ],
          }),
        }),
        Match.objectLike({ Type: 'forward', Order: 2 }),
      ],
    });
  }
};

const unacknowledged = (synthesized: Synthesized) =>
  new AwsSolutionsChecks()
    .validateScope(synthesized.app)
    .violations.map((violation) => violation.ruleName);

describe('external identity provider', () => {
  let synthesized: Synthesized;
  beforeAll(() => {
    synthesized = synthesize(VARIANTS['external-idp-alb-jwt'], noBundling);
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

  it("requires the API's audience in aud, and the scope under the dataset's path, on the ALB, not just any token of the issuer", () => {
    expectAlbClaims(synthesized.template, 'aud', externalAuth.audience, {
      books: externalAuth.scope,
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
    synthesized = synthesize(VARIANTS['alb-jwt-cognito'], noBundling);
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

  it("requires the pool's machine client in client_id, and the dataset's read scope under its path, on the ALB", () => {
    const [client] = resourceByPrefix(
      synthesized.template,
      'AWS::Cognito::UserPoolClient',
      'IdentityUserPoolApiClient',
    );
    expectAlbClaims(
      synthesized.template,
      'client_id',
      { Ref: client },
      {
        books: 'books-api/books.read',
      },
    );
  });

  it('stays cdk-nag clean', () => {
    expect(unacknowledged(synthesized)).toEqual([]);
  });
});

describe('two datasets', () => {
  let synthesized: Synthesized;
  let template: Template;
  beforeAll(() => {
    synthesized = synthesize(VARIANTS['two-datasets-alb-jwt'], noBundling);
    template = synthesized.template;
  }, 60_000);
  afterAll(() => dispose(synthesized));

  /** The logical id of each dataset's table, found by its `dataset` tag. */
  const tableIds = () => {
    const tables = template.findResources('AWS::DynamoDB::GlobalTable') as Record<
      string,
      CfnResourceJson
    >;
    const byDataset: Record<string, string> = {};
    for (const [logicalId, table] of Object.entries(tables)) {
      const replica = (
        table.Properties.Replicas as { Tags?: { Key: string; Value: string }[] }[]
      )[0];
      const tag = replica?.Tags?.find((candidate) => candidate.Key === 'dataset');
      if (tag !== undefined) byDataset[tag.Value] = logicalId;
    }
    return byDataset;
  };
  const json = (value: unknown) => JSON.stringify(value);
  const arn = (logicalId: string) => json({ 'Fn::GetAtt': [logicalId, 'Arn'] });

  it("creates one table per dataset, keyed by its schema's key, with today's settings and its own write cap", () => {
    const ids = tableIds();
    expect(Object.keys(ids).sort()).toEqual(['authors', 'books']);
    // The first dataset's table keeps the single-dataset stack's logical id.
    expect(ids.books).toMatch(/^StorageTable[0-9A-F]{8}$/);
    const tables = template.findResources('AWS::DynamoDB::GlobalTable') as Record<
      string,
      CfnResourceJson
    >;
    expect(tables[ids.books ?? '']?.Properties).toMatchObject({
      KeySchema: [{ AttributeName: 'isbn', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'isbn', AttributeType: 'N' }],
      WriteOnDemandThroughputSettings: { MaxWriteRequestUnits: 1000 },
      Replicas: [
        expect.objectContaining({
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        }),
      ],
    });
    expect(tables[ids.authors ?? '']?.Properties).toMatchObject({
      KeySchema: [{ AttributeName: 'author_id', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'author_id', AttributeType: 'S' }],
      WriteOnDemandThroughputSettings: { MaxWriteRequestUnits: 300 },
      Replicas: [
        expect.objectContaining({
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        }),
      ],
    });
  });

  it("passes the loader and the API both schemas and each dataset's table name", () => {
    const ids = tableIds();
    for (const prefix of ['LoadChunkFunction', 'ApiFunction']) {
      const [, fn] = resourceByPrefix(template, 'AWS::Lambda::Function', prefix);
      const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> })
        .Variables;
      expect(
        (JSON.parse(variables.DATASETS as string) as { name: string }[]).map(({ name }) => name),
      ).toEqual(['books', 'authors']);
      const tableNames = json(variables.TABLE_NAMES);
      expect(tableNames).toContain(json({ Ref: ids.books }));
      expect(tableNames).toContain(json({ Ref: ids.authors }));
    }
  });

  it('grants the loader writes and the API reads on exactly the two tables, and nobody else any', () => {
    const ids = tableIds();
    const tables = [arn(ids.books ?? ''), arn(ids.authors ?? '')].sort();
    const role = (prefix: string) => resourceByPrefix(template, 'AWS::IAM::Role', prefix)[0];
    const onTables = (prefix: string) =>
      statementsOfRole(template, role(prefix)).filter((statement) =>
        statement.resources.some((resource) => tables.includes(resource)),
      );

    expect(onTables('LoadChunkRole')).toEqual([
      { actions: ['dynamodb:BatchWriteItem', 'dynamodb:PutItem'], resources: tables },
    ]);
    expect(onTables('ApiRole')).toEqual([
      {
        actions: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Scan'],
        resources: tables,
      },
    ]);
    for (const prefix of ['StartIngestionRole', 'PlanFileRole', 'FailureRecordRole']) {
      expect(onTables(prefix)).toEqual([]);
    }
  });

  it('gives the resource server one read scope per dataset and the machine client both', () => {
    template.hasResourceProperties('AWS::Cognito::UserPoolResourceServer', {
      Identifier: 'books-api',
      Scopes: [
        Match.objectLike({ ScopeName: 'books.read' }),
        Match.objectLike({ ScopeName: 'authors.read' }),
      ],
    });
    const [, client] = resourceByPrefix(
      template,
      'AWS::Cognito::UserPoolClient',
      'IdentityUserPoolApiClient',
    );
    expect(json(client.Properties.AllowedOAuthScopes)).toMatch(/books\.read.*authors\.read/);
    expect(apiVariables(template)).toMatchObject({
      AUTH_REQUIRED_SCOPE: 'books-api/{dataset}.read',
    });
  });

  it("checks each dataset's scope on the ALB under its path, and only the audience elsewhere", () => {
    const [client] = resourceByPrefix(
      template,
      'AWS::Cognito::UserPoolClient',
      'IdentityUserPoolApiClient',
    );
    expectAlbClaims(
      template,
      'client_id',
      { Ref: client },
      {
        books: 'books-api/books.read',
        authors: 'books-api/authors.read',
      },
    );
  });

  it('alarms on throttling of each table and shows each on the dashboard', () => {
    const ids = tableIds();
    const alarms = template.findResources('AWS::CloudWatch::Alarm') as Record<
      string,
      CfnResourceJson
    >;
    for (const [pattern, table] of [
      [/^OperationsTableThrottled[0-9A-F]{8}$/, ids.books],
      [/^OperationsTableThrottledAuthors[0-9A-F]{8}$/, ids.authors],
    ] as const) {
      const matching = Object.entries(alarms).filter(([logicalId]) => pattern.test(logicalId));
      expect(matching).toHaveLength(1);
      expect(json(matching[0]?.[1].Properties.Metrics)).toContain(json({ Ref: table }));
    }
    const [, dashboard] = resourceByPrefix(
      template,
      'AWS::CloudWatch::Dashboard',
      'OperationsDashboard',
    );
    const body = json(dashboard.Properties.DashboardBody);
    expect(body).toContain('Table books');
    expect(body).toContain('Table authors');
  });

  it("outputs each dataset's table and scope", () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(Object.keys(outputs)).toEqual(
      expect.arrayContaining(['TableName', 'Scope', 'TableNameAuthors', 'ScopeAuthors']),
    );
    expect(outputs.ScopeAuthors?.Value).toBe('books-api/authors.read');
  });

  it('stays cdk-nag clean', () => {
    expect(unacknowledged(synthesized)).toEqual([]);
  });
});

describe('a production stage', () => {
  const certificateArn = PROD_CERTIFICATE_ARN;
  let synthesized: Synthesized;
  beforeAll(() => {
    synthesized = synthesize(VARIANTS['prod-vpc'], noBundling);
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
    // The DLQ holds the failure records: deleting the stack must not lose them.
    'AWS::SQS::Queue',
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

  it('logs only workflow errors, which still carry what the lost-record alarm reads', () => {
    synthesized.template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      LoggingConfiguration: Match.objectLike({ Level: 'ERROR', IncludeExecutionData: false }),
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

describe.each<keyof typeof VARIANTS>(['external-idp', 'prod-vpc-alb-jwt'])(
  'the %s variant',
  (name) => {
    let synthesized: Synthesized;
    beforeAll(() => {
      synthesized = synthesize(VARIANTS[name], noBundling);
    }, 60_000);
    afterAll(() => dispose(synthesized));

    it('stays cdk-nag clean', () => {
      expect(unacknowledged(synthesized)).toEqual([]);
    });
  },
);

describe('a new account (Lambda concurrency quota 10)', () => {
  let synthesized: Synthesized;
  let warnings: string[];
  beforeAll(() => {
    synthesized = synthesize({ accountConcurrencyLimit: 10 }, noBundling);
    warnings = Annotations.fromStack(synthesized.stack)
      .findWarning('*', Match.anyValue())
      .map((warning) => String(warning.entry.data));
  }, 60_000);
  afterAll(() => dispose(synthesized));

  it('reserves no concurrency, which such an account cannot hold (Lambda keeps 100 unreserved)', () => {
    for (const fn of Object.values(synthesized.template.findResources('AWS::Lambda::Function'))) {
      expect(fn.Properties.ReservedConcurrentExecutions).toBeUndefined();
    }
  });

  it.each([
    ['the API reservation it skipped', /^apiReservedConcurrency 20 is not reserved/],
    ['the loader cap it skipped', /^loaderReservedConcurrency 40 is not reserved/],
    [
      'one file at full speed exceeding the quota',
      /^one file at full speed needs 17 concurrent Lambda executions .* above the 10 /,
    ],
  ])('warns at synth about %s', (_what, message) => {
    expect(warnings.filter((warning) => message.test(warning))).toHaveLength(1);
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

  /** What `cdk synth -c ...` runs: the app with the context in CDK_CONTEXT_JSON. */
  const runApp = (context: Record<string, unknown>) => {
    const outdir = mkdtempSync(join(tmpdir(), 'cdk-invalid-'));
    try {
      return spawnSync(`${PROJECT_ROOT}node_modules/.bin/tsx`, ['infra/app.ts'], {
        cwd: PROJECT_ROOT,
        env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify(context), CDK_OUTDIR: outdir },
        encoding: 'utf8',
        timeout: 60_000,
      });
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  };

  it('makes the CDK app print that message, without a stack trace, and exit 1', () => {
    const run = runApp({ stage: 'Prod!', maxReceiveCount: 0 });

    expect(run.status).toBe(1);
    expect(run.stderr).toContain('Invalid cdk.json context:');
    expect(run.stderr).toContain('stage must be');
    expect(run.stderr).toContain('datasets is required');
    expect(run.stderr).toContain('maxReceiveCount must be an integer from 1 to 1000');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  }, 60_000);

  it('prints exactly the invalid-configuration example of docs/deploy.md', () => {
    const docs = readFileSync(`${PROJECT_ROOT}docs/deploy.md`, 'utf8');
    const example =
      /```text\n\$ npx cdk synth -c stage=Prod -c allowedCidr=anywhere\n([\s\S]*?)\n```/.exec(docs);
    expect(example).not.toBeNull();
    // The last line of the example is the CDK CLI's own note about the app's exit code.
    const printed = (example?.[1] ?? '').split('\n').slice(0, -1).join('\n');

    const run = runApp(readCdkContext(undefined, { stage: 'Prod', allowedCidr: 'anywhere' }));

    expect(run.status).toBe(1);
    expect(run.stderr.trim()).toBe(printed);
  }, 60_000);
});
