/**
 * What the GitHub Actions roles may do, as plain IAM statements (pure functions over plain
 * strings, tested on their own):
 *
 * - dbt CI (image pushes from main): push to the one ECR repository;
 * - dbt pull requests (non-production): upload CI artifacts under `<env>/runs/ci-*`;
 * - dbt state (production only): read `<env>/latest/` of the artifact bucket, for slim CI;
 * - preview: read the configuration (never the data) of this environment's resources, and its
 *   state in a self-managed backend;
 * - deploy: the preview reads plus the writes `pulumi up` needs, per service this package uses,
 *   scoped to `dbt-pipeline-<env>-*` names wherever the ARN carries a name; roles only with the
 *   permissions boundary; three managed policies, because one inline document would pass
 *   IAM's size limit.
 *
 * Both Pulumi roles also get AWS's managed `ViewOnlyAccess` (account-wide Describe/List of
 * metadata, no data) for the reads AWS only authorizes on `*` (e.g. `ec2:Describe*`).
 */

/** One IAM statement as AWS stores it. */
export interface PolicyStatement {
  readonly Sid: string;
  readonly Effect: "Allow" | "Deny";
  readonly Action: string | readonly string[];
  readonly Resource: string | readonly string[];
  readonly Condition?: Record<string, Record<string, string | readonly string[]>>;
}

/** An IAM policy document. */
export interface PolicyDocument {
  readonly Version: "2012-10-17";
  readonly Statement: readonly PolicyStatement[];
}

/** Where the roles live and which environment they serve. */
export interface AwsScope {
  readonly partition: string;
  readonly accountId: string;
  readonly region: string;
  readonly environment: string;
}

/** Options of the Pulumi roles' statements. */
export interface PulumiRoleOptions {
  /** The stack creates the VPC (`network.mode` create), so deploys write EC2 networking. */
  readonly createsNetwork: boolean;
  /** ARN of the OIDC provider when this stack owns it (deploys manage it); otherwise undefined. */
  readonly ownedOidcProviderArn?: string;
  /** ARN of the permissions boundary every role of the package carries (components/lib/boundary.ts). */
  readonly boundaryArn: string;
  /** Self-managed Pulumi backend of this stack, if any. */
  readonly backend?: StateBackend;
  /** The deploy invokes the dispatch function (`dbt.buildOnImageChange`: a new image tag queues its build). Default false. */
  readonly invokesDispatch?: boolean;
}

/** A self-managed Pulumi backend: an S3 state bucket and/or the KMS key of the awskms secrets provider. */
export interface StateBackend {
  /** Pulumi project and stack, which name the state objects. */
  readonly project: string;
  readonly stack: string;
  /** State bucket name; empty for none. */
  readonly stateBucket: string;
  /** KMS key ARN; empty for none. */
  readonly secretsKeyArn: string;
}

/** Tags every taggable resource of the package carries (see lib/naming.ts `defaultTags`). */
const PROJECT_TAG = "dbt-pipeline";

/** Services whose roles the package passes, the `iam:PassedToService` values. */
export const PASSED_TO_SERVICES = [
  "ecs-tasks.amazonaws.com",
  "events.amazonaws.com",
  "lambda.amazonaws.com",
  "scheduler.amazonaws.com",
] as const;

/** AWS managed policy of account-wide metadata reads (no data), attached to the Pulumi roles. */
export function viewOnlyAccessArn(partition: string): string {
  return `arn:${partition}:iam::aws:policy/job-function/ViewOnlyAccess`;
}

/**
 * Actions `pulumi up` of this package may need that the deploy role is NOT granted, with why.
 * They authorize only on `Resource: "*"` and would let CI create what no prefix can scope. The bootstrap deploy (an administrator, see the README) creates these
 * resources; a change that replaces one needs an administrator's deploy too.
 */
export const NOT_GRANTED_TO_DEPLOY: Readonly<Record<string, string>> = {
  "kms:CreateKey":
    "a key has no ARN before it exists, so CreateKey authorizes only on *; the alert topic's key is created at bootstrap",
};

/** The name prefix of every AWS resource of the environment, `dbt-pipeline-<env>-`. */
export function namePrefix(environment: string): string {
  return `dbt-pipeline-${environment}-`;
}

