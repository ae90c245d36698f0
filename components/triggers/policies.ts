/**
 * IAM statements of the trigger path as plain data: what dispatch, launch and the scheduler may
 * do, each statement on exact ARNs. Pure: the values are placed, never computed, so tests can
 * pass plain strings and compare the JSON AWS will receive.
 */
import * as pulumi from "@pulumi/pulumi";
import { Statement } from "../lib/iam";

type Ref = pulumi.Input<string>;

/** What dispatch touches. Optional entries add their statement only when given. */
export interface DispatchPolicyRefs {
  /** The runs FIFO queue. */
  readonly runsQueueArn: Ref;
  /** The Powertools idempotency table. */
  readonly idempotencyTableArn: Ref;
  /** The standard queue that catches dispatch's failed asynchronous invocations. */
  readonly asyncDeadLetterQueueArn: Ref;
  /** Secrets dispatch reads at init (Fivetran signing secret, Airbyte token); none when empty. */
  readonly secretArns: readonly Ref[];
  /** Topic dispatch alerts on (rejected or unknown deliveries). */
  readonly alertTopicArn?: Ref;
}

/** Statements of dispatch's role (besides writing its own logs). */
export function dispatchStatements(r: DispatchPolicyRefs): Statement[] {
  const statements: Statement[] = [
    { Sid: "EnqueueRuns", Effect: "Allow", Action: "sqs:SendMessage", Resource: r.runsQueueArn },
    {
      Sid: "IdempotencyRecords",
      Effect: "Allow",
      Action: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
      Resource: r.idempotencyTableArn,
    },
    // Lambda sends failed asynchronous invocations (Scheduler, SNS) with the function's own role.
    { Sid: "AsyncDeadLetters", Effect: "Allow", Action: "sqs:SendMessage", Resource: r.asyncDeadLetterQueueArn },
  ];
  if (r.secretArns.length) {
    statements.push({
      Sid: "ReadWebhookSecrets",
      Effect: "Allow",
      Action: "secretsmanager:GetSecretValue",
      Resource: [...r.secretArns],
    });
  }
  if (r.alertTopicArn !== undefined) {
    statements.push({ Sid: "PublishAlerts", Effect: "Allow", Action: "sns:Publish", Resource: r.alertTopicArn });
  }
  return statements;
}

/** What launch touches. */
export interface LaunchPolicyRefs {
  /** `arn:aws:ecs:<region>:<account>:cluster/<name>`. */
  readonly clusterArn: Ref;
  /** Every revision of the dbt task family: see {@link taskDefinitionArnPattern}. */
  readonly taskDefinitionArnPattern: Ref;
  /** Tasks of the cluster: see {@link taskArnPattern}. */
  readonly taskArnPattern: Ref;
  /** Role the dbt containers run as. */
  readonly taskRoleArn: Ref;
  /** Role ECS uses to pull the image, read secrets and write logs. */
  readonly executionRoleArn: Ref;
  /** The runs FIFO queue launch consumes. */
  readonly runsQueueArn: Ref;
  /** The FIFO dead-letter queue launch forwards poison and failed launches to. */
  readonly deadLetterQueueArn: Ref;
  /** Launch's state table: pending requests and leases. */
  readonly launchStateTableArn: Ref;
}

/** Statements of launch's role (besides writing its own logs). */
export function launchStatements(r: LaunchPolicyRefs): Statement[] {
  const inCluster = { ArnEquals: { "ecs:cluster": r.clusterArn } };
  return [
    {
      Sid: "RunDbtTask",
      Effect: "Allow",
      Action: "ecs:RunTask",
      Resource: r.taskDefinitionArnPattern,
      Condition: inCluster,
    },
    {
      // ListTasks authorizes only on container-instance ARNs, which Fargate tasks have none of:
      // listing a cluster's tasks needs Resource "*". The ecs:cluster condition scopes it.
      // Launch asks it only whether an expired lease's run still has a task (by startedBy).
      Sid: "ListTasksNeedsStarScopedToCluster",
      Effect: "Allow",
      Action: "ecs:ListTasks",
      Resource: "*",
      Condition: inCluster,
    },
    // The sweep asks whether a lease's task still runs.
    {
      Sid: "DescribeDbtTasks",
      Effect: "Allow",
      Action: "ecs:DescribeTasks",
      Resource: r.taskArnPattern,
      Condition: inCluster,
    },
    {
      Sid: "PassTaskRolesToEcsOnly",
      Effect: "Allow",
      Action: "iam:PassRole",
      Resource: [r.taskRoleArn, r.executionRoleArn],
      Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
    },
    {
      // RunTask with tags (or propagateTags) needs TagResource, and only for that call.
      Sid: "TagTasksOnRunTaskOnly",
      Effect: "Allow",
      Action: "ecs:TagResource",
      Resource: r.taskArnPattern,
      Condition: { StringEquals: { "ecs:CreateAction": "RunTask" } },
    },
    {
      // What the SQS event source mapping needs (the AWSLambdaSQSQueueExecutionRole actions);
      // launch no longer changes visibility itself.
      Sid: "ConsumeRuns",
      Effect: "Allow",
      Action: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
      Resource: r.runsQueueArn,
    },
    { Sid: "ForwardToDeadLetters", Effect: "Allow", Action: "sqs:SendMessage", Resource: r.deadLetterQueueArn },
    {
      // Conditional puts and deletes of the lease, pending requests and done markers (no
      // UpdateItem: every write replaces a whole item); Query reads a target's pending set;
      // Scan is the sweep's list of targets.
      Sid: "LaunchState",
      Effect: "Allow",
      Action: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:Query", "dynamodb:Scan"],
      Resource: r.launchStateTableArn,
    },
  ];
}

/** What the scheduler's role touches. */
export interface SchedulerPolicyRefs {
  /** The dispatch function (unqualified ARN). */
  readonly dispatchFunctionArn: Ref;
  /** The launch function (unqualified ARN), which the sweep schedule invokes. */
  readonly launchFunctionArn: Ref;
  /** The standard dead-letter queue of the schedules. */
  readonly asyncDeadLetterQueueArn: Ref;
}

/** Statements of the role EventBridge Scheduler assumes to invoke dispatch. */
export function schedulerStatements(r: SchedulerPolicyRefs): Statement[] {
  return [
    { Sid: "InvokeDispatch", Effect: "Allow", Action: "lambda:InvokeFunction", Resource: r.dispatchFunctionArn },
    { Sid: "InvokeLaunchSweep", Effect: "Allow", Action: "lambda:InvokeFunction", Resource: r.launchFunctionArn },
    // Scheduler writes undeliverable events to its DLQ with this role.
    { Sid: "ScheduleDeadLetters", Effect: "Allow", Action: "sqs:SendMessage", Resource: r.asyncDeadLetterQueueArn },
  ];
}

/** Condition of the scheduler's trust policy: only schedules of this account assume the role. */
export function schedulerTrustCondition(accountId: Ref): NonNullable<Statement["Condition"]> {
  return { StringEquals: { "aws:SourceAccount": accountId } };
}

/** Every revision of task family `family`: `arn:aws:ecs:<region>:<account>:task-definition/<family>:*`. */
export function taskDefinitionArnPattern(region: string, accountId: string, family: string): string {
  return `arn:aws:ecs:${region}:${accountId}:task-definition/${family}:*`;
}

/** Every task of cluster `clusterName`: `arn:aws:ecs:<region>:<account>:task/<cluster>/*`. */
export function taskArnPattern(region: string, accountId: string, clusterName: string): string {
  return `arn:aws:ecs:${region}:${accountId}:task/${clusterName}/*`;
}
