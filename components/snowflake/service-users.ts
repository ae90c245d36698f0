/**
 * Snowflake service users (TYPE = SERVICE: no password, key-pair only), their RSA key pairs,
 * their role grants, and an AWS Secrets Manager secret per user holding the current private key.
 *
 * Rotation without downtime (`snowflake.keyGeneration`, see keys.ts):
 * 1. `pulumi config set snowflake.keyGeneration <N+1> --stack <env>` and `pulumi up`. A new key
 *    pair is created and its public key goes into the user's free slot, while generation N
 *    stays valid in the other slot; then the secret gets the new private key (plain PKCS#8 PEM).
 * 2. Runs already in flight keep using generation N; new runs read the new key from the secret.
 *    Wait until the in-flight runs have finished (at most the dbt task timeout), and update
 *    anything that copied the key by hand (e.g. a Fivetran or Airbyte destination for LOADER).
 * 3. Done. The next bump deletes generation N and puts generation N+2 in its slot.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as snowflake from "@pulumi/snowflake";
import * as tls from "@pulumi/tls";
import { awsName, defaultTags } from "../lib/naming";
import { keySlots, publicKeyOneLine } from "./keys";

/** One service user. */
export interface ServiceUserSpec {
  /** Snowflake user name (UPPER_SNAKE, environment-suffixed), e.g. `DBT_SVC_DEV`. */
  readonly userName: string;
  /** Account role granted to the user and used as its default role. */
  readonly role: pulumi.Input<string>;
  /** Default warehouse of the user. */
  readonly warehouse: pulumi.Input<string>;
  /** What the user is for; becomes the user's comment and the secret's description. */
  readonly purpose: string;
}

/** Arguments of {@link ServiceUsers}. */
export interface ServiceUsersArgs<K extends string> {
  /** Lower-case environment, for AWS names and tags. */
  readonly environment: string;
  /** The users by key (the key names the AWS secret: `dbt-pipeline-<env>-snowflake-<key>-key`). */
  readonly users: Readonly<Record<K, ServiceUserSpec>>;
  /** Key generation N (≥ 1); generations N-1 and N are live. */
  readonly keyGeneration: number;
  /** Recovery window of the secrets: 0 deletes at once, 7 to 30 keep a deleted secret restorable. */
  readonly secretRecoveryWindowInDays: number;
  /** Provider for users and grants (SECURITYADMIN: creates users, grants roles). */
  readonly provider: snowflake.Provider;
}

/** Service users with rotated key pairs and their private keys in Secrets Manager. */
export class ServiceUsers<K extends string> extends pulumi.ComponentResource {
  /** Snowflake user names by key. */
  public readonly userNames: Record<K, pulumi.Output<string>>;
  /** ARN of the Secrets Manager secret holding each user's current private key (PKCS#8 PEM). */
  public readonly privateKeySecretArns: Record<K, pulumi.Output<string>>;

  constructor(name: string, args: ServiceUsersArgs<K>, opts?: pulumi.ComponentResourceOptions) {
    super("dbt-pipeline:snowflake:ServiceUsers", name, {}, opts);
    const slots = keySlots(args.keyGeneration);
    const snowflakeOpts = { parent: this, provider: args.provider };
    const userNames = {} as Record<K, pulumi.Output<string>>;
    const secretArns = {} as Record<K, pulumi.Output<string>>;

    for (const key of Object.keys(args.users) as K[]) {
      const spec = args.users[key];
      const keys = slots.map((s) => ({
        ...s,
        key: new tls.PrivateKey(
          `${name}-${key}-key-g${s.generation}`,
          { algorithm: "RSA", rsaBits: 2048 },
          { parent: this },
        ),
      }));
      const inSlot = (slot: 1 | 2) => {
        const found = keys.find((k) => k.slot === slot);
        return found ? found.key.publicKeyPem.apply(publicKeyOneLine) : undefined;
      };

      const user = new snowflake.ServiceUser(
        `${name}-${key}-user`,
        {
          name: spec.userName,
          comment: `dbt-pipeline ${args.environment}: ${spec.purpose}. Key-pair auth only; keys rotate with snowflake.keyGeneration.`,
          defaultRole: spec.role,
          defaultWarehouse: spec.warehouse,
          // Only the default role is active in a session, never other roles granted to the user.
          defaultSecondaryRolesOption: "NONE",
          rsaPublicKey: inSlot(1),
          rsaPublicKey2: inSlot(2),
        },
        snowflakeOpts,
      );

      // defaultRole does not grant the role.
      new snowflake.GrantAccountRole(
        `${name}-${key}-role-grant`,
        {
          roleName: spec.role,
          userName: user.name,
        },
        { ...snowflakeOpts, deleteBeforeReplace: true },
      );

      const secret = new aws.secretsmanager.Secret(
        `${name}-${key}-key-secret`,
        {
          name: awsName(args.environment, `snowflake-${key}-key`),
          description: `Private key (PKCS#8 PEM) of Snowflake user ${spec.userName}: ${spec.purpose}.`,
          recoveryWindowInDays: args.secretRecoveryWindowInDays,
          tags: defaultTags(args.environment),
        },
        { parent: this },
      );

      const current = keys[keys.length - 1].key;
      new aws.secretsmanager.SecretVersion(
        `${name}-${key}-key-secret-version`,
        {
          secretId: secret.id,
          secretString: pulumi.secret(current.privateKeyPemPkcs8),
          // The new public key must be on the user before clients can pick up the new private key.
        },
        { parent: this, dependsOn: [user] },
      );

      userNames[key] = user.name;
      secretArns[key] = secret.arn;
    }

    this.userNames = userNames;
    this.privateKeySecretArns = secretArns;
    this.registerOutputs({ userNames, privateKeySecretArns: secretArns });
  }
}