const single = <T>(values: readonly T[]): T | readonly T[] => (values.length === 1 ? values[0] : values);

function statement(
  Sid: string,
  actions: readonly string[],
  resources: readonly string[],
  Condition?: PolicyStatement["Condition"],
): PolicyStatement {
  return {
    Sid,
    Effect: "Allow",
    Action: single(actions),
    Resource: single(resources),
    ...(Condition ? { Condition } : {}),
  };
}

/** A policy document of `statements`. */
export function policyDocumentOf(statements: readonly PolicyStatement[]): PolicyDocument {
  return { Version: "2012-10-17", Statement: statements };
}

/**
 * dbt image pushes (the dbt repository's `<env>` environment, main only): push to exactly one
 * repository. `ecr:GetAuthorizationToken` is the one action on `*` (it has no resource).
 */
export function dbtCiStatements(ecrRepositoryArn: string): PolicyStatement[] {
  return [
    statement(
      "PushImage",
      [
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:CompleteLayerUpload",
        "ecr:GetDownloadUrlForLayer",
        "ecr:InitiateLayerUpload",
        "ecr:PutImage",
        "ecr:UploadLayerPart",
      ],
      [ecrRepositoryArn],
    ),
    statement("RegistryLogin", ["ecr:GetAuthorizationToken"], ["*"]),
  ];
}

/** Key prefix of pull-request CI artifacts, under the runs prefix (so they expire with runs): `<env>/runs/ci-<sha>/`. */
export function ciArtifactPrefix(environment: string): string {
  return `${environment}/runs/ci-`;
}

/**
 * dbt pull-request CI (non-production): upload its artifacts under `<env>/runs/ci-*` and nothing
 * else: no image push, no read or write of `<env>/latest/` (the state scheduled runs defer to).
 */
export function dbtPullRequestStatements(artifactBucketArn: string, environment: string): PolicyStatement[] {
  return [statement("WriteCiArtifacts", ["s3:PutObject"], [`${artifactBucketArn}/${ciArtifactPrefix(environment)}*`])];
}

/** dbt state for slim CI: read the environment's `latest/` artifacts (the last run's manifest) and nothing else. */
export function dbtStateStatements(artifactBucketArn: string, environment: string): PolicyStatement[] {
  return [
    statement("ListLatestState", ["s3:ListBucket"], [artifactBucketArn], {
      StringLike: { "s3:prefix": [`${environment}/latest/*`] },
    }),
    statement("ReadLatestState", ["s3:GetObject"], [`${artifactBucketArn}/${environment}/latest/*`]),
  ];
}

/** One service's access: configuration reads (preview and deploy) and writes (deploy only). */
interface ServiceAccess {
  readonly sid: string;
  readonly read: readonly string[];
  readonly write: readonly string[];
  readonly resources: readonly string[];
  readonly condition?: PolicyStatement["Condition"];
}

