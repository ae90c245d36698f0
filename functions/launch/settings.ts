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

/** Reads launch's settings; throws `ConfigurationError` listing every bad variable. */
export function readLaunchSettings(vars: Readonly<Record<string, string | undefined>>): Readonly<LaunchSettings> {
  return readEnv("launch", vars, (env) => ({
    clusterArn: env.string("CLUSTER_ARN"),
    taskDefinition: env.string("TASK_DEFINITION"),
    subnetIds: env.list("SUBNET_IDS"),
    securityGroupIds: env.list("SECURITY_GROUP_IDS"),
    assignPublicIp: env.oneOf<"ENABLED" | "DISABLED">("ASSIGN_PUBLIC_IP", ["ENABLED", "DISABLED"], "DISABLED"),
    burstWindowSeconds: env.int("BURST_WINDOW_SECONDS", 10, 0, 60),
    minRunIntervalSeconds: env.int("MIN_RUN_INTERVAL_SECONDS", 0, 0, 3600),
    hourlySkipWhenIdle: env.oneOf("HOURLY_SKIP_WHEN_IDLE", ["true", "false"], "false") === "true",
    maxLaunchAttempts: env.int("MAX_LAUNCH_ATTEMPTS", 5, 1, 20),
    dlqUrl: env.string("DLQ_URL"),
    tableName: env.string("TABLE_NAME"),
    leaseSeconds: env.int("LEASE_SECONDS", 3600, 600, 86400),
    doneSeconds: env.int("DONE_SECONDS", 172800, 3600, 1209600),
  }));
}
