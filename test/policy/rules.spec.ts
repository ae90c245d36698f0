/**
 * cdk-nag style: for each rule, numbered compliant and non-compliant fixtures with the exact
 * violation message.
 */
import { expect } from "chai";
import * as aws from "@pulumi/aws";
import { ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import { WILDCARD_RESOURCE_ALLOWED, isWildcardResource } from "../../policy/iam-rules";
import { POLICIES } from "../../policy/rules";
import { FixtureResource, isTypeOf, runPolicies } from "./harness";

const policy = (name: string) => {
  const p = POLICIES.find((x) => x.name === name);
  if (!p) throw new Error(`no policy ${name}`);
  return [p];
};
const doc = (...Statement: object[]) => JSON.stringify({ Version: "2012-10-17", Statement });
const rolePolicy = (name: string, ...statements: object[]): FixtureResource => ({
  type: "aws:iam/rolePolicy:RolePolicy",
  name,
  props: { role: "r", policy: doc(...statements) },
});

interface Case {
  readonly rule: string;
  readonly stack?: string;
  readonly compliant: FixtureResource[][];
  readonly nonCompliant: [FixtureResource[], string[]][];
}

const lambda = (over: Record<string, unknown> = {}): FixtureResource => ({
  type: "aws:lambda/function:Function",
  name: "fn",
  props: {
    runtime: "nodejs24.x",
    architectures: ["arm64"],
    timeout: 30,
    reservedConcurrentExecutions: 5,
    environment: { variables: { QUEUE_URL: "https://sqs" } },
    ...over,
  },
});
const bucket = (name: string, protect = false): FixtureResource => ({
  type: "aws:s3/bucket:Bucket",
  name: `b-${name}`,
  props: { bucket: name },
  protect,
});
const bucketParts = (
  name: string,
  over: { sse?: boolean; versioning?: string; blocks?: boolean } = {},
): FixtureResource[] => [
  ...(over.sse === false
    ? []
    : [
        {
          type: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
          name: `${name}-sse`,
          props: { bucket: name },
        },
      ]),
  {
    type: "aws:s3/bucketVersioning:BucketVersioning",
    name: `${name}-v`,
    props: { bucket: name, versioningConfiguration: { status: over.versioning ?? "Enabled" } },
  },
  {
    type: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    name: `${name}-pab`,
    props: {
      bucket: name,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: over.blocks ?? true,
    },
  },
];
const warehouse = (props: Record<string, unknown>): FixtureResource => ({
  type: "snowflake:index/warehouse:Warehouse",
  name: "wh",
  props: { name: "WH_DEV", ...props },
});
const grant = (props: Record<string, unknown>): FixtureResource => ({
  type: "snowflake:index/grantPrivilegesToAccountRole:GrantPrivilegesToAccountRole",
  name: "g",
  props,
});
const task = (containers: object[]): FixtureResource => ({
  type: "aws:ecs/taskDefinition:TaskDefinition",
  name: "td",
  props: { containerDefinitions: JSON.stringify(containers) },
});
const logs = { logDriver: "awslogs", options: {} };
const BOUNDARY_ARN = "arn:aws:iam::123456789012:policy/dbt-pipeline-dev-permissions-boundary";
const boundary = (name: string): FixtureResource => ({
  type: "aws:iam/policy:Policy",
  name,
  props: {
    arn: BOUNDARY_ARN,
    tags: { project: "dbt-pipeline", purpose: "permissions-boundary" },
    policy: doc(
      { Sid: "Ceiling", Effect: "Allow", Action: ["s3:*", "iam:*"], Resource: "*" },
      {
        Sid: "RolesOnlyWithThisBoundary",
        Effect: "Deny",
        Action: ["iam:CreateRole", "iam:PutRolePermissionsBoundary"],
        Resource: "*",
        Condition: { StringNotEquals: { "iam:PermissionsBoundary": BOUNDARY_ARN } },
      },
      { Sid: "KeepBoundaries", Effect: "Deny", Action: "iam:DeleteRolePermissionsBoundary", Resource: "*" },
    ),
  },
});
const role = (name: string, permissionsBoundary?: string): FixtureResource => ({
  type: "aws:iam/role:Role",
  name,
  props: { name, assumeRolePolicy: "{}", ...(permissionsBoundary ? { permissionsBoundary } : {}) },
});

const CASES: Case[] = [
  {
    rule: "iam-no-wildcard-actions",
    compliant: [
      [
        rolePolicy("p1", {
          Effect: "Allow",
          Action: ["sqs:SendMessage"],
          Resource: "arn:aws:sqs:eu-west-1:123456789012:q",
        }),
      ],
      [rolePolicy("p2", { Effect: "Deny", Action: "s3:*", Resource: "arn:aws:s3:::b/*" })],
      [boundary("p3")],
    ],
    nonCompliant: [
      [
        [rolePolicy("n1", { Sid: "All", Effect: "Allow", Action: "*", Resource: "arn:aws:s3:::b" })],
        ['n1: policy statement All allows the wildcard action "*"; name the actions it needs.'],
      ],
      [
        [rolePolicy("n2", { Effect: "Allow", Action: ["s3:GetObject", "ecs:*"], Resource: "arn:aws:s3:::b/*" })],
        ['n2: policy statement 0 allows the wildcard action "ecs:*"; name the actions it needs.'],
      ],
      // Only the tag marks a boundary: the same ceiling on an untagged policy is a grant.
      [
        [{ ...boundary("n4"), props: { ...boundary("n4").props, tags: {} } }],
        [
          'n4: policy statement Ceiling allows the wildcard action "s3:*"; name the actions it needs.',
          'n4: policy statement Ceiling allows the wildcard action "iam:*"; name the actions it needs.',
        ],
      ],
      [
        [
          {
            type: "aws:iam/role:Role",
            name: "n3",
            props: {
              inlinePolicies: [{ policy: doc({ Effect: "Allow", NotAction: "iam:*", Resource: "arn:aws:s3:::b" }) }],
            },
          },
        ],
        ["n3: inlinePolicies[0] statement 0 uses NotAction; list the allowed actions instead."],
      ],
    ],
  },
  {
    rule: "iam-no-wildcard-resources",
    compliant: [
      [rolePolicy("p1", { Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" })],
      [
        rolePolicy("p2", {
          Effect: "Allow",
          Action: ["ecs:ListTasks"],
          Resource: "*",
          Condition: { ArnEquals: { "ecs:cluster": "arn:aws:ecs:eu-west-1:123456789012:cluster/c" } },
        }),
      ],
      // A name prefix, a log group's streams and a bucket's objects are scoped by their literal part.
      [
        rolePolicy("p3", {
          Effect: "Allow",
          Action: ["ecs:RegisterTaskDefinition", "logs:PutLogEvents", "s3:GetObject"],
          Resource: [
            "arn:aws:ecs:eu-west-1:123456789012:task-definition/dbt-pipeline-dev-*",
            "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/fn:*",
            "arn:aws:s3:::bucket/*",
          ],
        }),
      ],
      [
        rolePolicy("p4", {
          Effect: "Allow",
          Action: "kms:DescribeKey",
          Resource: "arn:aws:kms:eu-west-1:123456789012:key/*",
          Condition: { StringEquals: { "aws:ResourceTag/environment": "dev" } },
        }),
      ],
    ],
    nonCompliant: [
      [
        [rolePolicy("n1", { Effect: "Allow", Action: ["s3:GetObject", "ecr:GetAuthorizationToken"], Resource: "*" })],
        ['n1: policy statement 0 allows s3:GetObject on every resource ("*"); scope it to ARNs.'],
      ],
      [
        [
          rolePolicy("n2", {
            Effect: "Allow",
            Action: "sns:Publish",
            Resource: ["arn:aws:sns:eu-west-1:123456789012:t", "*"],
          }),
        ],
        ['n2: policy statement 0 allows sns:Publish on every resource ("*"); scope it to ARNs.'],
      ],
      [
        [
          rolePolicy("n3", {
            Effect: "Allow",
            Action: "ecs:RunTask",
            Resource: "arn:aws:ecs:eu-west-1:123456789012:task-definition/*",
          }),
        ],
        [
          'n3: policy statement 0 allows ecs:RunTask on every resource ("arn:aws:ecs:eu-west-1:123456789012:task-definition/*"); scope it to ARNs.',
        ],
      ],
      [
        [
          rolePolicy("n4", {
            Effect: "Allow",
            Action: "sqs:SendMessage",
            Resource: "arn:aws:sqs:eu-west-1:123456789012:*",
          }),
        ],
        [
          'n4: policy statement 0 allows sqs:SendMessage on every resource ("arn:aws:sqs:eu-west-1:123456789012:*"); scope it to ARNs.',
        ],
      ],
      [
        [rolePolicy("n5", { Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::*/*" })],
        ['n5: policy statement 0 allows s3:GetObject on every resource ("arn:aws:s3:::*/*"); scope it to ARNs.'],
      ],
      [
        [rolePolicy("n6", { Effect: "Allow", Action: "ecs:ListTasks", Resource: "*" })],
        ['n6: policy statement 0 allows ecs:ListTasks on every resource ("*") without the ecs:cluster condition.'],
      ],
      [
        [
          rolePolicy("n7", {
            Effect: "Allow",
            Action: "lambda:UpdateEventSourceMapping",
            Resource: "arn:aws:lambda:eu-west-1:123456789012:event-source-mapping:*",
          }),
        ],
        [
          'n7: policy statement 0 allows lambda:UpdateEventSourceMapping on every resource ("arn:aws:lambda:eu-west-1:123456789012:event-source-mapping:*") without the lambda:FunctionArn condition.',
        ],
      ],
      [
        [
          rolePolicy("n8", {
            Effect: "Allow",
            Action: "kms:PutKeyPolicy",
            Resource: "arn:aws:kms:eu-west-1:123456789012:key/*",
            Condition: { StringEquals: { "aws:ResourceTag/project": "dbt-pipeline" } },
          }),
        ],
        [
          'n8: policy statement 0 allows kms:PutKeyPolicy on every resource ("arn:aws:kms:eu-west-1:123456789012:key/*") without the aws:ResourceTag/environment condition.',
        ],
      ],
      [
        [
          rolePolicy("n9", {
            Effect: "Allow",
            Action: "iam:PassRole",
            Resource: "arn:aws:iam::*:role/x",
            Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
          }),
        ],
        ['n9: policy statement 0 allows iam:PassRole on every resource ("arn:aws:iam::*:role/x"); scope it to ARNs.'],
      ],
    ],
  },
  {
    rule: "iam-permissions-boundary",
    compliant: [
      [
        boundary("b"),
        role("r", BOUNDARY_ARN),
        {
          type: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
          name: "a",
          props: { role: "r", policyArn: "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess" },
        },
      ],
    ],
    nonCompliant: [
      [
        [boundary("b"), role("r1"), role("r2", "arn:aws:iam::123456789012:policy/other")],
        [
          "role r1 has no permissions boundary of this stack (got null).",
          'role r2 has no permissions boundary of this stack (got "arn:aws:iam::123456789012:policy/other").',
        ],
      ],
      [
        [
          boundary("b"),
          role("r", BOUNDARY_ARN),
          {
            type: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
            name: "a",
            props: { role: "r", policyArn: BOUNDARY_ARN },
          },
        ],
        [
          `aws:iam/rolePolicyAttachment:RolePolicyAttachment a attaches the permissions boundary ${BOUNDARY_ARN} as a permissions policy.`,
        ],
      ],
      [
        [
          {
            ...boundary("weak"),
            props: {
              ...boundary("weak").props,
              policy: doc({ Sid: "Ceiling", Effect: "Allow", Action: "s3:*", Resource: "*" }),
            },
          },
          role("r", BOUNDARY_ARN),
        ],
        [
          "boundary weak does not deny iam:CreateRole without an iam:PermissionsBoundary condition.",
          "boundary weak does not deny iam:DeleteRolePermissionsBoundary.",
        ],
      ],
    ],
  },
  {
    rule: "iam-passrole-conditioned",
    compliant: [
      [
        rolePolicy("p1", {
          Effect: "Allow",
          Action: "iam:PassRole",
          Resource: "arn:aws:iam::123456789012:role/task",
          Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
        }),
      ],
    ],
    nonCompliant: [
      [
        [
          rolePolicy("n1", {
            Effect: "Allow",
            Action: ["iam:PassRole"],
            Resource: "arn:aws:iam::123456789012:role/task",
          }),
        ],
        ["n1: policy statement 0 allows iam:PassRole without an iam:PassedToService condition."],
      ],
    ],
  },
  {
    rule: "no-plain-text-secrets",
    compliant: [
      [
        {
          type: "aws:secretsmanager/secretVersion:SecretVersion",
          name: "p1",
          props: { secretId: "arn", secretString: "-----BEGIN PRIVATE KEY-----\nMII\n-----END PRIVATE KEY-----" },
        },
      ],
      [{ type: "pulumi:providers:snowflake", name: "p2", props: { privateKey: "-----BEGIN RSA PRIVATE KEY-----\nx" } }],
      [
        lambda({
          environment: { variables: { SLACK_SECRET_ARN: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:s" } },
        }),
      ],
    ],
    nonCompliant: [
      [
        [lambda({ environment: { variables: { HOOK: "https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXX" } } })],
        [
          "fn: property environment.variables.HOOK holds a Slack webhook URL; keep it in Secrets Manager and pass the ARN.",
        ],
      ],
      [
        [
          {
            type: "aws:ecs/taskDefinition:TaskDefinition",
            name: "n2",
            props: { containerDefinitions: '[{"environment":[{"name":"K","value":"-----BEGIN PRIVATE KEY-----"}]}]' },
          },
        ],
        ["n2: property containerDefinitions holds a private key; keep it in Secrets Manager and pass the ARN."],
      ],
      [
        [{ type: "aws:ssm/parameter:Parameter", name: "n3", props: { value: "AKIAABCDEFGHIJKLMNOP" } }],
        ["n3: property value holds an AWS access key id; keep it in Secrets Manager and pass the ARN."],
      ],
    ],
  },
  {
    rule: "lambda-env-holds-arns",
    compliant: [
      [
        lambda({
          environment: { variables: { FIVETRAN_SECRET_ARN: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:f" } },
        }),
      ],
    ],
    nonCompliant: [
      [
        [lambda({ environment: { variables: { AIRBYTE_TOKEN: "0123456789abcdef0123456789abcdef" } } })],
        ["fn: environment variable AIRBYTE_TOKEN must hold a Secrets Manager or SSM ARN, not a value."],
      ],
    ],
  },
  {
    rule: "s3-encrypted-versioned-private",
    compliant: [[bucket("ok"), ...bucketParts("ok")]],
    nonCompliant: [
      [
        [bucket("bare")],
        [
          "bucket bare has no BucketServerSideEncryptionConfiguration.",
          "bucket bare does not have versioning enabled.",
          "bucket bare does not block all public access.",
        ],
      ],
      [
        [bucket("half"), ...bucketParts("half", { versioning: "Suspended", blocks: false })],
        ["bucket half does not have versioning enabled.", "bucket half does not block all public access."],
      ],
    ],
  },
  {
    rule: "sqs-encrypted",
    compliant: [
      [{ type: "aws:sqs/queue:Queue", name: "q", props: { sqsManagedSseEnabled: true } }],
      [{ type: "aws:sqs/queue:Queue", name: "q2", props: { kmsMasterKeyId: "alias/aws/sqs" } }],
    ],
    nonCompliant: [
      [
        [{ type: "aws:sqs/queue:Queue", name: "n1", props: {} }],
        ["n1: queue is not encrypted; set sqsManagedSseEnabled or kmsMasterKeyId."],
      ],
    ],
  },
  {
    rule: "sqs-dead-letter-queue",
    compliant: [
      [
        {
          type: "aws:sqs/queue:Queue",
          name: "main",
          props: {
            name: "main",
            redrivePolicy: '{"deadLetterTargetArn":"arn:aws:sqs:eu-west-1:123456789012:main-dlq","maxReceiveCount":5}',
          },
        },
        {
          type: "aws:sqs/queue:Queue",
          name: "dlq",
          props: { name: "main-dlq", arn: "arn:aws:sqs:eu-west-1:123456789012:main-dlq" },
        },
      ],
    ],
    nonCompliant: [
      [
        [{ type: "aws:sqs/queue:Queue", name: "lonely", props: { name: "lonely" } }],
        ["queue lonely has no redrivePolicy and is no one's dead-letter queue."],
      ],
    ],
  },
  {
    rule: "schedule-dead-letter-queue",
    compliant: [
      [
        {
          type: "aws:scheduler/schedule:Schedule",
          name: "s",
          props: {
            target: {
              arn: "arn:aws:lambda:eu-west-1:123456789012:function:f",
              deadLetterConfig: { arn: "arn:aws:sqs:eu-west-1:123456789012:dlq" },
            },
          },
        },
      ],
    ],
    nonCompliant: [
      [
        [
          {
            type: "aws:scheduler/schedule:Schedule",
            name: "s",
            props: { target: { arn: "arn:aws:lambda:eu-west-1:123456789012:function:f" } },
          },
        ],
        ["s: schedule target has no deadLetterConfig; failed invocations would be dropped."],
      ],
    ],
  },
  {
    rule: "log-group-retention",
    compliant: [[{ type: "aws:cloudwatch/logGroup:LogGroup", name: "lg", props: { retentionInDays: 14 } }]],
    nonCompliant: [
      [
        [{ type: "aws:cloudwatch/logGroup:LogGroup", name: "lg", props: {} }],
        ["lg: log group keeps logs forever; set retentionInDays."],
      ],
    ],
  },
  {
    rule: "lambda-runtime-arch-bounds",
    compliant: [[lambda()], [lambda({ reservedConcurrentExecutions: undefined })]],
    nonCompliant: [
      [
        [lambda({ runtime: "nodejs18.x", architectures: ["x86_64"], timeout: 900, reservedConcurrentExecutions: 0 })],
        [
          "fn: runtime nodejs18.x is not one of nodejs22.x, nodejs24.x.",
          'fn: architectures must be ["arm64"].',
          "fn: timeout must be set and at most 300 seconds (got 900).",
          "fn: reservedConcurrentExecutions 0 throttles every invocation; leave it unset or reserve at least 1.",
        ],
      ],
      // Values of the wrong type are named as they are (JSON), not as "[object Object]".
      [
        [lambda({ runtime: undefined, timeout: "60", reservedConcurrentExecutions: { value: 2 } })],
        [
          "fn: runtime (none) is not one of nodejs22.x, nodejs24.x.",
          "fn: timeout must be set and at most 300 seconds (got 60).",
          'fn: reservedConcurrentExecutions {"value":2} throttles every invocation; leave it unset or reserve at least 1.',
        ],
      ],
    ],
  },
  {
    rule: "ecs-task-unprivileged-logged",
    compliant: [
      [
        task([
          { name: "dbt", logConfiguration: logs, readonlyRootFilesystem: true },
          { name: "upload", logConfiguration: logs, readonlyRootFilesystem: true },
        ]),
      ],
    ],
    nonCompliant: [
      [
        [
          task([
            { name: "dbt", privileged: true, logConfiguration: logs, readonlyRootFilesystem: true },
            { name: "upload", readonlyRootFilesystem: true },
          ]),
        ],
        ["td: container dbt is privileged.", "td: container upload has no logConfiguration."],
      ],
      [
        [
          task([
            { name: "dbt", logConfiguration: logs, readonlyRootFilesystem: true },
            { name: "prepare", logConfiguration: logs },
            { name: "upload", logConfiguration: logs, readonlyRootFilesystem: false },
          ]),
        ],
        [
          "td: container prepare has a writable root filesystem; set readonlyRootFilesystem and mount a volume where it writes.",
          "td: container upload has a writable root filesystem; set readonlyRootFilesystem and mount a volume where it writes.",
        ],
      ],
    ],
  },
  {
    rule: "snowflake-warehouse-guards",
    compliant: [[warehouse({ autoSuspend: 60, resourceMonitor: "MONITOR_DEV" })]],
    nonCompliant: [
      [
        [warehouse({ autoSuspend: 3600, resourceMonitor: "M" })],
        ["wh: autoSuspend must be between 1 and 300 seconds (got 3600)."],
      ],
      [
        [warehouse({})],
        ["wh: autoSuspend must be between 1 and 300 seconds (got unset).", "wh: warehouse has no resource monitor."],
      ],
    ],
  },
  {
    rule: "snowflake-explicit-upper-names",
    compliant: [[{ type: "snowflake:index/database:Database", name: "db", props: { name: "DBT_PIPELINE_DEV" } }]],
    nonCompliant: [
      [
        [{ type: "snowflake:index/warehouse:Warehouse", name: "wh", props: {} }],
        ["wh: Snowflake name null is not an explicit UPPER_SNAKE identifier."],
      ],
      [
        [{ type: "snowflake:index/schema:Schema", name: "s", props: { name: "staging-1a2b3c" } }],
        ['s: Snowflake name "staging-1a2b3c" is not an explicit UPPER_SNAKE identifier.'],
      ],
    ],
  },
  {
    rule: "snowflake-reporter-read-only",
    compliant: [
      [grant({ accountRoleName: "REPORTER_DEV", privileges: ["SELECT"] })],
      [grant({ accountRoleName: "REPORTER_DEV", privileges: ["USAGE", "REFERENCES", "MONITOR"] })],
      [grant({ accountRoleName: "TRANSFORMER_DEV", privileges: ["OWNERSHIP"] })],
      [
        {
          type: "snowflake:index/grantAccountRole:GrantAccountRole",
          name: "ga",
          props: { roleName: "REPORTER_DEV", parentRoleName: "SYSADMIN" },
        },
      ],
    ],
    nonCompliant: [
      [
        [grant({ accountRoleName: "REPORTER_PROD", allPrivileges: true })],
        ["g: grants ALL privileges to REPORTER_PROD."],
      ],
      [
        [grant({ accountRoleName: "REPORTER_PROD", privileges: ["SELECT", "OWNERSHIP"] })],
        ["g: grants OWNERSHIP to REPORTER_PROD; a reporter may hold only USAGE, SELECT, REFERENCES, MONITOR."],
      ],
      [
        [grant({ accountRoleName: "REPORTER_PROD", privileges: ["SELECT", "INSERT"] })],
        ["g: grants INSERT to REPORTER_PROD; a reporter may hold only USAGE, SELECT, REFERENCES, MONITOR."],
      ],
      [
        [grant({ accountRoleName: "REPORTER_DEV", privileges: ["OPERATE", "CREATE TABLE"] })],
        [
          "g: grants OPERATE, CREATE TABLE to REPORTER_DEV; a reporter may hold only USAGE, SELECT, REFERENCES, MONITOR.",
        ],
      ],
      [
        [
          {
            type: "snowflake:index/grantAccountRole:GrantAccountRole",
            name: "ga",
            props: { roleName: "TRANSFORMER_DEV", parentRoleName: "REPORTER_DEV" },
          },
        ],
        ["ga: grants role TRANSFORMER_DEV to REPORTER_DEV; a reporter inherits no other role."],
      ],
      [
        [
          {
            type: "snowflake:index/grantOwnership:GrantOwnership",
            name: "o",
            props: { accountRoleName: "REPORTER_DEV" },
          },
        ],
        ["o: grants OWNERSHIP to REPORTER_DEV."],
      ],
    ],
  },
  {
    rule: "prod-stateful-protected",
    stack: "prod",
    compliant: [
      [
        { type: "snowflake:index/database:Database", name: "db", props: { name: "DB_PROD" }, protect: true },
        bucket("dbt-pipeline-prod-artifacts-1", true),
      ],
    ],
    nonCompliant: [
      [
        [
          { type: "snowflake:index/database:Database", name: "db", props: { name: "DB_PROD" } },
          { type: "snowflake:index/schema:Schema", name: "raw", props: { name: "RAW" } },
          { type: "snowflake:index/schema:Schema", name: "staging", props: { name: "STAGING" } },
          bucket("dbt-pipeline-prod-artifacts-1"),
        ],
        [
          "snowflake:index/database:Database db holds state but is not protected; set protect and retainOnDelete.",
          "snowflake:index/schema:Schema raw holds state but is not protected; set protect and retainOnDelete.",
          "aws:s3/bucket:Bucket b-dbt-pipeline-prod-artifacts-1 holds state but is not protected; set protect and retainOnDelete.",
        ],
      ],
    ],
  },
];

describe("policy pack rules", () => {
  it("every rule has fixtures", () => {
    expect(CASES.map((c) => c.rule).sort()).to.deep.equal(POLICIES.map((p) => p.name).sort());
  });
  for (const c of CASES) {
    describe(c.rule, () => {
      c.compliant.forEach((fixture, i) => {
        it(`compliant ${i + 1}`, async () =>
          expect(await runPolicies(c.stack ?? "dev", fixture, policy(c.rule))).to.deep.equal([]));
      });
      c.nonCompliant.forEach(([fixture, messages], i) => {
        it(`non-compliant ${i + 1}`, async () => {
          expect((await runPolicies(c.stack ?? "dev", fixture, policy(c.rule))).map((v) => v.message)).to.deep.equal(
            messages,
          );
        });
      });
    });
  }
  it("the harness answers isType/asType as the policy host does, so type-specific rules cannot pass vacuously", async () => {
    const lambdaOnly: ResourceValidationPolicy = {
      name: "probe",
      description: "probe",
      enforcementLevel: "mandatory",
      validateResource: validateResourceOfType(aws.lambda.Function, (fn, _args, report) => {
        if (fn.timeout === undefined) report("no timeout");
      }),
    };
    const asTyped: ResourceValidationPolicy = {
      name: "probe-as",
      description: "probe",
      enforcementLevel: "mandatory",
      validateResource: (args, report) => {
        const q = args.asType(aws.sqs.Queue);
        if (q && !q.name) report("unnamed queue");
        if (args.isType(aws.sqs.Queue) !== (q !== undefined)) report("isType and asType disagree");
      },
    };
    const fixtures: FixtureResource[] = [
      lambda({ timeout: undefined }),
      { type: "aws:sqs/queue:Queue", name: "q", props: {} },
      { type: "aws:sns/topic:Topic", name: "t", props: {} },
    ];
    expect(await runPolicies("dev", fixtures, [lambdaOnly, asTyped])).to.deep.equal([
      { policy: "probe", name: "fn", message: "no timeout" },
      { policy: "probe-as", name: "q", message: "unnamed queue" },
    ]);
    expect(isTypeOf("aws:lambda/function:Function", aws.lambda.Function)).to.equal(true);
    expect(isTypeOf("aws:sqs/queue:Queue", aws.lambda.Function)).to.equal(false);
  });

  it("wildcard resources: an all-wildcard resource name counts, a name with a literal part does not", () => {
    const table: [string, boolean][] = [
      ["*", true],
      ["arn:aws:ecs:eu-west-1:123456789012:task-definition/*", true],
      ["arn:aws:lambda:eu-west-1:123456789012:event-source-mapping:*", true],
      ["arn:aws:kms:eu-west-1:123456789012:key/*", true],
      ["arn:aws:apigateway:eu-west-1::/apis/*", true],
      ["arn:aws:sqs:eu-west-1:123456789012:*", true],
      ["arn:aws:s3:::*", true],
      ["arn:aws:iam::*:role/x", true],
      ["arn:aws:ecs:*:123456789012:cluster/c", true],
      ["arn:aws:s3:::bucket/*", false],
      ["arn:aws:s3:::dbt-pipeline-dev-*", false],
      ["arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/fn:*", false],
      ["arn:aws:scheduler:eu-west-1:123456789012:schedule/*/dbt-pipeline-dev-*", false],
      ["arn:aws:apigateway:eu-west-1::/apis", false],
      ["arn:aws:iam::aws:policy/job-function/ViewOnlyAccess", false],
      ["arn:aws:iam::123456789012:role/dbt-pipeline-dev-*", false],
    ];
    for (const [arn, wild] of table) expect(isWildcardResource(arn), arn).to.equal(wild);
  });

  it("every allowlisted wildcard action gives its reason, and names its condition in the reason when it needs one", () => {
    for (const [action, a] of Object.entries(WILDCARD_RESOURCE_ALLOWED)) {
      expect(a.reason, action).to.match(/\w{3}/);
      if (a.condition) expect(a.reason, action).to.include(a.condition);
    }
  });

  it("prod protection applies only to the protected stacks", async () => {
    expect(
      await runPolicies(
        "dev",
        [{ type: "snowflake:index/database:Database", name: "db", props: { name: "DB_DEV" } }],
        policy("prod-stateful-protected"),
      ),
    ).to.deep.equal([]);
  });
});