/** Per service, the resources of this environment and what Pulumi does to them. */
function serviceAccess(s: AwsScope, o: PulumiRoleOptions): ServiceAccess[] {
  const p = namePrefix(s.environment);
  const arn = (service: string, resource: string, region = s.region, account = s.accountId) =>
    `arn:${s.partition}:${service}:${region}:${account}:${resource}`;
  const services: ServiceAccess[] = [
    {
      // One pattern covers the buckets and (for emptying a dev bucket on destroy) their objects.
      sid: "S3",
      resources: [`arn:${s.partition}:s3:::${p}*`],
      read: [
        "s3:GetAccelerateConfiguration",
        "s3:GetBucket*",
        "s3:GetEncryptionConfiguration",
        "s3:GetLifecycleConfiguration",
        "s3:GetReplicationConfiguration",
        "s3:ListBucket",
      ],
      write: [
        "s3:CreateBucket",
        "s3:DeleteBucket",
        "s3:DeleteBucketPolicy",
        "s3:DeleteObject",
        "s3:DeleteObjectVersion",
        "s3:ListBucketVersions",
        "s3:PutBucket*",
        "s3:PutEncryptionConfiguration",
        "s3:PutLifecycleConfiguration",
      ],
    },
    {
      sid: "Ecr",
      resources: [arn("ecr", `repository/${p}*`)],
      read: [
        "ecr:DescribeRepositories",
        "ecr:GetLifecyclePolicy",
        "ecr:GetRepositoryPolicy",
        "ecr:ListTagsForResource",
      ],
      write: [
        "ecr:CreateRepository",
        "ecr:DeleteLifecyclePolicy",
        "ecr:DeleteRepository",
        "ecr:DeleteRepositoryPolicy",
        "ecr:PutImageScanningConfiguration",
        "ecr:PutImageTagMutability",
        "ecr:PutLifecyclePolicy",
        "ecr:SetRepositoryPolicy",
        "ecr:TagResource",
        "ecr:UntagResource",
      ],
    },
    {
      sid: "Ecs",
      resources: [arn("ecs", `cluster/${p}*`), arn("ecs", `task-definition/${p}*`)],
      // Describe/DeregisterTaskDefinition have no resource type (see deployPolicies); ViewOnlyAccess describes.
      read: ["ecs:DescribeClusters", "ecs:ListTagsForResource"],
      write: [
        "ecs:CreateCluster",
        "ecs:DeleteCluster",
        "ecs:PutClusterCapacityProviders",
        "ecs:RegisterTaskDefinition",
        "ecs:TagResource",
        "ecs:UntagResource",
        "ecs:UpdateCluster",
        "ecs:UpdateClusterSettings",
      ],
    },
    {
      // Log group names put a path before the prefix (/aws/lambda/, /ecs/).
      sid: "Logs",
      resources: [arn("logs", `log-group:*${p}*`)],
      read: [
        "logs:DescribeLogGroups",
        "logs:DescribeMetricFilters",
        "logs:ListTagsForResource",
        "logs:ListTagsLogGroup",
      ],
      write: [
        "logs:CreateLogGroup",
        "logs:DeleteLogGroup",
        "logs:DeleteMetricFilter",
        "logs:DeleteRetentionPolicy",
        "logs:PutMetricFilter",
        "logs:PutRetentionPolicy",
        "logs:TagLogGroup",
        "logs:TagResource",
        "logs:UntagLogGroup",
        "logs:UntagResource",
      ],
    },
    {
      sid: "Lambda",
      resources: [arn("lambda", `function:${p}*`)],
      read: [
        "lambda:GetFunction*",
        "lambda:GetPolicy",
        "lambda:GetRuntimeManagementConfig",
        "lambda:ListTags",
        "lambda:ListVersionsByFunction",
      ],
      write: [
        "lambda:AddPermission",
        "lambda:CreateFunction",
        "lambda:DeleteFunction",
        "lambda:DeleteFunctionConcurrency",
        "lambda:DeleteFunctionEventInvokeConfig",
        "lambda:PublishVersion",
        "lambda:PutFunctionConcurrency",
        "lambda:PutFunctionEventInvokeConfig",
        "lambda:PutFunctionRecursionConfig",
        "lambda:RemovePermission",
        "lambda:TagResource",
        "lambda:UntagResource",
        "lambda:UpdateFunctionCode",
        "lambda:UpdateFunctionConfiguration",
      ],
    },
    {
      // Mappings are named by UUID; deploy's writes to them are narrowed by function (deployPolicies).
      sid: "LambdaEventSourceMappings",
      resources: [arn("lambda", "event-source-mapping:*")],
      read: ["lambda:GetEventSourceMapping"],
      write: [],
    },
    {
      sid: "Sqs",
      resources: [arn("sqs", `${p}*`)],
      read: ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ListDeadLetterSourceQueues", "sqs:ListQueueTags"],
      write: ["sqs:CreateQueue", "sqs:DeleteQueue", "sqs:SetQueueAttributes", "sqs:TagQueue", "sqs:UntagQueue"],
    },
    {
      // The subscription actions have no resource type: see deployPolicies.
      sid: "Sns",
      resources: [arn("sns", `${p}*`)],
      read: [
        "sns:GetDataProtectionPolicy",
        "sns:GetTopicAttributes",
        "sns:ListSubscriptionsByTopic",
        "sns:ListTagsForResource",
      ],
      write: [
        "sns:CreateTopic",
        "sns:DeleteTopic",
        "sns:SetTopicAttributes",
        "sns:Subscribe",
        "sns:TagResource",
        "sns:UntagResource",
      ],
    },
    {
      // Rules on the default bus are `rule/<name>`; on the pipeline's bus `rule/<bus>/<name>`.
      sid: "Events",
      resources: [arn("events", `event-bus/${p}*`), arn("events", `rule/${p}*`)],
      read: [
        "events:DescribeEventBus",
        "events:DescribeRule",
        "events:ListTagsForResource",
        "events:ListTargetsByRule",
      ],
      write: [
        "events:CreateEventBus",
        "events:DeleteEventBus",
        "events:DeleteRule",
        "events:DisableRule",
        "events:EnableRule",
        "events:PutRule",
        "events:PutTargets",
        "events:RemoveTargets",
        "events:TagResource",
        "events:UntagResource",
        "events:UpdateEventBus",
      ],
    },
    {
      sid: "Scheduler",
      resources: [arn("scheduler", `schedule-group/${p}*`), arn("scheduler", `schedule/*/${p}*`)],
      read: ["scheduler:GetSchedule", "scheduler:GetScheduleGroup", "scheduler:ListTagsForResource"],
      write: [
        "scheduler:CreateSchedule",
        "scheduler:CreateScheduleGroup",
        "scheduler:DeleteSchedule",
        "scheduler:DeleteScheduleGroup",
        "scheduler:TagResource",
        "scheduler:UntagResource",
        "scheduler:UpdateSchedule",
      ],
    },
    {
      // HTTP APIs are addressed by generated ids, so only the region scopes them.
      sid: "ApiGateway",
      resources: [
        arn("apigateway", "/apis", s.region, ""),
        arn("apigateway", "/apis/*", s.region, ""),
        arn("apigateway", "/tags/*", s.region, ""),
      ],
      read: ["apigateway:GET"],
      write: ["apigateway:DELETE", "apigateway:PATCH", "apigateway:POST", "apigateway:PUT"],
    },
    {
      sid: "DynamoDb",
      resources: [arn("dynamodb", `table/${p}*`)],
      read: [
        "dynamodb:DescribeContinuousBackups",
        "dynamodb:DescribeTable",
        "dynamodb:DescribeTimeToLive",
        "dynamodb:ListTagsOfResource",
      ],
      write: [
        "dynamodb:CreateTable",
        "dynamodb:DeleteTable",
        "dynamodb:TagResource",
        "dynamodb:UntagResource",
        "dynamodb:UpdateContinuousBackups",
        "dynamodb:UpdateTable",
        "dynamodb:UpdateTimeToLive",
      ],
    },
    {
      sid: "CloudWatch",
      resources: [arn("cloudwatch", `alarm:${p}*`), arn("cloudwatch", `dashboard/${p}*`, "")],
      read: ["cloudwatch:DescribeAlarms", "cloudwatch:GetDashboard", "cloudwatch:ListTagsForResource"],
      write: [
        "cloudwatch:DeleteAlarms",
        "cloudwatch:DeleteDashboards",
        "cloudwatch:PutDashboard",
        "cloudwatch:PutMetricAlarm",
        "cloudwatch:TagResource",
        "cloudwatch:UntagResource",
      ],
    },
    {
      // Deploys read values back: the provider refreshes a SecretVersion with GetSecretValue.
      sid: "SecretsManager",
      resources: [arn("secretsmanager", `secret:${p}*`)],
      read: [
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetResourcePolicy",
        "secretsmanager:ListSecretVersionIds",
      ],
      write: [
        "secretsmanager:CreateSecret",
        "secretsmanager:DeleteResourcePolicy",
        "secretsmanager:DeleteSecret",
        "secretsmanager:GetSecretValue",
        "secretsmanager:PutResourcePolicy",
        "secretsmanager:PutSecretValue",
        "secretsmanager:TagResource",
        "secretsmanager:UntagResource",
        "secretsmanager:UpdateSecret",
        "secretsmanager:UpdateSecretVersionStage",
      ],
    },
    {
      // Key ids are random: keys are this environment's by their tags (defaultTags, set at CreateKey).
      sid: "KmsKeys",
      resources: [arn("kms", "key/*")],
      condition: {
        StringEquals: { "aws:ResourceTag/project": PROJECT_TAG, "aws:ResourceTag/environment": s.environment },
      },
      read: ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags"],
      write: [
        "kms:CancelKeyDeletion",
        "kms:CreateAlias",
        "kms:DeleteAlias",
        "kms:DisableKey",
        "kms:DisableKeyRotation",
        "kms:EnableKey",
        "kms:EnableKeyRotation",
        "kms:PutKeyPolicy",
        "kms:ScheduleKeyDeletion",
        "kms:TagResource",
        "kms:UntagResource",
        "kms:UpdateAlias",
        "kms:UpdateKeyDescription",
      ],
    },
    {
      sid: "KmsAliases",
      resources: [arn("kms", `alias/${p}*`)],
      read: [],
      write: ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"],
    },
    {
      sid: "Iam",
      resources: [arn("iam", `role/${p}*`, ""), arn("iam", `policy/${p}*`, "")],
      read: [
        "iam:GetPolicy",
        "iam:GetPolicyVersion",
        "iam:GetRole",
        "iam:GetRolePolicy",
        "iam:ListAttachedRolePolicies",
        "iam:ListInstanceProfilesForRole",
        "iam:ListPolicyTags",
        "iam:ListPolicyVersions",
        "iam:ListRolePolicies",
        "iam:ListRoleTags",
      ],
      // Creating roles and changing their permissions: only with the boundary (deployPolicies).
      write: [
        "iam:CreatePolicy",
        "iam:CreatePolicyVersion",
        "iam:DeletePolicy",
        "iam:DeletePolicyVersion",
        "iam:DeleteRole",
        "iam:TagPolicy",
        "iam:TagRole",
        "iam:UntagPolicy",
        "iam:UntagRole",
        "iam:UpdateAssumeRolePolicy",
        "iam:UpdateRole",
        "iam:UpdateRoleDescription",
      ],
    },
  ];
  if (o.ownedOidcProviderArn) {
    services.push({
      sid: "GitHubOidcProvider",
      resources: [o.ownedOidcProviderArn],
      read: ["iam:GetOpenIDConnectProvider", "iam:ListOpenIDConnectProviderTags"],
      write: [
        "iam:AddClientIDToOpenIDConnectProvider",
        "iam:CreateOpenIDConnectProvider",
        "iam:DeleteOpenIDConnectProvider",
        "iam:RemoveClientIDFromOpenIDConnectProvider",
        "iam:TagOpenIDConnectProvider",
        "iam:UntagOpenIDConnectProvider",
        "iam:UpdateOpenIDConnectProviderThumbprint",
      ],
    });
  }
  if (o.createsNetwork) {
    // EC2 resources are named by id: the region and account scope them, not a name.
    services.push({
      sid: "Ec2Network",
      resources: ["vpc", "subnet", "internet-gateway", "route-table", "security-group", "security-group-rule"].map(
        (t) => arn("ec2", `${t}/*`),
      ),
      read: [],
      write: [
        "ec2:AssociateRouteTable",
        "ec2:AttachInternetGateway",
        "ec2:AuthorizeSecurityGroupEgress",
        "ec2:AuthorizeSecurityGroupIngress",
        "ec2:CreateInternetGateway",
        "ec2:CreateRoute",
        "ec2:CreateRouteTable",
        "ec2:CreateSecurityGroup",
        "ec2:CreateSubnet",
        "ec2:CreateTags",
        "ec2:CreateVpc",
        "ec2:DeleteInternetGateway",
        "ec2:DeleteRoute",
        "ec2:DeleteRouteTable",
        "ec2:DeleteSecurityGroup",
        "ec2:DeleteSubnet",
        "ec2:DeleteTags",
        "ec2:DeleteVpc",
        "ec2:DetachInternetGateway",
        "ec2:DisassociateRouteTable",
        "ec2:ModifySubnetAttribute",
        "ec2:ModifyVpcAttribute",
        "ec2:ReplaceRoute",
        "ec2:RevokeSecurityGroupEgress",
        "ec2:RevokeSecurityGroupIngress",
      ],
    });
  }
  return services;
}

