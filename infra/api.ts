import {
  Aws,
  CfnCondition,
  CfnMapping,
  type CfnResource,
  Duration,
  Fn,
  Stack,
  Validations,
} from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import { Construct } from 'constructs';
import { pascal } from './names.js';

/** Props of the load-balanced API. */
export interface LoadBalancedApiProps {
  readonly vpc: ec2.IVpc;
  readonly apiFunction: lambda.IFunction;
  /** ACM certificate ARN of the HTTPS listener (may be a stack parameter). */
  readonly certificateArn: string;
  /** Source IPv4 CIDR allowed on ports 443 and 80. */
  readonly allowedCidr: string;
  /** Receives the ALB access logs (SSE-S3 encrypted). */
  readonly accessLogBucket: s3.IBucket;
  /** Verify JWTs on the ALB before the Lambda (which always verifies too). @default no ALB verification */
  readonly jwtVerification?: AlbJwtVerification;
}

/** What the ALB checks of a token: the same issuer, audience and scopes as the API. */
export interface AlbJwtVerification {
  readonly issuer: string;
  readonly jwksUri: string;
  /** The claim holding the audience (`aud`, or `client_id` for Cognito). */
  readonly audienceClaim: string;
  readonly audience: string;
  /**
   * The scope a request under `/<dataset>` needs, in the space-separated `scope`
   * claim, by dataset name: one listener rule each.
   */
  readonly datasetScopes: Readonly<Record<string, string>>;
}

/**
 * An internet-facing Application Load Balancer: HTTPS on 443 with a TLS 1.2+
 * policy, 80 redirecting to 443, invalid header fields dropped, access logs,
 * ingress from one CIDR only, and the API Lambda as its target.
 */
export class LoadBalancedApi extends Construct {
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  readonly httpsListener: elbv2.ApplicationListener;

  constructor(scope: Construct, id: string, props: LoadBalancedApiProps) {
    super(scope, id);

    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'API load balancer: HTTPS and the HTTP redirect from the allowed CIDR',
      // A Lambda target needs no egress; ALB JWT verification fetches the JWKS over HTTPS.
      allowAllOutbound: false,
    });
    const peer = ec2.Peer.ipv4(props.allowedCidr);
    securityGroup.addIngressRule(peer, ec2.Port.tcp(443), 'HTTPS from the allowed CIDR');
    securityGroup.addIngressRule(peer, ec2.Port.tcp(80), 'HTTP (redirected) from the allowed CIDR');
    if (props.jwtVerification !== undefined) {
      securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'JWKS of the IdP');
    }
    if (props.allowedCidr === '0.0.0.0/0') {
      Validations.of(securityGroup).acknowledge({
        id: 'AwsSolutions-EC23',
        reason:
          'A public API for machine clients on the internet: every request needs a valid access token; set the allowedCidr context to narrow it.',
      });
    }

    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      internetFacing: true,
      securityGroup,
      dropInvalidHeaderFields: true,
      http2Enabled: true,
      idleTimeout: Duration.seconds(60),
    });
    enableAccessLogs(this.loadBalancer, props.accessLogBucket, 'alb');

    this.targetGroup = new elbv2.ApplicationTargetGroup(this, 'Target', {
      targetType: elbv2.TargetType.LAMBDA,
      targets: [new ScopedLambdaTarget(this, props.apiFunction)],
      // Every value of a repeated header or query parameter reaches the API, which rejects
      // two Authorization headers or two `limit`s; without it the ALB passes only the last.
      multiValueHeadersEnabled: true,
      healthCheck: {
        enabled: true,
        path: '/health',
        interval: Duration.seconds(60),
        timeout: Duration.seconds(10),
        healthyHttpCodes: '200',
      },
    });

    const forward = elbv2.ListenerAction.forward([this.targetGroup]);
    this.httpsListener = this.loadBalancer.addListener('Https', {
      port: 443,
      protocol: elbv2.ApplicationProtocol.HTTPS,
      certificates: [elbv2.ListenerCertificate.fromArn(props.certificateArn)],
      // TLS 1.2 and 1.3 only, with the post-quantum hybrid key exchange.
      sslPolicy: elbv2.SslPolicy.TLS13_12_PQ,
      open: false,
      defaultAction:
        props.jwtVerification === undefined
          ? forward
          : new JwtValidationAction(props.jwtVerification, forward),
    });

    if (props.jwtVerification !== undefined) {
      const verification = props.jwtVerification;
      // `/health` answers without a token in the Lambda; keep it so through the ALB too.
      this.httpsListener.addAction('HealthWithoutToken', {
        priority: 1,
        conditions: [elbv2.ListenerCondition.pathPatterns(['/health'])],
        action: forward,
      });
      // Each dataset's paths need its own scope; any other path (the default action)
      // needs a valid token of the issuer and audience, and the API answers it 404.
      Object.entries(verification.datasetScopes).forEach(([dataset, scope], index) => {
        this.httpsListener.addAction(`Dataset${pascal(dataset)}`, {
          priority: DATASET_RULE_PRIORITY + index,
          conditions: [elbv2.ListenerCondition.pathPatterns([`/${dataset}`, `/${dataset}/*`])],
          action: new JwtValidationAction(verification, forward, scope),
        });
      });
    }

    this.loadBalancer.addListener('Http', {
      port: 80,
      protocol: elbv2.ApplicationProtocol.HTTP,
      open: false,
      defaultAction: elbv2.ListenerAction.redirect({
        protocol: 'HTTPS',
        port: '443',
        permanent: true,
      }),
    });
  }

  /** The API's base URL (the ALB's DNS name; point a CNAME matching the certificate at it). */
  get url(): string {
    return `https://${this.loadBalancer.loadBalancerDnsName}`;
  }
}

