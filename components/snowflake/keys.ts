/**
 * Pure helpers for the service users' key-pair rotation.
 *
 * A Snowflake user has two public-key slots (`RSA_PUBLIC_KEY`, `RSA_PUBLIC_KEY_2`). Generation
 * `n` always lives in slot 1 when `n` is odd and in slot 2 when it is even, so raising the
 * generation by one writes the new key into the slot the generation before last used, while the
 * previous generation keeps working in the other slot until the next bump.
 */

/** Which public-key slot of a Snowflake user a key generation occupies. */
export type KeySlotNumber = 1 | 2;

/** One live key generation and the slot that holds its public key. */
export interface KeySlot {
  readonly generation: number;
  readonly slot: KeySlotNumber;
}

/** The slot of generation `generation`: 1 when odd, 2 when even. */
export function slotOf(generation: number): KeySlotNumber {
  assertGeneration(generation);
  return generation % 2 === 1 ? 1 : 2;
}

/**
 * The live key generations for `generation` N, oldest first: N-1 (when N > 1) and N.
 * Older generations have no slot left and must be deleted.
 */
export function keySlots(generation: number): readonly KeySlot[] {
  assertGeneration(generation);
  const live = generation > 1 ? [generation - 1, generation] : [generation];
  return live.map((g) => ({ generation: g, slot: slotOf(g) }));
}

/**
 * A PEM public key (`-----BEGIN PUBLIC KEY-----` … `-----END PUBLIC KEY-----`) as Snowflake's
 * `RSA_PUBLIC_KEY` wants it: the base64 body on one line, without header, trailer or whitespace.
 * Throws when the text is not a PEM public key, so a private key can never land in a user's
 * (non-secret) public-key property by mistake.
 */
export function publicKeyOneLine(pem: string): string {
  const match = /-----BEGIN PUBLIC KEY-----([\s\S]*?)-----END PUBLIC KEY-----/.exec(pem);
  if (!match) throw new Error("expected a PEM public key (-----BEGIN PUBLIC KEY----- … -----END PUBLIC KEY-----)");
  const body = match[1].replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body))
    throw new Error("expected base64 between the PEM public key header and trailer");
  return body;
}

function assertGeneration(generation: number): void {
  if (!Number.isInteger(generation) || generation < 1) {
    throw new Error(`key generation must be an integer of at least 1 (got ${generation})`);
  }
}