/**
 * The self-managed backend: this stack's objects in the state bucket (diy backend layout
 * `.pulumi/stacks/<project>/<stack>.json`, `history/` and `backups/` per stack, and lock files
 * under `.pulumi/locks/<org>/<project>/<stack>/`, pulumi/pulumi pkg/backend/diy/lock.go) and
 * `kms:Decrypt` with the secrets key: the awskms secrets manager only decrypts the stack's data
 * key and encrypts locally (pulumi/pulumi pkg/secrets/cloud/manager.go, NewCloudSecretsManager).
 * Previews read the state and take the lock; deploys also write the state.
 */
export function backendStatements(s: AwsScope, b: StateBackend | undefined, deploy: boolean): PolicyStatement[] {
  if (!b) return [];
  const out: PolicyStatement[] = [];
  if (b.stateBucket) {
    const bucket = `arn:${s.partition}:s3:::${b.stateBucket}`;
    const lock = `${bucket}/.pulumi/locks/*/${b.project}/${b.stack}/*`;
    const state = [
      `${bucket}/.pulumi/stacks/${b.project}/${b.stack}.json*`,
      `${bucket}/.pulumi/history/${b.project}/${b.stack}/*`,
      `${bucket}/.pulumi/backups/${b.project}/${b.stack}/*`,
    ];
    out.push(
      statement("ListStateBucket", ["s3:ListBucket"], [bucket], { StringLike: { "s3:prefix": [".pulumi/*"] } }),
      statement("ReadStackState", ["s3:GetObject"], [`${bucket}/.pulumi/meta.yaml`, ...state, lock]),
      statement(
        deploy ? "WriteStackState" : "LockStack",
        ["s3:DeleteObject", "s3:PutObject"],
        deploy ? [...state, lock] : [lock],
      ),
    );
  }
  if (b.secretsKeyArn) out.push(statement("DecryptStackSecrets", ["kms:Decrypt"], [b.secretsKeyArn]));
  return out;
}

