/** Launch's environment, read once at init. */
import { readEnv } from "../lib/env";

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
  /** BURST_WINDOW_SECONDS: triggers younger than this wait for more to merge with (default 60). */
  readonly burstWindowSeconds: number;
  /** RECHECK_SECONDS: how long a request waiting for a running task stays hidden (default 60). */
  readonly recheckSeconds: number;
  /** MAX_LAUNCH_ATTEMPTS: RunTask attempts on throttling or missing capacity (default 5). */
  readonly maxLaunchAttempts: number;
  /** DLQ_URL: where poison messages and failed launches go (FIFO when the URL ends in `.fifo`). */
  readonly dlqUrl: string;
  /** QUEUE_URL: the runs queue, for visibility changes; optional, derived from the event source ARN when unset. */
  readonly queueUrl?: string;
}

/** Reads launch's settings; throws `ConfigurationError` listing every bad variable. */
export function readLaunchSettings(vars: Readonly<Record<string, string | undefined>>): Readonly<LaunchSettings> {
  return readEnv("launch", vars, (env) => ({
    clusterArn: env.string("CLUSTER_ARN"),
    taskDefinition: env.string("TASK_DEFINITION"),
    subnetIds: env.list("SUBNET_IDS"),
    securityGroupIds: env.list("SECURITY_GROUP_IDS"),
    assignPublicIp: env.oneOf<"ENABLED" | "DISABLED">("ASSIGN_PUBLIC_IP", ["ENABLED", "DISABLED"], "DISABLED"),
    burstWindowSeconds: env.int("BURST_WINDOW_SECONDS", 60, 0, 900),
    recheckSeconds: env.int("RECHECK_SECONDS", 60, 1, 3600),
    maxLaunchAttempts: env.int("MAX_LAUNCH_ATTEMPTS", 5, 1, 20),
    dlqUrl: env.string("DLQ_URL"),
    queueUrl: env.optional("QUEUE_URL"),
  }));
}
