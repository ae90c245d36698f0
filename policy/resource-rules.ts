/**
 * Storage, compute and Snowflake rules that a single resource's properties decide.
 */
import { ResourceValidationPolicy } from "@pulumi/policy";
import { Props, dig, list, shown } from "./util";

/** Lambda runtimes the pack accepts. */
export const LAMBDA_RUNTIMES = ["nodejs22.x", "nodejs24.x"];

/** SQS queues are encrypted. */
export const sqsEncrypted: ResourceValidationPolicy = {
  name: "sqs-encrypted",
  description: "SQS queues use SSE (SQS-managed or KMS).",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== "aws:sqs/queue:Queue") return;
    if (args.props.sqsManagedSseEnabled !== true && !args.props.kmsMasterKeyId)
      report(`${args.name}: queue is not encrypted; set sqsManagedSseEnabled or kmsMasterKeyId.`);
  },
};

/** Log groups keep logs for a bounded time. */
export const logGroupRetention: ResourceValidationPolicy = {
  name: "log-group-retention",
  description: "CloudWatch log groups set retentionInDays.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== "aws:cloudwatch/logGroup:LogGroup") return;
    const days: unknown = args.props.retentionInDays;
    if (typeof days !== "number" || days <= 0)
      report(`${args.name}: log group keeps logs forever; set retentionInDays.`);
  },
};

/** Lambdas: a known Node.js runtime, arm64, bounded timeout; a reservation, when opted into, is at least 1 (0 throttles every call). */
export const lambdaShape: ResourceValidationPolicy = {
  name: "lambda-runtime-arch-bounds",
  description:
    "Lambda functions run a supported Node.js runtime on arm64 with a timeout of at most 300 s; an opt-in reserved concurrency is at least 1.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== "aws:lambda/function:Function") return;
    const p: Props = args.props;
    if (typeof p.runtime !== "string" || !LAMBDA_RUNTIMES.includes(p.runtime))
      report(`${args.name}: runtime ${shown(p.runtime ?? "(none)")} is not one of ${LAMBDA_RUNTIMES.join(", ")}.`);
    if (JSON.stringify(p.architectures) !== JSON.stringify(["arm64"]))
      report(`${args.name}: architectures must be ["arm64"].`);
    if (typeof p.timeout !== "number" || p.timeout > 300)
      report(`${args.name}: timeout must be set and at most 300 seconds (got ${shown(p.timeout ?? "the default")}).`);
    const reserved = p.reservedConcurrentExecutions;
    if (
      reserved !== undefined &&
      reserved !== null &&
      (typeof reserved !== "number" || (reserved !== -1 && reserved < 1))
    ) {
      report(
        `${args.name}: reservedConcurrentExecutions ${shown(reserved)} throttles every invocation; leave it unset or reserve at least 1.`,
      );
    }
  },
};

/** ECS task definitions: no privileged container, every container logs and has a read-only root filesystem. */
export const ecsTaskShape: ResourceValidationPolicy = {
  name: "ecs-task-unprivileged-logged",
  description:
    "ECS containers are not privileged, every container has a log configuration and a read-only root filesystem (writable volumes where it writes).",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== "aws:ecs/taskDefinition:TaskDefinition") return;
    const definitions: unknown = args.props.containerDefinitions;
    let containers: unknown;
    try {
      if (typeof definitions !== "string") return; // Unknown during preview of a new stack.
      containers = JSON.parse(definitions);
    } catch {
      return;
    }
    for (const c of list(containers)) {
      const name = String(dig(c, "name"));
      if (dig(c, "privileged")) report(`${args.name}: container ${name} is privileged.`);
      if (!dig(c, "logConfiguration")) report(`${args.name}: container ${name} has no logConfiguration.`);
      if (dig(c, "readonlyRootFilesystem") !== true)
        report(
          `${args.name}: container ${name} has a writable root filesystem; set readonlyRootFilesystem and mount a volume where it writes.`,
        );
    }
  },
};

/** Snowflake resources whose `name` the program must set explicitly. */
export const NAMED_SNOWFLAKE_TYPES = [
  "database",
  "schema",
  "warehouse",
  "resourceMonitor",
  "accountRole",
  "serviceUser",
  "table",
  "streamOnTable",
  "task",
  "notificationIntegration",
  "view",
  "procedureSql",
].map((t) => `snowflake:index/${t}:${t[0].toUpperCase()}${t.slice(1)}`);

