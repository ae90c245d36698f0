/** Launch's environment, read once at init. */
import * as z from "zod/mini";
import { envInt, envList, envOneOf, envRequired, parseEnv } from "../lib/env";

/** Launch's settings. */
export interface LaunchSettings {
  /** CLUSTER_ARN: the ECS cluster dbt runs in. */
  readonly clusterArn: string;
  /** TASK_DEFINITION: the dbt task definition family (its latest ACTIVE revision runs). */
  readonly taskDefinition: string;
  /** SUBNET_IDS: comma list. */
  readonly subnetIds: readonly string[];
  /** SECURITY_GROUP_IDS: comma list. */
  readonly securityGroupIds: readonly string[];
  /** ASSIGN_PUBLIC_IP: ENABLED or DISABLED (default DISABLED). */
  readonly assignPublicIp: "ENABLED" | "DISABLED";
  /**
   * BURST_WINDOW_SECONDS: an idle target starts its run this long after the oldest waiting
   * trigger arrived, so a burst lands in one run (default 10, at most 60: launch waits inside
   * one invocation while it holds the lease).
   */
  readonly burstWindowSeconds: number;
  /**
   * MIN_RUN_INTERVAL_SECONDS: a busy target's next run starts no sooner than this after the start
   * of its previous one (default 0: at once). Requests meanwhile wait in the pending set and join
   * that run; the sweep starts it once due (docs/launch.md).
   */
  readonly minRunIntervalSeconds: number;
  /**
   * HOURLY_SKIP_WHEN_IDLE: `true` skips a waiting hourly run when no source load was accepted
   * since the start of the target's last run that ended with dbt exit code 0 (default false).
   */
  readonly hourlySkipWhenIdle: boolean;
  /** MAX_LAUNCH_ATTEMPTS: RunTask attempts on throttling or missing capacity per invocation (default 5). */
  readonly maxLaunchAttempts: number;
  /** DLQ_URL: where poison messages and requests ECS rejects go (FIFO when the URL ends in `.fifo`). */
  readonly dlqUrl: string;
  /** TABLE_NAME: the DynamoDB table of pending requests and leases. */
  readonly tableName: string;
  /**
   * LEASE_SECONDS: how long a running task's lease lasts without renewal (default 3600). The
   * sweep renews it every few minutes while DescribeTasks shows the task alive; it only matters
   * when the STOPPED event and the sweeps are both lost.
   */
  readonly leaseSeconds: number;
  /** DONE_SECONDS: how long a served request is remembered as a duplicate (default 172800, two days). */
  readonly doneSeconds: number;
}

/** Launch's environment: the variables the Triggers component sets. */
const LaunchEnvSchema = z.pipe(
  z.object({
    CLUSTER_ARN: envRequired(),
    TASK_DEFINITION: envRequired(),
    SUBNET_IDS: envList(),
    SECURITY_GROUP_IDS: envList(),
    ASSIGN_PUBLIC_IP: envOneOf(["ENABLED", "DISABLED"], "DISABLED"),
    BURST_WINDOW_SECONDS: envInt(0, 60, 10),
    MIN_RUN_INTERVAL_SECONDS: envInt(0, 3600, 0),
    HOURLY_SKIP_WHEN_IDLE: envOneOf(["true", "false"], "false"),
    MAX_LAUNCH_ATTEMPTS: envInt(1, 20, 5),
    DLQ_URL: envRequired(),
    TABLE_NAME: envRequired(),
    LEASE_SECONDS: envInt(600, 86400, 3600),
    DONE_SECONDS: envInt(3600, 1209600, 172800),
  }),
  z.transform((env): LaunchSettings => ({
    clusterArn: env.CLUSTER_ARN,
    taskDefinition: env.TASK_DEFINITION,
    subnetIds: env.SUBNET_IDS,
    securityGroupIds: env.SECURITY_GROUP_IDS,
    assignPublicIp: env.ASSIGN_PUBLIC_IP,
    burstWindowSeconds: env.BURST_WINDOW_SECONDS,
    minRunIntervalSeconds: env.MIN_RUN_INTERVAL_SECONDS,
    hourlySkipWhenIdle: env.HOURLY_SKIP_WHEN_IDLE === "true",
    maxLaunchAttempts: env.MAX_LAUNCH_ATTEMPTS,
    dlqUrl: env.DLQ_URL,
    tableName: env.TABLE_NAME,
    leaseSeconds: env.LEASE_SECONDS,
    doneSeconds: env.DONE_SECONDS,
  })),
);

/** Reads launch's settings; throws `ConfigurationError` naming every bad variable. */
export function readLaunchSettings(vars: Readonly<Record<string, string | undefined>>): Readonly<LaunchSettings> {
  return parseEnv("launch", LaunchEnvSchema, vars);
}
