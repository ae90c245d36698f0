/** The trust policy of the role Snowflake assumes to publish to SNS. */
import * as pulumi from "@pulumi/pulumi";

/**
 * Trusts exactly the IAM user Snowflake reports for the integration, with the integration's
 * external id: both come from the integration's own outputs (DESCRIBE INTEGRATION), never copied by hand.
 */
export function snowflakeSnsTrust(
  iamUserArn: pulumi.Input<string>,
  externalId: pulumi.Input<string>,
): pulumi.Output<string> {
  return pulumi.jsonStringify({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "SnowflakeNotificationIntegration",
        Effect: "Allow",
        Principal: { AWS: iamUserArn },
        Action: "sts:AssumeRole",
        Condition: { StringEquals: { "sts:ExternalId": externalId } },
      },
    ],
  });
}