/** Preview: configuration reads of this environment's resources, for `pulumi preview` (not `--refresh`: reading secret values back is a deploy right). */
export function previewStatements(s: AwsScope, o: PulumiRoleOptions): PolicyStatement[] {
  return [
    ...serviceAccess(s, o)
      .filter((a) => a.read.length > 0)
      .map((a) => statement(`Read${a.sid}`, a.read, a.resources, a.condition)),
    ...backendStatements(s, o.backend, false),
  ];
}

/** The deploy role's three managed policies (one inline document would pass IAM's 10,240-character limit per role; each stays under 6,144). */
export interface DeployPolicies {
  /** Storage, compute and messaging: S3, ECR, ECS, Lambda, SQS, SNS, EventBridge, Scheduler, API Gateway, DynamoDB. */
  readonly services: PolicyStatement[];
  /** Keys, secrets, logs, alarms and networking: KMS, Secrets Manager, CloudWatch Logs and alarms, EC2. */
  readonly platform: PolicyStatement[];
  /** Identity and state: IAM (own roles, only with the boundary; passing them), the OIDC provider, the self-managed backend. */
  readonly identity: PolicyStatement[];
}

/** Which deploy policy each service's statement goes to (the rest: services). */
const GROUP_OF: Readonly<Record<string, keyof DeployPolicies>> = {
  Logs: "platform",
  CloudWatch: "platform",
  SecretsManager: "platform",
  KmsKeys: "platform",
  KmsAliases: "platform",
  Ec2Network: "platform",
  Iam: "identity",
  GitHubOidcProvider: "identity",
};

