/**
 * Attributes a real provider computes (ARNs, URLs, fully qualified names), faked plausibly so
 * that values flowing from one resource into another look like what `pulumi up` would produce.
 */
import { createHash } from "node:crypto";

interface Env {
  readonly account: string;
  readonly region: string;
}

const short = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 8);
const q = (s: unknown) => `"${String(s)}"`;

/** A deterministic, obviously fake PEM body, so secret scans have something to find. */
export function fakePem(label: string, seed: string): string {
  const body = Buffer.from(`offline-plan-${label}-${seed}`.repeat(8))
    .toString("base64")
    .match(/.{1,64}/g)!
    .join("\n");
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}

/** Returns the id and the state (inputs plus computed attributes) of a mocked resource. */
export function computedState(
  type: string,
  name: string,
  inputs: Record<string, any>,
  env: Env,
): { id: string; state: Record<string, any> } {
  const { account, region } = env;
  const arn = (service: string, resource: string, regional = true) =>
    `arn:aws:${service}:${regional ? region : ""}:${regional || service === "iam" ? account : ""}:${resource}`;
  const physical = inputs.name ?? `${name}-${short(name)}`;
  const base: Record<string, any> = { ...inputs };
  let id = `${name}-id`;

  switch (type) {
    case "aws:iam/role:Role":
      Object.assign(base, {
        name: physical,
        arn: `arn:aws:iam::${account}:role${inputs.path ?? "/"}${physical}`,
        uniqueId: `AROA${short(name).toUpperCase()}`,
      });
      id = physical;
      break;
    case "aws:iam/policy:Policy":
      Object.assign(base, { name: physical, arn: `arn:aws:iam::${account}:policy${inputs.path ?? "/"}${physical}` });
      id = base.arn;
      break;
    case "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
      Object.assign(base, {
        arn: `arn:aws:iam::${account}:oidc-provider/${String(inputs.url).replace(/^https:\/\//, "")}`,
      });
      break;
    case "aws:lambda/function:Function":
      Object.assign(base, {
        name: physical,
        arn: arn("lambda", `function:${physical}`),
        invokeArn: `arn:aws:apigateway:${region}:lambda:path/2015-03-31/functions/${arn("lambda", `function:${physical}`)}/invocations`,
        qualifiedArn: arn("lambda", `function:${physical}:$LATEST`),
      });
      id = physical;
      break;
    case "aws:sqs/queue:Queue":
      Object.assign(base, {
        name: physical,
        arn: arn("sqs", physical),
        url: `https://sqs.${region}.amazonaws.com/${account}/${physical}`,
      });
      id = base.url;
      break;
    case "aws:sns/topic:Topic":
      Object.assign(base, { name: physical, arn: arn("sns", physical) });
      id = base.arn;
      break;
    case "aws:ecs/cluster:Cluster":
      Object.assign(base, { name: physical, arn: arn("ecs", `cluster/${physical}`) });
      id = base.arn;
      break;
    case "aws:ecs/taskDefinition:TaskDefinition":
      Object.assign(base, {
        arn: arn("ecs", `task-definition/${inputs.family}:1`),
        arnWithoutRevision: arn("ecs", `task-definition/${inputs.family}`),
        revision: 1,
      });
      id = inputs.family;
      break;
    case "aws:s3/bucket:Bucket": {
      const bucket = inputs.bucket ?? `${name}-${short(name)}`;
      Object.assign(base, {
        bucket,
        arn: `arn:aws:s3:::${bucket}`,
        bucketRegionalDomainName: `${bucket}.s3.${region}.amazonaws.com`,
      });
      id = bucket;
      break;
    }
    case "aws:ecr/repository:Repository":
      Object.assign(base, {
        name: physical,
        arn: arn("ecr", `repository/${physical}`),
        repositoryUrl: `${account}.dkr.ecr.${region}.amazonaws.com/${physical}`,
        registryId: account,
      });
      id = physical;
      break;
    case "aws:secretsmanager/secret:Secret":
      Object.assign(base, {
        name: physical,
        arn: arn("secretsmanager", `secret:${physical}-${short(name).slice(0, 6)}`),
      });
      id = base.arn;
      break;
    case "aws:cloudwatch/logGroup:LogGroup":
      Object.assign(base, { name: physical, arn: arn("logs", `log-group:${physical}`) });
      id = physical;
      break;
    case "aws:cloudwatch/eventBus:EventBus":
      Object.assign(base, { name: physical, arn: arn("events", `event-bus/${physical}`) });
      id = physical;
      break;
    case "aws:cloudwatch/eventRule:EventRule":
      Object.assign(base, {
        name: physical,
        arn: arn(
          "events",
          `rule/${inputs.eventBusName && inputs.eventBusName !== "default" ? `${inputs.eventBusName}/` : ""}${physical}`,
        ),
      });
      id = physical;
      break;
    case "aws:cloudwatch/metricAlarm:MetricAlarm":
      Object.assign(base, { name: physical, arn: arn("cloudwatch", `alarm:${physical}`) });
      break;
    case "aws:scheduler/schedule:Schedule":
      Object.assign(base, {
        name: physical,
        arn: arn("scheduler", `schedule/${inputs.groupName ?? "default"}/${physical}`),
      });
      break;
    case "aws:scheduler/scheduleGroup:ScheduleGroup":
      Object.assign(base, { name: physical, arn: arn("scheduler", `schedule-group/${physical}`) });
      id = physical;
      break;
    case "aws:dynamodb/table:Table":
      Object.assign(base, { name: physical, arn: arn("dynamodb", `table/${physical}`) });
      id = physical;
      break;
    case "aws:apigatewayv2/api:Api": {
      const apiId = short(name).slice(0, 10);
      Object.assign(base, {
        apiEndpoint: `https://${apiId}.execute-api.${region}.amazonaws.com`,
        executionArn: arn("execute-api", apiId),
        arn: `arn:aws:apigateway:${region}::/apis/${apiId}`,
      });
      id = apiId;
      break;
    }
    case "aws:apigatewayv2/stage:Stage":
      Object.assign(base, {
        invokeUrl: `https://${inputs.apiId}.execute-api.${region}.amazonaws.com/${inputs.name === "$default" ? "" : inputs.name}`,
        arn: arn("apigateway", `/apis/${inputs.apiId}/stages/${inputs.name}`),
      });
      break;
    case "aws:ec2/securityGroup:SecurityGroup":
      Object.assign(base, { arn: arn("ec2", `security-group/sg-${short(name)}`) });
      id = `sg-${short(name)}0000000`;
      break;
    case "aws:kms/key:Key":
      Object.assign(base, { arn: arn("kms", `key/${short(name)}`), keyId: short(name) });
      break;
    case "awsx:ec2:Vpc": {
      const azs = Array.from({ length: inputs.numberOfAvailabilityZones ?? 2 }, (_, i) => i);
      Object.assign(base, {
        vpcId: `vpc-${short(name)}`,
        publicSubnetIds: azs.map((i) => `subnet-${short(`${name}-public-${i}`)}`),
        privateSubnetIds: [],
        isolatedSubnetIds: [],
      });
      break;
    }
    case "tls:index/privateKey:PrivateKey":
      Object.assign(base, {
        publicKeyPem: fakePem("PUBLIC KEY", name),
        privateKeyPem: fakePem("RSA PRIVATE KEY", name),
        privateKeyPemPkcs8: fakePem("PRIVATE KEY", name),
        publicKeyFingerprintSha256: `SHA256:${short(name)}`,
        publicKeyOpenssh: `ssh-rsa ${short(name)}`,
      });
      break;
    case "snowflake:index/database:Database":
      Object.assign(base, { fullyQualifiedName: q(inputs.name) });
      id = inputs.name ?? id;
      break;
    case "snowflake:index/schema:Schema":
    case "snowflake:index/table:Table":
    case "snowflake:index/procedureSql:ProcedureSql":
    case "snowflake:index/view:View": {
      const parts = [inputs.database, inputs.schema, inputs.name].filter((p) => p !== undefined).map(q);
      Object.assign(base, { fullyQualifiedName: parts.join(".") });
      break;
    }
    case "snowflake:index/warehouse:Warehouse":
    case "snowflake:index/resourceMonitor:ResourceMonitor":
    case "snowflake:index/accountRole:AccountRole":
    case "snowflake:index/serviceUser:ServiceUser":
      Object.assign(base, { fullyQualifiedName: q(inputs.name) });
      break;
    case "snowflake:index/notificationIntegration:NotificationIntegration":
      Object.assign(base, {
        fullyQualifiedName: q(inputs.name),
        awsSnsIamUserArn: `arn:aws:iam::999999999999:user/snowflake-${short(name)}`,
        awsSnsExternalId: `SNOWFLAKE_EXTERNAL_${short(name).toUpperCase()}`,
      });
      break;
    default:
      if (type.startsWith("aws:") && base.arn === undefined) {
        base.arn = arn(type.split(":")[1].split("/")[0], `${physical}`);
      }
  }
  return { id, state: base };
}