/** Priority of the first dataset's listener rule (the health check's is 1). */
const DATASET_RULE_PRIORITY = 10;

/**
 * A `jwt-validation` action that also checks the audience and, if given, the scope. CDK's
 * `authenticateJwt` sets only issuer and JWKS, which lets any token of that issuer
 * through (any app client of the pool, any API of the tenant). Format `single-string`
 * for the audience: machine tokens carry one (Cognito's `client_id`, Auth0's or Okta's
 * `aud`); `space-separated-values` for `scope` as RFC 8693 and Cognito write it.
 */
class JwtValidationAction extends elbv2.ListenerAction {
  constructor(verification: AlbJwtVerification, next: elbv2.ListenerAction, scope?: string) {
    super(
      {
        type: 'jwt-validation',
        jwtValidationConfig: {
          issuer: verification.issuer,
          jwksEndpoint: verification.jwksUri,
          additionalClaims: [
            {
              name: verification.audienceClaim,
              format: 'single-string',
              values: [verification.audience],
            },
            ...(scope === undefined
              ? []
              : [{ name: 'scope', format: 'space-separated-values', values: [scope] }]),
          ],
        },
      },
      next,
    );
  }
}

/**
 * The API Lambda as a target. CDK's LambdaTarget lets `elasticloadbalancing.amazonaws.com`
 * invoke the function for any target group; AWS recommends naming the source, and
 * this permission admits only this account's target groups in this region. (The
 * exact target group ARN would form a cycle: registering the target needs the
 * permission first.)
 */
class ScopedLambdaTarget implements elbv2.IApplicationLoadBalancerTarget {
  constructor(
    private readonly scope: Construct,
    private readonly fn: lambda.IFunction,
  ) {}

  attachToApplicationTargetGroup(
    targetGroup: elbv2.IApplicationTargetGroup,
  ): elbv2.LoadBalancerTargetProps {
    const permission = new lambda.CfnPermission(this.scope, 'InvokeFromTargetGroups', {
      action: 'lambda:InvokeFunction',
      functionName: this.fn.functionArn,
      principal: 'elasticloadbalancing.amazonaws.com',
      sourceAccount: Aws.ACCOUNT_ID,
      sourceArn: `arn:${Aws.PARTITION}:elasticloadbalancing:${Aws.REGION}:${Aws.ACCOUNT_ID}:targetgroup/*`,
    });
    // ELB checks the permission when the target is registered.
    targetGroup.node.addDependency(permission);
    return { targetType: elbv2.TargetType.LAMBDA, targetJson: { id: this.fn.functionArn } };
  }
}

/**
 * ALB access logs in an environment-agnostic stack (CDK's `logAccessLogs` needs a
 * concrete region). Regions opened before August 2022 deliver as a regional ELB
 * account, newer ones as the `logdelivery.elasticloadbalancing.amazonaws.com`
 * service; the policy grants the right one, chosen at deploy time.
 */
function enableAccessLogs(
  loadBalancer: elbv2.ApplicationLoadBalancer,
  bucket: s3.IBucket,
  prefix: string,
): void {
  const stack = Stack.of(loadBalancer);
  const legacy = RegionInfo.regions.filter((region) => region.elbv2Account !== undefined);
  const mapping = new CfnMapping(stack, 'ElbLogDeliveryAccounts', {
    mapping: Object.fromEntries(
      legacy.map((region) => [region.name, { account: region.elbv2Account as string }]),
    ),
  });
  // Fn::Or takes at most 10 conditions: OR groups of ten, then OR the groups.
  const equalities = legacy.map((region) => Fn.conditionEquals(Aws.REGION, region.name));
  const groups = [];
  for (let index = 0; index < equalities.length; index += 10) {
    const group = equalities.slice(index, index + 10);
    groups.push(
      group.length === 1 ? (group[0] as (typeof equalities)[number]) : Fn.conditionOr(...group),
    );
  }
  const isLegacyRegion = new CfnCondition(stack, 'ElbLogDeliveryByAccount', {
    expression: groups.length === 1 ? groups[0] : Fn.conditionOr(...groups),
  });
  // In newer regions the account statement names this account itself, which grants nothing new.
  const deliveryAccount = Fn.conditionIf(
    isLegacyRegion.logicalId,
    mapping.findInMap(Aws.REGION, 'account'),
    Aws.ACCOUNT_ID,
  ).toString();

  const objects = bucket.arnForObjects(`${prefix}/AWSLogs/${Aws.ACCOUNT_ID}/*`);
  bucket.addToResourcePolicy(
    new iam.PolicyStatement({
      actions: ['s3:PutObject'],
      principals: [
        new iam.ArnPrincipal(`arn:${Aws.PARTITION}:iam::${deliveryAccount}:root`),
        new iam.ServicePrincipal('logdelivery.elasticloadbalancing.amazonaws.com'),
      ],
      resources: [objects],
    }),
  );
  loadBalancer.setAttribute('access_logs.s3.enabled', 'true');
  loadBalancer.setAttribute('access_logs.s3.bucket', bucket.bucketName);
  loadBalancer.setAttribute('access_logs.s3.prefix', prefix);
  // ELB checks write access when the attribute is set: the policy must exist first.
  const policy = bucket.policy?.node.defaultChild as CfnResource | undefined;
  if (policy !== undefined) {
    (loadBalancer.node.defaultChild as CfnResource).addResourceDependency(policy);
  }
}