/**
 * Deploy: the preview reads, the writes, and passing the package's roles to its services.
 * A wildcard resource appears only for allowlisted actions, each listed with its reason (and the
 * condition it needs) in the policy pack's allowlist (policy/iam-rules.ts).
 */
export function deployPolicies(s: AwsScope, o: PulumiRoleOptions): DeployPolicies {
  const p = namePrefix(s.environment);
  const ownFunctions = {
    ArnLike: { "lambda:FunctionArn": `arn:${s.partition}:lambda:${s.region}:${s.accountId}:function:${p}*` },
  };
  const manage = (group: keyof DeployPolicies) =>
    serviceAccess(s, o)
      .filter((a) => (GROUP_OF[a.sid] ?? "services") === group)
      .map((a) => statement(`Manage${a.sid}`, [...a.read, ...a.write], a.resources, a.condition));
  return {
    services: [
      ...manage("services"),
      // Mappings are named by UUID: the function they feed scopes them. Create has no resource type.
      statement("CreateEventSourceMappings", ["lambda:CreateEventSourceMapping"], ["*"], ownFunctions),
      statement(
        "ChangeEventSourceMappings",
        ["lambda:DeleteEventSourceMapping", "lambda:UpdateEventSourceMapping"],
        [`arn:${s.partition}:lambda:${s.region}:${s.accountId}:event-source-mapping:*`],
        ownFunctions,
      ),
      statement(
        "TagEventSourceMappings",
        ["lambda:ListTags", "lambda:TagResource", "lambda:UntagResource"],
        [`arn:${s.partition}:lambda:${s.region}:${s.accountId}:event-source-mapping:*`],
      ),
      // Actions AWS authorizes on "*" only (policy/iam-rules.ts lists each with its reason).
      statement("DeregisterTaskDefinitions", ["ecs:DeregisterTaskDefinition"], ["*"]),
      statement(
        "SnsSubscriptions",
        ["sns:GetSubscriptionAttributes", "sns:SetSubscriptionAttributes", "sns:Unsubscribe"],
        ["*"],
      ),
      // The deploy's `aws.lambda.Invocation` calls Invoke on this one function (components/triggers/deploy-build.ts).
      ...(o.invokesDispatch
        ? [
            statement(
              "InvokeDispatchOnDeploy",
              ["lambda:InvokeFunction"],
              [`arn:${s.partition}:lambda:${s.region}:${s.accountId}:function:${p}dispatch`],
            ),
          ]
        : []),
    ],
    platform: [
      ...manage("platform"),
      // HTTP API access logs: the log delivery and resource-policy actions have no resource type.
      statement(
        "ApiAccessLogDelivery",
        [
          "logs:CreateLogDelivery",
          "logs:DeleteLogDelivery",
          "logs:DescribeResourcePolicies",
          "logs:GetLogDelivery",
          "logs:ListLogDeliveries",
          "logs:PutResourcePolicy",
          "logs:UpdateLogDelivery",
        ],
        ["*"],
      ),
      statement("ReadKmsAliases", ["kms:ListAliases"], ["*"]),
    ],
    identity: [
      ...manage("identity"),
      // A role is created, and its permissions changed, only when it carries the boundary
      // (`iam:PermissionsBoundary`); the boundary itself denies changes to this role, its
      // policies and the boundary (components/lib/boundary.ts).
      statement(
        "RolesWithBoundaryOnly",
        [
          "iam:AttachRolePolicy",
          "iam:CreateRole",
          "iam:DeleteRolePolicy",
          "iam:DetachRolePolicy",
          "iam:PutRolePermissionsBoundary",
          "iam:PutRolePolicy",
        ],
        [`arn:${s.partition}:iam::${s.accountId}:role/${p}*`],
        { StringEquals: { "iam:PermissionsBoundary": o.boundaryArn } },
      ),
      statement("PassOwnRoles", ["iam:PassRole"], [`arn:${s.partition}:iam::${s.accountId}:role/${p}*`], {
        StringEquals: { "iam:PassedToService": [...PASSED_TO_SERVICES] },
      }),
      statement(
        "EcsServiceLinkedRole",
        ["iam:CreateServiceLinkedRole"],
        [`arn:${s.partition}:iam::${s.accountId}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS`],
        {
          StringEquals: { "iam:AWSServiceName": "ecs.amazonaws.com" },
        },
      ),
      ...backendStatements(s, o.backend, true),
    ],
  };
}

/** IAM's size limit of a customer managed policy, in characters without whitespace. */
export const MANAGED_POLICY_MAX_CHARS = 6144;

/** IAM's size limit of all inline policies of one role together. */
export const INLINE_POLICIES_MAX_CHARS = 10240;

/** Characters IAM counts for a policy (whitespace excluded). */
export function policySize(doc: PolicyDocument): number {
  return JSON.stringify(doc).replace(/\s+/g, "").length;
}
