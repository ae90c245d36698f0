/** Every rule of the pack, in the order `pulumi preview --policy-pack policy` reports them. */
import { Policies } from "@pulumi/policy";
import { iamPermissionsBoundary } from "./boundary-rules";
import { iamNoWildcardActions, iamNoWildcardResources, iamPassRoleConditioned } from "./iam-rules";
import {
  ecsTaskShape,
  scheduleDeadLetterQueue,
  lambdaShape,
  logGroupRetention,
  reporterReadOnly,
  snowflakeUpperNames,
  snowflakeWarehouseGuards,
  sqsEncrypted,
} from "./resource-rules";
import { lambdaEnvHoldsArns, noPlainTextSecrets } from "./secret-rules";
import { prodStatefulProtected, s3BucketGuards, sqsHasDeadLetterQueue } from "./stack-rules";

export const POLICIES: Policies = [
  iamNoWildcardActions,
  iamNoWildcardResources,
  iamPassRoleConditioned,
  iamPermissionsBoundary,
  noPlainTextSecrets,
  lambdaEnvHoldsArns,
  s3BucketGuards,
  sqsEncrypted,
  sqsHasDeadLetterQueue,
  scheduleDeadLetterQueue,
  logGroupRetention,
  lambdaShape,
  ecsTaskShape,
  snowflakeWarehouseGuards,
  snowflakeUpperNames,
  reporterReadOnly,
  prodStatefulProtected,
];
