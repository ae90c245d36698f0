/** The dbt-CI role's policy as a literal, asserted by both the builder spec and the stack spec. */
export function expectedDbtCiPolicy(ecrArn: string, bucketArn: string, env: string) {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "PushImage",
        Effect: "Allow",
        Action: [
          "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:CompleteLayerUpload", "ecr:GetDownloadUrlForLayer",
          "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart",
        ],
        Resource: ecrArn,
      },
      { Sid: "RegistryLogin", Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" },
      { Sid: "ListArtifacts", Effect: "Allow", Action: "s3:ListBucket", Resource: bucketArn, Condition: { StringLike: { "s3:prefix": [`${env}/*`] } } },
      { Sid: "ReadWriteArtifacts", Effect: "Allow", Action: ["s3:GetObject", "s3:PutObject"], Resource: `${bucketArn}/${env}/*` },
    ],
  };
}
