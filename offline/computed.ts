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
  inputs: Readonly<Record<string, unknown>>,
  env: Env,
): { id: string; state: Record<string, unknown> } {
  const { account, region } = env;
  const arn = (service: string, resource: string, regional = true) =>
    `arn:aws:${service}:${regional ? region : ""}:${regional || service === "iam" ? account : ""}:${resource}`;
  // Resolved inputs are plain values; names and ids among them are strings (a number is written out).
  const text = (key: string): string | undefined => {
    const v = inputs[key];
    return typeof v === "string" ? v : typeof v === "number" ? String(v) : undefined;
  };
  const physical = text("name") ?? `${name}-${short(name)}`;
  const base: Record<string, unknown> = { ...inputs };
  let id = `${name}-id`;

  switch (type) {
    case "aws:iam/role:Role":
      Object.assign(base, {
        name: physical,
        arn: `arn:aws:iam::${account}:role${text("path") ?? "/"}${physical}`,
        uniqueId: `AROA${short(name).toUpperCase()}`,
      });
      id = physical;
      break;
    case "aws:iam/policy:Policy":
      id = `arn:aws:iam::${account}:policy${text("path") ?? "/"}${physical}`;
      Object.assign(base, { name: physical, arn: id });
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
      id = `https://sqs.${region}.amazonaws.com/${account}/${physical}`;
      Object.assign(base, { name: physical, arn: arn("sqs", physical), url: id });
      break;
    case "aws:sns/topic:Topic":
      id = arn("sns", physical);
      Object.assign(base, { name: physical, arn: id });
      break;
    case "aws:ecs/cluster:Cluster":
      id = arn("ecs", `cluster/${physical}`);
      Object.assign(base, { name: physical, arn: id });
      break;
    case "aws:ecs/taskDefinition:TaskDefinition":
      Object.assign(base, {
        arn: arn("ecs", `task-definition/${text("family")}:1`),
        arnWithoutRevision: arn("ecs", `task-definition/${text("family")}`),
        revision: 1,
      });
      id = text("family") ?? id;
      break;
    case "aws:s3/bucket:Bucket": {
      const bucket = text("bucket") ?? `${name}-${short(name)}`;
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
      id = arn("secretsmanager", `secret:${physical}-${short(name).slice(0, 6)}`);
      Object.assign(base, { name: physical, arn: id });
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
          `rule/${text("eventBusName") && text("eventBusName") !== "default" ? `${text("eventBusName")}/` : ""}${physical}`,
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
        arn: arn("scheduler", `schedule/${text("groupName") ?? "default"}/${physical}`),
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
        invokeUrl: `https://${text("apiId")}.execute-api.${region}.amazonaws.com/${inputs.name === "$default" ? "" : text("name")}`,
        arn: arn("apigateway", `/apis/${text("apiId")}/stages/${text("name")}`),
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
      const azs = Array.from({ length: Number(inputs.numberOfAvailabilityZones ?? 2) }, (_, i) => i);
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
      id = text("name") ?? id;
      break;
    case "snowflake:index/schema:Schema":
    case "snowflake:index/table:Table": {
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
