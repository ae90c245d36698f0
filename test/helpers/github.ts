/** The dbt image-push role's policy as a literal, asserted by both the builder spec and the stack spec. */
export function expectedDbtCiPolicy(ecrArn: string) {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "PushImage",
        Effect: "Allow",
        Action: [
          "ecr:BatchCheckLayerAvailability",
          "ecr:BatchGetImage",
          "ecr:CompleteLayerUpload",
          "ecr:GetDownloadUrlForLayer",
          "ecr:InitiateLayerUpload",
          "ecr:PutImage",
          "ecr:UploadLayerPart",
        ],
        Resource: ecrArn,
      },
      { Sid: "RegistryLogin", Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" },
    ],
  };
}