/** Snowflake names are explicit UPPER_SNAKE identifiers (never Pulumi auto-names). */
export const snowflakeUpperNames: ResourceValidationPolicy = {
  name: "snowflake-explicit-upper-names",
  description:
    "Snowflake objects have explicit UPPER_SNAKE names; an auto-name is a quoted, case-sensitive identifier.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (!NAMED_SNOWFLAKE_TYPES.includes(args.type)) return;
    const name: unknown = args.props.name;
    if (typeof name !== "string" || !/^[A-Z][A-Z0-9_]*$/.test(name))
      report(`${args.name}: Snowflake name ${JSON.stringify(name ?? null)} is not an explicit UPPER_SNAKE identifier.`);
  },
};

/** Warehouses suspend quickly and sit under a resource monitor. */
export const snowflakeWarehouseGuards: ResourceValidationPolicy = {
  name: "snowflake-warehouse-guards",
  description: "Every warehouse auto-suspends within the configured maximum and has a resource monitor.",
  enforcementLevel: "mandatory",
  configSchema: { properties: { maxAutoSuspendSeconds: { type: "integer", default: 300 } } },
  validateResource: (args, report) => {
    if (args.type !== "snowflake:index/warehouse:Warehouse") return;
    const max = args.getConfig<{ maxAutoSuspendSeconds?: number }>().maxAutoSuspendSeconds ?? 300;
    const suspend: unknown = args.props.autoSuspend;
    if (typeof suspend !== "number" || suspend <= 0 || suspend > max)
      report(`${args.name}: autoSuspend must be between 1 and ${max} seconds (got ${shown(suspend ?? "unset")}).`);
    if (!args.props.resourceMonitor) report(`${args.name}: warehouse has no resource monitor.`);
  },
};

/**
 * Privileges a REPORTER role may hold: reads only. USAGE (enter a database, schema or
 * warehouse), SELECT and REFERENCES (read tables and views, see their constraints), MONITOR
 * (see usage and query history). Anything else, INSERT or OPERATE as much as OWNERSHIP, fails.
 */
export const REPORTER_PRIVILEGES = ["USAGE", "SELECT", "REFERENCES", "MONITOR"];

/** REPORTER roles hold only the read privileges of the allowlist, and inherit no other role. */
export const reporterReadOnly: ResourceValidationPolicy = {
  name: "snowflake-reporter-read-only",
  description: `A REPORTER role is granted only ${REPORTER_PRIVILEGES.join(", ")}: no write, no OWNERSHIP or ALL, no other role.`,
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    const reporter = (role: unknown): role is string => typeof role === "string" && /^REPORTER(_|$)/.test(role);
    if (args.type === "snowflake:index/grantAccountRole:GrantAccountRole" && reporter(args.props.parentRoleName)) {
      report(
        `${args.name}: grants role ${args.props.roleName} to ${args.props.parentRoleName}; a reporter inherits no other role.`,
      );
    }
    const role: unknown = args.props.accountRoleName;
    if (!reporter(role)) return;
    if (args.type === "snowflake:index/grantOwnership:GrantOwnership")
      report(`${args.name}: grants OWNERSHIP to ${role}.`);
    if (args.type !== "snowflake:index/grantPrivilegesToAccountRole:GrantPrivilegesToAccountRole") return;
    if (args.props.allPrivileges) report(`${args.name}: grants ALL privileges to ${role}.`);
    const bad = list<unknown>(args.props.privileges).filter(
      (p) => !REPORTER_PRIVILEGES.includes(String(p).toUpperCase()),
    );
    if (bad.length)
      report(
        `${args.name}: grants ${bad.join(", ")} to ${role}; a reporter may hold only ${REPORTER_PRIVILEGES.join(", ")}.`,
      );
  },
};

/** Every EventBridge Scheduler schedule hands undeliverable invocations to a dead-letter queue. */
export const scheduleDeadLetterQueue: ResourceValidationPolicy = {
  name: "schedule-dead-letter-queue",
  description:
    "EventBridge Scheduler schedules set target.deadLetterConfig, so an invocation the scheduler gives up on is kept, not dropped.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    if (args.type !== "aws:scheduler/schedule:Schedule") return;
    if (!dig(args.props, "target", "deadLetterConfig", "arn"))
      report(`${args.name}: schedule target has no deadLetterConfig; failed invocations would be dropped.`);
  },
};
