import { Duration, Fn, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import { DATASET_PLACEHOLDER, datasetScope } from '../handlers/api/config.js';
import { ignoreCfnLintRule } from './cfn-lint.js';
import type { ExternalAuthConfig, ResolvedAuth } from './config.js';
import { stackIdSuffix } from './names.js';

/**
 * The pool's issuer format, pinned: ORIGINAL tokens carry
 * `iss` = `https://cognito-idp.<region>.<domain>/<pool id>`, exactly the pool's
 * ProviderURL that the API and the ALB verify (and its JWKS is under that URL). Left
 * to Cognito's default, a pool could issue the UPDATED `https://issuer-cognito-idp...`
 * instead and every token would fail the issuer check.
 */
export const COGNITO_ISSUER_TYPE = 'ORIGINAL';

/** Props of the identity provider wiring. */
export interface IdentityProps {
  /** An external OIDC issuer; when set no Cognito resource is created. */
  readonly external?: ExternalAuthConfig;
  /** Resource server identifier (Cognito only), also the scope prefix. */
  readonly resourceServerId: string;
  /** Scope name suffix on the resource server (Cognito only): each dataset's scope is `<dataset>.<scopeName>`. */
  readonly scopeName: string;
  /** The datasets: one read scope each on the resource server (Cognito only). */
  readonly datasets: readonly string[];
  /** Hosted domain prefix (Cognito only). */
  readonly domainPrefix: string;
  readonly accessTokenValidity: Duration;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * Who issues access tokens. By default a Cognito user pool with a domain, a
 * resource server with one read scope per dataset and a confidential client for the
 * client-credentials grant; with `external` it only passes that issuer on.
 */
export class Identity extends Construct {
  /** What the API verifies. */
  readonly auth: ResolvedAuth;
  /** The OAuth 2.0 token endpoint (Cognito only). */
  readonly tokenUrl?: string;
  /** The machine client's id (Cognito only). */
  readonly clientId?: string;
  /** The user pool (Cognito only). */
  readonly userPool?: cognito.UserPool;

  constructor(scope: Construct, id: string, props: IdentityProps) {
    super(scope, id);

    if (props.external !== undefined) {
      this.auth = props.external;
      return;
    }

    const userPool = new cognito.UserPool(this, 'UserPool', {
      // Machine clients only: nobody signs up or signs in as a user.
      selfSignUpEnabled: false,
      signInAliases: { username: true },
      accountRecovery: cognito.AccountRecovery.NONE,
      passwordPolicy: {
        minLength: 14,
        requireDigits: true,
        requireLowercase: true,
        requireUppercase: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(1),
      },
      featurePlan: cognito.FeaturePlan.ESSENTIALS,
      deletionProtection: props.removalPolicy !== RemovalPolicy.DESTROY,
      removalPolicy: props.removalPolicy,
    });
    const cfnUserPool = userPool.node.defaultChild as cognito.CfnUserPool;
    cfnUserPool.issuerConfiguration = { type: COGNITO_ISSUER_TYPE };
    ignoreCfnLintRule(
      cfnUserPool,
      'E3002',
      'IssuerConfiguration is a CloudFormation property of AWS::Cognito::UserPool (aws-cdk-lib 2.262 and later) that the schemas of cfn-lint 1.51 do not know yet.',
    );
    Validations.of(userPool).acknowledge(
      {
        id: 'AwsSolutions-COG2',
        reason:
          'The pool has no users: only the client-credentials grant of a confidential app client is enabled, so there is no user sign-in to protect with MFA.',
      },
      {
        id: 'AwsSolutions-COG3',
        reason:
          'Threat protection (advanced security) scores user sign-ins; this pool only issues client-credentials tokens, and the Plus plan would add cost for no coverage.',
      },
      {
        id: 'AwsSolutions-COG8',
        reason:
          'The Plus feature plan adds threat protection for user sign-ins; this pool has no users, only a client-credentials app client.',
      },
    );

    const domain = userPool.addDomain('Domain', {
      cognitoDomain: { domainPrefix: props.domainPrefix },
    });

    const readScopes = props.datasets.map(
      (dataset) =>
        new cognito.ResourceServerScope({
          scopeName: datasetScope(`${DATASET_PLACEHOLDER}.${props.scopeName}`, dataset),
          scopeDescription: `Read the loaded ${dataset} records`,
        }),
    );
    const resourceServer = userPool.addResourceServer('ResourceServer', {
      identifier: props.resourceServerId,
      scopes: readScopes,
    });

    const client = userPool.addClient('ApiClient', {
      generateSecret: true,
      oAuth: {
        flows: { clientCredentials: true },
        // The one machine client may read every dataset; add clients for narrower grants.
        scopes: readScopes.map((scope) => cognito.OAuthScope.resourceServer(resourceServer, scope)),
      },
      // A non-empty authFlows renders only ALLOW_REFRESH_TOKEN_AUTH, which Cognito requires;
      // leaving it out would enable SRP and custom user sign-in flows by default.
      authFlows: { userSrp: false },
      supportedIdentityProviders: [cognito.UserPoolClientIdentityProvider.COGNITO],
      accessTokenValidity: props.accessTokenValidity,
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
    });

    this.userPool = userPool;
    this.clientId = client.userPoolClientId;
    this.tokenUrl = `${domain.baseUrl()}/oauth2/token`;
    this.auth = {
      issuer: userPool.userPoolProviderUrl,
      // Cognito access tokens carry the app client in `client_id` and have no `aud`.
      audience: client.userPoolClientId,
      audienceClaim: 'client_id',
      jwksUri: `${userPool.userPoolProviderUrl}/.well-known/jwks.json`,
      scope: `${props.resourceServerId}/${DATASET_PLACEHOLDER}.${props.scopeName}`,
    };
  }
}

/**
 * The default Cognito domain prefix, `<dataset>-<stage>-<8 hex digits of the stack id>`:
 * unique per region without publishing the account id in every token URL.
 */
export function defaultDomainPrefix(dataset: string, stage: string): string {
  return Fn.join('-', [dataset, stage, stackIdSuffix()]);
}

/** The command that prints the client secret (it is never put in an output). */
export function clientSecretCommand(identity: Identity): string | undefined {
  if (identity.userPool === undefined || identity.clientId === undefined) return undefined;
  return Fn.join('', [
    'aws cognito-idp describe-user-pool-client --region ',
    Stack.of(identity).region,
    ' --user-pool-id ',
    identity.userPool.userPoolId,
    ' --client-id ',
    identity.clientId,
    ' --query UserPoolClient.ClientSecret --output text',
  ]);
}
