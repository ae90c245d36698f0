import { expect } from "chai";
import { queueUrlFromArn } from "../../ops/stack";

describe("ops: queue URL of a queue ARN", () => {
  const table: [string, string, string][] = [
    [
      "a FIFO queue in eu-west-1",
      "arn:aws:sqs:eu-west-1:123456789012:dbt-pipeline-dev-runs.fifo",
      "https://sqs.eu-west-1.amazonaws.com/123456789012/dbt-pipeline-dev-runs.fifo",
    ],
    [
      "a queue in the China partition",
      "arn:aws-cn:sqs:cn-north-1:123456789012:q",
      "https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q",
    ],
  ];
  for (const [what, arn, url] of table) it(what, () => expect(queueUrlFromArn(arn)).to.equal(url));
});
